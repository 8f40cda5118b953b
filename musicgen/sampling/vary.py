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

from dataclasses import dataclass

import numpy as np

from musicgen.abc import bars
from musicgen.abc.lexer import lex
from musicgen.abc.tunes import parse_abc
from musicgen.abc.vocab import describe
from musicgen.errors import GrammarError, SampleError, TuneError
from musicgen.sampling.gap import Gap, gap
from musicgen.training.fim import MIDDLE, SUFFIX

MAX_TRIES = 8  # draws of one variation before it is reported as failed
BAR_STARTS = ("|", ":")  # characters that open a bar line outside brackets
DEAD_END = -1  # a draw that cannot end well (a bar past its old length): drawn again


@dataclass(frozen=True)
class Variation:
    """Variation `index` (0-based): the tune's text with new bars, or None if every try
    failed; `middle` the new bars' music; `changed` whether it differs from the old."""

    index: int
    abc: str | None
    middle: str
    tries: int
    changed: bool


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
        self.joiners = [i for i, c in enumerate(vocab.chars) if c in "]:|" or c.isdigit()]
        self.cap = 4 * len(where.middle) + 64  # longer than this: a ramble, drawn again
        # The old bars' lengths, as the lenient grammar reads them (ties and all).
        self.rooms = _rooms(_grammar(sampler, where.prefix, modes=(True,)), where)

    def draw(self, rngs: list) -> list[str | None]:
        """One middle per generator (None where it ran past the cap)."""
        stepper, rows = self.sampler._stepper, len(rngs)
        states = stepper.start(rows)
        for token in self.prompt[:-1]:
            _, states = stepper.step(np.full(rows, token, np.int32), states)
        tokens = np.full(rows, self.prompt[-1], np.int32)
        grammars = [self.grammar.copy() for _ in range(rows)]
        texts: list[list[str]] = [[] for _ in range(rows)]
        pending: list[list[str]] = [[] for _ in range(rows)]  # a join being written
        done: list[str | None] = [None] * rows
        active = set(range(rows))
        while active:
            logits, states = stepper.step(tokens, states)
            for b in sorted(active):
                if not pending[b]:
                    choice = self._choose(logits[b], grammars[b], texts[b], rngs[b])
                    if choice in (self.eos, DEAD_END) or len(texts[b]) >= self.cap:
                        done[b] = "".join(texts[b]) if choice == self.eos else None
                        active.discard(b)
                        continue
                    pending[b] = self._closing(choice, texts[b])
                char = pending[b].pop(0)
                try:
                    grammars[b].feed(char)
                except GrammarError:  # the tune's own join does not fit here: drawn again
                    active.discard(b)
                    continue
                texts[b].append(char)
                tokens[b] = self.sampler.vocab.chars.index(char)
        return done

    def _closing(self, choice: int, text: list[str]) -> list[str]:
        """The characters that `choice` starts: where it closes a bar inside the gap, the
        tune's own bar line there (with any ending mark), so repeats and endings stay."""
        char = self.sampler.vocab.chars[choice]
        if choice in self.bar_ids:
            closed, music = _bar_lines(text)
            if music and closed < len(self.where.joins):
                return list(self.where.joins[closed])
        return [char]

    def _choose(self, logits, grammar, text: list[str], rng) -> int:
        """The next character of one row: grammar-masked, with the gap's bars kept: as
        many as it had, each closed only as full as the old one was (a full bar stays
        full; a pickup stays a pickup of the same length)."""
        logits = logits.astype(np.float64) / self.temperature
        allowed = grammar.allowed_mask().copy()
        allowed[self.sampler.banned] = False
        closed, music = _bar_lines(text)
        if not closed and not music:  # the bar line before the gap is the tune's own:
            allowed[self.bar_ids] = False  # no bar line at the gap's start, and nothing
            if not text:  # that would run on from it ("|]", "|1")
                allowed[self.joiners] = False
        elif music and self.rooms and closed < len(self.rooms):  # a bar line would close it
            room, target = _room(grammar), self.rooms[closed]
            if room is not None and target is not None:
                if room < target:  # past the old bar's length: this draw cannot fit
                    return DEAD_END
                if room != target:
                    allowed[self.bar_ids] = False
                elif allowed[self.bar_ids].any():  # as long as the old bar: close it
                    allowed &= np.isin(np.arange(len(allowed)), self.bar_ids)
        can_end = closed == self.where.bars - 1 and music and allowed[self.bar_ids].any()
        if closed >= self.where.bars - 1:  # no bar line past the gap's last bar
            if can_end and not self.fim:  # "a bar line here" means "the gap ends here"
                logits[self.eos] = np.logaddexp.reduce(logits[[self.eos, *self.bar_ids]])
            allowed[self.bar_ids] = False
        allowed[self.eos] = can_end
        if not allowed.any():
            return DEAD_END
        logits[~allowed] = -np.inf
        logits -= logits.max()
        probs = np.exp(logits)
        cdf = np.cumsum(probs)
        return int(min((cdf < rng.random() * cdf[-1]).sum(), len(cdf) - 1))


