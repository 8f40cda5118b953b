"""Fill-in-the-middle: training texts that teach a left-to-right model to write a gap.

The standard transform (Bavarian et al. 2022, "Efficient Training of Language Models to
Fill in the Middle"), in its prefix-suffix-middle order, cut at bar lines: a tune's text
``prefix + middle + suffix``, where the middle is one to `MAX_BARS` whole bars (their
music, without the bar line that closes the last of them), is trained as

    BOS prefix SUFFIX suffix MIDDLE middle EOS

so that, given a tune with a gap, the model writes the missing bars knowing what comes
before *and* after them, and says where they end (``EOS``).  ``musicgen vary``
(`musicgen.sampling.vary`) builds the same prompt.  `SUFFIX` and `MIDDLE` are control
characters that never occur in ABC; a run trained with ``fim > 0`` has both in its
vocabulary, and that is how `vary` knows it can use them.

Only transposed copies are rearranged (every text when a run has none), and only tunes
that fit one training window, so the model still reads every tune in order, in its own
key, from its start.  Validation tunes are never rearranged: the validation loss stays
the ordinary left-to-right figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musicgen.abc import bars
from musicgen.errors import TuneError

SUFFIX = "\x1c"  # ASCII "file separator": here, the suffix follows
MIDDLE = "\x1d"  # ASCII "group separator": here, the middle follows (then EOS)
SENTINELS = (SUFFIX, MIDDLE)
MAX_BARS = 4  # the longest gap trained: a phrase of a part


def rearrange(text: str, first: int, last: int) -> str:
    """`text` (``Tune.text()``) with bars `first`..`last` (1-based) moved to its end,
    in prefix-suffix-middle order (without the ``BOS``/``EOS`` the stream adds)."""
    prefix, middle, suffix = cut(text, first, last)
    return f"{prefix}{SUFFIX}{suffix}{MIDDLE}{middle}"


def cut(text: str, first: int, last: int) -> tuple[str, str, str]:
    """(prefix, middle, suffix) of `text` around bars `first`..`last`: the middle is their
    music from just after the bar line before `first` to the bar line that closes `last`
    (that bar line starts the suffix).  `TuneError` if the tune has no such bars."""
    layout = bars.layout(text)
    if not 1 <= first <= last <= len(layout.bars):
        raise TuneError(f"bars {first}-{last} are not within the tune's 1-{len(layout.bars)}")
    start, close = layout.bars[first - 1].start, layout.bars[last - 1].close
    return text[:start], text[start:close], text[close:]


def rearranged(
    texts: Sequence[str], rate: float, seed: int, copies: int, longest: int
) -> list[str]:
    """`texts` (each tune followed by its `copies` transposed copies) with about `rate`
    of them, all drawn from the copies (from every text when `copies` is 0) and no longer
    than `longest` characters once rearranged, in fill-in-the-middle order.  The choice
    of texts, gaps and lengths is a function of `seed` alone."""
    if rate <= 0 or not texts:
        return list(texts)
    candidates = [i for i in range(len(texts)) if copies == 0 or i % (copies + 1)]
    share = min(1.0, rate * len(texts) / max(1, len(candidates)))
    rng = np.random.default_rng([seed, 5])
    out = list(texts)
    for i in candidates:
        draw, span, where = rng.random(3)
        if draw >= share or len(texts[i]) + len(SENTINELS) > longest:
            continue
        try:
            count = len(bars.layout(texts[i]).bars)
        except TuneError:
            continue
        length = 1 + int(span * min(MAX_BARS, count))
        first = 1 + int(where * (count - length + 1))
        out[i] = rearrange(texts[i], first, first + length - 1)
    return out
