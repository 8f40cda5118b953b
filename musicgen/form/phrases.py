"""How a tune's parts end and rhyme (issue 14): cadences, rhymes, echoes, repeated bars.  Pure.

A session player hears a part end: the A part of a reel resolves on the tonic (or, less
often, rests on the dominant), and its B part closes with the same bar.  Within a part, the
second phrase often opens as the first did.  `phrases_of` reads that off a
`musicgen.form.analysis.Form` (its parts' letters and each part's bars of notes,
`PartNotes`), by these rules:

1. A part's ending is the pitch class of its last note (the highest of a chord) above the
   tonic in force there: 0 is ``tonic``, 7 ``dominant``, anything else ``other``.  The A part
   is the tune's first part, the B part the first part lettered B.
2. The parts end alike when the B part's last bar with notes has the same pitches, in
   order, as the A part's (lengths aside: ``A2`` against ``A3`` is the same ending).
3. A part's bar 5 echoes its bar 1 when its fifth full bar opens with the same three
   pitches as its first full bar (a pickup is not a bar; only the first part of each
   letter is read, so a part written out again is not counted twice).  Counted as written
   instead (a pickup is bar 1, as a reader numbering the bar lines does), the rate is far
   lower, since the corpus's parts mostly open with a pickup: both are reported.
4. A full bar repeats an earlier one when an earlier full bar of the tune has the same
   notes and lengths.

`phrase_counts` sums them over many tunes: the rates ``musicgen check`` prints
(`PHRASE_RATES`), each with its own denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

TONIC, DOMINANT, OTHER = "tonic", "dominant", "other"
ECHO_NOTES = 3  # rule 3: "opens with the same three notes"
ECHO_BAR = 5  # the second phrase of an 8-bar part opens at bar 5


@dataclass(frozen=True)
class PartNotes:
    """One written part's bars, as `musicgen.form.parts` reads them: (full bar?, notes), each
    note (length in quarters, pitches), a rest with no pitches; and its tonic at the end."""

    bars: tuple[tuple[bool, tuple[tuple[Fraction, tuple[int, ...]], ...]], ...]
    tonic: int | None

    @property
    def last_interval(self) -> int | None:
        """Semitones (0..11) of its last note above the tonic; None: no note, no tonic."""
        for _, notes in reversed(self.bars):
            for _, pitches in reversed(notes):
                if pitches and self.tonic is not None:
                    return (max(pitches) - self.tonic) % 12
        return None

    @property
    def full_bars(self) -> list[tuple]:
        return [notes for full, notes in self.bars if full]


def part_notes(part) -> PartNotes:
    """The `PartNotes` of a `musicgen.form.parts.WrittenPart` (counted bars only)."""
    bars = tuple(
        (meters is None or meters >= 1, notes)
        for (meters, counted), notes in zip(part.bars, part.notes, strict=True)
        if counted
    )
    return PartNotes(bars, part.tonic)


def ending_name(interval: int | None) -> str | None:
    """Rule 1: ``tonic``, ``dominant`` or ``other`` for a last note's interval."""
    if interval is None:
        return None
    return TONIC if interval == 0 else DOMINANT if interval == 7 else OTHER


@dataclass(frozen=True)
class Phrases:
    """The phrase measures of one tune (see the module docstring)."""

    endings: tuple[str | None, ...]  # rule 1, each written part in order
    ends_alike: bool | None  # rule 2; None: no B part
    echoes: int  # rule 3: parts whose bar 5 opens as bar 1 ...
    echo_parts: int  # ... of the parts with 5 full bars or more
    written_echoes: int  # rule 3 counting bars as written (a pickup is bar 1) ...
    written_echo_parts: int  # ... of the parts with 5 written bars or more
    repeated_bars: int  # rule 4: full bars that repeat an earlier one ...
    full_bars: int  # ... of all full bars

    @property
    def a_ending(self) -> str | None:
        """How the A part ends, in a tune with a B part (None otherwise)."""
        return self.endings[0] if self.ends_alike is not None else None


def _pitches(notes) -> tuple[tuple[int, ...], ...]:
    return tuple(pitches for _, pitches in notes if pitches)


def phrases_of(form) -> Phrases:
    """The `Phrases` of a `musicgen.form.analysis.Form` (its parts and `part_notes`)."""
    letters = [p.letter for p in form.parts]
    parts = list(form.part_notes)
    first = {letter: parts[letters.index(letter)] for letter in dict.fromkeys(letters)}
    alike = None
    if "A" in first and "B" in first:
        last = [_last_bar(first[letter]) for letter in "AB"]
        alike = bool(last[0]) and last[0] == last[1]
    echoes = [0, 0, 0, 0]
    for part in first.values():
        for i, bars in enumerate((part.full_bars, [notes for _, notes in part.bars])):
            if len(bars) >= ECHO_BAR:
                echoes[2 * i + 1] += 1
                opening = _pitches(bars[0])[:ECHO_NOTES]
                echoes[2 * i] += (
                    bool(opening) and opening == _pitches(bars[ECHO_BAR - 1])[:ECHO_NOTES]
                )
    seen: set = set()
    repeated = total = 0
    for part in parts:
        for notes in part.full_bars:
            total += 1
            repeated += notes in seen
            seen.add(notes)
    return Phrases(
        endings=tuple(ending_name(p.last_interval) for p in parts),
        ends_alike=alike,
        echoes=echoes[0],
        echo_parts=echoes[1],
        written_echoes=echoes[2],
        written_echo_parts=echoes[3],
        repeated_bars=repeated,
        full_bars=total,
    )


def _last_bar(part: PartNotes) -> tuple:
    """The pitches of the part's last bar with notes (rule 2)."""
    for _, notes in reversed(part.bars):
        if _pitches(notes):
            return _pitches(notes)
    return ()


# (key, label, denominator key): the phrase rates `musicgen check` prints (issue 14).
PHRASE_RATES = (
    ("a_tonic", "A part ends on the tonic", "with_b"),
    ("a_dominant", "A part ends on the dominant", "with_b"),
    ("a_other", "A part ends elsewhere", "with_b"),
    ("ends_alike", "B's last bar is A's (notes)", "with_b"),
    ("echoes", "bar 5 echoes bar 1 (parts)", "echo_parts"),
    ("written_echoes", "... bars as written (pickup 1)", "written_echo_parts"),
    ("repeated_bars", "bars repeating an earlier bar", "full_bars"),
)


def phrase_counts(forms) -> dict[str, int]:
    """Numerators and denominators of `PHRASE_RATES` over `forms` (``with_b``: tunes with
    a B part; ``echo_parts``: parts of 5 bars or more; ``full_bars``: all full bars)."""
    counts = dict.fromkeys(("a_tonic", "a_dominant", "a_other", "ends_alike", "with_b"), 0)
    summed = ("echoes", "echo_parts", "written_echoes", "written_echo_parts")
    summed += ("repeated_bars", "full_bars")
    counts |= dict.fromkeys(summed, 0)
    for form in forms:
        phrases = phrases_of(form)
        if phrases.ends_alike is not None:
            counts["with_b"] += 1
            counts["ends_alike"] += phrases.ends_alike
            counts[f"a_{phrases.a_ending or OTHER}"] += 1
        for key in summed:
            counts[key] += getattr(phrases, key)
    return counts
