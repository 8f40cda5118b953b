"""The written events of an ABC tune: what `musicgen.playback.reader` reads and
`musicgen.playback.perform` plays.

A tune body becomes a flat list, in written order, of `Strike` (a note, a chord, a grace
note, or a rest when it has no sounds), bar lines (the strings below), `Ending` marks,
`Part` labels, `Meter` changes, guitar chords (`musicgen.playback.gchords.GuitarChord`)
and accompaniment commands (`musicgen.playback.directives.BackingChange`).  Lengths are
`Fraction` quarter notes, so triplets stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# Bar-line kinds, as abc2midi classes them.  [| and |] count as ||.
BAR, DOUBLE, START, END, BOTH = "|", "||", "|:", ":|", "::"
# Quarter notes between the onsets of a chord's notes: abc2midi strikes them 10 ticks of
# 480 apart (its default note delay), all ending together.
STRUM = Fraction(1, 48)


@dataclass(frozen=True, slots=True)
class Ornament:
    """A trill or roll, played out only once ties have joined the note (as abc2midi does)."""

    kind: str  # "trill" or "roll" (see `musicgen.playback.ornaments`)
    upper: int  # the pitch a step above, in the key signature
    lower: int  # the pitch a step below, in the key signature


@dataclass(slots=True)
class Sound:
    """One pitch of a strike; `length` in quarter notes grows when a tie joins a note to it."""

    pitch: int
    length: Fraction
    line: int  # staff position (letter and octave): a tie across a bar line matches on it
    tie: bool = False
    ornament: Ornament | None = None
    held: bool = False  # a tie joined a later note to it (abc2midi's TNOTE: not strummed)


@dataclass(slots=True)
class Strike:
    """A note or chord (or, without sounds, a rest) and the quarter notes until the next.

    A grace note (`grace`) is written with its length as written: `musicgen.playback.ornaments`
    shortens it and takes its time from the note after it, once the whole tune is read.
    """

    sounds: list[Sound]
    length: Fraction
    grace: bool = False


@dataclass(frozen=True, slots=True)
class Ending:
    """``[1``, ``|2``, ``:|1,3``: the passes through the repeat that play what follows."""

    passes: frozenset[int]


@dataclass(frozen=True, slots=True)
class Meter:
    """An ``M:`` change in the body (a free meter, ``M:none``, adds none)."""

    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class Part:
    """A ``P:`` label in the body (``label`` "" marks the end of the last part)."""

    label: str


@dataclass
class Written:
    """A tune as written: header values and the events of its body."""

    title: str
    events: list  # Strike | Ending | Meter | Part | GuitarChord | BackingChange | BAR ... BOTH
    meter: tuple[int, int] | None  # the header's M: (None: free meter)
    sharps: int  # the header's K: as sharps (negative: flats)
    tempo: float | None  # the header's Q: in quarter notes per minute
    parts: str | None = None  # the header's P: order, expanded ("ABAB"); None: no P:
    voices: int = 1  # voices named by V: (only the first is played)
    unit: Fraction = Fraction(1, 8)  # the header's L: in whole notes (trills count in it)
