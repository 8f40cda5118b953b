"""Fine-tuning: a new run whose first weights come from a trained run (``train --init RUN``).

The new run keeps its parent's architecture and shape; only the vocabulary may grow.  The
parent's characters keep their ids, in order, and characters only the new corpus has are
appended (`extend_vocab`); the embedding gets a row and the logits layer a column for each
(`grow_weights`), every other weight is the parent's.  The parent is read, checked and its
weights taken (`read_init`) before anything is written, and it is used only when the run
starts: a resumed run loads its own resume point.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from musicgen.abc.vocab import Vocab
from musicgen.errors import TrainError
from musicgen.models.registry import ModelConfig
from musicgen.run.config import Parent

# The variables that have one entry per character; every other one has the same shape
# in parent and child.  Names as the architectures build them (`musicgen.models.*`).
EMBEDDING, KERNEL, BIAS = "embedding/embeddings", "logits/kernel", "logits/bias"
# A new character's first logit bias sits this far (in nats) below the parent's least
# likely character's, so fine-tuning starts by predicting what the parent did (e^-4: 2%).
NEW_BIAS_BELOW = 4.0
# New rows and columns: the parent's mean (embedding) or zero (kernel) plus noise of this
# share of the parent's spread, so several new characters start apart but unremarkable.
NOISE_SHARE = 0.1


@dataclass(frozen=True)
class Init:
    """What a fine-tuned run takes from its parent run dir."""

    parent: Parent  # recorded in the child's config.json
    model_config: ModelConfig
    vocab: Vocab
    weights: list[tuple[str, np.ndarray]]  # (variable path, value), in model.weights order


def read_init(path: str | Path) -> Init:
    """Load and check the run dir `path` (`musicgen.run.rundir.load_run`: a missing or
    damaged one is `RunDirError` naming the file) and take its weights as numpy arrays."""
    from musicgen.run.rundir import load_run, model_sha256

    run = load_run(path)
    weights = [(v.path, np.array(v.numpy())) for v in run.model.weights]
    parent = Parent(str(path), model_sha256(run.path))
    return Init(parent, run.model_config, run.vocab, weights)


def extend_vocab(base: Vocab, vocab: Vocab) -> Vocab:
    """`base`'s characters with their ids, then those of `vocab` that `base` lacks, in
    `vocab`'s order (BOS and EOS are in both: they keep `base`'s ids)."""
    known = set(base.chars)
    return Vocab((*base.chars, *(c for c in vocab.chars if c not in known)))


def check_shape(init: Init, model_config: ModelConfig) -> None:
    """Refuse a `model_config` whose shape is not the parent's (the vocabulary may grow and
    dropout, which has no weights, may change): `TrainError` naming each difference."""
    loose = {"vocab_size": 0, "dropout": 0.0}
    if replace(model_config, **loose) == replace(init.model_config, **loose):
        return
    pairs = (
        (f.name, getattr(init.model_config, f.name), getattr(model_config, f.name))
        for f in fields(ModelConfig)
    )
    diff = [
        f"{name} {old} there, {new} here"
        for name, old, new in pairs
        if name not in loose and old != new
    ]
    raise TrainError(
        f"--init {init.parent.path}: a fine-tuned run keeps its parent's shape ({'; '.join(diff)})"
    )


def grow_weights(init: Init, vocab_size: int, seed: int) -> list[np.ndarray]:
    """The parent's weights for a model of `vocab_size` characters, in model.weights order.

    The first rows (embedding) and columns (logits) are the parent's own; each new
    character's embedding is the mean of the parent's plus a little noise, its logits
    kernel column is small noise and its bias sits below every old character's
    (`NEW_BIAS_BELOW`).  Seeded by `seed`: the same run starts from the same weights.
    """
    rng = np.random.default_rng([seed, 5])
    extra = vocab_size - len(init.vocab)
    if extra < 0:
        raise TrainError(f"vocab_size {vocab_size} is below the parent's {len(init.vocab)}")
    grown = []
    for path, value in init.weights:
        if path == EMBEDDING:  # (vocab, D): new rows
            new = value.mean(axis=0) + _noise(rng, value, (extra, value.shape[1]))
            value = np.concatenate([value, new.astype(value.dtype)], axis=0)
        elif path == KERNEL:  # (D, vocab): new columns
            new = _noise(rng, value, (value.shape[0], extra))
            value = np.concatenate([value, new.astype(value.dtype)], axis=1)
        elif path == BIAS:  # (vocab,)
            new = np.full(extra, value.min() - NEW_BIAS_BELOW, dtype=value.dtype)
            value = np.concatenate([value, new])
        grown.append(value)
    return grown


def _noise(rng: np.random.Generator, like: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return rng.normal(0.0, NOISE_SHARE * float(like.std()), shape)
