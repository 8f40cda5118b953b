"""Read a tune's parts off its tokens: rules 1 and 2 of `musicgen.form.analysis` (where to cut
parts, which bars count, how long each bar is).  Pure.

`read_parts` walks the lexer's tokens of one body once (`musicgen.abc.lexer.lex`: field lines
such as ``M:``, ``K:`` or ``P:`` in the body are read as abc2midi reads them, as fields) and
cuts them into parts and bars.  The notes themselves are the playback reader's: each note,
chord and rest token goes to a `musicgen.playback.state.Writer`, which keeps the key
signature, the bar's accidentals, the unit length, tuplets and broken rhythm, and gives back
a `Strike` with its pitches and length.  The form counts notes as written, not as played:
decorations (a fermata's longer note, a roll's grace notes) and ``%%MIDI`` lines are not
handed on, and grace notes in braces are no notes of the tune.  Each part's bars come out
as (length in meters, counted?) with their texts, and every note's pitches and length.
Shapes, letters and rates are `musicgen.form.analysis`'s work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.abc.lexer import Token, lex
from musicgen.abc.theory import default_unit, key_signature, key_tonic, parse_meter, parse_unit
from musicgen.playback.events import Strike
from musicgen.playback.state import Writer

_CLOSING = frozenset(("||", "|]", "[|", "[|]"))
_SKIP = frozenset(("space", "newline", "linebreak", "comment", "continuation", "directive"))
# Left out of a bar's text, which rule 3 compares: chord symbols and annotations, spacing.
_NOT_IN_BAR_TEXT = frozenset(("gchord", "annotation", "space", "newline", "comment", "linebreak"))


@dataclass
class WrittenPart:
    """A part as written: its bars (length in meters, counted by rule 2?) and its notes."""

    bars: list[tuple[Fraction | None, bool]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # each bar's music, for rule 3
    # each bar's notes and rests, ((length in quarters, pitches), ...): phrases are compared
    notes: list[tuple] = field(default_factory=list)
    pitches: list[int] = field(default_factory=list)
    sign: bool = False
    endings: int = 0
    count: int | None = None  # bars, when rule 3 halved a double part; else rule 2 counts
    again: bool = False  # the second half of a halved double part: the first written again
    tonic: int | None = None  # the tonic's pitch class in force at its last note

    @property
    def has_music(self) -> bool:
        return bool(self.bars)


class PartReader:
    """Walks the tokens of one tune once; `read_parts` is the way in."""

    def __init__(self, meter: str, unit: str, key: str):
        self.notes_read = Writer()  # the playback reader's note state: pitches and lengths
        self._set_meter(meter)
        self.notes_read.unit = 4 * (parse_unit(unit) or default_unit(self.meter))
        self._set_key(key)
        self.parts: list[WrittenPart] = []
        self.part = WrittenPart()
        self.first_ending: str | None = None  # the ending counted (rule 2) of the open part
        self.ending: str | None = None  # the ending being read; None: before any
        self.bar_strikes: list[Strike] = []  # the open bar's notes and rests
        self.bar_text: list[str] = []
        self.in_grace = False
        self.strikes: list[Strike] = []  # every note and chord, for the histograms
        self.last_pitches: tuple[int, ...] = ()
        self.last_tonic: int | None = self.tonic

    @property
    def notes(self) -> list[tuple[Fraction, tuple[int, ...]]]:
        """(length in whole notes, pitches) of every note and chord, in written order."""
        return [(s.length / 4, tuple(sound.pitch for sound in s.sounds)) for s in self.strikes]

    def _set_meter(self, meter: str) -> None:
        self.meter = parse_meter(meter)
        self.bar_length = None if self.meter is None else 4 * Fraction(*self.meter)  # quarters
        self.notes_read.meter(self.meter, header=True)

    def _set_key(self, key: str) -> None:
        self.notes_read.key(*key_signature(key), header=False)
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
            self.notes_read.tuplet(token.tuplet, self.meter)
        elif kind == "broken":
            self.notes_read.broken_rhythm(token.broken)
        elif kind in ("field", "inline_field"):
            self._field(token.name, token.value)
        if kind not in _NOT_IN_BAR_TEXT and kind != "bar":
            self.bar_text.append(token.text)

    def _field(self, name: str, value: str) -> None:
        if name == "M":
            self._set_meter(value)
        elif name == "L" and parse_unit(value) is not None:
            self.notes_read.unit = 4 * parse_unit(value)  # quarter notes, as the Writer counts
        elif name == "K":
            self._set_key(value)
        elif name == "P" and self.part.has_music:
            self._close_bar()
            self._close_part()

    def _strike(self, token: Token) -> None:
        events = self.notes_read.events
        start = len(events)
        self.notes_read.music(token)
        for strike in events[start:]:
            self.bar_strikes.append(strike)
            if strike.sounds:
                pitches = tuple(sound.pitch for sound in strike.sounds)
                self.strikes.append(strike)
                self.part.pitches.extend(pitches)
                self.last_pitches, self.last_tonic = pitches, self.tonic
                self.part.tonic = self.tonic

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
        if self.bar_strikes:
            total = sum((strike.length for strike in self.bar_strikes), Fraction(0))
            meters = None if not self.bar_length else total / self.bar_length
            counted = self.ending is None or self.ending == self.first_ending
            self.part.bars.append((meters, counted))
            self.part.texts.append("".join(self.bar_text))
            notes = ((s.length, tuple(sound.pitch for sound in s.sounds)) for s in self.bar_strikes)
            self.part.notes.append(tuple(notes))
        self.bar_strikes, self.bar_text = [], []
        self.notes_read.new_bar()

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
    ``parts`` (`WrittenPart` list), ``notes`` ((length, pitches) each), ``last_pitches`` and
    ``last_tonic`` (the tonic's pitch class in force at the last note)."""
    reader = PartReader(meter, unit, key)
    reader.read(body)
    return reader
