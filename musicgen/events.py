"""The written events of an ABC tune: what `musicgen.notes` reads and `musicgen.perform` plays.

A tune body becomes a flat list, in written order, of `Strike` (a note, a chord, or a rest
when it has no sounds), bar lines (the strings below), `Ending` marks, `PART` labels and
`Meter` changes.  Lengths are `Fraction` quarter notes, so triplets stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# Bar-line kinds, as abc2midi classes them.  [| and |] count as ||.
BAR, DOUBLE, START, END, BOTH = "|", "||", "|:", ":|", "::"
PART = "P:"  # a part label in the body; an ending being skipped stops there


@dataclass(slots=True)
class Sound:
    """One pitch of a strike; `length` in quarter notes grows when a tie joins a note to it."""

    pitch: int
    length: Fraction
    line: int  # staff position (letter and octave): a tie across a bar line matches on it
    tie: bool = False


@dataclass(slots=True)
class Strike:
    """A note or chord (or, without sounds, a rest) and the quarter notes until the next."""

    sounds: list[Sound]
    length: Fraction


@dataclass(frozen=True, slots=True)
class Ending:
    """``[1``, ``|2``, ``:|1,3``: the passes through the repeat that play what follows."""

    passes: frozenset[int]


@dataclass(frozen=True, slots=True)
class Meter:
    """An ``M:`` change in the body (a free meter, ``M:none``, adds none)."""

    numerator: int
    denominator: int


@dataclass
class Written:
    """A tune as written: header values and the events of its body."""

    title: str
    events: list  # Strike | Ending | Meter | BAR ... BOTH | PART
    meter: tuple[int, int] | None  # the header's M: (None: free meter)
    sharps: int  # the header's K: as sharps (negative: flats)
    tempo: float | None  # the header's Q: in quarter notes per minute
