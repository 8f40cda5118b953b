"""Music theory for ABC, in one place: keys and modes, key signatures, meters, unit lengths,
durations as `Fraction`, tempos, endings and pitch spelling.

Pure functions over the text of one field (``K:A Dorian``, ``M:6/8``, ``Q:3/8=100``) or one
token's parts (``3/2`` after a note, ``1,3`` after a bar line).  Every stage (the lexer, the
note reader, transposition, check, the grammar) takes its tables from here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

LETTERS = "CDEFGAB"
NATURAL = (0, 2, 4, 5, 7, 9, 11)  # semitones above C of each letter, C to B
FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}  # major keys, sharps
SHARP_ORDER = "FCGDAEB"
# Full mode names as K: fields write them; their first three letters (lower case) are keys
# of MODES.
MODE_NAMES = (
    "Major",
    "Minor",
    "Dorian",
    "Mixolydian",
    "Lydian",
    "Phrygian",
    "Locrian",
    "Aeolian",
    "Ionian",
)
# Sharps a mode adds to the major key on the same tonic (D Dorian = C major = D major - 2).
MODES = {
    "maj": 0,
    "ion": 0,
    "mix": -1,
    "dor": -2,
    "m": -3,
    "min": -3,
    "aeo": -3,
    "phr": -4,
    "loc": -5,
    "lyd": 1,
}
ACCIDENTALS = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}  # ABC accidental -> semitones
TONIC_SIGNS = {"b": -1, "": 0, "#": 1}  # how K: fields and chord symbols alter a tonic
_KEY_RE = re.compile(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)")
_EXPLICIT_RE = re.compile(r"(^|\s)(exp\b|[\^_=][A-Ga-g])")  # K:D ^c, K:D exp _b
_KEY_ACCIDENTAL_RE = re.compile(r"(\^\^|\^|__|_|=)([A-Ga-g])")
_TEMPO_RE = re.compile(r"((?:\d+/\d+\s*)+)=\s*(\d+(?:\.\d+)?)|^\s*(\d+(?:\.\d+)?)\s*$")
_METER_RE = re.compile(r"\(?\s*(\d+(?:\s*\+\s*\d+)*)\s*\)?\s*/\s*(\d+)")
_UNIT_RE = re.compile(r"\s*(\d+)\s*(?:/\s*(\d+))?\s*")

KeyMap = dict[str, int]  # note letter (upper case) -> semitones added by the key signature


def strip_comment(line: str) -> str:
    """The line without its ``%`` comment (``\\%`` is a literal percent sign)."""
    at = line.find("%")
    while at > 0 and line[at - 1] == "\\":
        at = line.find("%", at + 1)
    return line if at < 0 else line[:at]


def mode_sharps(word: str) -> int | None:
    """Sharps a mode word adds to its tonic's major key (``Dorian``, ``mix``, ``m``, ``"")``.

    None for a word that is no mode.
    """
    word = word.lower()
    if word in ("", "m"):
        return MODES["m"] if word else 0
    return MODES.get(word[:3])


@dataclass(frozen=True)
class Key:
    """A key with a tonic: its letter (C = 0 .. B = 6 in `LETTERS`), the tonic's alteration
    (-1 flat, 0, 1 sharp) and its mode (a key of `MODES`)."""

    letter: int
    alter: int
    mode: str

    @property
    def sharps(self) -> int:
        """Sharps in the signature (negative: flats)."""
        return FIFTHS[LETTERS[self.letter]] + 7 * self.alter + MODES[self.mode]

    @property
    def keymap(self) -> KeyMap:
        """The alteration the signature gives each letter."""
        return signature(self.sharps)

    def tonic(self) -> str:
        """The tonic as a ``K:`` field writes it: ``F#``, ``Bb``, ``G``."""
        return tonic_name(self.letter, self.alter)


def tonic_name(letter: int, alter: int) -> str:
    """A tonic or chord root as ``K:`` fields and chord symbols write it: (3, 1) -> ``F#``."""
    return LETTERS[letter] + ("b", "", "#")[alter + 1]


