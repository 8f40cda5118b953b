"""Read a tune's parts off its tokens: rules 1 and 2 of `musicgen.form.analysis` (where to cut
parts, which bars count, how long each bar is).  Pure.

`read_parts` walks the lexer's tokens of one body once (`musicgen.abc.lexer.lex`: field lines
such as ``M:``, ``K:`` or ``P:`` in the body are read as abc2midi reads them, as fields),
keeps key signature, bar accidentals, unit length, tuplets, broken rhythm and grace notes
in mind, and gives each part's bars as (length in meters, counted?) with their texts, and
every note's pitches and length.  Shapes, letters and rates are `musicgen.form.analysis`'s work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.abc.lexer import Token, lex
from musicgen.abc.theory import (
    ACCIDENTALS,
    default_unit,
    key_signature,
    key_tonic,
    midi_pitch,
    parse_meter,
    parse_unit,
    tuplet_q,
)

_CLOSING = frozenset(("||", "|]", "[|", "[|]"))
_SKIP = frozenset(("space", "newline", "linebreak", "comment", "continuation", "directive"))
_NOT_THE_TUNE = frozenset(("gchord", "annotation", "space", "newline", "comment", "linebreak"))


@dataclass
class WrittenPart:
    """A part as written: its bars (length in meters, counted by rule 2?) and its notes."""

    bars: list[tuple[Fraction | None, bool]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # each bar's music, for rule 3
    pitches: list[int] = field(default_factory=list)
    sign: bool = False
    endings: int = 0
    count: int | None = None  # bars, when rule 3 halved a double part; else rule 2 counts
    again: bool = False  # the second half of a halved double part: the first written again

    @property
    def has_music(self) -> bool:
        return bool(self.bars)


class PartReader:
    """Walks the tokens of one tune once; `read_parts` is the way in."""

    def __init__(self, meter: str, unit: str, key: str):
        self._set_meter(meter)
        self.unit = parse_unit(unit) or default_unit(parse_meter(meter))
        self._set_key(key)
        self.parts: list[WrittenPart] = []
        self.part = WrittenPart()
        self.first_ending: str | None = None  # the ending counted (rule 2) of the open part
        self.ending: str | None = None  # the ending being read; None: before any
        self.bar_items: list[list] = []  # [length, pitches] of the open bar's notes and rests
        self.bar_text: list[str] = []
        self.accidentals: dict[str, int] = {}  # alterations written so far in the bar
        self.tuplet_left, self.tuplet_factor = 0, Fraction(1)
        self.broken = 0  # a > (+n) or < (-n) waiting for the next note
        self.in_grace = False
        self.notes: list[list] = []  # [length, pitches] of every note, for the histograms
        self.last_pitches: tuple[int, ...] = ()
        self.last_tonic: int | None = self.tonic

    def _set_meter(self, meter: str) -> None:
        parsed = parse_meter(meter)
        self.bar_length = None if parsed is None else Fraction(*parsed)
        self.compound = parsed is not None and parsed[0] % 3 == 0

    def _set_key(self, key: str) -> None:
        self.keymap = key_signature(key)[0]
        self.tonic = key_tonic(key)

    def read(self, body: str) -> list[WrittenPart]:
        tokens = lex(body)
        for index, token in enumerate(tokens):
            self._token(token, tokens, index)
        self._close_bar()
        self._close_part()
        return self.parts

    def _token(self, token: Token, tokens: list[Token], index: int) -> None:
        kind = token.kind
        if kind == "grace_start" or kind == "grace_end":
            self.in_grace = kind == "grace_start"
        elif self.in_grace:
            return
        elif kind in ("note", "chord", "rest"):
            self._strike(token)
        elif kind == "bar":
            self._bar(token, tokens, index)
        elif kind == "ending":
            self._close_bar()
            self._start_ending(token.ending)
        elif kind == "tuplet":
            p, q, r = token.tuplet
            self.tuplet_left = r
            self.tuplet_factor = Fraction(q or tuplet_q(p, self.compound), p)
        elif kind == "broken":
            self.broken = token.broken
        elif kind in ("field", "inline_field"):
            self._field(token.name, token.value)
        if kind not in _NOT_THE_TUNE and kind != "bar":
            self.bar_text.append(token.text)

    def _field(self, name: str, value: str) -> None:
        if name == "M":
            self._set_meter(value)
        elif name == "L":
            self.unit = parse_unit(value) or self.unit
        elif name == "K":
            self._set_key(value)
        elif name == "P" and self.part.has_music:
            self._close_bar()
            self._close_part()

    def _strike(self, token: Token) -> None:
        if token.kind == "rest":
            pitches: tuple[int, ...] = ()
            if token.letter in "ZX":  # whole bars of rest
                length = token.length * (self.bar_length or 0)
            else:
                length = token.length * self.unit
        else:
            notes = token.notes if token.kind == "chord" else (token,)
            pitches = tuple(self._pitch(note) for note in notes)
            first = notes[0].length if token.kind == "chord" and notes else Fraction(1)
            length = first * token.length * self.unit
        if self.tuplet_left:
            length *= self.tuplet_factor
            self.tuplet_left -= 1
        item = [length, pitches]
        if self.broken and self.bar_items and self.bar_items[-1][0] == length:
            # abc2midi's rule: > and < change two notes only if they are equally long.
            short = Fraction(1, 2 ** abs(self.broken))
            before, after = (2 - short, short) if self.broken > 0 else (short, 2 - short)
            self.bar_items[-1][0] *= before
            item[0] *= after
        self.broken = 0
        self.bar_items.append(item)
        if pitches:
            self.notes.append(item)
            self.part.pitches.extend(pitches)
            self.last_pitches, self.last_tonic = pitches, self.tonic

    def _pitch(self, note: Token) -> int:
        letter = note.letter.upper()
        if note.accidental:
            self.accidentals[letter] = ACCIDENTALS[note.accidental]
        alter = self.accidentals.get(letter, self.keymap.get(letter, 0))
        return midi_pitch(letter, note.octave, alter)

    def _bar(self, token: Token, tokens: list[Token], index: int) -> None:
        self._close_bar()
        if token.repeat_end:
            self.part.sign = True
        ending_next = bool(token.ending) or _next_is_ending(tokens, index)
        closes = token.repeat_end > 0 or token.style in _CLOSING
        if closes and not ending_next:
            self._close_part()
        elif token.repeat_start and self.part.has_music and not ending_next:
            self._close_part()  # |: opens a new part
        if token.ending:
            self._start_ending(token.ending)

    def _start_ending(self, label: str) -> None:
        self.part.endings += 1
        if self.first_ending is None:
            self.first_ending = label
        self.ending = label

    def _close_bar(self) -> None:
        """End the bar being read: record its length in meters, if it holds anything."""
        if self.bar_items:
            total = sum((item[0] for item in self.bar_items), Fraction(0))
            meters = None if not self.bar_length else total / self.bar_length
            counted = self.ending is None or self.ending == self.first_ending
            self.part.bars.append((meters, counted))
            self.part.texts.append("".join(self.bar_text))
        self.bar_items, self.bar_text, self.accidentals = [], [], {}

    def _close_part(self) -> None:
        if self.part.has_music:
            self.parts.append(self.part)
        self.part, self.first_ending, self.ending = WrittenPart(), None, None


def _next_is_ending(tokens: list[Token], index: int) -> bool:
    """True if the next token that is not spacing is an ending (``[2``, ``|2``)."""
    for token in tokens[index + 1 :]:
        if token.kind in _SKIP:
            continue
        return token.kind == "ending" or (token.kind == "bar" and bool(token.ending))
    return False


def count_bars(bars: list[tuple[Fraction | None, bool]]) -> int:
    """Rule 2: full bars count 1, short ones pool their lengths (see the module docstring)."""
    full, pool = 0, Fraction(0)
    for meters, counted in bars:
        if not counted:
            continue
        if meters is None:
            full += 1
        elif meters >= 1:
            full += int(meters + Fraction(1, 2))  # a bar line left out: 2 bars in one
        else:
            pool += meters
    return max(full + int(pool + Fraction(1, 2)), 1 if bars else 0)


def read_parts(body: str, meter: str, unit: str, key: str) -> PartReader:
    """Read a body under its header's ``M:``, ``L:``, ``K:``; the reader holds the result:
    ``parts`` (`WrittenPart` list), ``notes`` ([length, pitches] each), ``last_pitches`` and
    ``last_tonic`` (the tonic's pitch class in force at the last note)."""
    reader = PartReader(meter, unit, key)
    reader.read(body)
    return reader
