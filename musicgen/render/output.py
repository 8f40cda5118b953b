"""Write tunes to an output directory: ``NNN-title.abc``, ``.mid``, ``.wav``, ``.svg``,
``.musicxml`` and ``all.abc``.

Files are numbered by the tune's position (001 upward), never by ``X:``.  Nothing already
there is overwritten unless the caller passes ``force``; files are written atomically; a
tune that cannot become MIDI or sheet music is reported and skipped, not fatal.  A format
whose tool is missing fails before anything is written (`check_formats`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from musicgen.errors import MidiError, OutputError
from musicgen.files import write_text

FORMATS = ("abc", "mid", "wav", "svg", "musicxml")
_OURS = re.compile(r"^(\d{3,}-.*\.(abc|mid|wav|svg|musicxml)|all\.abc)$")


@dataclass(frozen=True)
class RenderOptions:
    """What to write for each tune, and how it should sound."""

    formats: tuple[str, ...] = ("abc", "mid")  # the ABC itself, and MIDI to play it
    program: int = 40  # General MIDI instrument, 0-based: 40 is the violin of a session
    tempo_bpm: float | None = None  # quarter notes per minute; None: the tune's Q: or meter


def slug(title: str, limit: int = 60) -> str:
    """A file-name-safe form of a title: ``Jig No. 3`` -> ``jig-no-3``.

    At most `limit` characters: file names have a 255-byte limit, scraped titles do not.
    """
    return re.sub(r"[^a-z0-9]+", "-", title.lower())[:limit].strip("-") or "tune"


def tune_stem(position: int, title: str) -> str:
    """``001-jig-no-1``: numbered by position (1-based), never by ``X:``."""
    return f"{position:03d}-{slug(title)}"


def parse_formats(text: str) -> tuple[str, ...]:
    """``"mid, wav"`` -> ("mid", "wav"); raises ValueError naming unknown formats."""
    wanted = tuple(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise ValueError(
            f"unknown format {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}"
        )
    return wanted


def check_formats(formats) -> None:
    """Raise `OutputError` naming the package to install if a format's tool is missing."""
    if "svg" in formats:
        from musicgen.render.sheet import require_abcm2ps

        require_abcm2ps()


def prepare_out_dir(out: Path, force: bool, append: bool = False) -> int:
    """Create `out`; refuse if it already holds tune files, unless `force` (then clear them)
    or `append` (then keep them).  Returns the highest tune number left there (0: none), so
    an appending caller numbers its tunes after it and overwrites nothing."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    existing = sorted(p.name for p in out.iterdir() if _OURS.match(p.name)) if out.exists() else []
    if existing and not force and not append:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise OutputError(f"{out} already holds tunes ({shown}); use --force to replace them")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in existing if force else ():
            (out / name).unlink()
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    numbers = [int(name.split("-", 1)[0]) for name in existing if name[0].isdigit()]
    return 0 if force else max(numbers, default=0)


@dataclass
class WriteReport:
    """What `write_tune` wrote, and which tunes it could not turn into what."""

    written: list[Path] = field(default_factory=list)
    midi_failed: list[str] = field(default_factory=list)  # "001-...: reason" (no .mid/.wav)
    sheet_failed: list[str] = field(default_factory=list)  # "001-... svg: reason"


def write_tune(
    out: Path, position: int, title: str, abc: str, options: RenderOptions, report: WriteReport
) -> None:
    """Write one tune in `options.formats`; a tune's own failure is recorded, not raised.

    Without MIDI there is no WAV either: both are one entry in `report.midi_failed`.
    An unwritable directory (`OutputError`) is raised: no other tune would fare better.
    """
    stem = tune_stem(position, title)
    formats = options.formats
    if "abc" in formats:  # a text file ends with a newline (issue 13)
        text = abc if abc.endswith("\n") else abc + "\n"
        _written(report, out / f"{stem}.abc", lambda path: write_text(path, text))
    if "mid" in formats or "wav" in formats:
        _write_sound(out, stem, abc, options, report)
    for kind in ("svg", "musicxml"):
        if kind in formats:
            from musicgen.render import sheet

            writer = sheet.write_svg if kind == "svg" else sheet.write_musicxml
            try:
                _written(report, out / f"{stem}.{kind}", functools.partial(writer, abc))
            except MidiError as exc:  # music21 could not read it
                report.sheet_failed.append(f"{stem} {kind}: {exc}")
            except OutputError as exc:
                if not out.is_dir():
                    raise
                report.sheet_failed.append(f"{stem} {kind}: {exc}")


def _write_sound(out: Path, stem: str, abc: str, options: RenderOptions, report) -> None:
    from musicgen.render.midi import tune_to_midi, write_midi

    try:  # built once, for both .mid and .wav
        midi = tune_to_midi(abc, program=options.program, tempo_bpm=options.tempo_bpm)
    except MidiError as exc:
        report.midi_failed.append(f"{stem}: {exc}")
        return
    if "mid" in options.formats:
        _written(report, out / f"{stem}.mid", lambda path: write_midi(midi, path))
    if "wav" in options.formats:
        from musicgen.render.audio import midi_to_wav

        _written(report, out / f"{stem}.wav", lambda path: midi_to_wav(midi, path))


def _written(report: WriteReport, path: Path, write) -> None:
    write(path)
    report.written.append(path)
