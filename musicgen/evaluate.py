"""Held-out cross-entropy of a run on ABC tunes, in bits per character.

Each tune is scored on its own, from its start: the model sees only the tune-boundary
context its training put there (``BOS``, or ``EOS BOS`` for a run whose windows only tile the
stream; see `musicgen.dataset.tune_context`), then predicts every character of the tune
and its end marker.  This is the number that
tells whether a model learned the music or memorised its training windows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from musicgen.abc import Skipped, Tune
from musicgen.dataset import tune_context
from musicgen.rundir import Run
from musicgen.vocab import describe


@dataclass(frozen=True)
class Evaluation:
    bits_per_char: float
    tunes: int  # tunes scored
    chars: int  # characters predicted (each tune's text plus its end marker)
    skipped: int  # tunes with characters outside the vocabulary
    skipped_reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self) | {"skipped_reasons": list(self.skipped_reasons)}


def evaluate(run: Run, tunes: Sequence[Tune], batch_size: int = 32) -> Evaluation:
    """Score `tunes` with the run's model; tunes it cannot encode are skipped and listed."""
    vocab = run.vocab
    context = tune_context(vocab, run.train_config)  # ends in BOS
    encoded: list[np.ndarray] = []
    skipped: list[Skipped] = []
    for tune in tunes:
        unknown = vocab.unknown(tune.text())
        if unknown:
            skipped.append(
                Skipped(tune.source, tune.line, f"unknown characters {describe(unknown)}")
            )
        else:
            encoded.append(np.concatenate([context[:-1], vocab.encode_tune(tune.text())]))
    total_bits, total_chars = 0.0, 0
    encoded.sort(key=len)  # similar lengths together keep padding (wasted work) small
    for start in range(0, len(encoded), batch_size):
        group = encoded[start : start + batch_size]
        bits, chars = _score_batch(run.model, group, len(context) - 1)
        total_bits += bits
        total_chars += chars
    bpc = total_bits / total_chars if total_chars else math.nan
    return Evaluation(bpc, len(encoded), total_chars, len(skipped), tuple(map(str, skipped)))


def _score_batch(model, group: list[np.ndarray], skip: int) -> tuple[float, int]:
    """Sum of -log2 p(next char) over every real (unpadded) position of the group.

    The first `skip` predictions are of the context itself (BOS after EOS): not scored.
    """
    import tensorflow as tf

    width = max(len(ids) for ids in group) - 1
    inputs = np.zeros((len(group), width), np.int32)
    targets = np.zeros((len(group), width), np.int32)
    mask = np.zeros((len(group), width), bool)
    for row, ids in enumerate(group):
        inputs[row, : len(ids) - 1] = ids[:-1]
        targets[row, : len(ids) - 1] = ids[1:]
        mask[row, skip : len(ids) - 1] = True
    logits = model(inputs, training=False)  # (B, T, vocab)
    nats = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    nats = np.asarray(nats, dtype=np.float64)
    return float(nats[mask].sum() / math.log(2.0)), int(mask.sum())
