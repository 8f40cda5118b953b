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
  last note is the tonic, range; `summarize` counts the `musicgen.form.analysis.RATES`;
- phrases (`musicgen.form.phrases`, issue 14): how each part ends (tonic, dominant,
  other), whether the B part's last bar is the A part's, whether bar 5 echoes bar 1, the
  share of bars repeating an earlier one (`musicgen.form.phrases.PHRASE_RATES`).

A ``K:`` that names no key is its own problem (`key_problem`); the other judges then read the
tune in C, so a bad key is never reported as bad bars.  Every position is the checked
file's line and column (`musicgen.evaluation.places`), and bars are counted from 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

from musicgen.abc.lexer import lex_body
from musicgen.abc.theory import mode_sharps, strip_comment
from musicgen.abc.tunes import Tune
from musicgen.evaluation.abc2midi import Abc2MidiResult, have_abc2midi, run_abc2midi
from musicgen.evaluation.places import HEADER, places, read_lines
from musicgen.form.analysis import Form, form_counts, form_of
from musicgen.form.phrases import phrase_counts

NGRAM = 4  # consecutive bars that count as a borrowed phrase
REQUIRED_HEADERS = ("X", "T", "K")  # ABC 2.1: X: first, then T:; K: ends the header
GRAMMAR_JUDGE = "musicgen grammar (lenient)"  # who judges "parses" without abc2midi
_NOT_IN_COMPARED_BARS = frozenset(("gchord", "annotation", "space", "newline", "comment", "ending"))
_KEY_RE = re.compile(r"([A-G][#b]?)\s*([A-Za-z]*)(.*)$")


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
    key_error: str | None = None  # why K: names no key (the judges then read it in C)

    @property
    def parses(self) -> bool:
        """An ABC reader accepts it: abc2midi without errors (our grammar if it is missing)."""
        if self.abc2midi is not None:
            return self.abc2midi.converts and not self.abc2midi.errors
        return self.grammar_error is None

    @property
    def valid(self) -> bool:
        """Valid ABC: it parses, has the required headers and a key, and musicgen can play
        its notes."""
        clean = not self.missing_headers and self.key_error is None and self.read_error is None
        return self.parses and clean

    @property
    def problems(self) -> list[str]:
        """What is wrong, most important first; empty for a tune that is valid with good bars."""
        found = [f"no {name}: header" for name in self.missing_headers]
        found += [self.key_error] if self.key_error is not None else []
        if self.read_error is not None:
            found.append(self.read_error)
        if self.abc2midi is not None:
            found += [*self.abc2midi.errors, *self.abc2midi.bar_warnings]
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
        elif token.kind not in _NOT_IN_COMPARED_BARS:  # chords, spacing, endings are not the tune
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
    use_abc2midi = use_abc2midi and have_abc2midi()
    files: dict[str, list[str] | None] = {}  # each source file's lines, read once
    reports = []
    for position, tune in enumerate(tunes, start=1):
        if tune.source not in files:
            files[tune.source] = read_lines(tune.source)
        reports.append(_check_tune(tune, position, files[tune.source], reference, use_abc2midi))
    return reports


def _check_tune(tune: Tune, position: int, file_lines, reference, use_abc2midi) -> TuneReport:
    from musicgen.grammar import first_error_at

    where = places(tune, file_lines)
    key_error = key_problem(tune.key)
    if key_error is not None:  # the K: line is the third of the tune's text
        key_error = f"{where.text_position(len(HEADER), 3)}: {key_error}"
    judged = _in_c(tune) if key_error else tune  # a bad key is reported once, as a key
    notes, read_error = count_notes(judged.abc(position))
    grammar_error = first_error_at(judged.text(), lenient=True)
    if grammar_error is not None:
        line, column, why = grammar_error
        grammar_error = f"{where.text_position(line, column)}: {why}"
    abc2midi = run_abc2midi(judged.abc(position)) if use_abc2midi else None
    if abc2midi is not None:
        abc2midi = replace(
            abc2midi,
            errors=tuple(map(where.abc2midi, abc2midi.errors)),
            bar_warnings=tuple(map(where.abc2midi, abc2midi.bar_warnings)),
        )
    return TuneReport(
        position=position,
        title=tune.title,
        where=tune.where,
        grammar_error=grammar_error,
        abc2midi=abc2midi,
        novel=None if reference is None else reference.novel(tune.body),
        copy=None if reference is None else reference.copy(tune.body),
        missing_headers=tuple(h for h in REQUIRED_HEADERS if tune.get(h) is None),
        notes=notes,
        read_error=read_error,
        form=form_of(tune),
        key_error=key_error,
    )


def key_problem(value: str) -> str | None:
    """Why a ``K:`` value names no key (``"K:H Major: H is not a tonic ..."``); None if it
    does: a tonic A-G (``#``/``b``) and a mode, ``none``, or the bagpipe keys ``HP``/``Hp``."""
    text = strip_comment(value).strip()
    if not text or text.split()[0] in ("HP", "Hp") or text.lower().startswith("none"):
        return None
    match = _KEY_RE.match(text)
    if match is None:
        first = text.split()[0]
        return f"K:{value}: {first} is not a key (a tonic A-G with # or b, HP, Hp or none)"
    mode, rest = match.group(2), match.group(3)
    if mode and not rest.startswith("=") and mode.lower() != "exp" and mode_sharps(mode) is None:
        return f"K:{value}: {mode!r} is not a mode (Major, Minor, Dorian, Mixolydian ...)"
    return None


def _in_c(tune: Tune) -> Tune:
    """The tune with its header's ``K:`` value replaced by C."""
    fields = tuple((name, "C" if name == "K" else value) for name, value in tune.fields)
    return replace(tune, fields=fields)


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
        "keys_ok": sum(r.key_error is None for r in reports),
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
        out["phrases"] = phrase_counts(forms)
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
        "phrases": phrase_counts(reference_forms),
        "overlaps": [asdict(o) for o in compare(forms, reference_forms)],
    }
