"""Guitar chord symbols (``"Am"``, ``"G7"``, ``"D/F#"``) spelt as abc2midi 4.84 spells them.

Pure tables and functions; `musicgen.playback.accompany` plays the chords in time.  What we
copy from abc2midi 4.84 (store.c ``event_handle_gchord``, ``setup_chordnames``,
``setbeat``; genmidi.c ``configure_gchord``, ``set_gchords``; parser2.c ``event_gchord``):
- a quoted string is split at ``;`` and each piece read alone; a piece starting with
  ``^ _ < > @`` is an annotation, one starting with a digit 0-5 a fingering, and any other
  piece not starting with a letter A-G or a-g (after one optional ``(``) is ignored;
- the root is the letter, then up to two of ``#`` / ``b`` (each a semitone; two of them
  a double sharp or flat, counted from the first sign);
- the chord type is what follows, up to a space, ``(``, ``/``, ``)`` or 9 characters,
  looked up in `CHORD_TYPES` (4.84's table, ``sus4`` spelt as a major triad as 4.84 has
  it); a type not in the table plays a major triad (``"D.C."`` plays D major) and, if the
  tune has no chord of a known type, abc2midi writes no accompaniment at all;
- ``/X`` names the bass note (``"D/F#"``), played instead of the root on the bass channel;
- a lower-case root (``"g"``) is a bass note alone: the pattern's chord beats play it
  on the bass channel as well;
- voicing: root position from C3 (MIDI 48) up, the root's pitch class counted from C
  (so ``B`` is B3, ``Cb`` is B2); with a bass note that is in the chord, the chord notes
  below it move up an octave (``"Am/C"``: A4 C4 E4); the bass channel plays the root (or
  the bass note) from C2 (MIDI 36);
- the rhythm: a pattern per meter (`PATTERNS`, abc2midi's ``setbeat``), one letter a
  slot: ``f`` bass note, ``c`` chord, ``b`` both, ``z`` rest, a digit after a letter
  making it that many slots; the slots fill one bar; a meter not in the table plays
  nothing (abc2midi warns "no default gchord string for this meter").
"""

from __future__ import annotations

from dataclasses import dataclass

CHORD_BASE = 48  # C3: abc2midi's gchord.base, where chord voicings start
BASS_BASE = 36  # C2: abc2midi's fun.base, the bass channel's octave
# abc2midi 4.84's named chords: semitones above the root.
CHORD_TYPES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10), "maj7": (0, 4, 7, 11), "M7": (0, 4, 7, 11), "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9), "aug": (0, 4, 8), "+": (0, 4, 8), "aug7": (0, 4, 8, 10),
    "dim": (0, 3, 6), "dim7": (0, 3, 6, 9), "9": (0, 4, 7, 10, 14), "m9": (0, 3, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14), "M9": (0, 4, 7, 11, 14), "11": (0, 4, 7, 10, 14, 17),
    "dim9": (0, 3, 6, 9, 13), "sus": (0, 5, 7), "sus4": (0, 4, 7), "sus9": (0, 2, 7),
    "sus2": (0, 2, 7), "7sus2": (0, 2, 7, 10), "7sus4": (0, 5, 7, 10),
    "7sus9": (0, 2, 7, 10), "5": (0, 7),
}  # fmt: skip
# abc2midi's setbeat: the default pattern for each meter it knows.
PATTERNS: dict[tuple[int, int], str] = {
    (2, 2): "fzczfzcz", (4, 4): "fzczfzcz", (2, 4): "fzcz", (6, 4): "fzczfzczfzcz",
    (3, 8): "fzczcz", (5, 8): "fzbcz", (5, 4): "fzbcz", (7, 8): "fzbczcz",
    (7, 4): "fzbczcz", (3, 4): "fzczcz", (6, 8): "fzcfzc", (9, 8): "fzcfzcfzc",
    (12, 8): "fzcfzcfzcfzc",
}  # fmt: skip
PATTERN_LETTERS = "zcfbghijkGHIJKx"  # what abc2midi's set_gchords reads
_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_NAME_STOPS = " (/)"
_NAME_MAX = 9  # abc2midi reads at most 9 characters of chord type


