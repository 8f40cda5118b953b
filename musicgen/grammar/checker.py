"""The token-level checker: what a finished token does to the `Music`, and what it may be.

Bars are counted in ticks of 1/8 of the unit length ``L:`` (the shortest length accepted,
``A/8``), so any gap left in a bar can always be filled and no state is a dead end.  A bar
line needs an exactly full bar, except that the first bar of a section may be a short
pickup, and a bar closed by a section end (``:|``, ``|]``, ``||``, ``::``) may be short:
the pickup's other half, or a first/second ending.  ``M:none`` switches the checks off.
Notes of a tuplet, and the two notes of a broken rhythm (``A>B``), must have equal written
lengths, as abc2midi demands.  Where the modes differ, the rule asks the `Policy`.
"""

from __future__ import annotations

from dataclasses import replace

from musicgen.abc.theory import key_tonic
from musicgen.grammar import formrules
from musicgen.grammar.policy import Policy
from musicgen.grammar.state import (
    IN_UNOPENED_REPEAT,
    JUST_CLOSED_REPEAT,
    NO_REPEAT,
    NOTE,
    Bar,
    Between,
    Form,
    InChord,
    Lexeme,
    Music,
    Section,
)
from musicgen.grammar.words import TICKS, BarKind


def bar_problem(music: Music, kinds=(), policy: Policy | None = None) -> str:
    """The message for a bar line (one of `kinds`) or a length that does not fit."""
    if kinds and all(_early_turn(music, kind, policy) for kind in kinds):
        return "a :: after a :| needs a |: between (abc2midi: found :: before |:)"
    return f"bar holds {music.bar.ticks}/{music.bar.length} ticks (1 tick = L/{TICKS})"


def _early_turn(music: Music, kind: BarKind, policy: Policy | None) -> bool:
    """(strict) A :: :|: or :||: after a :| with no |: since, which abc2midi calls an error."""
    section = music.section
    turn = kind.closes_repeat and kind.opens_repeat
    early = turn and section.repeat_seen and not section.repeat_open
    return early and policy is not None and not policy.turn_after_repeat_close


def bar_view(music: Music, partner: int = 0) -> tuple:
    """All that the rules above read of how full the bar is, for a note `partner` long.

    Masks of states that agree on this (and on everything but `Bar.ticks`) are equal, so
    `GrammarTables` shares them: keep it in step with what `bar_allowed`, `has_room`
    (q <= 3), `broken_rhythm_fits` and the inline-field rule read.
    """
    bar, pickup = music.bar, music.section.pickup
    free = bar.length == 0
    room = formrules.limit(music) - bar.ticks  # a planned part's last bar may end early
    return (
        free,
        bar.ticks == bar.carried,
        bar.carried == 0,
        4 if free else min(room, 4),
        bar.room == pickup,
        2 * bar.ticks <= bar.length,
        2 * bar.ticks < bar.length,
        bar.ticks == bar.length,
        bool(partner) and (free or room >= partner),
        room == music.rhythm.length,
    )


def unclose(music: Music) -> Music:
    """The music once a note (or a mark that needs one) starts: the bar is open again."""
    if not music.section.closed:
        return music
    return replace(music, section=replace(music.section, closed=False))


def has_room(music: Music, ticks: int) -> bool:
    """May something `ticks` long (a note, a tuplet's q notes) still start in this bar?"""
    bar = music.bar
    return (
        bool(music.rhythm.length) or bar.length == 0 or formrules.limit(music) >= bar.ticks + ticks
    )


