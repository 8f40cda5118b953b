"""Play guitar chords as abc2midi 4.84 plays them: a bass and a chord part, in a pattern.

`musicgen.playback.perform` walks the tune in playing order and hands over its cues, each
at its time in quarter notes: chord symbols (`GuitarChord`), bar lines, meter changes
and ``%%MIDI`` accompaniment commands (`BackingChange`).  `accompany` plays them out the
way abc2midi's gchord track does (genmidi.c ``dogchords``, ``checkbar``, ``softcheckbar``,
``starttrack``; queues.c ``addtoQ``, ``timestep``); the spelling of each chord is
`musicgen.playback.gchords`'.  The rules:
- the pattern (`musicgen.playback.gchords.PATTERNS`, or ``%%MIDI gchord``) divides a bar
  of the current meter into slots; each slot, when its time comes, plays the chord in
  force then: ``f`` the bass note, ``c`` the chord (all its notes at once), ``b`` both;
  a chord symbol placed before a note at a slot's time counts for that slot;
- nothing plays before the first chord symbol, nor between ``%%MIDI gchordoff`` and
  ``gchordon``; a bass-only chord (lower-case root) plays its bass note on ``c`` slots;
- a plain bar line ``|`` starts the pattern again; ``||``, ``|:``, ``:|``, ``::`` do so
  only when the bar is full or no full bar has been counted yet (a repeat going back
  takes the count back to what it was at its ``|:``), so a repeat sign inside a bar
  leaves the pattern running; the pattern never runs past its end within a bar: the
  slots of an over-long bar after the last one are silent;
- a meter change (``M:`` in the body) takes that meter's pattern, if abc2midi has one;
- every note lasts its slot less one tick (abc2midi releases it a tick early; we write
  the whole slot, as the melody is written); bass at velocity 80, chords at 75
  (``%%MIDI bassvol`` / ``chordvol``), no program change unless ``%%MIDI bassprog`` /
  ``chordprog`` asks for one.
The timing is abc2midi's tick queue (480 ticks a quarter note) simulated as it runs, so
its quirks in bars that end inside a slot come out the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.playback.directives import BackingChange
from musicgen.playback.events import BAR, Meter
from musicgen.playback.gchords import GuitarChord, bass_pitch, default_pattern, read_pattern
from musicgen.playback.gchords import voicing as chord_voicing
from musicgen.playback.repeats import SAVED, RepeatMark

TICKS = 480  # abc2midi's ticks per quarter note
NOTE_DELAY = 10  # abc2midi's note delay: a queue entry put in front of a later one pulls it
BASS_VELOCITY, CHORD_VELOCITY = 80, 75  # abc2midi's fun.vel and gchord.vel
BASS, CHORD = "bass", "chord"
_REST = (("z", 1),)  # abc2midi's stand-in for a pattern it cannot read


@dataclass
class Backing:
    """The accompaniment as played: notes and program changes, times in quarter notes."""

    notes: list[tuple[int, Fraction, Fraction, int, str]] = field(default_factory=list)
    # pitch, onset, duration, velocity, part (BASS or CHORD)
    programs: list[tuple[Fraction, str, int]] = field(default_factory=list)


def accompany(cues: list, end: Fraction, meter: tuple[int, int] | None) -> Backing:
    """The bass and chord notes for `cues`, (time, cue) pairs in playing order, a tune
    that ends at `end` and starts in `meter` (None: free meter)."""
    player = _Player(meter)
    for time, cue in cues:
        player.advance(_ticks(time))
        player.cue(cue)
    player.advance(_ticks(end))
    player.finish()
    return player.backing


def _ticks(time: Fraction) -> int:
    return time.numerator * TICKS // time.denominator


class _Player:
    """abc2midi's gchord track: a queue of note-offs and pattern steps, relative delays."""

    def __init__(self, meter: tuple[int, int] | None) -> None:
        self.backing = Backing()
        self.queue: list[list] = []  # [delay after the entry before, kind, payload]
        self.clock = 0  # ticks
        self.meter = meter or (4, 4)
        self.checking = meter is not None  # a free meter has no full bars
        self.pattern = default_pattern(meter) or (("x", 1),)
        self.slot = self.slot_length()
        self.step = 0  # abc2midi's g_ptr
        self.chord: GuitarChord | None = None
        self.on = True  # %%MIDI gchordon / gchordoff
        self.velocity = {BASS: BASS_VELOCITY, CHORD: CHORD_VELOCITY}
        self.bar_start, self.bars = 0, 0
        self.saved_bars = 0  # the count of bars a repeat goes back to (abc2midi's state)
        self.push(0, "step", 0)

    def slot_length(self) -> Fraction:
        numerator, denominator = self.meter
        return Fraction(4 * numerator, denominator * sum(n for _, n in self.pattern))

    def push(self, wait: int, kind: str, payload) -> None:
        """abc2midi's addtoQ: after entries due no later; the entry it goes in front of
        comes `NOTE_DELAY` ticks sooner (and so does all after it)."""
        at = 0
        while at < len(self.queue) and self.queue[at][0] <= wait:
            wait -= self.queue[at][0]
            at += 1
        if at < len(self.queue):
            self.queue[at][0] = max(0, self.queue[at][0] - wait - NOTE_DELAY)
        self.queue.insert(at, [wait, kind, payload])

    def advance(self, to: int) -> None:
        """abc2midi's timestep: entries due strictly before `to` fire, in order."""
        left = to - self.clock
        if left <= 0:
            return
        while self.queue and self.queue[0][0] < left:
            delay, kind, payload = self.queue.pop(0)
            left -= delay
            self.clock += delay
            if kind == "step":
                self.play(payload)
            else:
                self.release(payload)
        if self.queue:
            self.queue[0][0] -= left
        self.clock += left

    def release(self, index: int) -> None:
        pitch, onset, _, velocity, part = self.backing.notes[index]
        end = Fraction(self.clock + 1, TICKS)  # +1: the tick abc2midi releases early
        self.backing.notes[index] = (pitch, onset, end - onset, velocity, part)

    def cue(self, cue) -> None:
        if isinstance(cue, GuitarChord):
            self.chord = cue
        elif isinstance(cue, str):
            self.bar(cue)
        elif isinstance(cue, Meter):
            self.new_meter((cue.numerator, cue.denominator))
        elif isinstance(cue, BackingChange):
            self.change(cue)
        elif isinstance(cue, RepeatMark):
            if cue.kind == SAVED:
                self.saved_bars = self.bars
            else:
                self.bars = self.saved_bars

    def bar(self, kind: str) -> None:
        """abc2midi's checkbar (``|``) and softcheckbar (the others)."""
        elapsed = Fraction(self.clock - self.bar_start, TICKS)
        numerator, denominator = self.meter
        full = elapsed >= Fraction(4 * numerator, denominator)
        if kind != BAR and not (self.checking and (full or self.bars <= 0)):
            return
        self.bars += self.clock > self.bar_start
        self.bar_start = self.clock
        self.step = 0
        self.push(0, "step", 0)

    def new_meter(self, meter: tuple[int, int]) -> None:
        self.meter = meter
        pattern = default_pattern(meter)
        if pattern is not None:
            self.pattern = pattern
            self.slot = self.slot_length()

    def change(self, change: BackingChange) -> None:
        if change.command == "gchord":
            self.pattern = read_pattern(str(change.value)) or _REST
            self.slot = self.slot_length()
        elif change.command in ("gchordon", "gchordoff"):
            self.on = change.command == "gchordon"
        elif change.command in ("bassvol", "chordvol"):
            self.velocity[BASS if change.command == "bassvol" else CHORD] = int(change.value)
        elif change.command in ("bassprog", "chordprog"):
            part = BASS if change.command == "bassprog" else CHORD
            self.backing.programs.append((Fraction(self.clock, TICKS), part, int(change.value)))

    def play(self, step: int) -> None:
        """abc2midi's dogchords: a pattern step whose number is not the one due is stale."""
        if self.step >= len(self.pattern):
            self.step = 0
        if step != self.step:
            return
        letter, count = self.pattern[self.step]
        length = self.slot * count
        if self.chord is not None and self.on:
            self.sound(letter, length)
        self.step += 1
        self.push(_ticks(length), "step", self.step)
        if self.step >= len(self.pattern):
            self.step = 0

    def sound(self, letter: str, length: Fraction) -> None:
        """One slot: ``f`` bass, ``c`` chord, ``b`` both; ``g``-``k`` one chord note (the
        first to the fifth), ``G``-``K`` the same an octave down."""
        chord = self.chord
        if letter == "c" and chord.intervals is None:
            letter = "f"  # a bass note alone plays on the chord beats too
        if letter in "fb":
            self.note(bass_pitch(chord), length, BASS)
        if letter in "bc":
            for pitch in chord_voicing(chord):
                self.note(pitch, length, CHORD)
        arpeggio = "ghijk".find(letter.lower())
        if arpeggio >= 0:
            voiced = chord_voicing(chord)
            if arpeggio < len(voiced):
                self.note(voiced[arpeggio] - 12 * letter.isupper(), length, CHORD)
            if letter == "k" and voiced:  # abc2midi's k runs on into G
                self.note(voiced[0] - 12, length, CHORD)

    def note(self, pitch: int, length: Fraction, part: str) -> None:
        if not 0 <= pitch <= 127:
            return
        index = len(self.backing.notes)
        onset = Fraction(self.clock, TICKS)
        self.backing.notes.append((pitch, onset, length, self.velocity[part], part))
        self.push(_ticks(length) - 1, "off", index)

    def finish(self) -> None:
        """abc2midi's clearQ: pattern steps still waiting are dropped, notes end on time."""
        clock = self.clock
        for delay, kind, payload in self.queue:
            clock += delay
            if kind == "off":
                self.clock = clock
                self.release(payload)
        self.queue = []
