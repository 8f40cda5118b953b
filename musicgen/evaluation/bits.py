"""Held-out cross-entropy of a run on ABC tunes, in bits per character.

Each tune is scored on its own, from its start: the model sees only the tune-boundary
context its training put there (``BOS``, or ``EOS BOS`` for a run whose windows only tile the
stream; see `musicgen.training.dataset.tune_context`), then predicts every character of the tune
and its end marker.  This is the number that tells whether a model learned the music or
memorised its training windows.  Three figures come out of one pass of the model:

- ``bits_per_char``: every character of the canonical text (``M:``, ``L:``, ``K:``, body)
  and the end marker;
- ``music_bits_per_char``: only the body, its final newline and the end marker, each tune
  still given its header lines as context: the figure comparable with models that write
  titles or other headers;
- ``constrained_bits_per_char``: the whole text again, under the distribution the default
  sampler draws from (the start marker banned and the strict grammar's mask applied, then
  renormalised; temperature 1, no top-k, no wrap-up bias).  Tunes the grammar refuses have
  probability zero there: they are counted in ``unreachable`` and left out of the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from musicgen.abc.tunes import Skipped, Tune
from musicgen.abc.vocab import describe
from musicgen.errors import CorpusError, GrammarError, MusicgenError, VocabError
from musicgen.run.rundir import Run
from musicgen.training.dataset import tune_context


@dataclass(frozen=True)
class Evaluation:
    bits_per_char: float
    tunes: int  # tunes scored
    chars: int  # characters predicted (each tune's text plus its end marker)
    skipped: int  # tunes not scored: skipped while reading, or characters outside the vocabulary
    skipped_reasons: tuple[str, ...] = ()
    music_bits_per_char: float = math.nan
    music_chars: int = 0  # body characters, final newline and end marker, summed
    constrained_bits_per_char: float = math.nan
    unreachable: int = 0  # tunes the sampling grammar gives probability zero

    def to_dict(self) -> dict:
        return asdict(self) | {"skipped_reasons": list(self.skipped_reasons)}


@dataclass
class _Totals:
    bits: float = 0.0
    chars: int = 0
    music_bits: float = 0.0
    music_chars: int = 0
    constrained_bits: float = 0.0
    constrained_chars: int = 0
    unreachable: int = 0


def evaluate(
    run: Run,
    tunes: Sequence[Tune],
    batch_size: int = 32,
    constrained: bool = True,
    skipped: Sequence[Skipped] = (),
) -> Evaluation:
    """Score `tunes` with the run's model; tunes it cannot encode are skipped and listed.

    `skipped`: what reading the input skipped already (`musicgen.abc.corpus.Corpus`), counted
    and listed first, so one count says what was not scored.  `constrained=False` skips
    the grammar pass (its figure is then NaN): it costs a Python step per character.
    Nothing to score is an error (`VocabError` if the vocabulary refused tunes, else
    `CorpusError`), never a NaN figure.
    """
    vocab = run.vocab
    context = tune_context(vocab, run.train_config)  # ends in BOS
    items: list[tuple[np.ndarray, int, str]] = []  # (ids, header chars, text)
    skipped = list(skipped)
    read_skips = len(skipped)
    for tune in tunes:
        text = tune.text()
        unknown = vocab.unknown(text)
        if unknown:
            skipped.append(
                Skipped(tune.source, tune.line, f"unknown characters {describe(unknown)}")
            )
            continue
        ids = np.concatenate([context[:-1], vocab.encode_tune(text)]).astype(np.int64)
        items.append((ids, len(text) - len(tune.body) - 1, text))
    if not items:
        raise _nothing_to_score(skipped, len(skipped) > read_skips)
    items.sort(key=lambda item: len(item[0]))  # similar lengths: little padding
    totals = _Totals()
    skip = len(context) - 1
    grammar = _strict_grammar() if constrained else None
    for start in range(0, len(items), batch_size):
        group = items[start : start + batch_size]
        logits = _logits(run, [ids for ids, _, _ in group])  # (B, T, vocab), float64
        for row, (ids, header, text) in enumerate(group):
            _score_tune(run, logits[row], ids, skip, header, text, grammar, totals)
    return Evaluation(
        bits_per_char=_ratio(totals.bits, totals.chars),
        tunes=len(items),
        chars=totals.chars,
        skipped=len(skipped),
        skipped_reasons=tuple(map(str, skipped)),
        music_bits_per_char=_ratio(totals.music_bits, totals.music_chars),
        music_chars=totals.music_chars,
        constrained_bits_per_char=_ratio(totals.constrained_bits, totals.constrained_chars),
        unreachable=totals.unreachable,
    )


def _nothing_to_score(skipped: Sequence[Skipped], by_vocab: bool) -> MusicgenError:
    """The error for input of which no tune can be scored, naming the first reason."""
    if not skipped:
        return CorpusError("nothing to score: no tunes given")
    more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
    error = VocabError if by_vocab else CorpusError
    n = len(skipped)
    return error(f"nothing to score: {n} tune{'s' * (n != 1)} skipped: {skipped[0]}{more}")


def _ratio(bits: float, chars: int) -> float:
    return bits / chars if chars else math.nan


def _strict_grammar():
    """The grammar class the default sampler uses, or None where it is unavailable."""
    from musicgen.grammar import AbcGrammar

    return AbcGrammar


def _score_tune(run, logits, ids, skip, header, text, grammar, totals: _Totals) -> None:
    """Add one tune's three scores; `logits` row t predicts ``ids[t + 1]``."""
    n = len(ids) - 1  # predictions
    rows = logits[skip:n]  # (chars, vocab): predictions of the text and end marker
    targets = ids[skip + 1 : n + 1]
    log_z = _logsumexp(rows)
    nats = log_z - rows[np.arange(len(targets)), targets]
    bits = nats / math.log(2.0)
    totals.bits += float(bits.sum())
    totals.chars += len(targets)
    totals.music_bits += float(bits[header:].sum())  # body, final newline, end marker
    totals.music_chars += len(targets) - header
    if grammar is None:
        return
    g = grammar(run.vocab.chars)
    masks = np.empty(rows.shape, bool)
    try:
        for t, ch in enumerate(text + run.vocab.chars[run.vocab.eos]):
            masks[t] = g.allowed_mask()
            g.feed(ch)
    except GrammarError:
        totals.unreachable += 1
        return
    masks[:, run.vocab.bos] = False  # the sampler never restarts a tune
    masked = np.where(masks, rows, -np.inf)
    nats = _logsumexp(masked) - rows[np.arange(len(targets)), targets]
    totals.constrained_bits += float(nats.sum() / math.log(2.0))
    totals.constrained_chars += len(targets)


def _logsumexp(rows: np.ndarray) -> np.ndarray:
    top = rows.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(rows - top).sum(axis=1, keepdims=True)))[:, 0]


def _logits(run: Run, group: list[np.ndarray]) -> np.ndarray:
    """The model's logits for every prefix of each id sequence, padded: (B, T, vocab)."""
    from musicgen.models.registry import architecture

    width = max(len(ids) for ids in group) - 1
    inputs = np.zeros((len(group), width), np.int32)
    for row, ids in enumerate(group):
        inputs[row, : len(ids) - 1] = ids[:-1]
    # a Transformer scores texts longer than its context in sliding windows
    logits = architecture(run.model_config.arch).logits(run.model, run.model_config, inputs)
    return np.asarray(logits, dtype=np.float64)
