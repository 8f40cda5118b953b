"""A tune cut around the bars ``musicgen vary`` rewrites: in its own text, where the new
bars go, and in the canonical text the model reads, the prefix, old middle and suffix
(`musicgen.training.fim.cut`), with what joins the bars in between."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from musicgen.abc import bars
from musicgen.abc.lexer import lex
from musicgen.abc.tunes import parse_abc
from musicgen.errors import TuneError
from musicgen.training.fim import cut


@dataclass(frozen=True)
class Gap:
    """A tune cut around its bars `first`..`last`, in its own text and in the canonical
    text the model reads (`musicgen.abc.tunes.Tune.text`)."""

    raw: str  # the tune as written
    raw_cut: tuple[int, int]  # where the bars' music starts and ends in `raw`
    prefix: str  # canonical text before the gap, suffix after it
    middle: str
    suffix: str
    bars: int  # bars in the gap
    layout: bars.Layout  # of `raw`
    joins: tuple[str, ...]  # what lies between two bars of the gap: bar line, ending, spaces
    closes: tuple[int, ...]  # where in `middle` each join starts


def read_tune(path: str, number: int) -> str:
    """Tune `number` (1-based: the tunes musicgen reads there, in file order, as ``musicgen
    check`` numbers them) of the ABC file `path`, as written: its
    lines from its first to its last (trailing blank and comment lines left out)."""
    from musicgen.abc.corpus import read_corpus, read_text

    tunes = read_corpus([path]).tunes
    if not 1 <= number <= len(tunes):
        raise TuneError(f"{path}: no tune {number}; it has {len(tunes)} (--tune 1..{len(tunes)})")
    text = read_text(Path(path)).removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = tunes[number].line - 1 if number < len(tunes) else len(lines)
    block = lines[tunes[number - 1].line - 1 : end]
    while block and (not block[-1].strip() or block[-1].lstrip().startswith("%")):
        block.pop()
    return "\n".join(block) + "\n"


def gap(raw: str, first: int, last: int) -> Gap:
    """`raw` (one tune's text) cut around bars `first`..`last`; `TuneError` if it has no
    such bars, or its bars read differently once comments and layout are normalized."""
    tunes, skipped = parse_abc(raw)
    if not tunes:
        raise TuneError(skipped[0].reason if skipped else "no tune")
    canonical = tunes[0].text()
    layout, plain = bars.layout(raw), bars.layout(canonical)
    if len(layout.bars) != len(plain.bars):
        raise TuneError(
            f"its {len(layout.bars)} bars read as {len(plain.bars)} without its comments"
        )
    prefix, middle, suffix = cut(canonical, first, last)
    where = (layout.bars[first - 1].start, layout.bars[last - 1].close)
    inner = range(first, last)  # bars closed inside the gap
    joins = tuple(_join(canonical, plain.bars[i - 1], plain.bars[i]) for i in inner)
    closes = tuple(plain.bars[i - 1].close - plain.bars[first - 1].start for i in inner)
    count = last - first + 1
    return Gap(raw, where, prefix, middle, suffix, count, layout, joins, closes)


def _join(text: str, bar: bars.Bar, after: bars.Bar) -> str:
    """The text from where `bar` closes to the first note, rest or chord of `after`."""
    tokens = lex(text[after.start : after.close])
    music = next((t.start for t in tokens if t.kind in bars.MUSIC), after.close - after.start)
    return text[bar.close : after.start + music]
