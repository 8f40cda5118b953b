"""Decorations and grace notes, performed as abc2midi 4.84 performs them.

To add a decoration, add its ABC spelling to `SHORTHANDS` (one character, ``T``) or
`NAMED` (``!trill!`` and ``+trill+`` are both ``"trill"``) with one of the effects below;
`musicgen.playback.reader` looks every decoration up here and nowhere else.  Then add a
one-line fixture to tests/render/test_midi.py: tests/render/test_fidelity.py plays every
fixture there through abc2midi too.  Only a new kind of effect needs code elsewhere: a
shape for a trill-like ornament goes in `play_ornament` here, one that changes lengths in
`musicgen.playback.state`.  A decoration in neither table is read and ignored, as abc2midi
ignores it (``!roll!``, ``!mordent!``, ``!turn!``, ``!staccato!``, ``M``, ``P``, bowings,
dynamics and the rest do not change the notes).

The effects, copied from abc2midi's store.c (``event_note``, ``doornament``,
``dotrill_output``, ``doroll_output``, ``applygrace_new``):
- `FERMATA` (``H``, ``!fermata!``): the note or rest lasts twice as long;
- `STACCATO` (``.``, ``!breath!``): the note sounds half its length, the rest is silence;
- `CUT` (``~``, abc2midi's "ornament"): a grace note a step above, then the note; a note of
  three units becomes note, grace above, note, grace below, note (one unit each);
- `TRILL` (``T``, ``!trill!``): the upper and the written note alternate, upper first, in
  notes of 1/d of a unit (the note being n/d units), halved until each is 100 ms or less
  at the header's tempo (120 without ``Q:``);
- `ROLL` (``R``): five notes of a fifth each: note, above, note, below, note.
Steps above and below follow the key signature, not the bar's accidentals.  In a chord a
trill, roll or cut is not played; the note sounds half its length instead.
Grace notes sound 1/4 of their written length (``%%MIDI gracedivider n``: 1/n) and take
that time from the note, chord or rest after them; a bar line before that note, or a note
too short to give the time, drops them.
"""

from __future__ import annotations

from fractions import Fraction

from musicgen.abc.theory import KeyMap, midi_pitch
from musicgen.playback.events import BAR, DOUBLE, Ornament, Sound, Strike

FERMATA, STACCATO, CUT, TRILL, ROLL = "fermata", "staccato", "cut", "trill", "roll"
SHORTHANDS = {"H": FERMATA, ".": STACCATO, "~": CUT, "T": TRILL, "R": ROLL}
NAMED = {"fermata": FERMATA, "breath": STACCATO, "trill": TRILL}
GRACE_DIVIDER = 4  # abc2midi's default: a grace note sounds a quarter of its written length
TRILL_NOTE_US = 100_000  # abc2midi halves trill notes until none is longer (microseconds)
_STEPS = "cdefgab"


def effect(text: str, name: str) -> str | None:
    """The effect of a decoration token (its text and name, as the lexer gives them)."""
    if len(text) == 1:
        return SHORTHANDS.get(text)
    return NAMED.get(name.strip())


def neighbours(letter: str, octave: int, keymap: KeyMap, shift: int = 0) -> tuple[int, int]:
    """(pitch a step above, pitch a step below) a note, in the key signature ``keymap``."""
    at = _STEPS.index(letter.lower())
    up, down = _STEPS[(at + 1) % 7], _STEPS[(at + 6) % 7]
    upper = midi_pitch(up, octave + (up == "c"), keymap[up.upper()])
    lower = midi_pitch(down, octave - (down == "b"), keymap[down.upper()])
    return upper + shift, lower + shift


def cut_shape(length_units: Fraction) -> list[tuple[str, Fraction]]:
    """abc2midi's ``~``: ("grace up" | "grace down" | "note", units) in written order."""
    one = Fraction(1)
    if length_units == 3:
        return [("note", one), ("up", one), ("note", one), ("down", one), ("note", one)]
    return [("up", one), ("note", length_units)]


def play_ornament(
    ornament: Ornament, pitch: int, length: Fraction, unit: Fraction, tempo_bpm: float | None
) -> list[tuple[int, Fraction, Fraction]]:
    """The notes a trill or roll of ``length`` quarter notes plays: (pitch, offset, length)."""
    if ornament.kind == ROLL:
        fifth = length / 5
        shape = (pitch, ornament.upper, pitch, ornament.lower, pitch)
        return [(p, fifth * i, fifth) for i, p in enumerate(shape)]
    den = max(1, unit.denominator // unit.numerator)  # abc2midi's L: is 1/den
    units = length * den / 4
    tempo_us = int(60_000_000 / (tempo_bpm or 120))
    # abc2midi: count = n notes of 4/b quarter notes, b = d * den, for n/d units.
    count, b = units.numerator, units.denominator * den
    while count and tempo_us * 4 // b > TRILL_NOTE_US:
        count, b = count * 2, b * 2
    each = Fraction(4, b)
    return [(ornament.upper if i % 2 == 0 else pitch, each * i, each) for i in range(count)]


def apply_graces(events: list, divider: int = GRACE_DIVIDER) -> list:
    """The events with each run of grace notes timed against the strike after it."""
    out: list = []
    index = 0
    while index < len(events):
        event = events[index]
        if not (isinstance(event, Strike) and event.grace):
            out.append(event)
            index += 1
            continue
        end = index
        while end < len(events) and isinstance(events[end], Strike) and events[end].grace:
            end += 1
        graces = events[index:end]
        host = _host(events, end)
        if host is not None and _steal(host, sum(g.length for g in graces) / divider):
            for grace in graces:
                grace.length /= divider
                for sound in grace.sounds:
                    sound.length /= divider
            out.extend(graces)
        index = end
    return out


def _host(events: list, index: int) -> Strike | None:
    """The strike grace notes lean on: the next one, unless a bar line comes first."""
    for event in events[index:]:
        if isinstance(event, Strike):
            return event
        if event in (BAR, DOUBLE):
            return None
    return None


def _steal(host: Strike, time: Fraction) -> bool:
    """Take ``time`` from the host strike; False (and nothing taken) if it is too short."""
    chord = len(host.sounds) > 1
    base = host.length if chord or not host.sounds else host.sounds[0].length
    if base - time <= 0:
        return False
    host.length -= time
    for sound in host.sounds:
        sound.length = base - time if chord else sound.length - time
    return True


def grace_sound(pitch: int, length: Fraction, line: int) -> Strike:
    """A grace note of ``length`` quarter notes as written (shortened later)."""
    return Strike([Sound(pitch, length, line)], length, grace=True)
