"""The note-level state of reading a tune: key, unit, open chord, tuplet, broken rhythm.

`musicgen.playback.reader` hands each note, chord, rest and decoration token to a `Writer`; what
each decoration does comes from `musicgen.playback.ornaments`, what ``%%MIDI`` lines change from
`musicgen.playback.directives`; the abc2midi rules: `musicgen.playback.reader`.  The form
analysis (`musicgen.form.parts`) reads its notes' pitches and lengths through a `Writer` too.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from musicgen.abc.lexer import Token
from musicgen.abc.theory import ACCIDENTALS, ending_passes, key_signature, midi_pitch, tuplet_q
from musicgen.playback import ornaments
from musicgen.playback.directives import MidiSettings, read_backing, read_directive
from musicgen.playback.events import STRUM, Ending, Meter, Ornament, Sound, Strike
from musicgen.playback.gchords import read_gchord
from musicgen.playback.ornaments import CUT, FERMATA, ROLL, STACCATO, TRILL

_HALF = Fraction(1, 2)
_ONE = Fraction(1)
_NOTE_SHAPES = (CUT, TRILL, ROLL)  # in a chord these only halve the note


class Timeline:
    """The time side of writing notes: unit length, tuplets, broken rhythm, the events.

    `Writer` adds pitches, chords and decorations on top.
    """

    def __init__(self) -> None:
        self.events: list = []
        self.in_bar: dict[str, int] = {}  # accidentals written so far in this bar
        self.unit = Fraction(1, 2)  # quarter notes per unit length (L:)
        self.header_unit = self.unit
        self.tuplet_left, self.tuplet_factor = 0, _ONE
        self.broken: tuple[Fraction, Fraction] | None = None  # > or < waiting for its note
        self.last: Strike | None = None
        self.last_key: Fraction | None = None  # what broken rhythm compares (None: chord)
        self.last_staccato = False
        self.music_seen = False

    def has_music(self) -> bool:
        """Whether a note, rest or bar line has been read (a blank line then ends the tune)."""
        return self.music_seen

    def take_tuplet(self) -> Fraction:
        if not self.tuplet_left:
            return _ONE
        self.tuplet_left -= 1
        return self.tuplet_factor

    def strike(self, sounds, multiplier, scale=_ONE, chord=False) -> None:
        """Add a note, chord or rest of `multiplier` units (tuplet and > applied); each
        sound lasts `scale` of it (a staccato note: half)."""
        factor = self.take_tuplet()  # _ONE itself outside tuplets: skip the multiplying
        length = self.unit * multiplier if factor is _ONE else self.unit * multiplier * factor
        key = None if chord else length if scale is _ONE else length * scale
        self.add(Strike(sounds, length), key, scale, staccato=scale != 1)

    def add(self, strike: Strike, key: Fraction | None, scale: Fraction, staccato: bool):
        if self.broken is not None and self.last is not None:
            (first, second), self.broken = self.broken, None
            if key is None or self.last_key is None or key == self.last_key:
                _scale(self.last, first)
                strike.length *= second
                key = None if key is None else key * second
        for sound in strike.sounds:
            sound.length = strike.length if scale is _ONE else strike.length * scale
        self.last, self.last_key, self.last_staccato = strike, key, staccato
        self.events.append(strike)
        self.music_seen = True

    def grace(self, sounds: list[Sound], multiplier: Fraction) -> None:
        length = self.unit * multiplier * (self.tuplet_factor if self.tuplet_left else 1)
        for sound in sounds:
            sound.length = length
        self.events.append(Strike(sounds, length, grace=True))

    def tuplet(self, spec: tuple[int, int | None, int], meter) -> None:
        p, q, r = spec
        if q is None and not 2 <= p <= 9:
            return  # abc2midi plays only (2 to (9 without a q
        compound = meter is not None and meter[0] % 3 == 0
        self.tuplet_left = r
        self.tuplet_factor = Fraction(q or tuplet_q(p, compound), p)

    def new_bar(self) -> None:
        """The accidentals written in a bar end with it."""
        self.in_bar = {}

    def broken_rhythm(self, marks: int) -> None:
        """``>`` dots the note before and halves the one after (``>>``: 7:1); ``<`` the reverse."""
        if self.last is None:
            return
        short = Fraction(1, 2 ** abs(marks))
        self.broken = (2 - short, short) if marks > 0 else (short, 2 - short)

    def bar(self, kind: str, ending: str) -> None:
        self.events.append(kind)
        if ending:
            self.events.append(Ending(ending_passes(ending)))
        self.new_bar()
        self.music_seen = True


class Writer(Timeline):
    """Turns note tokens into `Strike` events, keeping the state between them."""

    def __init__(self) -> None:
        super().__init__()
        self.keymap, self.sharps = key_signature("C")
        self.bar_meter: tuple[int, int] = (4, 4)
        self.pending: set[str] = set()  # effects of decorations waiting for their note
        self.chord: list[tuple[Sound, Fraction, set[str]]] | None = None
        self.chord_effects: set[str] = set()
        self.in_grace = False
        self.midi = MidiSettings()

    def directive(self, value: str) -> None:
        """A ``%%`` line: the ``%%MIDI`` ones that change the melody take effect; those
        for the accompaniment become events, to act where they stand in playing order."""
        self.midi = read_directive(self.midi, value)
        change = read_backing(value)
        if change is not None:
            self.events.append(change)

    def gchord(self, text: str) -> None:
        """A quoted string: the guitar chords it names become events at this point
        (transposed as the notes are); annotations and other text add none."""
        shift = self.midi.transpose
        for chord in read_gchord(text):
            if shift:
                bass = None if chord.bass is None else chord.bass + shift
                chord = replace(chord, root=chord.root + shift, bass=bass)
            self.events.append(chord)

    def meter(self, meter: tuple[int, int] | None, header: bool) -> None:
        if meter is not None:
            self.bar_meter = meter
            if not header:
                self.events.append(Meter(*meter))

    def key(self, keymap: dict[str, int], sharps: int, header: bool) -> None:
        self.keymap, self.in_bar = keymap, {}
        if header:
            self.sharps = sharps

    def decorate(self, token: Token, acts: bool) -> None:
        effect = ornaments.effect(token.text, token.name) if acts else None
        if effect is not None:
            self.pending.add(effect)

    def music(self, token: Token) -> None:
        """A note, chord or rest token, with the decorations waiting for it."""
        effects, self.pending = self.pending, set()
        if token.kind == "rest":
            self.rest(token, effects)
        elif token.kind == "chord":
            self.open_chord(effects)
            for note in token.notes:
                self.note(note, set())
                if token.text[note.end - token.start : note.end - token.start + 1] == "-":
                    self.chord[-1][0].tie = True
            self.close_chord(token.length)
        else:
            self.note(token, effects)

    def note(self, token: Token, effects: set[str]) -> None:
        step = token.letter.upper()
        natural = midi_pitch(token.letter, token.octave, 0)
        if token.accidental:
            self.in_bar[step] = ACCIDENTALS[token.accidental]
        pitch = natural + self.in_bar.get(step, self.keymap[step]) + self.midi.transpose
        sound = Sound(pitch, Fraction(0), natural)
        if self.chord is not None:
            self.chord.append((sound, token.length, effects | self.chord_effects))
        elif self.in_grace:
            self.grace([sound], self.fermata(token.length, effects))
        elif CUT in effects:
            self.cut(token, sound, self.fermata(token.length, effects))
        else:
            shape = TRILL if TRILL in effects else ROLL if ROLL in effects else None
            if shape is not None:
                upper, lower = self.neighbours(token)
                sound.ornament = Ornament(shape, upper, lower)
            staccato = STACCATO in effects and shape is None
            self.strike([sound], self.fermata(token.length, effects), _HALF if staccato else _ONE)

    def rest(self, token: Token, effects: set[str]) -> None:
        if self.chord is not None:
            return  # abc2midi lets a rest in a chord take no time
        if token.letter in "zx":
            self.strike([], self.fermata(token.length, effects))
            return
        numerator, denominator = self.bar_meter  # Z4: four whole bars of rest
        bars = max(1, int(token.length))
        self.events.append(Strike([], Fraction(4 * numerator * bars, denominator)))
        self.music_seen = True

    def fermata(self, multiplier: Fraction, effects: set[str]) -> Fraction:
        if FERMATA not in effects:
            return multiplier
        return multiplier + 1 if self.midi.fermata_fixed else multiplier * 2

    def neighbours(self, token: Token) -> tuple[int, int]:
        return ornaments.neighbours(token.letter, token.octave, self.keymap, self.midi.transpose)

    def open_chord(self, effects: set[str]) -> None:
        self.close_chord(None)
        self.chord, self.chord_effects = [], effects

    def close_chord(self, written: Fraction | None) -> None:
        """End the open chord: its length is its first note's, or the one after ``]``."""
        notes, self.chord = self.chord, None
        if not notes:
            return
        sounds = [sound for sound, _, _ in notes]
        if self.in_grace:
            self.grace(sounds, notes[0][1])
            return
        _, first, effects = notes[0]
        if written is not None and written != 1:
            self.strike(sounds, self.fermata(written, self.chord_effects), _ONE, chord=True)
            return
        halved = STACCATO in effects or any(shape in effects for shape in _NOTE_SHAPES)
        self.strike(sounds, self.fermata(first, effects), _HALF if halved else _ONE, chord=True)

    def cut(self, token: Token, sound: Sound, multiplier: Fraction) -> None:
        """abc2midi's ``~``: grace notes a step above (and below) around the note.

        After a ``>`` or ``<``, abc2midi counts the note before as part of the cut too (its
        doornament marks the start of the note one feature early): that note takes both
        factors, the cut the second, whatever their lengths."""
        units = multiplier * self.take_tuplet()
        upper, lower = self.neighbours(token)
        scale = _ONE
        if self.broken is not None and self.last is not None:
            (first, scale), self.broken = self.broken, None
            _scale(self.last, first * scale)
        for piece, piece_units in ornaments.cut_shape(units):
            length = self.unit * piece_units * scale
            if piece == "note":
                note = Sound(sound.pitch, length, sound.line)
                self.add(Strike([note], length), length, _ONE, staccato=False)
            else:
                pitch = upper if piece == "up" else lower
                self.events.append(ornaments.grace_sound(pitch, self.unit * scale, sound.line))

    def tie(self) -> None:
        """``-`` after a note ties it; after a chord, ties all its notes."""
        if self.chord:
            self.chord[-1][0].tie = True
        elif self.chord is None and self.last is not None:
            for sound in self.last.sounds:
                if not self.last_staccato:
                    sound.tie = True
                elif self.last_key is None:  # a staccato chord: abc2midi joins nothing,
                    sound.held = True  # but no longer strums it

    def stray(self, text: str) -> None:
        """A character the lexer could not place: ``[`` / ``]`` around a decorated chord
        (the length after such a ``]`` is not read); anything else is skipped."""
        if text == "[":
            effects, self.pending = self.pending, set()
            self.open_chord(effects)
        elif text == "]":
            self.close_chord(None)

    def finish(self) -> None:
        unclosed = self.chord
        self.close_chord(None)
        if unclosed:  # abc2midi never sends its note-offs' strum correction: all end early
            for sound, _, _ in unclosed:
                sound.length -= STRUM * (len(unclosed) - 1)
        self.events = ornaments.apply_graces(self.events, self.midi.grace_divider)


def _scale(strike: Strike, factor: Fraction) -> None:
    strike.length *= factor
    for sound in strike.sounds:
        sound.length *= factor