def note_values(music: Music) -> int:
    """Bitmask of the written lengths (ticks) the current note may have."""
    bar, rhythm = music.bar, music.rhythm
    if rhythm.length:
        fit = 1 << rhythm.length
    elif bar.length == 0:
        fit = -1
    else:  # a tuplet's first note pays for the whole tuplet: q times its length
        room = formrules.limit(music) - bar.ticks
        fit = (1 << room // (rhythm.tuplet[1] if rhythm.tuplet else 1) + 1) - 1
    if music.form.target is not None and formrules.final_bar(music):
        fit = formrules.cadence_values(music, fit)
    if rhythm.chord is None:
        return fit
    if rhythm.chord[1]:  # later chord notes match the first
        return 1 << rhythm.chord[1]
    return fit | 1 << TICKS  # a plain first note defers the length to after ']'


def finish_note(music: Music, ticks: int) -> tuple[Lexeme, Music]:
    """Account for a complete note, rest or chord of written length `ticks`."""
    bar, rhythm = music.bar, music.rhythm
    if rhythm.chord is not None:
        notes, first = rhythm.chord
        return InChord(), replace(music, rhythm=replace(rhythm, chord=(notes + 1, first or ticks)))
    if rhythm.tuplet:  # the first note paid for the whole tuplet; the others must match it
        left, q = rhythm.tuplet
        now = bar.ticks if rhythm.length else bar.ticks + q * ticks
        if left > 1:
            rhythm = replace(rhythm, tuplet=(left - 1, q), length=ticks)
        else:
            rhythm = replace(rhythm, tuplet=None, length=0)
        return Between(NOTE), replace(music, bar=replace(bar, ticks=now), rhythm=rhythm)
    # After a broken pair's second note (length set) no further broken rhythm may follow.
    partner = 0 if rhythm.length else ticks
    bar = replace(bar, ticks=bar.ticks + ticks)
    return Between(NOTE, partner), replace(music, bar=bar, rhythm=replace(rhythm, length=0))


def broken_rhythm_fits(music: Music, partner: int) -> bool:
    """May a ``>``/``<`` follow a note of `partner` ticks: does its partner fit too?"""
    bar = music.bar
    fits = bar.length == 0 or bar.ticks + partner <= formrules.limit(music)
    return bool(partner) and music.rhythm.tuplet is None and fits


def may_end(music: Music) -> bool:
    """May the tune end here (after a bar line or at a line start)?"""
    section = music.section
    open_parts = music.rhythm.slur or section.repeat_open or section.first_ending
    planned = music.form.target is None or formrules.done(music)
    return section.closed and not open_parts and planned


def second_ending_due(music: Music, policy: Policy) -> bool:
    """(strict) Just after the first ending's :| , where only ``2`` / ``[2`` may follow."""
    section = music.section
    due = section.first_ending and section.after_repeat == JUST_CLOSED_REPEAT
    return due and policy.endings_as_abc2midi_reads


def ending_allowed(music: Music, digit: str, policy: Policy) -> bool:
    """May ending `digit` start here?  Strict mode keeps to the form abc2midi reads without
    error: ``|1 ... :|2``, and no first ending in a part begun by a bare ``:|``."""
    if music.form.target is not None:
        return False  # a planned part closes at its last bar, without endings
    if not policy.endings_as_abc2midi_reads:
        return True
    section = music.section
    if digit == "1":  # after an earlier :|, abc2midi wants a |: before a first ending
        fresh = section.repeat_open or not section.repeat_seen
        return section.after_repeat != IN_UNOPENED_REPEAT and fresh and not section.first_ending
    return section.after_repeat == JUST_CLOSED_REPEAT and section.first_ending


def start_ending(music: Music, digit: str) -> Music:
    """An ending number starts a fresh bar."""
    section = replace(
        music.section,
        opening=False,
        closed=False,
        after_repeat=NO_REPEAT,
        first_ending=digit == "1",
    )
    return replace(music, bar=replace(music.bar, ticks=0, carried=0), section=section)


def bar_allowed(music: Music, kind: BarKind, at_line_start: bool, policy: Policy) -> bool:
    """May bar line `kind` end the bar here?  Bar lengths follow abc2midi's checks.

    A full bar may always end.  A short one may be: a pickup opening a section; the
    closing bar of a repeat (``:|``), which must make a full bar with the section's
    pickup; or a bar before ``||`` or ``|]``, which the next bar must complete.
    """
    bar, section = music.bar, music.section
    if _early_turn(music, kind, policy):
        return False
    planned = music.form.target is not None
    if planned and not formrules.allows_bar(music, kind):
        return False
    if bar.empty:  # only a line-initial | continuing the last bar line
        return at_line_start and not bar.carried
    ending_closed = kind.closes_section and not kind.plain_repeat_close
    if section.first_ending and ending_closed and policy.endings_as_abc2midi_reads:
        return False  # the first ending closes with a plain :| and the second follows
    if kind.closes_repeat and section.pickup and bar.length:
        # :| :|| :|] :: - the closing bar is the other half of the section's pickup
        return bar.ticks == bar.length - section.pickup and not bar.carried
    if bar.length == 0 or bar.ticks == bar.length:
        return True
    if kind.closes_repeat:
        loose = section.after_double_bar and policy.short_repeat_after_double_bar
        return loose and not bar.carried
    # A planned tune's pickup is under half a bar, so form.py rounds it away on its own.
    half = 2 * bar.ticks < bar.length if planned else 2 * bar.ticks <= bar.length
    pickup_ok = policy.late_pickups or (not section.bar_written and half)
    if section.opening and not bar.carried and not kind.closes_section and pickup_ok:
        # A pickup.  abc2midi only forgives one at the start of the tune; later parts
        # begin by completing the short closing bar of the part before.
        return True
    # A short bar before || or |]: in strict mode the tune must then end, so only where
    # it may end (no open slur, repeat or first ending).
    open_parts = music.rhythm.slur or section.repeat_open or section.first_ending
    ends_ok = not (policy.short_bar_ends_tune and open_parts)
    return kind.double and not bar.carried and ends_ok and not planned


def after_bar(music: Music, kind: BarKind, policy: Policy) -> Music:
    """The music after bar line `kind` (which `bar_allowed`)."""
    bar, section = music.bar, music.section
    written = bar.ticks > bar.carried
    pickup = section.pickup
    if section.opening and written and (bar.carried or not section.after_double_bar):
        full = bar.length == 0 or bar.ticks == bar.length  # a repeat's first bar: its pickup
        pickup = bar.ticks - bar.carried if (bar.carried or not full) else 0
    if kind.double and section.repeat_seen:
        pickup = 0  # abc2midi repeats from here, not from the tune's pickup
    # A short bar before a section break runs on into the next bar, as abc2midi counts.
    short = written and bar.length and bar.ticks < bar.length
    carry = bar.ticks if short and kind.closes_section else 0
    if kind.plain_repeat_close:
        after_repeat = JUST_CLOSED_REPEAT  # an ending may follow; else a part without |:
    elif kind.closes_repeat and not kind.opens_repeat:
        after_repeat = IN_UNOPENED_REPEAT  # :|| :|] - a part without |: follows
    elif kind.closes_section or kind.opens_repeat:
        after_repeat = NO_REPEAT
    else:
        after_repeat = IN_UNOPENED_REPEAT if section.after_repeat else NO_REPEAT
    colons = kind.closes_repeat or kind.opens_repeat
    opens = kind.closes_section or kind.opens_repeat or kind.thick_thin
    section = Section(
        opening=opens or (section.opening and not written),
        closed=(written or section.closed) and not (kind.opens_repeat or kind.thick_thin),
        pickup=pickup,
        after_double_bar=kind.double or (section.after_double_bar and not colons),
        repeat_open=kind.opens_repeat or (section.repeat_open and not kind.closes_repeat),
        after_repeat=after_repeat,
        first_ending=section.first_ending,
        repeat_seen=section.repeat_seen or kind.closes_repeat,
        must_end=bool(carry) and kind.double and policy.short_bar_ends_tune,
        bar_written=True,
    )
    if music.form.target is not None:
        form = formrules.count(music, kind)
    else:
        form = _count_form(music, kind, written) if policy.count_form else music.form
    bar = Bar(ticks=carry, length=bar.length, unit=bar.unit, carried=carry)
    return Music(bar=bar, rhythm=music.rhythm, section=section, form=form)


def _count_form(music: Music, kind: BarKind, written: bool) -> Form:
    """Issue 13's counters: a bar with music counts unless it is a part's opening pickup;
    a section end closes the part, except the :| of a first ending (its part goes on)."""
    bar, section, form = music.bar, music.section, music.form
    pickup = section.opening and not bar.carried and bar.length and bar.ticks < bar.length
    bars = form.bars_in_part + (written and not (pickup and not kind.closes_section))
    if kind.closes_section and not section.first_ending:
        return Form(bars_in_part=0, parts=form.parts + 1, tonic=form.tonic)
    return replace(form, bars_in_part=bars)


def set_key(music: Music, key: str, policy: Policy) -> Music:
    """The music after the header's K: line (its tonic is kept only to count form)."""
    if not policy.count_form:
        return music
    return replace(music, form=replace(music.form, tonic=key_tonic(key)))
