"""Play a written ABC tune: join ties, follow repeats and endings, place notes in time.

The input is `musicgen.notes.Written`; the output, `Performance`, lists the notes as a
player sounds them: (pitch, onset, duration, downbeat), times in quarter notes from the
start.  Repeats follow abc2midi's reading of folk ABC, which often leaves out ``|:``:
1. the first ``:|`` or ``::`` with no ``|:`` before it repeats from the start;
2. a later ``:|`` with no ``|:`` repeats from the last ``||``/``|]`` or the last ``:|``
   (turning that ``:|`` into a ``::``), unless a first or second ending came before it;
3. a pass plays only the endings that name it (``[1``, ``|2``, ``:|1,3``); skipping an
   ending runs to the next ``:|``, ``|:``, ``||``, ``|]``, ``P:`` or ending mark;
4. a tie joins a note to the next note or chord if that has the same pitch (or, past a
   bar line, the same staff position), and the tied-to note is not struck again.
`Performance` is pure data; `musicgen.midi` writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

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

MAX_PASSES = 64  # events played per event written, at most: a guard against endless repeats


@dataclass(frozen=True)
class Performance:
    """A tune as played: what `musicgen.midi` needs to write the file."""

    title: str
    notes: list[tuple[int, Fraction, Fraction, bool]]  # pitch, onset, duration, downbeat
    meters: list[tuple[Fraction, int, int]]  # onset, numerator, denominator (first at 0)
    sharps: int  # key signature of the header, for MIDI's key meta message
    tempo: float | None  # quarter notes per minute from Q:, if the tune says


def perform(written: Written) -> Performance:
    """Notes in playing order, with the meter changes met along the way.

    Raises `MidiError` if the repeats would never end (a guard; abc2midi's rules always
    end on real input).
    """
    events = place_repeats(join_ties(written.events))
    numerator, denominator = written.meter or (4, 4)
    meters = [(Fraction(0), numerator, denominator)]
    bar_length = Fraction(4 * numerator, denominator)
    notes: list[tuple[int, Fraction, Fraction, bool]] = []
    now = Fraction(0)
    pickup = _first_bar(events) < bar_length
    bar_start = None if pickup else Fraction(0)
    for event in _play_order(events, written.title):
        if isinstance(event, Strike):
            for sound in event.sounds:
                notes.append((sound.pitch, now, sound.length, now == bar_start))
            now += event.length
        elif isinstance(event, Meter):
            if (event.numerator, event.denominator) != meters[-1][1:]:
                if meters[-1][0] == now:
                    meters.pop()  # two meters at one moment: the later one holds
                meters.append((now, event.numerator, event.denominator))
        elif isinstance(event, str) and event != PART and (now or not pickup):
            bar_start = now
    return Performance(written.title, notes, meters, written.sharps, written.tempo)


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
            if sound.tie:
                waiting[source.pitch] = source
        joined.append(Strike(kept, event.length))
        pending, crossed = waiting, False
    return joined


def place_repeats(events: list) -> list:
    """Mark the repeat starts folk ABC leaves out, as abc2midi does (rules 1 and 2)."""
    marks = [e for e in events if e in (START, END, BOTH)]
    events = [DOUBLE] + ([START] if marks and marks[0] != START else []) + list(events)
    expect, endings_seen, start_at = False, False, 0
    for index, event in enumerate(events):
        if isinstance(event, Ending):
            if not endings_seen and not expect:
                _make_start(events, start_at)
            endings_seen = True
        elif event == DOUBLE:
            start_at = index
        elif event == START:
            if expect:  # |: ... |: reads as |: ... ::
                events[index] = BOTH
            expect = True
        elif event == END:
            if not expect and not endings_seen:
                _make_start(events, start_at)
            expect, start_at = False, index
        elif event == BOTH:
            if not expect:
                _make_start(events, start_at)
            expect = True
    return events


def _make_start(events: list, index: int) -> None:
    if events[index] in (BAR, DOUBLE):
        events[index] = START
    elif events[index] == END:
        events[index] = BOTH


def _play_order(events: list, title: str):
    """Yield the events in the order played: abc2midi's pass counting over the repeats."""
    index, passes, most, expect, saved = 0, 1, 2, False, 0
    budget = MAX_PASSES * (len(events) + 16)
    while index < len(events):
        budget -= 1
        if budget < 0:
            raise MidiError(f"tune {title!r}: the repeats never end")
        event = events[index]
        yield event
        if event == START:
            saved, expect, passes, most = index, True, 1, 2
        elif event == END:
            if (passes == 1 and expect) or 1 < passes < most:
                index, passes, expect = saved, passes + 1, False
        elif event == BOTH:
            if passes > 1 or not expect:
                most = 2 if passes > 1 else most
                saved, expect, passes = index, True, 1
            else:
                index, passes = saved, passes + 1
        elif isinstance(event, Ending):
            this_pass = passes if expect or passes > 1 else 1
            if this_pass in event.passes:
                most = passes + 1 if most < 4 else most
            else:
                index = _skip_ending(events, index)
        index += 1


def _skip_ending(events: list, index: int) -> int:
    """Index of the event that ends the ending at `index` (that event is skipped too)."""
    index += 1
    while index < len(events):
        event = events[index]
        if event == PART:
            return index - 1  # a part label is still acted on
        if event in (END, START, DOUBLE) or isinstance(event, Ending):
            return index
        index += 1
    return index


def _first_bar(events: list) -> Fraction:
    """Quarter notes before the first bar line: shorter than a bar means a pickup."""
    total = Fraction(0)
    for event in events:
        if isinstance(event, Strike):
            total += event.length
        elif isinstance(event, (str, Ending)) and event not in (DOUBLE, START, PART):
            break
    return total
