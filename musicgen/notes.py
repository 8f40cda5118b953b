"""Read the notes of one ABC tune as written: tokens, then events.  Pure: no I/O.

`read_tune` turns the text of a tune into `Written`: a flat list of events in written
order (struck notes and chords as `Strike`, rests as a `Strike` without sounds, bar lines,
`Ending` marks, parts, meter changes) with every pitch and length worked out.  Playing
them (ties, repeats, endings, timing) is `musicgen.perform`'s job.

The rules are those of abcMIDI's abc2midi, the implementation our MIDI is checked against
(tests/test_fidelity.py), where the ABC standard leaves room or abc2midi departs from it:
- an accidental holds to the end of the bar for its letter in every octave;
- a chord lasts as long as its first note, or the length written after ``]`` if any;
- ``(5``, ``(7`` and ``(9`` fit into 3 notes when the meter's numerator divides by 3, else 2;
- an ``M:`` change in the body keeps the unit length;
- ``>`` (3:1, ``>>`` 7:1) and ``<`` change two notes only if they are equally long, and
  both staccato or neither; a staccato note (``.A``) sounds half its length.
Music written on an ``M:`` or ``L:`` line of the body (``M:3/4 ABc|``, not ABC) is
dropped and the field kept, as abc2midi does.  On purpose not sounded: grace notes
``{...}`` (no sound, no time), guitar chords and annotations in quotes, lyrics, voices
after the first (``V:``) and voice overlays (``&``).
Other decorations (``~ T H`` and the other shortcuts, ``!trill!``, ``+fermata+``) are read
and dropped: the note is played as written, where abc2midi plays rolls and trills as runs
of short notes and holds fermatas longer.
"""

from __future__ import annotations

import re
from fractions import Fraction

from musicgen.abcvalues import (
    default_unit,
    ending_passes,
    key_signature,
    note_length,
    parse_meter,
    parse_tempo,
    parse_unit,
    strip_comment,
)
from musicgen.errors import MidiError
from musicgen.events import (
    BAR,
    BOTH,
    DOUBLE,
    END,
    PART,
    START,
    Ending,
    Meter,
    Sound,
    Strike,
    Written,
)

_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
_TUPLET_SPAN = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}  # (p: p notes in the time of this many
_FIELD_RE = re.compile(r"([A-Za-z+]):(.*)")  # +: continues the field before it
_TOKEN_RE = re.compile(
    r"""
      (?P<field>\[[A-Za-z]:[^\]]*\]?)
    | (?P<text>"[^"]*"?)
    | (?P<deco>![^!\s|]*!|\+[^+\s|]*\+)
    | (?P<grace>\{[^}]*\}?)
    | (?P<ending>\[\d+(?:[-,]\d+)*)
    | (?P<bar>(?P<barline>\[?\|[|\]:]?|::|:\|\]?)(?P<passes>\s*\d+(?:[-,]\d+)*)?)
    | (?P<note>(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<octave>[,']*)
        (?P<num>\d*)(?P<slashes>/*)(?P<den>\d*))
    | (?P<rest>[zx](?P<rnum>\d*)(?P<rslashes>/*)(?P<rden>\d*))
    | (?P<measures>[ZX](?P<count>\d*))
    | (?P<open>\[)
    | (?P<close>\](?P<cnum>\d*)(?P<cslashes>/*)(?P<cden>\d*))
    | (?P<tie>-)
    | (?P<tuplet>\((?P<p>[1-9]\d*)(?::(?P<q>\d*)(?::(?P<r>\d*))?)?)
    | (?P<broken>[<>]+)
    | (?P<overlay>&)
    | (?P<staccato>\.(?![-(]))
    """,
    re.VERBOSE,
)


def read_tune(abc: str) -> Written:
    """Read the first tune of `abc` (header up to ``K:``, then the body).

    The body ends at a blank line or the next ``X:``.  Raises `MidiError` if there is no
    ``K:`` field before the music.
    """
    return _Reader().read(abc)


