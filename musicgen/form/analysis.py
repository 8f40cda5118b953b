"""The form of a tune: its parts, bars per part, repeats, letters, cadence and range.  Pure.

`tune_form` reads one tune through the lexer (`musicgen.abc.lexer.lex`: the body's field lines,
``M:``/``L:``/``K:``/``P:``, are read as abc2midi reads them) and takes its notes' pitches and
lengths from the playback reader's note state (`musicgen.form.parts`); it never splits ABC or
works out a note itself.  The rules, in order:

1. Parts.  A part closes at ``:|``, ``::``, ``||``, ``|]``, ``[|`` or the end of the tune,
   and a new one opens at ``|:`` or a ``P:`` field (if the open part has music).  A closing
   bar followed by an ending (``:|2``, ``:| [2``) does not close: the endings belong to their
   part, which closes at the first closing bar after its last ending.  ``::`` closes the
   part before it as repeated (as ``:|`` would) and opens the next one (as ``|:`` would):
   ``|: A :: B :|`` is AABB.
2. Bars.  A part is counted as played once through its first ending: the music before its
   endings and its first ending; later endings are not counted.  A bar is the music between
   two bar lines (an ending mark not glued to a bar line also splits one).  A bar at least
   one meter long counts its length in meters, rounded (a half up): 1, or 2 where a bar
   line was left out; shorter ones (a pickup, the bar that completes it, a bar cut by
   an ending mark) pool their lengths, and the pool counts its length in meters rounded to
   the nearest bar (a half rounds up).  So a pickup and its completion add up to one bar,
   and ``|1 ... :|2 ...|`` with 4 common bars and 4-bar endings is 8 bars.  A part with
   notes counts at least 1 bar.  In a free meter (``M:none``) every bar counts 1.
3. Repeats and letters.  A part is repeated by a sign if a ``:|`` or ``::`` falls in it (its
   close or its first ending's).  Two parts are the same music when difflib's ratio over
   their full bars' texts (spacing and chord symbols aside; a pickup and its completion
   differ between passes, so short bars are left out) is `SIMILAR` or more and that of their
   first halves `SAME_START` or more (B parts often end like A, they do not start like it).
   A part like an earlier one takes its letter; a part like the one just before it is that
   part written out again (``repeated="written"`` on the first).  An unrepeated part twice
   as long as the tune's first sign-repeated part (`DOUBLE` bars if none is), whose halves
   are alike (either ratio), is a part written out twice: two parts of half its bars.  Each
   part adds its letter once, twice if repeated by a sign: ``A:| B:|`` is ``AABB``.
4. Cadence.  The last note written (any note of a last chord) is the tonic of the key in
   force there (``K:``, whatever the mode), compared by pitch class, octave-free.
5. Range and height.  Lowest and highest MIDI pitches of every note; the B part sits higher
   when the mean pitch of its notes is above the A part's.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from fractions import Fraction

from musicgen.form.parts import WrittenPart, count_bars, read_parts
from musicgen.form.phrases import PartNotes, part_notes

SIMILAR = 0.6  # a part whose bars match another's this much is that part again...
SAME_START = 0.75  # ...if its first half matches this much (B parts often end like A)
BARS = 8  # the tradition's part: 8 bars, played twice
DOUBLE = 16  # an unrepeated part this long, its halves alike, may be 8 bars written twice


@dataclass(frozen=True)
class PartShape:
    """One part of a tune as written, with the rules of the module docstring applied."""

    letter: str  # "A", "B"...: like an earlier part (rule 3) -> the same letter
    bars: int  # as played once through its first ending (rule 2)
    repeated: str  # "sign" (:| or ::), "written" (written out again next), "" (not)
    endings: int  # ending marks in the part (1st, 2nd...)
    mean_pitch: float | None  # mean MIDI pitch of its notes; None without notes


@dataclass(frozen=True)
class Form:
    """The form of one tune; see the module docstring."""

    parts: tuple[PartShape, ...]
    letters: str  # "AABB": each part's letter, twice if repeated by a sign
    last_note_tonic: bool | None  # None: no note, or a key without a tonic (K:none)
    lowest: int | None  # MIDI pitch; None without notes
    highest: int | None
    b_higher: bool | None  # the B part's mean pitch above the A part's; None without a B
    pitches: tuple[int, ...] = field(default=(), repr=False)  # every note, in written order
    melody: tuple[int, ...] = field(default=(), repr=False)  # a chord's highest note only
    lengths: tuple[Fraction, ...] = field(default=(), repr=False)  # whole notes, per note
    # each part's bars of notes, for `musicgen.form.phrases` (cadences, rhymes, echoes)
    part_notes: tuple[PartNotes, ...] = field(default=(), repr=False)

    @property
    def span(self) -> int | None:
        """Semitones from the lowest note to the highest."""
        return None if self.lowest is None else self.highest - self.lowest

    @property
    def distinct_parts(self) -> int:
        """Parts that are not the same music again (``AABB``: 2)."""
        return len(set(self.letters))

    @property
    def parts_of_8(self) -> bool:
        """Every part `BARS` long (twice that for a part not repeated by a sign)."""
        return bool(self.parts) and all(
            p.bars == BARS or (p.bars == 2 * BARS and p.repeated != "sign") for p in self.parts
        )

    @property
    def aabb_of_8(self) -> bool:
        """Two parts, each played twice (by sign or written out), each `BARS` long."""
        return self.letters == "AABB" and all(p.bars == BARS for p in self.parts)

    def summary(self) -> dict:
        """The JSON view: no note lists."""
        return {
            "letters": self.letters,
            "bars": [p.bars for p in self.parts],
            "parts": [asdict(p) for p in self.parts],
            "last_note_tonic": self.last_note_tonic,
            "lowest": self.lowest,
            "highest": self.highest,
            "span": self.span,
            "b_higher": self.b_higher,
        }


def _similar(a: list[str], b: list[str]) -> bool:
    """Rule 3: the same music again: alike overall, and alike from the start."""
    if not a or not b:
        return False
    half = max(len(a), len(b), 2) // 2
    return _ratio(a, b) >= SIMILAR and _ratio(a[:half], b[:half]) >= SAME_START


def _ratio(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _full_bars(part: WrittenPart) -> list[str]:
    """The texts of its full bars (a pickup and its completion differ between passes)."""
    return [t for (m, _), t in zip(part.bars, part.texts, strict=True) if m is None or m >= 1]


def _split_double(part: WrittenPart, single: int) -> list[WrittenPart]:
    """Rule 3: an unrepeated part of twice `single` bars whose halves are alike is a part
    written out twice: two parts of `single` bars (cut after its first `single` full bars)."""
    if part.sign or count_bars(part.bars) != 2 * single:
        return [part]
    full = [i for i, (m, _) in enumerate(part.bars) if m is None or m >= 1]
    if len(full) <= single:
        return [part]
    cut = full[single - 1] + 1
    first = WrittenPart(
        part.bars[:cut], part.texts[:cut], part.notes[:cut], endings=part.endings, count=single
    )
    second = WrittenPart(part.bars[cut:], part.texts[cut:], part.notes[cut:], count=single)
    first.tonic = second.tonic = part.tonic
    second.again = True
    a, b = _full_bars(first), _full_bars(second)
    half = max(len(a), len(b)) // 2
    if _ratio(a, b) < SIMILAR and _ratio(a[:half], b[:half]) < SAME_START:
        return [part]
    notes = len(part.pitches) * cut // len(part.bars)  # near enough, for the mean pitches
    first.pitches, second.pitches = part.pitches[:notes], part.pitches[notes:]
    return [first, second]


def _halve_doubles(parts: list[WrittenPart]) -> list[WrittenPart]:
    """`_split_double` with the single length of the tune: its first part repeated by a sign
    (or `DOUBLE` // 2 bars, the tradition's, if none is)."""
    single = next((count_bars(p.bars) for p in parts if p.sign), DOUBLE // 2)
    return [half for part in parts for half in _split_double(part, single)]


def tune_form(body: str, meter: str = "4/4", unit: str = "", key: str = "C") -> Form:
    """The form of a tune body under its header's ``M:``, ``L:`` and ``K:`` values."""
    reader = read_parts(body, meter, unit, key)
    written = _halve_doubles(reader.parts)
    full = [_full_bars(part) for part in written]
    letters: list[str] = []
    for index in range(len(written)):
        like = index - 1 if written[index].again else None
        like = next((i for i in range(index) if _similar(full[i], full[index])), like)
        letters.append(letters[like] if like is not None else chr(65 + len(set(letters)) % 26))
    parts = []
    for index, part in enumerate(written):
        again = index + 1 < len(written) and letters[index + 1] == letters[index]
        pitches = part.pitches
        parts.append(
            PartShape(
                letter=letters[index],
                bars=part.count or count_bars(part.bars),
                repeated="sign" if part.sign else ("written" if again else ""),
                endings=part.endings,
                mean_pitch=sum(pitches) / len(pitches) if pitches else None,
            )
        )
    notes = reader.notes
    pitches = tuple(p for _, chord in notes for p in chord)
    tonic = reader.last_tonic
    return Form(
        parts=tuple(parts),
        letters="".join(p.letter * (2 if p.repeated == "sign" else 1) for p in parts),
        last_note_tonic=None
        if tonic is None or not reader.last_pitches
        else any(p % 12 == tonic for p in reader.last_pitches),
        lowest=min(pitches, default=None),
        highest=max(pitches, default=None),
        b_higher=_b_higher(parts),
        pitches=pitches,
        melody=tuple(max(chord) for _, chord in notes),
        lengths=tuple(length for length, _ in notes),
        part_notes=tuple(part_notes(part) for part in written),
    )


def _b_higher(parts: list[PartShape]) -> bool | None:
    means = {}
    for letter in "AB":
        found = [p.mean_pitch for p in parts if p.letter == letter and p.mean_pitch is not None]
        means[letter] = sum(found) / len(found) if found else None
    if means["A"] is None or means["B"] is None:
        return None
    return means["B"] > means["A"]


def form_of(tune) -> Form:
    """`tune_form` of a `musicgen.abc.tunes.Tune`."""
    return tune_form(tune.body, tune.meter, tune.unit_length, tune.key)


# The rates `musicgen check` reports, as (key, label): the figures of issue 13's table.
RATES = (
    ("parts_of_8", "every part 8 bars (or 16 once)"),
    ("aabb_of_8", "two parts AABB, 8 bars each"),
    ("last_note_tonic", "last note is the tonic"),
    ("single_part", "a single part, nothing else"),
    ("five_parts", "5 parts or more"),
    ("b_higher", "B part higher than A (of AB..)"),
)


def form_counts(forms) -> dict[str, int]:
    """How many of `forms` meet each of `RATES` (``with_b``: how many have a B part, the
    denominator of ``b_higher``)."""
    forms = list(forms)
    return {
        "parts_of_8": sum(f.parts_of_8 for f in forms),
        "aabb_of_8": sum(f.aabb_of_8 for f in forms),
        "last_note_tonic": sum(bool(f.last_note_tonic) for f in forms),
        "single_part": sum(f.distinct_parts == 1 for f in forms),
        "five_parts": sum(f.distinct_parts >= 5 for f in forms),
        "b_higher": sum(bool(f.b_higher) for f in forms),
        "with_b": sum(f.b_higher is not None for f in forms),
    }
