"""A tune's bars and parts as offsets into its text: what ``vary`` and the studio's loops select.

Bars are numbered 1, 2, ... in the order they are written (first and second endings are
bars of their own), as a player counts them on the page; a bar runs from just after one
bar line to the end of the next.  A part ends at a repeat (``:|``, ``::``) or a double bar
(``||``, ``|]``) that no ending follows; parts are labelled A, B, C... in order.  Pure
text in, offsets out: the lexer (`musicgen.abc.lexer`) reads the text once.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from musicgen.abc.lexer import Token, lex
from musicgen.errors import TuneError

MUSIC = frozenset({"note", "rest", "chord"})
# The fields whose last change before a bar still holds in it, in the order an excerpt
# restates them (K: last, as a header ends).
CARRIED = ("M", "L", "Q", "K")


@dataclass(frozen=True)
class Bar:
    """Bar `number` (1-based): music from `start` to `close`, where its closing bar line
    starts (`end`: just past that bar line); `open` is where the bar line before it
    starts (so a part's slice keeps its ``|:``); `part` is its part's label."""

    number: int
    open: int
    start: int
    close: int
    end: int
    part: str


@dataclass(frozen=True)
class Layout:
    """A tune's `header` (up to and including its ``K:`` line) and its `bars`."""

    header: str
    bars: tuple[Bar, ...]

    def parts(self) -> dict[str, tuple[int, int]]:
        """Each part's label -> (first bar, last bar)."""
        spans: dict[str, tuple[int, int]] = {}
        for bar in self.bars:
            first, _ = spans.get(bar.part, (bar.number, bar.number))
            spans[bar.part] = (first, bar.number)
        return spans

    def as_json(self) -> dict:
        """``{"bars": [{"n", "start", "end", "part"}], "parts": {"A": [1, 8], ...}}``."""
        bars = [{"n": b.number, "start": b.start, "end": b.end, "part": b.part} for b in self.bars]
        return {"bars": bars, "parts": {k: list(v) for k, v in self.parts().items()}}


def layout(abc: str) -> Layout:
    """The bars of the first tune in `abc`; `TuneError` if it has no ``K:`` or no music."""
    tokens = lex(abc)
    key = next((i for i, t in enumerate(tokens) if t.kind == "field" and t.name == "K"), None)
    if key is None:
        raise TuneError("the tune has no K: line")
    body = key + 1
    while body < len(tokens) and tokens[body].kind == "newline":
        body += 1
    bars = _bars(tokens[body:], tokens[body].start if body < len(tokens) else len(abc))
    if not bars:
        raise TuneError("the tune has no bars of music")
    return Layout(abc[: tokens[body - 1].end] if body > key else abc, tuple(bars))


def _bars(tokens: list[Token], start: int) -> list[Bar]:
    bars: list[Bar] = []
    part, opened, music, last = 0, start, False, start
    for index, token in enumerate(tokens):
        if token.kind == "field" and token.name == "X" and bars:
            break  # a second tune
        if token.kind in MUSIC:
            music, last = True, token.end
        if token.kind != "bar":
            continue
        if music:
            label = string.ascii_uppercase[min(part, 25)]
            bars.append(Bar(len(bars) + 1, opened, start, token.start, token.end, label))
            if _ends_part(token, tokens[index + 1 :]):
                part += 1
        if music or token.repeat_start or not bars:  # a leading |: opens the next bar
            opened = token.start
        start, music = token.end, False
    if music:  # the last bar without a closing bar line
        label = string.ascii_uppercase[min(part, 25)]
        bars.append(Bar(len(bars) + 1, opened, start, last, last, label))
    return bars


def _ends_part(bar: Token, rest: list[Token]) -> bool:
    if bar.ending or not (bar.repeat_end or bar.style in ("||", "|]", "[|")):
        return False
    following = next((t for t in rest if t.kind not in ("space", "newline")), None)
    return following is None or following.kind != "ending"


def bar_range(abc: str, first: int, last: int) -> str:
    """Bars `first`..`last` of the tune as a tune of their own, played straight through:
    repeat signs become plain bar lines and ending marks are dropped."""
    tune = layout(abc)
    count = len(tune.bars)
    if not 1 <= first <= last <= count:
        raise TuneError(f"bars {first}..{last} are not within the tune's 1..{count}")
    pieces = []
    for bar in tune.bars[first - 1 : last]:
        tokens = lex(abc[bar.start : bar.close])
        pieces.append("".join(t.text for t in tokens if t.kind != "ending").strip(" "))
    start = tune.bars[first - 1].start
    return _head(abc, tune, start) + "|" + "|".join(pieces) + "|]\n"


def part(abc: str, label: str) -> str:
    """Part `label` (A, B, ...) of the tune as written, repeats and endings kept."""
    tune = layout(abc)
    spans = tune.parts()
    if label not in spans:
        raise TuneError(f"the tune has no part {label!r}; it has {', '.join(spans)}")
    first, last = spans[label]
    start, end = tune.bars[first - 1].open, tune.bars[last - 1].end
    return _head(abc, tune, start) + abc[start:end].strip("\n") + "\n"


def _head(abc: str, tune: Layout, offset: int) -> str:
    """The tune's header, then field lines restating the meter, unit, tempo and key that
    the body changed before `offset` (field lines or inline fields), so an excerpt plays
    in the meter and key its bars are written in."""
    latest: dict[str, str] = {}
    for token in lex(abc[len(tune.header) : offset]):
        if token.kind in ("field", "inline_field") and token.name in CARRIED:
            latest[token.name] = token.value.split("%")[0].strip()
    header = tune.header if tune.header.endswith("\n") else tune.header + "\n"
    return header + "".join(f"{name}:{latest[name]}\n" for name in CARRIED if name in latest)
