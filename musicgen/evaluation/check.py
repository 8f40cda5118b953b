"""Is a tune any good as ABC?  Validity, bar lengths and novelty, judged tune by tune.

Independent views:
- the headers ABC 2.1 requires (`REQUIRED_HEADERS`), and musicgen's own reader
  (`musicgen.playback.reader`): does the tune give notes, and how many are written;
- abc2midi (abcMIDI, Debian package ``abcmidi``), when installed: does an independent ABC
  implementation turn the tune into MIDI with notes, does it print error lines, and does it
  warn that a bar's length disagrees with the meter;
- musicgen's grammar (`musicgen.grammar`) in its lenient mode: syntax plus bar lengths,
  the judge (`judge_name`) when abc2midi is missing.  Lenient, because tunes written by
  people use ties, slurs and chord symbols that the sampler's strict grammar never writes;
  they are not invalid for that;
- novelty against a reference corpus: no run of 4 consecutive bars shared with any of its
  tunes, and no tune copied whole;
- form (`musicgen.form.analysis`): parts, bars per part, repeats, letters (``AABB``), whether the
  last note is the tonic, range; `summarize` counts the `musicgen.form.analysis.RATES`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from musicgen.abc.lexer import lex_body
from musicgen.abc.tunes import Tune
from musicgen.form.analysis import Form, form_counts, form_of

NGRAM = 4  # consecutive bars that count as a borrowed phrase
REQUIRED_HEADERS = ("X", "T", "K")  # ABC 2.1: X: first, then T:; K: ends the header
GRAMMAR_JUDGE = "musicgen grammar (lenient)"  # who judges "parses" without abc2midi
_NOT_THE_TUNE = frozenset(("gchord", "annotation", "space", "newline", "comment", "ending"))


@dataclass(frozen=True)
class Abc2MidiResult:
    notes: int  # note-on events in the MIDI file abc2midi wrote (0 if none)
    errors: tuple[str, ...]  # lines of its output that report an error
    bar_warnings: tuple[str, ...]  # "Bar N has X time units while the time signature has Y"

    @property
    def converts(self) -> bool:
        return self.notes > 0


@dataclass(frozen=True)
class TuneReport:
    position: int  # 1-based position in the file
    title: str
    where: str  # file:line
    grammar_error: str | None  # None: syntax and every bar length are right
    abc2midi: Abc2MidiResult | None  # None: abc2midi not installed
    novel: bool | None  # None: no reference corpus given
    copy: bool | None  # the whole body appears in the reference corpus
    missing_headers: tuple[str, ...] = ()  # of REQUIRED_HEADERS
    notes: int = 0  # notes written in the body (chord notes each count)
    read_error: str | None = None  # why musicgen cannot play it; None: it can
    form: Form | None = None  # parts, bars per part, cadence (None: not analysed)

    @property
    def parses(self) -> bool:
        """An ABC reader accepts it: abc2midi without errors (our grammar if it is missing)."""
        if self.abc2midi is not None:
            return self.abc2midi.converts and not self.abc2midi.errors
        return self.grammar_error is None

    @property
    def valid(self) -> bool:
        """Valid ABC: it parses, has the required headers, and musicgen can play its notes."""
        return self.parses and not self.missing_headers and self.read_error is None

    @property
    def problems(self) -> list[str]:
        """What is wrong, most important first; empty for a tune that is valid with good bars."""
        found = [f"no {name}: header" for name in self.missing_headers]
        if self.read_error is not None:
            found.append(self.read_error)
        if self.abc2midi is not None:
            found += list(self.abc2midi.errors)
            found += [_bar_warning(line) for line in self.abc2midi.bar_warnings]
            if not self.abc2midi.converts and not self.abc2midi.errors:
                found.append("abc2midi wrote no notes")
        elif self.grammar_error is not None:
            found.append(self.grammar_error)
        return found

    @property
    def bars_ok(self) -> bool:
        """Every bar fits the meter (abc2midi's judgement if installed, else ours)."""
        if self.abc2midi is not None:
            return self.abc2midi.converts and not self.abc2midi.bar_warnings
        return self.grammar_error is None

    def to_dict(self) -> dict:
        return asdict(replace(self, form=None)) | {
            "form": None if self.form is None else self.form.summary(),
            "parses": self.parses,
            "valid": self.valid,
            "bars_ok": self.bars_ok,
            "problems": self.problems,
        }


def _bar_warning(line: str) -> str:
    """abc2midi's "Warning in line-char 7-58 : Track 0 Bar 3 has ..." -> "Bar 3 has ..."."""
    match = re.search(r"Bar \d+ has.*", line)
    return match.group(0) if match else line.strip()


def have_abc2midi() -> bool:
    return shutil.which("abc2midi") is not None


def run_abc2midi(abc: str) -> Abc2MidiResult:
    """Convert one tune with abc2midi and read its verdict and its MIDI (with mido)."""
    import mido

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "t.abc", Path(tmp) / "t.mid"
        source.write_text(abc, encoding="utf-8")
        try:
            done = subprocess.run(
                ["abc2midi", str(source), "-o", str(target)],
                capture_output=True,
                encoding="utf-8",
                errors="replace",  # abc2midi echoes bad input byte by byte
                timeout=30,
            )
            output = (done.stdout + done.stderr).splitlines()
        except subprocess.TimeoutExpired:
            return Abc2MidiResult(0, ("abc2midi timed out",), ())
        notes = 0
        if target.exists():
            try:
                midi = mido.MidiFile(target)
                notes = sum(
                    1
                    for track in midi.tracks
                    for m in track
                    if m.type == "note_on" and m.velocity > 0
                )
            except (OSError, ValueError, EOFError):
                notes = 0
    errors = tuple(line for line in output if "Error" in line)
    bars = tuple(line for line in output if re.search(r"Bar \d+ has", line))
    return Abc2MidiResult(notes, errors, bars)


def judge_name(use_abc2midi: bool = True) -> str:
    """Who decides whether a tune parses: abc2midi when installed and wanted, else
    `GRAMMAR_JUDGE`."""
    return "abc2midi" if use_abc2midi and have_abc2midi() else GRAMMAR_JUDGE


def bars_of(body: str) -> list[str]:
    """The bars of a tune body, spaces and repeat/ending marks removed, for comparison."""
    bars, bar = [], []
    for token in lex_body(body):
        # A stray "]" (a chord's or field's lost half) ends a bar, as it always did here.
        if token.kind == "bar" or token.text == "]":
            if bar:
                bars.append("".join(bar))
            bar = []
        elif token.kind not in _NOT_THE_TUNE:  # chords, spacing, endings are not the tune
            bar.append(token.text)
    if bar:
        bars.append("".join(bar))
    return bars


class NoveltyIndex:
    """Every run of `NGRAM` consecutive bars of a reference corpus, and its whole bodies."""

    def __init__(self, tunes: Iterable[Tune]):
        self.ngrams: set[tuple[str, ...]] = set()
        self.bodies: set[str] = set()
        for tune in tunes:
            bars = bars_of(tune.body)
            self.bodies.add("|".join(bars))
            self.ngrams.update(_ngrams(bars))

    def novel(self, body: str) -> bool:
        """True if the body shares no run of `NGRAM` bars with the reference."""
        return not any(g in self.ngrams for g in _ngrams(bars_of(body)))

    def copy(self, body: str) -> bool:
        return "|".join(bars_of(body)) in self.bodies


def _ngrams(bars: Sequence[str]) -> Iterable[tuple[str, ...]]:
    return (tuple(bars[i : i + NGRAM]) for i in range(len(bars) - NGRAM + 1))


def check_tunes(
    tunes: Sequence[Tune], reference: NoveltyIndex | None = None, use_abc2midi: bool = True
) -> list[TuneReport]:
    """Judge every tune; see the module docstring for what is measured."""
    from musicgen.grammar import first_error

    use_abc2midi = use_abc2midi and have_abc2midi()
    reports = []
    for position, tune in enumerate(tunes, start=1):
        notes, read_error = count_notes(tune.abc(position))
        reports.append(
            TuneReport(
                position=position,
                title=tune.title,
                where=tune.where,
                grammar_error=first_error(tune.text(), lenient=True),
                abc2midi=run_abc2midi(tune.abc(position)) if use_abc2midi else None,
                novel=None if reference is None else reference.novel(tune.body),
                copy=None if reference is None else reference.copy(tune.body),
                missing_headers=tuple(h for h in REQUIRED_HEADERS if tune.get(h) is None),
                notes=notes,
                read_error=read_error,
                form=form_of(tune),
            )
        )
    return reports


def count_notes(abc: str) -> tuple[int, str | None]:
    """Notes written in a tune (each chord note counts) and, if any, why it cannot play."""
    from musicgen.errors import MidiError
    from musicgen.playback.events import Strike
    from musicgen.playback.reader import read_tune

    try:
        written = read_tune(abc)
    except MidiError as exc:
        return 0, str(exc)
    notes = sum(len(e.sounds) for e in written.events if isinstance(e, Strike))
    return notes, None if notes else "no notes to play"


def summarize(reports: Sequence[TuneReport]) -> dict:
    """Counts over a list of reports (the figures the README and notes quote)."""
    n = len(reports)
    out = {
        "tunes": n,
        "valid": sum(r.valid for r in reports),
        "parses": sum(r.parses for r in reports),
        "headers_ok": sum(not r.missing_headers for r in reports),
        "bars_ok": sum(r.bars_ok for r in reports),
        "grammar_ok": sum(r.grammar_error is None for r in reports),
        "notes": sum(r.notes for r in reports),
    }
    if reports and reports[0].abc2midi is not None:
        out["abc2midi_converts"] = sum(r.abc2midi.converts for r in reports)
        out["abc2midi_no_errors"] = sum(
            r.abc2midi.converts and not r.abc2midi.errors for r in reports
        )
    forms = [r.form for r in reports if r.form is not None]
    if forms:
        out["form"] = form_counts(forms)
    if reports and reports[0].novel is not None:
        out["novel"] = sum(bool(r.novel) for r in reports)
        out["copies"] = sum(bool(r.copy) for r in reports)
    return out


def compare_with(reports: Sequence[TuneReport], reference: Sequence[Tune]) -> dict:
    """The file's form rates beside a reference corpus's, and MGEval histogram overlaps.

    ``{"tunes": n, "form": form_counts of the reference, "overlaps": [Overlap as dict]}``;
    see `musicgen.evaluation.mgeval` for the overlaps.
    """
    from musicgen.evaluation.mgeval import compare

    reference_forms = [form_of(tune) for tune in reference]
    forms = [r.form for r in reports if r.form is not None]
    return {
        "tunes": len(reference_forms),
        "form": form_counts(reference_forms),
        "overlaps": [asdict(o) for o in compare(forms, reference_forms)],
    }
