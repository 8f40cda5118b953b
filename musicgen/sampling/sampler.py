"""Generate complete tunes from a run directory, many at once.

All requested tunes advance together: each step is one compiled call of the architecture's
one-step function (`musicgen.models.steppers`: LSTM states, or a Transformer's key/value cache) on a
(B,) batch of characters, followed by vectorized sampling in numpy.  A finished slot is
refilled with the next tune, so ``-n 1000`` streams tunes out
as they end with bounded memory.  Each tune draws from its own random generator seeded by
``(seed, tune number)``: the same command gives the same tunes, byte for byte.

With ``SampleConfig.constrain`` (the default), the strict grammar of `musicgen.grammar`
masks characters that would make the tune ill-formed, so tunes are valid ABC with full bars
by construction; ``wrap_up`` adds the end-marker bias below.  With both off, characters come
from the raw model (temperature and top-k still apply).

With a ``SampleConfig.form`` (a `FormPlan`; the CLI's default is ``auto``) the grammar
also enforces the tune's form: its parts, bars per part and a cadence on the tonic.
``auto`` draws each tune's form from the run dir's ``form.json`` (the training corpus's
forms per meter, `musicgen.form.stats`) with a generator seeded by (seed, tune number);
with any form, each tune's key is drawn from the corpus's keys for its meter too (unless
the primer writes a ``K:`` line or the plan's ``draw_keys`` is off).  A tune whose new part
came out as a copy of an earlier one (``AAAA`` under ``AABB``) is drawn again, from
``(seed, tune number, try)``, up to `MAX_TRIES` draws in all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from musicgen.abc.vocab import BOS, EOS, describe
from musicgen.errors import GrammarError, SampleError
from musicgen.form.plan import AUTO, FormPlan
from musicgen.run.rundir import Run
from musicgen.training.dataset import tune_context
from musicgen.training.fim import SENTINELS

# Past this fraction of --max-chars, the end marker gets a bonus (in logits: e^4 ~ 55x more
# likely), so a rambling tune ends at its next complete bar instead of being cut off.
WRAP_UP, WRAP_UP_BIAS = 0.75, 4.0
# A tune whose new part copied an earlier one is drawn again, at most this many times in all.
MAX_TRIES = 4
FORM_STREAM = 13  # a tune's form is drawn from its own stream, (seed, index, 13)
TUNE_TYPES = {"6/8": "Jig", "9/8": "Slip Jig", "12/8": "Slide", "2/4": "Polka", "3/4": "Waltz"}


@dataclass(frozen=True)
class SampleConfig:
    """How to sample.  Defaults favour complete, tuneful output over surprise."""

    n: int = 5
    temperature: float = 1.0  # the model's own distribution: the grammar, not a lower
    # temperature, keeps notes in bounds; 0.9 made tunes measurably less like the corpus
    # (MGEval interval overlap 0.83 against 0.92 at 1.0, docs/form.md)
    top_k: int = 0  # 0 = off; otherwise sample only among the k likeliest characters
    seed: int = 0
    primer: str = ""  # text the tune starts with (after the tune-start marker)
    max_chars: int = 2000  # the longest corpus tune has ~1,500 characters
    batch_size: int = 64  # tunes generated side by side
    constrain: bool = True  # mask characters that break ABC syntax or bar lengths
    wrap_up: bool = True  # past 3/4 of max_chars, favour the end marker: fewer cut tunes
    # The form every tune must have (needs constrain); None: any form.  None here, so
    # short library samples stay possible; ``musicgen sample`` defaults to auto.
    form: FormPlan | None = None
    # The first tune's index: tune i draws from (seed, i), so a sample that carries on a
    # folder's numbering (006 after 005) writes the tunes a larger -n would have written.
    first: int = 0


@dataclass(frozen=True)
class Sampled:
    """One generated tune: its canonical text (``M:``, ``L:``, ``K:``, body)."""

    index: int  # 0-based position in the requested order
    text: str
    complete: bool  # ended with the end marker, not cut at max_chars

    @property
    def meter(self) -> str:
        match = re.match(r"M:([^\n]*)\n", self.text)
        return match.group(1).strip() if match else "none"

    def title(self) -> str:
        kind = TUNE_TYPES.get(self.meter, "Reel")
        return f"{kind} No. {self.index + 1}"

    def abc(self, title: str | None = None) -> str:
        """The tune as standalone ABC with ``X:`` and ``T:`` lines (`title`: not ours)."""
        return f"X:{self.index + 1}\nT:{title or self.title()}\n{self.text}"


class Sampler:
    """Batched sampling from a loaded run; the compiled step is built once."""

    def __init__(self, run: Run, grammar_factory: Callable | None = None):
        """`grammar_factory(chars)` builds one tune's grammar (default `AbcGrammar`).

        It is used only when a `SampleConfig` asks for ``constrain``.
        """
        from musicgen.models.registry import architecture

        if grammar_factory is None:
            from musicgen.grammar import AbcGrammar as grammar_factory

        self.run = run
        self.vocab = run.vocab
        config = run.model_config
        self.grammar_factory = grammar_factory
        self._stepper = architecture(config.arch).stepper(run.model, config)
        # What training put before a tune at the zero state: BOS, or EOS then BOS.
        self.context = tune_context(self.vocab, run.train_config)
        # Never written: the tune-start marker, fill-in-the-middle's sentinels.
        self.banned = [i for i, c in enumerate(self.vocab.chars) if c in (BOS, *SENTINELS)]

    def generate(self, config: SampleConfig) -> Iterator[Sampled]:
        """Yield `config.n` tunes in the order they finish (each knows its index).

        Bad settings (an unknown primer character...) raise at once, not at the first tune.
        """
        primer_ids = self._check_primer(config.primer)
        if config.form is not None and not config.constrain:
            raise SampleError("a form (--form) needs the grammar: drop --no-constrain")
        if config.temperature <= 0:
            raise SampleError("temperature must be > 0")
        if config.first < 0:
            raise SampleError(f"the first tune's index must be >= 0, not {config.first}")
        if len(config.primer) >= config.max_chars:  # every tune would be cut in the primer
            raise SampleError(
                f"the primer is {len(config.primer):,} characters, --max-chars "
                f"{config.max_chars:,}: raise --max-chars or shorten the primer"
            )
        return self._generate(self._with_choices(config), primer_ids)

    def _with_choices(self, config: SampleConfig) -> SampleConfig:
        """`config` with ``auto``'s forms, the corpus's keys and its part endings, rhymes
        and echoes read from the run dir's form.json (if any); no keys are drawn when the
        primer writes its own K: line."""
        plan = config.form
        if plan is None:
            return config
        from musicgen.form.stats import read_form_stats, read_key_stats, read_phrasing

        if plan.pattern == AUTO and not plan.choices:
            plan = replace(plan, choices=read_form_stats(self.run.path))
        phrasing = plan.phrasing
        if not (phrasing.endings or phrasing.rhymes or phrasing.echoes):
            plan = replace(plan, phrasing=read_phrasing(self.run.path, phrasing.rhyme))
        if re.search(r"^K:", config.primer, re.MULTILINE):  # the primer's own key
            plan = replace(plan, keys=())
        elif plan.draw_keys and not plan.keys:
            plan = replace(plan, keys=read_key_stats(self.run.path))
        return replace(config, form=plan)

    def _generate(self, config: SampleConfig, primer_ids: list[int]) -> Iterator[Sampled]:
        batch = max(1, min(config.batch_size, config.n))
        states = self._stepper.start(batch)  # LSTM states or key/value cache, B rows
        tokens = np.full(batch, self.context[0], np.int32)
        slots: list[_Slot | None] = [None] * batch
        next_index, end = config.first, config.first + config.n
        finished = 0
        while finished < config.n:
            for b in range(len(slots)):  # fill empty slots with the next tunes
                if slots[b] is None and next_index < end:
                    slots[b] = self._new_slot(next_index, config, primer_ids)
                    states = self._stepper.reset(states, b)
                    tokens[b] = self.context[0]  # then the rest of the context, forced
                    next_index += 1
            logits, states = self._stepper.step(tokens, states)  # (B, vocab)
            chosen = self._choose(logits, slots, config)
            for b, slot in enumerate(slots):
                if slot is None:
                    continue
                char_id = int(chosen[b])
                tokens[b] = char_id
                done = slot.append(char_id, self.vocab.chars[char_id], config.max_chars)
                if done and slot.tries < MAX_TRIES and _copied_a_part(slot):
                    slots[b] = self._new_slot(slot.index, config, primer_ids, slot.tries)
                    states = self._stepper.reset(states, b)
                    tokens[b] = self.context[0]
                    continue
                if done:
                    finished += 1
                    slots[b] = None
                    yield Sampled(slot.index, slot.text(), slot.complete)
            if next_index >= end and len(slots) > 1:
                # No tunes left to start: drop finished rows once half the batch is idle,
                # so the last long tunes do not pay for a full batch.
                keep = [b for b, slot in enumerate(slots) if slot is not None]
                if keep and len(keep) <= len(slots) // 2:
                    slots = [slots[b] for b in keep]
                    tokens, states = tokens[keep], self._stepper.take(states, keep)

    def _new_slot(
        self, index: int, config: SampleConfig, primer_ids: list[int], tries: int = 0
    ) -> _Slot:
        """Tune `index`'s slot; a retry (`tries` > 0) draws from ``(seed, index, tries)``
        (the form stream is the same, so the same meter draws the same form and key)."""
        grammar = None
        if config.constrain and config.form is not None:
            from musicgen.grammar import STRICT

            policy = replace(STRICT, plan=config.form)
            form_rng = np.random.default_rng([config.seed, index, FORM_STREAM])
            grammar = self.grammar_factory(self.vocab.chars, policy=policy, rng=form_rng)
        elif config.constrain:
            grammar = self.grammar_factory(self.vocab.chars)
        rng = np.random.default_rng([config.seed, index, tries] if tries else [config.seed, index])
        return _Slot(index, rng, [*self.context[1:], *primer_ids], grammar, tries + 1)

    def _check_primer(self, primer: str) -> list[int]:
        unknown = self.vocab.unknown(primer)
        if unknown:
            raise SampleError(f"primer has characters the model never saw: {describe(unknown)}")
        if BOS in primer or EOS in primer:
            raise SampleError("primer must not contain the tune start/end markers")
        return [int(i) for i in self.vocab.encode(primer)]

    def _choose(self, logits: np.ndarray, slots: list, config: SampleConfig) -> np.ndarray:
        """Pick the next character of every slot: forced primer characters, or a sample."""
        logits = logits.astype(np.float64) / config.temperature
        logits[:, self.banned] = -np.inf  # a tune never restarts in the middle
        uniform = np.zeros(len(slots))
        forced = np.full(len(slots), -1)
        for b, slot in enumerate(slots):
            if slot is None:
                continue
            if slot.pending:
                forced[b] = slot.pending[0]
                continue
            if slot.grammar is not None:
                mask = slot.grammar.allowed_mask()
                logits[b, ~mask] = -np.inf
            if config.wrap_up and len(slot.chars) > config.max_chars * WRAP_UP:
                logits[b, self.vocab.eos] += WRAP_UP_BIAS  # end at the next complete bar
            uniform[b] = slot.rng.random()
        if config.top_k and config.top_k < logits.shape[1]:  # after the mask: never all -inf
            kth = np.partition(logits, -config.top_k, axis=1)[:, -config.top_k][:, None]
            logits = np.where(logits < kth, -np.inf, logits)
        # Inverse-CDF sampling of every row at once: softmax, cumulative sum, search.
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        cdf = np.cumsum(probs, axis=1)
        picks = (cdf < (uniform * cdf[:, -1])[:, None]).sum(axis=1)
        picks = np.minimum(picks, logits.shape[1] - 1)
        return np.where(forced >= 0, forced, picks)


def _copied_a_part(slot: _Slot) -> bool:
    """Did a part the plan asked to be new come out as a copy of an earlier one?

    The grammar enforces each part's length and close, not that the B part is other music
    than the A part; a model that writes its A part twice under AABB wrote ``AAAA``
    (`musicgen.form.analysis`'s letters: parts alike by their bars).  Such a tune is drawn again,
    up to `MAX_TRIES` times in all.
    """
    if not slot.complete or slot.grammar is None:
        return False
    target = slot.grammar.state.music.form.target
    if target is None or len(set(target.letters)) < 2:
        return False
    from musicgen.abc.tunes import parse_abc
    from musicgen.form.analysis import form_of

    tunes, _ = parse_abc(f"X:1\nT:t\n{slot.text()}")
    return bool(tunes) and len(set(form_of(tunes[0]).letters)) < len(set(target.letters))


class _Slot:
    """One tune in progress: its characters, random generator, grammar and forced primer."""

    def __init__(self, index, rng, pending, grammar, tries: int = 1):
        self.index, self.rng, self.pending, self.grammar = index, rng, pending, grammar
        self.tries = tries  # 1 on the tune's first draw, 2 on its second...
        self.chars: list[str] = []
        self.complete = False

    def append(self, char_id: int, char: str, max_chars: int) -> bool:
        """Add one character; return True when the tune is finished (ended or cut)."""
        if self.pending:
            self.pending.pop(0)
            if char == BOS:  # the tune-start marker is context, not text
                return False
            if self.grammar is not None:
                try:
                    self.grammar.feed(char)
                except GrammarError as exc:
                    raise SampleError(f"primer is not valid ABC here: {exc}") from None
        elif self.grammar is not None:
            self.grammar.feed(char)
        if char == EOS:
            self.complete = True
            return True
        self.chars.append(char)
        return len(self.chars) >= max_chars

    def text(self) -> str:
        return "".join(self.chars)