def parse_key(value: str) -> Key:
    """The `Key` of a ``K:`` value whose notes can be spelled from a tonic and a mode
    (``G``, ``A Dorian``, ``Bbm``, ``Emin clef=treble``).

    Stricter than `key_signature`: raises `ValueError` for a key without a tonic (``none``,
    ``HP``), an unknown mode word or explicit accidentals (``D ^c``, ``D exp _b``).
    """
    match = _KEY_RE.match(value)
    if not match:
        raise ValueError(f"K:{value.strip()} has no tonic (A-G)")
    letter, sign, word = match.groups()
    rest = value[match.end() :]
    if _EXPLICIT_RE.search(word + rest):
        raise ValueError(f"K:{value.strip()}: explicit accidentals in the key")
    mode = word.lower() if word.lower() == "m" else word.lower()[:3]
    if not word or rest.startswith("="):
        mode = "maj"  # "K:G", "K:G clef=bass": no mode word, so major
    if mode not in MODES:
        raise ValueError(f"K:{value.strip()}: unknown mode {word!r}")
    return Key(LETTERS.index(letter), TONIC_SIGNS[sign], mode)


def key_signature(value: str) -> tuple[KeyMap, int]:
    """Accidentals of a ``K:`` value and its sharps (negative: flats) for MIDI's key meta.

    Understands a tonic with ``#``/``b``, mode names by their first three letters
    (``Dorian``, ``mix``, ``m`` for minor), ``none``, the bagpipe keys ``HP``/``Hp``,
    and explicit accidentals after the key (``K:D =c``, ``K:C exp ^f``).  Clef and
    transposition words are ignored; an unreadable key is C major.
    """
    text = strip_comment(value)
    sharps = 0
    match = _KEY_RE.match(text)
    words = text.split()
    if words and words[0] in ("HP", "Hp"):
        sharps = 0 if words[0] == "HP" else 2  # Hp: F and C sharp, G natural
        rest = text.strip()[2:]
    elif match and not text.strip().lower().startswith("none"):
        tonic, sign, mode = match.groups()
        sharps = FIFTHS[tonic] + 7 * TONIC_SIGNS[sign]
        sharps += mode_sharps(mode) or 0
        rest = text[match.end() :]
    else:
        rest = text
    keymap = signature(sharps)
    if "exp" in words:
        keymap = dict.fromkeys(SHARP_ORDER, 0)
    for accidental, letter in _KEY_ACCIDENTAL_RE.findall(rest):
        keymap[letter.upper()] = ACCIDENTALS[accidental]
    return keymap, max(-7, min(7, sharps))


def key_tonic(value: str) -> int | None:
    """Pitch class (C = 0 ... B = 11) of the tonic of a ``K:`` value, whatever its mode.

    ``K:A Dorian`` -> 9, ``K:Bb`` -> 10, ``K:F#m`` -> 6, an empty key (ABC's default) -> 0
    (C).  None for ``none``, the bagpipe keys ``HP``/``Hp`` and text that names no tonic.
    """
    text = strip_comment(value).strip()
    if not text:
        return 0
    match = _KEY_RE.match(text)
    if text.split()[0] in ("HP", "Hp") or text.lower().startswith("none") or not match:
        return None
    tonic, sign, _ = match.groups()
    return (NATURAL[LETTERS.index(tonic)] + TONIC_SIGNS[sign]) % 12


def signature(sharps: int) -> KeyMap:
    """The alteration each letter takes in a key of ``sharps`` sharps (negative: flats)."""
    keymap = dict.fromkeys(SHARP_ORDER, 0)
    if sharps > 0:
        for letter in SHARP_ORDER[: min(sharps, 7)]:
            keymap[letter] = 1
    for letter in SHARP_ORDER[::-1][: max(0, min(-sharps, 7))]:
        keymap[letter] = -1
    return keymap


