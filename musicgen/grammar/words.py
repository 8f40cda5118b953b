"""The words a tune may use, from the lexer's and theory's tables, cut to one vocabulary.

Multi-character tokens are read one character at a time, so each set of words also has its
prefixes: a character is allowed while the text so far can still become a word.  Bar lines
are described by the lexer's own ``bar`` tokens (repeat marks, style), not re-parsed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from musicgen.abc.lexer import lex_body
from musicgen.abc.theory import FIFTHS, MODE_NAMES, meter_fraction, note_length, tuplet_q

TICKS = 8  # ticks per unit length L: the shortest note written is L/8 (``A/8``)
# Meters a folk tune uses; M:1/8 or M:13/16 would be legal ABC but, sampled, mean nonsense.
METERS = frozenset("C C| none 2/2 3/2 4/2 2/4 3/4 4/4 5/4 6/4 3/8 5/8 6/8 7/8 9/8 12/8".split())
UNITS = frozenset(f"1/{d}" for d in (2, 4, 8, 16, 32))  # not 1/1: M:3/16 would be 1.5 ticks
# K: values: a tonic, then nothing, "m", a mode name after a space, or its 3-letter form.
TONICS = tuple(n + a for n in sorted(FIFTHS) for a in ("", "#", "b"))
KEYS = frozenset(
    tonic + mode
    for tonic in TONICS
    for mode in ("", "m", *(" " + m for m in MODE_NAMES), *(m[:3].lower() for m in MODE_NAMES))
)
BAR_WORDS = "| || |] [| |: ||: [|: :| :|| :|] :: :|: :||:".split()
TUPLETS = {str(p): tuplet_q(p, compound=False) for p in (2, 3, 4)}  # (p: p notes in q's time
ENDINGS = "1234"
NOTES = frozenset("ABCDEFGabcdefg")
RESTS = frozenset("zx")
ACCIDENTALS = frozenset("^_=")
MAX_CHORD = 4  # notes in a [chord]: a fiddle plays at most a double stop; cap it
MAX_TEXT = 64  # longest key, field or guitar-chord text: keeps the state space finite
# The ``!name!`` decorations of the ABC 2.1 standard (section 4.14): abc2midi skips any other
# name with a warning, and the text between the marks is then noise, not music.
DECORATION_NAMES = frozenset(
    "trill trill( trill) lowermordent uppermordent mordent pralltriller roll turn turnx "
    "invertedturn invertedturnx arpeggio > accent emphasis fermata invertedfermata tenuto "
    "0 1 2 3 4 5 + plus snap slide wedge upbow downbow open thumb breath pppp ppp pp p mp "
    "mf f ff fff ffff sfz crescendo( <( crescendo) <) diminuendo( >( diminuendo) >) segno "
    "coda D.S. D.C. dacoda dacapo fine shortphrase mediumphrase longphrase editorial "
    "courtesy".split()
)
DECORATION_PREFIXES = frozenset(n[:i] for n in DECORATION_NAMES for i in range(len(n) + 1))


@dataclass(frozen=True)
class BarKind:
    """What a bar line does, read from the lexer's ``bar`` token."""

    text: str
    closes_section: bool  # :| || |] :: ... : the bar before it may be short
    opens_repeat: bool  # |: ::  (trailing colons)
    closes_repeat: bool  # :| ::  (leading colons)
    thick_thin: bool  # [| [|:
    plain_repeat_close: bool  # exactly :| , after which a second ending may follow
    double: bool  # exactly || or |] : abc2midi pairs no pickup across it

    @classmethod
    def of(cls, text: str) -> BarKind:
        (token,) = lex_body(text)
        assert token.kind == "bar" and token.text == text, text
        style, ends, starts = token.style, token.repeat_end, token.repeat_start
        return cls(
            text=text,
            closes_section=bool(ends) or style in ("||", "|]"),
            opens_repeat=bool(starts),
            closes_repeat=bool(ends),
            thick_thin=style.startswith("["),
            plain_repeat_close=(ends, style, starts) == (1, "|", 0),
            double=style in ("||", "|]") and not (ends or starts),
        )


def length_suffixes() -> dict[str, int]:
    """Every note-length suffix accepted, with its value in ticks (theory's `note_length`).

    Whole multiples (``2``, ``12``), dotted halves of odd numbers (``3/2``, ``3/``), and
    halvings of one unit (``/``, ``//``, ``///``, ``/2``, ``/4``, ``/8``): the forms folk
    tunes use.  Leaving out ``5/8`` and the like keeps a digit that would overflow the
    bar masked, while a gap of any number of ticks can still be filled.
    """
    forms = [(str(n), "", "") for n in range(1, 100)]
    forms += [(str(n), "/", d) for n in range(1, 100, 2) for d in ("", "2")]
    forms += [("", "/" * k, "") for k in range(4)] + [("", "/", d) for d in "248"]
    return {"".join(f): int(note_length(*f) * TICKS) for f in forms}


def bar_ticks(meter: str, unit_denominator: int) -> int:
    """Ticks in a bar of `meter` when L: is 1/unit_denominator; 0 for free meter."""
    value = meter_fraction(meter)
    return 0 if value is None else int(value * unit_denominator * TICKS)


def prefixes(words) -> dict[str, list[str]]:
    """Each prefix of `words` mapped to the words it can still become."""
    out: dict[str, list[str]] = {}
    for word in words:
        for i in range(len(word) + 1):
            out.setdefault(word[:i], []).append(word)
    return out


@dataclass(frozen=True)
class Words:
    """The words above that one vocabulary (its `alphabet`) can spell."""

    alphabet: frozenset[str]
    meters: frozenset[str]
    meter_prefixes: dict[str, list[str]]
    units: frozenset[str]
    unit_prefixes: dict[str, list[str]]
    keys: frozenset[str]
    key_prefixes: dict[str, list[str]]
    bars: dict[str, BarKind]
    bar_prefixes: dict[str, list[BarKind]]
    suffixes: dict[str, int]  # note-length suffix -> ticks
    reach: dict[str, int]  # suffix prefix -> bitmask of the tick values it can still reach
    decorations: frozenset[str]

    @classmethod
    def build(cls, alphabet: frozenset[str], decorations: str) -> Words:
        ok = alphabet.issuperset
        suffixes = {s: v for s, v in length_suffixes().items() if ok(s)}
        reach: dict[str, int] = {}
        for suffix, value in suffixes.items():
            for i in range(len(suffix) + 1):
                reach[suffix[:i]] = reach.get(suffix[:i], 0) | 1 << value
        meters = frozenset(m for m in METERS if ok(m))
        units = frozenset(u for u in UNITS if ok(u))
        keys = frozenset(k for k in KEYS if ok(k))
        bars = {b: BarKind.of(b) for b in BAR_WORDS if ok(b)}
        bar_prefixes = {p: [bars[b] for b in words] for p, words in prefixes(bars).items()}
        return cls(
            alphabet=alphabet,
            meters=meters,
            meter_prefixes=prefixes(meters),
            units=units,
            unit_prefixes=prefixes(units),
            keys=keys,
            key_prefixes=prefixes(keys),
            bars=bars,
            bar_prefixes=bar_prefixes,
            suffixes=suffixes,
            reach=reach,
            decorations=frozenset(decorations) & alphabet,
        )


def unit_denominator(unit: str) -> int:
    """``1/8`` -> 8 (every accepted unit is 1/d)."""
    return Fraction(unit).denominator
