"""ABC's small values as numbers: keys, meters, unit and note lengths, tempos, endings.

Pure functions over the text of one field (``K:A Dorian``, ``M:6/8``, ``Q:3/8=100``) or one
token (``3/2`` after a note, ``1,3`` after a bar line), used by the note reader
(`musicgen.notes`).
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction

# Position of each note letter on the circle of fifths (C = 0), and sharps in key order.
_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
_SHARP_ORDER = "FCGDAEB"
# Sharps a mode adds to the major key on the same tonic (D Dorian = C major = D major - 2).
_MODES = {
    "maj": 0,
    "ion": 0,
    "mix": -1,
    "dor": -2,
    "min": -3,
    "aeo": -3,
    "phr": -4,
    "loc": -5,
    "lyd": 1,
}
_KEY_RE = re.compile(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)")
_KEY_ACCIDENTAL_RE = re.compile(r"(\^\^|\^|__|_|=)([A-Ga-g])")
_ACCIDENTALS = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
_TEMPO_RE = re.compile(r"((?:\d+/\d+\s*)+)=\s*(\d+(?:\.\d+)?)|^\s*(\d+(?:\.\d+)?)\s*$")

KeyMap = dict[str, int]  # note letter (upper case) -> semitones added by the key signature


def key_signature(value: str) -> tuple[KeyMap, int]:
    """Accidentals of a ``K:`` value and its sharps (negative: flats) for MIDI's key meta.

    Understands a tonic with ``#``/``b``, mode names by their first three letters
    (``Dorian``, ``mix``, ``m`` for minor), ``none``, the bagpipe keys ``HP``/``Hp``,
    and explicit accidentals after the key (``K:D =c``, ``K:C exp ^f``).  Clef and
    transposition words are ignored; an unreadable key is C major.
    """
    text = value.split("%", 1)[0]
    sharps = 0
    match = _KEY_RE.match(text)
    words = text.split()
    if words and words[0] in ("HP", "Hp"):
        sharps = 0 if words[0] == "HP" else 2  # Hp: F and C sharp, G natural
        rest = text.strip()[2:]
    elif match and not text.strip().lower().startswith("none"):
        tonic, sign, mode = match.groups()
        sharps = _FIFTHS[tonic] + {"#": 7, "b": -7, "": 0}[sign]
        mode = mode.lower()
        sharps += -3 if mode == "m" else _MODES.get(mode[:3], 0)
        rest = text[match.end() :]
    else:
        rest = text
    keymap = _signature(sharps)
    if "exp" in words:
        keymap = dict.fromkeys(_SHARP_ORDER, 0)
    for accidental, letter in _KEY_ACCIDENTAL_RE.findall(rest):
        keymap[letter.upper()] = _ACCIDENTALS[accidental]
    return keymap, max(-7, min(7, sharps))


def _signature(sharps: int) -> KeyMap:
    keymap = dict.fromkeys(_SHARP_ORDER, 0)
    if sharps > 0:
        for letter in _SHARP_ORDER[: min(sharps, 7)]:
            keymap[letter] = 1
    for letter in _SHARP_ORDER[::-1][: max(0, min(-sharps, 7))]:
        keymap[letter] = -1
    return keymap


def parse_meter(value: str) -> tuple[int, int] | None:
    """``M:`` as (numerator, denominator): ``C`` is 4/4, ``C|`` 2/2, ``2+3/8`` is 5/8.

    None for a free meter (``none``, empty) or one that cannot be read.
    """
    value = value.split("%", 1)[0].strip()
    if value in ("C", "C|"):
        return (4, 4) if value == "C" else (2, 2)
    match = re.fullmatch(r"\(?([\d+ ]+)\)?\s*/\s*(\d+)", value)
    if not match:
        return None
    numerator = sum(int(part) for part in match.group(1).replace(" ", "").split("+") if part)
    denominator = int(match.group(2))
    return (numerator, denominator) if numerator > 0 and denominator > 0 else None


def default_unit(meter: tuple[int, int] | None) -> Fraction:
    """ABC's rule for a missing ``L:``: 1/16 below a meter of 3/4, else 1/8 (whole notes)."""
    if meter is not None and Fraction(*meter) < Fraction(3, 4):
        return Fraction(1, 16)
    return Fraction(1, 8)


def parse_unit(value: str) -> Fraction | None:
    """``L:1/8`` as a fraction of a whole note; None if it cannot be read."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:/\s*(\d+))?\s*", value.split("%", 1)[0])
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


def strip_comment(line: str) -> str:
    """The line without its ``%`` comment (``\\%`` is a literal percent sign)."""
    at = line.find("%")
    while at > 0 and line[at - 1] == "\\":
        at = line.find("%", at + 1)
    return line if at < 0 else line[:at]