@functools.lru_cache(maxsize=256)
def parse_meter(value: str) -> tuple[int, int] | None:
    """``M:`` as (numerator, denominator): ``C`` is 4/4, ``C|`` 2/2, ``2+3/8`` is 5/8.

    Spaces are tolerated anywhere (``6 / 8``, ``(2 + 3)/8``); a comment is dropped.
    None for a free meter (``none``, empty) or one that cannot be read.
    """
    value = strip_comment(value).strip()
    if value in ("C", "C|"):
        return (4, 4) if value == "C" else (2, 2)
    match = _METER_RE.fullmatch(value)
    if not match:
        return None
    numerator = sum(int(part) for part in match.group(1).split("+"))
    denominator = int(match.group(2))
    return (numerator, denominator) if numerator > 0 and denominator > 0 else None


def meter_fraction(value: str) -> Fraction | None:
    """The bar length of an ``M:`` value in whole notes (``C`` is 4/4), or None if free."""
    meter = parse_meter(value)
    return None if meter is None else Fraction(*meter)


def default_unit(meter: tuple[int, int] | None) -> Fraction:
    """ABC's rule for a missing ``L:``: 1/16 below a meter of 3/4, else 1/8 (whole notes)."""
    if meter is not None and Fraction(*meter) < Fraction(3, 4):
        return Fraction(1, 16)
    return Fraction(1, 8)


def default_unit_length(meter: str) -> str:
    """`default_unit` for an ``M:`` value, written as an ``L:`` value (``1/8``)."""
    unit = default_unit(parse_meter(meter))
    return f"{unit.numerator}/{unit.denominator}"


def parse_unit(value: str) -> Fraction | None:
    """``L:1/8`` as a fraction of a whole note; None if it cannot be read."""
    match = _UNIT_RE.fullmatch(strip_comment(value))
    if not match or int(match.group(1)) == 0 or match.group(2) == "0":
        return None
    return Fraction(int(match.group(1)), int(match.group(2) or 1))


def parse_tempo(value: str) -> float | None:
    """Quarter notes per minute of a ``Q:`` value: ``1/4=120``, ``3/8=100`` (150), ``120``.

    Several beat lengths add up (``Q:1/4 3/8=60``); a bare number counts quarter notes;
    text in quotes is skipped.  None if there is no usable number.
    """
    value = re.sub(r'"[^"]*"', " ", value)
    match = _TEMPO_RE.search(value)
    if not match:
        return None
    if match.group(3):
        bpm = float(match.group(3))
    else:
        beat = sum((Fraction(part) for part in match.group(1).split()), Fraction(0))
        bpm = float(match.group(2)) * float(beat) * 4
    return bpm if 0 < bpm < 10_000 else None


@functools.lru_cache(maxsize=512)
def note_length(num: str, slashes: str, den: str) -> Fraction:
    """Unit lengths written after a note: ``3/2`` -> 3/2, ``/`` -> 1/2, ``//`` -> 1/4."""
    denominator = int(den) << max(len(slashes) - 1, 0) if den else 1 << len(slashes)
    return Fraction(int(num) if num else 1, denominator or 1)


@functools.lru_cache(maxsize=64)
def ending_passes(text: str) -> frozenset[int]:
    """The passes an ending plays on: ``1`` -> {1}, ``1,3`` -> {1, 3}, ``1-3`` -> {1, 2, 3}."""
    passes: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        if low.isdecimal():
            last = int(high) if high.isdecimal() else int(low)
            passes.update(range(int(low), min(last, int(low) + 63) + 1))  # no runaway ranges
    return frozenset(passes)


def tuplet_q(p: int, compound: bool) -> int:
    """ABC 2.1's default q of ``(p``: p notes in the time of q (compound meters for 5, 7, 9)."""
    if p in (2, 4, 8):
        return 3
    if p in (3, 6):
        return 2
    return 3 if compound else 2


def midi_pitch(letter: str, octave: int, alter: int) -> int:
    """MIDI number of a note: ``C`` (octave 0) is middle C, 60; ``c`` is octave 1."""
    return 60 + 12 * octave + NATURAL[LETTERS.index(letter.upper())] + alter
