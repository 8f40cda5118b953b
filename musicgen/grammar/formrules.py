"""The rules of a planned form (issue 13), read by `musicgen.grammar.checker`.

With a `Target` in ``Music.form`` (see `musicgen.form.plan`), bars are counted as
`musicgen.form.analysis` counts them (a part's opening pickup, or the bar that completes the last
part's short closing bar, is not a bar of its own; the part's short closing bar is), and:

- a part closes exactly at its last bar: a plain bar line there is refused, a section end
  anywhere else; a repeated part closes with ``:|`` (or ``::`` / ``:|:`` when the next part
  is repeated too), a part played once with ``||`` (``|]`` only for the last part); no
  first and second endings, no ``|:`` inside a part, no body ``M:``/``K:`` lines;
- the last bar of a repeated part is the other half of its pickup: notes may not overrun
  it (`limit`), so the closing ``:|`` always fits;
- after the last part only the end (or a line break) may follow, and the end only there;
- with a cadence, in the last bar of every part whose `Target.end` names a letter (the
  tune's final bar: the tonic; earlier parts: the letter drawn from the corpus's part
  endings, issue 14) a note that is not that letter (a rest, a tuplet) must leave at
  least one unit length (`GAP`) of the bar, and accidentals are refused: the part's last
  note is the letter, held at least a unit (not ``F/D//C//``).  The letter can always fill
  what is left, so no state is a dead end.
"""

from __future__ import annotations

from dataclasses import replace

from musicgen.grammar.state import Form, Music
from musicgen.grammar.words import ACCIDENTALS, NOTES, TICKS, BarKind

GAP = TICKS  # in the final bar, what a note other than the tonic leaves: one unit L:


def last_bar(music: Music) -> bool:
    """Is the bar being written the last one of its part?"""
    form = music.form
    target = form.target
    return target is not None and form.bars_in_part == target.bars - 1


def end_letter(music: Music) -> str:
    """The letter the bar being written must end on: its part's `Target.end` in the part's
    last bar (the tune's final bar: the tonic, with a cadence), else ""."""
    if not last_bar(music):
        return ""
    return music.form.target.end(music.form.parts)


def final_bar(music: Music) -> bool:
    """Is it a part's last bar with a cadence (a letter to end on)?"""
    return bool(end_letter(music))


def done(music: Music) -> bool:
    """Have all the planned parts been written (so only the end may follow)?"""
    target = music.form.target
    return target is not None and music.form.parts >= len(target.repeats)


def limit(music: Music) -> int:
    """Where the current bar ends, in ticks: its length, or in a repeated part's last bar
    the other half of the part's pickup (the closing ``:|`` asks for that)."""
    bar, form = music.bar, music.form
    if last_bar(music) and form.parts < len(form.target.repeats):
        if form.target.repeats[form.parts] and bar.length:
            return bar.length - music.section.pickup
    return bar.length


def allows_bar(music: Music, kind: BarKind) -> bool:
    """May bar line `kind` come here under the plan (bar lengths aside)?"""
    form = music.form
    target = form.target
    part, parts = form.parts, len(target.repeats)
    if part >= parts:
        return False
    repeated = target.repeats[part]
    if music.bar.empty:  # a line-initial bar line continuing the last one: no part closes
        if kind.closes_section:
            return False
        return not kind.opens_repeat or (form.bars_in_part == 0 and repeated)
    if not kind.closes_section:
        return not last_bar(music) and not kind.opens_repeat
    if not last_bar(music) or kind.closes_repeat != repeated:
        return False
    if kind.opens_repeat and not (part + 1 < parts and target.repeats[part + 1]):
        return False
    return part == parts - 1 or not kind.text.endswith("]")


def count(music: Music, kind: BarKind) -> Form:
    """The counters after bar line `kind`: a bar with music counts unless it opens its
    part without a full bar of its own (a pickup, or the completion of the last part's
    short closing bar); a section end closes the part, except a first ending's :| ."""
    bar, section, form = music.bar, music.section, music.form
    written = bar.ticks > bar.carried
    short = bar.length and bar.ticks - bar.carried < bar.length
    counted = written and not (section.opening and short and not kind.closes_section)
    if kind.closes_section and not section.first_ending:
        return replace(form, bars_in_part=0, parts=form.parts + 1, tonic_note=False)
    return replace(form, bars_in_part=form.bars_in_part + counted)


def cadence_values(music: Music, fit: int) -> int:
    """`fit` (a bitmask of note lengths) less those that would leave less than `GAP` of
    the final bar after anything but the tonic (a tuplet is never the tonic)."""
    room = limit(music) - music.bar.ticks
    rhythm = music.rhythm
    if rhythm.tuplet:
        if rhythm.length:  # later notes of a tuplet: its first paid for them all
            return fit
        longest = (room - GAP) // rhythm.tuplet[1]
    elif music.form.tonic_note:
        return fit
    else:
        longest = room - GAP
    return fit & (1 << longest + 1) - 1 if longest > 0 else 0


def strike(music: Music, ch: str, values: int, note_values) -> Music | None:
    """The music as note, rest or accidental `ch` starts; None if, in the final bar, it
    could take no length (`values`: the lengths the vocabulary can write)."""
    if not final_bar(music):
        return music
    if ch in ACCIDENTALS:  # keeps the tonic letter the tonic: no bar accidentals
        return None
    tonic = ch in NOTES and ch.upper() == end_letter(music)
    if tonic != music.form.tonic_note:
        music = replace(music, form=replace(music.form, tonic_note=tonic))
    return music if note_values(music) & values else None


def view(music: Music) -> tuple | Form:
    """All that masks of states between tokens read of the form (`GrammarTables` shares
    masks of states that agree on it): the counters themselves without a plan."""
    form = music.form
    target = form.target
    if target is None:
        return form
    part, parts = form.parts, len(target.repeats)
    repeats = target.repeats[part : part + 2]
    letter = end_letter(music)
    exact = limit(music) - music.bar.ticks if last_bar(music) else None
    return (last_bar(music), form.bars_in_part == 0, part - parts, repeats, letter, exact)
