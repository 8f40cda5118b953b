"""Play a written ABC tune: join ties, follow repeats and parts, place notes in time.

The input is `musicgen.playback.events.Written`; the output, `Performance`, lists the notes as a
player sounds them: (pitch, onset, duration, downbeat), times in quarter notes from the
start.  The order of play (repeats, endings, ``P:`` parts) is `musicgen.playback.repeats`'.  What we
copy from abc2midi 4.84 (store.c ``tiefix``/``expand_ornaments``, genmidi.c):
- a tie joins a note to the next note or chord if that has the same pitch (or, past a
  bar line, the same staff position), and the tied-to note is not struck again;
- trills and rolls are played out after ties are joined, so a tied trill trills on
  (`musicgen.playback.ornaments.play_ornament`);
- the notes of a chord are struck `STRUM` apart (abc2midi's default note delay, 10 ticks
  of 480) and all end together; a note a tie holds on is not counted (its TNOTE);
- guitar chords, bar lines, meter changes and accompaniment commands met in playing order
  are handed, with their times, to `musicgen.playback.accompany`, which plays the bass
  and chord parts, if the tune names at least one chord abc2midi knows.
`Performance` is pure data; `musicgen.render.midi` writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from musicgen.playback.accompany import Backing, accompany
from musicgen.playback.directives import BackingChange
from musicgen.playback.events import DOUBLE, START, STRUM, Ending, Meter, Sound, Strike, Written
from musicgen.playback.gchords import GuitarChord
from musicgen.playback.ornaments import play_ornament
from musicgen.playback.repeats import RepeatMark, place_repeats, play_order


@dataclass(frozen=True)
class Performance:
    """A tune as played: what `musicgen.render.midi` needs to write the file."""

    title: str
    notes: list[tuple[int, Fraction, Fraction, bool]]  # pitch, onset, duration, downbeat
    meters: list[tuple[Fraction, int, int]]  # onset, numerator, denominator (first at 0)
    sharps: int  # key signature of the header, for MIDI's key meta message
    tempo: float | None  # quarter notes per minute from Q:, if the tune says
    backing: Backing = field(default_factory=Backing)  # guitar-chord bass and chords


def perform(written: Written) -> Performance:
    """Notes in playing order, with the meter changes met along the way.

    Raises `MidiError` if the repeats would never end (a guard; abc2midi's rules always
    end on real input).
    """
    fix = written.parts is None and written.voices <= 1
    events = place_repeats(join_ties(written.events), fix)
    numerator, denominator = written.meter or (4, 4)
    meters = [(Fraction(0), numerator, denominator)]
    bar_length = Fraction(4 * numerator, denominator)
    notes: list[tuple[int, Fraction, Fraction, bool]] = []
    now = Fraction(0)
    pickup = _first_bar(events) < bar_length
    bar_start = None if pickup else Fraction(0)
    cues: list = []  # (time, cue) for the accompaniment
    for event in play_order(events, written.title, written.parts, marks=True):
        if isinstance(event, Strike):
            struck = 0  # chord notes struck so far (a held note is not: abc2midi's TNOTE)
            for sound in event.sounds:
                if sound.ornament is not None:
                    shape = play_ornament(
                        sound.ornament, sound.pitch, sound.length, written.unit, written.tempo
                    )
                    for pitch, offset, length in shape:
                        notes.append((pitch, now + offset, length, now == bar_start and not offset))
                    continue
                struck += not sound.held
                if struck < 2:  # most notes: no Fraction arithmetic (it dominates the cost)
                    notes.append((sound.pitch, now, sound.length, now == bar_start))
                    continue
                delay = STRUM * (struck - 1)
                notes.append((sound.pitch, now + delay, sound.length - delay, now == bar_start))
            now += event.length
        elif isinstance(event, (str, GuitarChord, BackingChange, RepeatMark)):
            cues.append((now, event))
            if isinstance(event, str) and (now or not pickup):
                bar_start = now
        elif isinstance(event, Meter):
            cues.append((now, event))
            if (event.numerator, event.denominator) != meters[-1][1:]:
                if meters[-1][0] == now:
                    meters.pop()  # two meters at one moment: the later one holds
                meters.append((now, event.numerator, event.denominator))
    backing = Backing()
    if any(isinstance(event, GuitarChord) and event.known for event in written.events):
        backing = accompany(cues, now, written.meter)  # abc2midi: no known chord, no track
    return Performance(written.title, notes, meters, written.sharps, written.tempo, backing)


def join_ties(events: list) -> list:
    """The events with each tied sound lengthened by the sound it is tied to, and that one
    dropped (rule 4).  The input is left as it was: strikes with ties are copies."""
    joined = []
    pending: dict[int, Sound] = {}  # pitch -> the sound a tie waits to extend
    crossed = False  # a bar line since the tie: the staff position decides
    for event in events:
        if not isinstance(event, Strike) or not (pending or any(s.tie for s in event.sounds)):
            joined.append(event)
            crossed = crossed or isinstance(event, str)
            if isinstance(event, Strike):
                crossed = False
            continue
        waiting: dict[int, Sound] = {}
        kept = []
        for sound in event.sounds:
            source = pending.pop(sound.pitch, None)
            if source is None and crossed:
                source = next((s for s in pending.values() if s.line == sound.line), None)
                if source is not None:
                    del pending[source.pitch]
            if source is None:
                source = replace(sound) if sound.tie else sound  # a copy: it may grow
                kept.append(source)
            else:
                source.length += sound.length
                source.held = True
            if sound.tie:
                waiting[source.pitch] = source
        joined.append(Strike(kept, event.length))
        pending, crossed = waiting, False
    return joined


def _first_bar(events: list) -> Fraction:
    """Quarter notes before the first bar line: shorter than a bar means a pickup."""
    total = Fraction(0)
    for event in events:
        if isinstance(event, Strike):
            total += event.length
        elif isinstance(event, (str, Ending)) and event not in (DOUBLE, START):
            break
    return total
