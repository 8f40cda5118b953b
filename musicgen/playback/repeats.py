"""The order a written tune plays in: repeats, endings and parts, as abc2midi plays them.

abc2midi 4.84 (genmidi.c ``writetrack``, store.c ``fixreps``, ``scan_for_missing_repeats``,
``read_spec``, ``findpart``) reads folk ABC, which often leaves out ``|:``, like this:
1. the first ``:|`` or ``::`` with no ``|:`` before it repeats from the start (of the
   tune, or of its part when the header has a ``P:`` order);
2. in a tune of one voice and no ``P:`` order, a later ``:|`` with no ``|:`` repeats from
   the last ``||``/``|]`` or the last ``:|`` (turning that ``:|`` into a ``::``), unless a
   first or second ending came before it;
3. a pass plays only the endings that name it (``[1``, ``|2``, ``:|1,3``); skipping an
   ending runs to the next ``:|``, ``|:``, ``||``, ``|]``, part label or ending mark;
4. with a header ``P:`` order (``P:AABB``, ``P:A2B``, ``P:(AB)2C``) the music before the
   first label plays, then each part in that order from its label to the next label;
   a part never written is skipped, and the order's end ends the tune.
"""

from __future__ import annotations

from dataclasses import dataclass

from musicgen.errors import MidiError
from musicgen.playback.events import BAR, BOTH, DOUBLE, END, START, Ending, Part

# What `play_order` yields after a repeat sign when asked (`marks`): the place a repeat
# goes back to was saved here, or the play went back to it (abc2midi's save_state and
# restore_state, which also restore its count of bars: `musicgen.playback.accompany`).
SAVED, JUMPED = "saved", "jumped"


@dataclass(frozen=True, slots=True)
class RepeatMark:
    """`SAVED` or `JUMPED`, yielded right after the repeat sign that did it."""

    kind: str


MAX_PASSES = 64  # events played per event written, at most: a guard against endless repeats


def part_order(value: str) -> str | None:
    """A header ``P:`` as the labels in playing order: ``A(BC)2`` -> ``ABCBC``.

    None if it has a character abc2midi does not accept there (it then ignores the field).
    """
    order: list[str] = []
    stack: list[int] = []
    at = 0
    while at < len(value):
        char = value[at]
        at += 1
        if "A" <= char <= "Z":
            order.append(char)
        elif char == "(":
            stack.append(len(order))
        elif char == ")" and stack:
            start = stack.pop()
            count, at = _number(value, at)
            order.extend(order[start:] * (count - 1))
        elif char.isdigit() and order:
            count, at = _number(value, at - 1)
            order.extend(order[-1:] * (count - 1))
        elif char not in ". +-)":
            return None
    return "".join(order)


def _number(text: str, at: int) -> tuple[int, int]:
    """The number written at ``text[at:]`` (1 when none) and the index after it."""
    end = at
    while end < len(text) and text[end].isdigit():
        end += 1
    return (min(int(text[at:end]), 64) if end > at else 1), end


def place_repeats(events: list, fix: bool = True) -> list:
    """Mark the repeat starts folk ABC leaves out, as abc2midi does: rules 1 and 2 when
    `fix` (one voice, no ``P:`` order), else rule 1 in each part."""
    events = [DOUBLE, *events]
    if not fix:
        return _mark_part_starts(events)
    marks = [e for e in events if e in (START, END, BOTH)]
    if marks and marks[0] != START:
        events.insert(1, START)
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


def _mark_part_starts(events: list) -> list:
    """Rule 1 alone, in each part: a ``|:`` after the label if a ``:|`` comes unopened."""
    out: list = []
    start, opened = 1, False
    for event in events:
        if isinstance(event, Part):
            start, opened = len(out) + 1, False
        elif event == START:
            opened = True
        elif event in (END, BOTH) and not opened:
            out.insert(start, START)
            opened = True
        out.append(event)
    return out


def _make_start(events: list, index: int) -> None:
    if events[index] in (BAR, DOUBLE):
        events[index] = START
    elif events[index] == END:
        events[index] = BOTH


def play_order(events: list, title: str, parts: str | None = None, marks: bool = False):
    """Yield the events in the order played: abc2midi's pass counting over the repeats,
    and its jumps from part to part when the header gives an order (`parts`).  With
    `marks`, a `RepeatMark` follows each repeat sign that saves or goes back."""
    saving, jumping = (RepeatMark(SAVED), RepeatMark(JUMPED)) if marks else (None, None)
    labels = {e.label: i for i, e in enumerate(events) if isinstance(e, Part)}
    index, passes, most, expect, saved, part = 0, 1, 2, False, 0, -1
    budget = MAX_PASSES * (len(events) + 16)
    while index < len(events):
        budget -= 1
        if budget < 0:
            raise MidiError(f"tune {title!r}: the repeats never end")
        event = events[index]
        yield event
        mark = None
        if isinstance(event, Part) and parts is not None:
            part += 1
            while part < len(parts) and parts[part] not in labels:
                part += 1
            if part >= len(parts):
                return
            index = labels[parts[part]]
        elif event == START:
            saved, expect, passes, most = index, True, 1, 2
            mark = saving
        elif event == END:
            if (passes == 1 and expect) or 1 < passes < most:
                index, passes, expect = saved, passes + 1, False
                mark = jumping
        elif event == BOTH:
            if passes > 1 or not expect:
                most = 2 if passes > 1 else most
                saved, expect, passes = index, True, 1
                mark = saving
            else:
                index, passes = saved, passes + 1
                mark = jumping
        elif isinstance(event, Ending):
            this_pass = passes if expect or passes > 1 else 1
            if this_pass in event.passes:
                most = passes + 1 if most < 4 else most
            else:
                index = _skip_ending(events, index)
        if mark is not None:
            yield mark
        index += 1


def _skip_ending(events: list, index: int) -> int:
    """Index of the event that ends the ending at `index` (that event is skipped too)."""
    index += 1
    while index < len(events):
        event = events[index]
        if isinstance(event, Part):
            return index - 1  # a part label is still acted on
        if event in (END, START, DOUBLE) or isinstance(event, Ending):
            return index
        index += 1
    return index