class _Reader:
    """The state of reading one tune: key, unit, meter, open chord, tuplet, broken rhythm."""

    def __init__(self) -> None:
        self.title = "Untitled"
        self.events: list = []
        self.meter: tuple[int, int] | None = None
        self.unit: Fraction | None = None  # quarter notes per unit length, once known
        self.keymap, self.sharps = key_signature("C")
        self.in_bar: dict[str, int] = {}  # accidentals written so far in this bar
        self.tempo: float | None = None
        self.chord: list[Sound] | None = None
        self.chord_unit: Fraction | None = None  # the first chord note's multiplier
        self.tuplet_left, self.tuplet_factor = 0, Fraction(1)
        self.broken: tuple[Fraction, Fraction] | None = None  # > or < waiting for its note
        self.last: Strike | None = None
        self.last_staccato = False
        self.voice: str | None = None  # the first voice named by V:, the one we play
        self.other_voice = False  # after a V: naming another voice
        self.overlay = False  # after &, to the bar line: abc2midi plays it in another track
        self.staccato = False  # a . before the next single note: it sounds half its length

    def read(self, abc: str) -> Written:
        lines = abc.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        body_start = None
        for number, raw in enumerate(lines):
            line = strip_comment(raw)
            match = _FIELD_RE.match(line)
            if match:
                name, value = match.groups()
                self.field(name, value.strip(), header=True)
                if name == "K":
                    body_start = number + 1
                    break
            elif line.strip():
                raise MidiError(f"tune {self.title!r}: no K: field before the music")
        if body_start is None:
            raise MidiError(f"tune {self.title!r}: no K: field")
        header_meter, header_sharps = self.meter, self.sharps
        for raw in lines[body_start:]:
            if not raw.strip():
                if self.events:
                    break  # a blank line ends the tune
                continue
            line = strip_comment(raw)
            match = _FIELD_RE.match(line)
            if match:
                name, value = match.group(1), match.group(2).strip()
                if name == "X":
                    break
                value, _dropped = _music_after_field(name, value)
                self.field(name, value, header=False)
            else:
                self.music(line)
        return Written(self.title, self.events, header_meter, header_sharps, self.tempo)

    def field(self, name: str, value: str, header: bool) -> None:
        """Act on a header field, a field line in the body, or an inline ``[X:...]``."""
        if name == "T" and header and self.title == "Untitled":
            self.title = value or "Untitled"
        elif name == "M":
            self.meter = parse_meter(value)
            if not header and self.meter is not None:
                self.events.append(Meter(*self.meter))
        elif name == "L":
            unit = parse_unit(value)
            self.unit = unit * 4 if unit is not None else self.unit
        elif name == "K":
            self.keymap, sharps = key_signature(value)
            self.in_bar = {}
            if header:
                self.sharps = sharps
                if self.unit is None:
                    self.unit = default_unit(self.meter) * 4
        elif name == "Q" and self.tempo is None:
            self.tempo = parse_tempo(value)
        elif name == "P" and not header:
            self.events.append(PART)
        elif name == "V":
            voice = value.split()[0] if value.split() else ""
            self.voice = self.voice if self.voice is not None else voice
            self.other_voice = voice != self.voice

    def music(self, line: str) -> None:
        """Read one line of music, token by token."""
        for match in _TOKEN_RE.finditer(line):
            kind = match.lastgroup
            if kind == "field":
                text = match.group("field").strip("[]")
                self.field(text[0], text[2:].strip(), header=False)
            elif (self.other_voice or self.overlay) and kind not in ("bar", "ending"):
                continue
            elif kind == "note":
                self.note(match)
            elif kind == "bar":
                self.bar(match.group("barline"), match.group("passes"))
            elif kind == "rest":
                self.strike([], note_length(*match.group("rnum", "rslashes", "rden")))
            elif kind == "open":
                self.chord, self.chord_unit, self.staccato = [], None, False
            elif kind == "close":
                self.close_chord(match)
            elif kind == "tie":
                self.tie()
            elif kind == "tuplet":
                self.tuplet(match)
            elif kind == "broken":
                self.broken_rhythm(match.group("broken"))
            elif kind == "ending":
                self.events.append(Ending(ending_passes(match.group("ending")[1:])))
            elif kind == "measures":
                self.rest_measures(int(match.group("count") or 1))
            elif kind == "overlay":
                self.overlay = True
            elif kind == "staccato":
                self.staccato = True
        if self.chord is not None:  # an unclosed chord ends with its line
            self.close_chord(None)

    def note(self, match: re.Match) -> None:
        accidental, letter, octave = match.group("acc", "letter", "octave")
        step = letter.upper()
        natural = 60 + _SEMITONES[step] + (12 if letter.islower() else 0)
        if octave:
            natural += 12 * (octave.count("'") - octave.count(","))
        if accidental:
            self.in_bar[step] = _ACCIDENTALS[accidental]
        pitch = natural + self.in_bar.get(step, self.keymap[step])
        sound = Sound(pitch, Fraction(0), natural)
        multiplier = note_length(*match.group("num", "slashes", "den"))
        if self.chord is not None:
            if not self.chord:
                self.chord_unit = multiplier
            self.chord.append(sound)
        else:
            self.strike([sound], multiplier)

    def close_chord(self, match: re.Match | None) -> None:
        sounds, first = self.chord or [], self.chord_unit
        self.chord = self.chord_unit = None
        if not sounds or first is None:
            return
        if match is not None and (match.group("cnum") or match.group("cslashes")):
            first = note_length(*match.group("cnum", "cslashes", "cden"))
        self.strike(sounds, first)

    def strike(self, sounds: list[Sound], multiplier: Fraction) -> None:
        """Add a note, chord or rest of `multiplier` unit lengths, tuplet and > applied."""
        length = (self.unit or Fraction(1, 2)) * multiplier
        if self.tuplet_left:
            length *= self.tuplet_factor
            self.tuplet_left -= 1
        staccato, self.staccato = self.staccato and len(sounds) == 1, False
        if self.broken is not None:
            before, (first, second) = self.last, self.broken
            self.broken = None
            # abc2midi dots only two notes of equal length, both staccato or neither.
            if before.length == length and staccato == self.last_staccato:
                _scale(before, first)
                length *= second
        for sound in sounds:
            sound.length = length
        if staccato:
            sounds[0].length = length / 2
        self.last, self.last_staccato = Strike(sounds, length), staccato
        self.events.append(self.last)

    def bar(self, barline: str, passes: str | None) -> None:
        if barline.startswith(":"):
            kind = END if "|" in barline else BOTH
        elif barline.endswith(":"):
            kind = START
        else:
            kind = BAR if barline == "|" else DOUBLE
        self.events.append(kind)
        if passes:
            self.events.append(Ending(ending_passes(passes)))
        self.in_bar = {}
        self.overlay = False

    def tie(self) -> None:
        """``-`` after a note ties it; after a chord, ties all its notes."""
        if self.chord:
            self.chord[-1].tie = True
        elif self.chord is None and self.last is not None and not self.last_staccato:
            for sound in self.last.sounds:
                sound.tie = True

    def tuplet(self, match: re.Match) -> None:
        p = int(match.group("p"))
        compound = self.meter is not None and self.meter[0] % 3 == 0
        q = int(match.group("q") or _TUPLET_SPAN.get(p, 3 if compound else 2))
        self.tuplet_left = int(match.group("r") or p)
        self.tuplet_factor = Fraction(q, p)

    def broken_rhythm(self, marks: str) -> None:
        """``>`` dots the note before and halves the one after (``>>``: 7:1); ``<`` the reverse."""
        if self.last is None:
            return
        short = Fraction(1, 2 ** len(marks))
        self.broken = (2 - short, short) if marks[0] == ">" else (short, 2 - short)

    def rest_measures(self, count: int) -> None:
        numerator, denominator = self.meter or (4, 4)
        self.events.append(Strike([], Fraction(4 * numerator * count, denominator)))


def _music_after_field(name: str, value: str) -> tuple[str, str]:
    """``M:3/4 ABc|`` -> ("3/4", "ABc|"): music written on a meter or unit-length line.

    Such music is not ABC; abc2midi drops it, and so does the caller (agreement with
    abc2midi is the rule: see tests/fidelity_sweep.py).
    """
    first, _, rest = value.partition(" ")
    if name == "M" and parse_meter(first) is not None or name == "L" and parse_unit(first):
        return first, rest
    return value, ""


def _scale(strike: Strike, factor: Fraction) -> None:
    strike.length *= factor
    for sound in strike.sounds:
        sound.length *= factor
