"""Write tunes to an output directory: ``NNN-title.abc``, ``.mid``, ``.wav``, ``all.abc``.

Nothing already there is overwritten unless the caller passes ``force``; files are written
atomically, and a tune that cannot become MIDI is reported and skipped, not fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from musicgen.errors import MidiError, OutputError
from musicgen.rundir import write_text

FORMATS = ("abc", "mid", "wav")
_OURS = re.compile(r"^(\d{3,}-.*\.(abc|mid|wav)|all\.abc)$")


def slug(title: str) -> str:
    """A file-name-safe form of a title: ``Jig No. 3`` -> ``jig-no-3``."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "tune"


def tune_stem(position: int, title: str) -> str:
    """``001-jig-no-1``: numbered by position (1-based), never by ``X:``."""
    return f"{position:03d}-{slug(title)}"


def prepare_out_dir(out: Path, force: bool) -> None:
    """Create `out`; refuse if it already holds tune files, unless `force` (then clear them)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    existing = sorted(p.name for p in out.iterdir() if _OURS.match(p.name)) if out.exists() else []
    if existing and not force:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise OutputError(f"{out} already holds tunes ({shown}); use --force to replace them")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in existing:
            (out / name).unlink()
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror or exc})") from None


@dataclass
class WriteReport:
    written: list[Path] = field(default_factory=list)
    midi_failed: list[str] = field(default_factory=list)  # "001-...: reason"


def write_tune(
    out: Path, position: int, title: str, abc: str, formats, report: WriteReport, program: int = 40
) -> None:
    """Write one tune in the requested formats; a MIDI failure is recorded, not raised.

    Without MIDI there is no WAV either: both are recorded as one failure in `report`.
    """
    stem = tune_stem(position, title)
    if "abc" in formats:
        write_text(out / f"{stem}.abc", abc)
        report.written.append(out / f"{stem}.abc")
    if "mid" not in formats and "wav" not in formats:
        return
    from musicgen.midi import tune_to_midi, write_midi

    try:
        midi = tune_to_midi(abc, program=program)  # built once, for both .mid and .wav
    except MidiError as exc:
        report.midi_failed.append(f"{stem}: {exc}")
        return
    if "mid" in formats:
        write_midi(midi, out / f"{stem}.mid")
        report.written.append(out / f"{stem}.mid")
    if "wav" in formats:
        from musicgen.audio import midi_to_wav

        midi_to_wav(midi, out / f"{stem}.wav")
        report.written.append(out / f"{stem}.wav")