@dataclass(frozen=True, slots=True)
class GuitarChord:
    """One chord symbol: root and bass as semitones from C (-2..13), and the chord notes.

    `intervals` is None for a bass note alone (a lower-case root); `known` says whether the
    chord type was in `CHORD_TYPES` (an unknown one plays a major triad)."""

    root: int
    intervals: tuple[int, ...] | None
    bass: int | None = None  # the note after "/", None: the root
    known: bool = True


def read_gchord(text: str) -> list[GuitarChord]:
    """The chords a quoted string names: ``"Am"`` -> one, ``"G;D7"`` -> two, ``"^fine"``
    or ``"1"`` (a fingering) -> none."""
    chords = [_read_piece(piece) for piece in text.split(";")]
    return [chord for chord in chords if chord is not None]


def _read_piece(text: str) -> GuitarChord | None:
    at = 1 if text[:1] == "(" else 0
    letter = text[at : at + 1]
    if not letter or letter.lower() not in _STEPS:
        return None  # an annotation, a fingering or other text: abc2midi plays nothing
    root, double, at = _pitch(text, at, False)
    end = at
    while end < len(text) and end - at < _NAME_MAX and text[end] not in _NAME_STOPS:
        end += 1
    name = text[at:end]
    bass = None
    if text[end : end + 1] == "/" and text[end + 1 : end + 2].lower() in _STEPS:
        bass, _, _ = _pitch(text, end + 1, double)
    known = name in CHORD_TYPES
    intervals = CHORD_TYPES.get(name, CHORD_TYPES[""]) if letter.isupper() else None
    return GuitarChord(root, intervals, bass, known)


def _pitch(text: str, at: int, double: bool) -> tuple[int, bool, int]:
    """The note letter at ``text[at]`` and the signs after it: (semitones from C, whether
    a second sign doubled it, index after them).

    abc2midi reads ``#`` then ``b`` twice over; the first sign read sets the direction,
    a second makes it a double step, and a double step, once read, stays for the bass
    note after ``/`` too."""
    pitch = _STEPS[text[at].lower()]
    at += 1
    signs = []
    for _ in range(2):
        sign = ""
        for mark in "#b":
            if text[at : at + 1] == mark:
                sign, at = mark, at + 1
        signs.append(sign)
    double = double or signs[1] != ""
    step = 2 if double else 1
    pitch += {"#": step, "b": -step, "": 0}[signs[0]]
    return pitch, double, at


def voicing(chord: GuitarChord, base: int = CHORD_BASE) -> tuple[int, ...]:
    """The MIDI pitches abc2midi plays for a chord, in its order (configure_gchord).

    A bass note that is in the chord makes it an inversion: the chord notes before it
    go up an octave.  A bass note alone (no intervals) has no chord notes."""
    if chord.intervals is None:
        return ()
    lowest = 0
    if chord.bass is not None:
        for index, interval in enumerate(chord.intervals):
            if (chord.root + interval) % 12 == chord.bass % 12:
                lowest = index  # the last match wins, as in abc2midi
    return tuple(
        base + chord.root + interval + (12 if index < lowest else 0)
        for index, interval in enumerate(chord.intervals)
    )


def bass_pitch(chord: GuitarChord, base: int = BASS_BASE) -> int:
    """The bass channel's note for a chord: its ``/`` note, else its root."""
    return base + (chord.root if chord.bass is None else chord.bass)


def read_pattern(text: str) -> tuple[tuple[str, int], ...] | None:
    """A ``%%MIDI gchord`` string as (letter, slots) pairs: ``"fzc2"`` -> f, z, c twice as
    long.  None if it starts with no pattern letter (abc2midi: "Bad gchord")."""
    slots: list[tuple[str, int]] = []
    at = 0
    while at < len(text) and text[at] in PATTERN_LETTERS and len(slots) < 39:
        letter, at = text[at], at + 1
        digits = at
        while at < len(text) and text[at].isdigit():
            at += 1
        slots.append((letter, int(text[digits:at]) if at > digits else 1))
    return tuple(slots) if slots else None


def default_pattern(meter: tuple[int, int] | None) -> tuple[tuple[str, int], ...] | None:
    """abc2midi's pattern for a meter; None for a meter it has none for."""
    text = PATTERNS.get(meter) if meter is not None else None
    return read_pattern(text) if text else None
