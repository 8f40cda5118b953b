"""Variations on some bars of a tune: everything else stays byte for byte as it was.

``musicgen vary FILE --tune N --bars 5-6 -n 4`` asks the model for new music in bars 5
and 6 of a tune.  With a model trained to fill in the middle (``--fim``,
`musicgen.training.fim`) the prompt is the tune before the gap, then the tune after it,
then the `MIDDLE` sentinel, so the new bars lead into what follows; a model without the
sentinels writes the gap from what comes before it alone.  Either way:

- the strict grammar, fed the tune up to the gap, keeps every new bar well-formed and
  full in the meter and key in force there;
- the gap has exactly its number of bars: ``EOS`` (or a bar line, for a model without the
  sentinels) is allowed only once the last bar is full, and a bar line beyond it never;
- the new bars are spliced into the tune's own text (its comments, fields and layout
  untouched), and the whole tune must pass ``musicgen check`` and have the bars and
  parts it had; a variation that does not is drawn again, from ``(seed, n, try)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.abc import bars
from musicgen.abc.lexer import lex
from musicgen.abc.tunes import parse_abc
from musicgen.abc.vocab import describe
from musicgen.errors import GrammarError, SampleError, TuneError
from musicgen.training.fim import MIDDLE, SUFFIX, cut

MAX_TRIES = 8  # draws of one variation before it is reported as failed
BAR_STARTS = ("|", ":")  # characters that open a bar line outside brackets


@dataclass(frozen=True)
class Variation:
    """Variation `index` (0-based): the tune's text with new bars, or None if every try
    failed; `middle` the new bars' music; `changed` whether it differs from the old."""

    index: int
    abc: str | None
    middle: str
    tries: int
    changed: bool


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
    return Gap(raw, where, prefix, middle, suffix, last - first + 1, layout)


def vary(sampler, raw: str, first: int, last: int, n: int, seed: int, temperature=1.0, accept=None):
    """`n` `Variation`s of bars `first`..`last` of the tune `raw`, with `sampler`'s model.

    `accept(tune)` says whether a varied `Tune` is valid (``musicgen check``'s verdict, in
    the CLI and the studio); by default, the lenient grammar's."""
    if temperature <= 0:
        raise SampleError("temperature must be > 0")
    where = gap(raw, first, last)
    unknown = sampler.vocab.unknown(where.prefix + where.suffix)
    if unknown:
        raise SampleError(f"the tune has characters the model never saw: {describe(unknown)}")
    writer = _Writer(sampler, where, temperature)
    found: dict[int, Variation] = {}
    todo = list(range(n))
    for attempt in range(MAX_TRIES):
        rngs = [np.random.default_rng([seed, i, attempt]) for i in todo]
        for i, middle in zip(todo, writer.draw(rngs), strict=True):
            text = None if middle is None else splice(where, middle, accept or _grammatical)
            found[i] = Variation(i, text, middle or "", attempt + 1, middle != where.middle)
        todo = [i for i in todo if found[i].abc is None]
        if not todo:
            break
    return [found[i] for i in range(n)]


def splice(where: Gap, middle: str, accept) -> str | None:
    """The tune's own text with `middle` in the gap, if `accept` takes the whole tune and
    it has the bars and parts it had; else None."""
    start, end = where.raw_cut
    text = where.raw[:start] + middle + where.raw[end:]
    tunes, _ = parse_abc(text)
    if not tunes or not accept(tunes[0]):
        return None
    try:
        layout = bars.layout(text)
    except TuneError:
        return None
    return text if layout.parts() == where.layout.parts() else None


def _grammatical(tune) -> bool:
    from musicgen.grammar import accepts

    return accepts(tune.text(), lenient=True)


class _Writer:
    """Writes the gap's bars for a batch of rows with the model's cached stepper."""

    def __init__(self, sampler, where: Gap, temperature: float):
        self.sampler, self.where, self.temperature = sampler, where, temperature
        vocab = sampler.vocab
        self.fim = SUFFIX in vocab.chars and MIDDLE in vocab.chars
        prompt = where.prefix
        if self.fim:
            prompt = f"{where.prefix}{SUFFIX}{where.suffix}{MIDDLE}"
        self.prompt = [*sampler.context, *(int(i) for i in vocab.encode(prompt))]
        self.grammar = _grammar(sampler, where.prefix)
        self.eos = vocab.eos
        self.bar_ids = [vocab.chars.index(c) for c in BAR_STARTS if c in vocab.chars]
        self.cap = 4 * len(where.middle) + 64  # longer than this: a ramble, drawn again

    def draw(self, rngs: list) -> list[str | None]:
        """One middle per generator (None where it ran past the cap)."""
        stepper, rows = self.sampler._stepper, len(rngs)
        states = stepper.start(rows)
        for token in self.prompt[:-1]:
            _, states = stepper.step(np.full(rows, token, np.int32), states)
        tokens = np.full(rows, self.prompt[-1], np.int32)
        grammars = [copy.copy(self.grammar) for _ in range(rows)]
        texts: list[list[str]] = [[] for _ in range(rows)]
        done: list[str | None] = [None] * rows
        active = set(range(rows))
        while active:
            logits, states = stepper.step(tokens, states)
            for b in sorted(active):
                choice = self._choose(logits[b], grammars[b], texts[b], rngs[b])
                if choice == self.eos or len(texts[b]) >= self.cap:
                    done[b] = "".join(texts[b]) if choice == self.eos else None
                    active.discard(b)
                    continue
                char = self.sampler.vocab.chars[choice]
                grammars[b].feed(char)
                texts[b].append(char)
                tokens[b] = choice
        return done

    def _choose(self, logits, grammar, text: list[str], rng) -> int:
        """The next character of one row: grammar-masked, with the gap's bar count kept."""
        logits = logits.astype(np.float64) / self.temperature
        allowed = grammar.allowed_mask().copy()
        allowed[self.sampler.banned] = False
        closed, music = _bar_lines(text)
        can_end = closed == self.where.bars - 1 and music and allowed[self.bar_ids].any()
        if closed >= self.where.bars - 1:  # no bar line past the gap's last bar
            if can_end and not self.fim:  # "a bar line here" means "the gap ends here"
                logits[self.eos] = np.logaddexp.reduce(logits[[self.eos, *self.bar_ids]])
            allowed[self.bar_ids] = False
        allowed[self.eos] = can_end
        if not allowed.any():  # a bar line the lexer reads otherwise: end, and check
            return self.eos
        logits[~allowed] = -np.inf
        logits -= logits.max()
        probs = np.exp(logits)
        cdf = np.cumsum(probs)
        return int(min((cdf < rng.random() * cdf[-1]).sum(), len(cdf) - 1))


def _bar_lines(text: list[str]) -> tuple[int, bool]:
    """(bar lines in the gap's text so far, whether music follows the last of them)."""
    tokens = [t for t in lex("".join(text)) if t.kind not in ("space", "newline")]
    closed = sum(t.kind == "bar" for t in tokens)
    last_bar = max((i for i, t in enumerate(tokens) if t.kind == "bar"), default=-1)
    music = any(t.kind in bars.MUSIC for t in tokens[last_bar + 1 :])
    return closed, music


def _grammar(sampler, prefix: str):
    """The strict grammar after `prefix` (the lenient one for a tune it refuses)."""
    for lenient in (False, True):
        grammar = sampler.grammar_factory(sampler.vocab.chars, lenient=lenient)
        try:
            for char in prefix:
                grammar.feed(char)
        except GrammarError:
            continue
        return grammar
    raise SampleError("the tune before the bars to vary is not ABC this model can continue")