def _rooms(grammar, where: Gap) -> list[int | None] | None:
    """How far short of full each bar of the old middle closed (0: full; None: free
    meter), read with a copy of `grammar` (the state before the gap); None if it refuses
    the old bars."""
    grammar, rooms = grammar.copy(), []
    for index, char in enumerate(where.middle):
        if index in where.closes:
            rooms.append(_room(grammar))
        try:
            grammar.feed(char)
        except GrammarError:
            return None
    return [*rooms, _room(grammar)]


def _room(grammar) -> int | None:
    """Ticks left in the bar once the note being written ends (a space ends it); None in
    free meter."""
    probe = grammar.copy()
    try:
        probe.feed(" ")
    except GrammarError:
        probe = grammar  # after a space, say: the last note has ended already
    bar = probe.state.music.bar
    return bar.room if bar.length else None


def _bar_lines(text: list[str]) -> tuple[int, bool]:
    """(bar lines in the gap's text so far, whether music follows the last of them)."""
    tokens = [t for t in lex("".join(text)) if t.kind not in ("space", "newline")]
    closed = sum(t.kind == "bar" for t in tokens)
    last_bar = max((i for i, t in enumerate(tokens) if t.kind == "bar"), default=-1)
    music = any(t.kind in bars.MUSIC for t in tokens[last_bar + 1 :])
    return closed, music


def _grammar(sampler, prefix: str, modes=(False, True)):
    """The strict grammar after `prefix` (the lenient one for a tune it refuses; `modes`:
    which to try, ``True`` for lenient).

    A tune neither takes (a short bar mid-part, which abc2midi forgives) is read again
    from the header and the first bar after the refusal, as often as needed: the gap's
    own bars are still held to full bars in the meter and key in force."""
    layout = bars.layout(prefix + "z|")  # the header, and where each bar starts
    header = layout.header if layout.header.endswith("\n") else layout.header + "\n"
    starts = [bar.start for bar in layout.bars if bar.start <= len(prefix)]
    for lenient in modes:
        offset, skip = 0, 0  # `text` is prefix[offset:] after `skip` header characters
        while True:
            grammar = sampler.grammar_factory(sampler.vocab.chars, lenient=lenient)
            text = header[:skip] + prefix[offset:]
            refused = _feed(grammar, text)
            if refused is None:
                return grammar
            later = [start for start in starts if start > offset + refused - skip]
            if refused < skip or not later:
                break
            offset, skip = later[0], len(header)
    raise SampleError("the tune before the bars to vary is not ABC this model can continue")


def _feed(grammar, text: str) -> int | None:
    """Feed `text`; where the grammar refused it, or None."""
    for index, char in enumerate(text):
        try:
            grammar.feed(char)
        except GrammarError:
            return index
    return None
