"""The baseline we must beat: MIT 6.S191 lab 1, part 2 ("Music Generation with RNNs").

Reproduced faithfully so `make bench` and the quality comparisons measure against the real
thing in the same run, on the same machine:

- training: random windows of 100 characters, batch 8, Embedding 256 -> LSTM 1024 -> Dense,
  Adam 5e-3, a ``tf.function`` train step with ``GradientTape``, 3000 iterations, no held-out
  loss, no clipping;
- sampling: batch 1, one eager model call per character, ``tf.random.categorical``.

It trains on musicgen's id stream (same vocabulary, same tune markers), so its run directory
can be scored by ``musicgen evaluate`` on the same held-out tunes as any musicgen model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.abc.tunes import Tune
from musicgen.abc.vocab import Vocab
from musicgen.models.registry import ModelConfig, build_model
from musicgen.run import rundir, split
from musicgen.training.dataset import encode_stream, split_tunes

LAB_MODEL = dict(embedding_dim=256, units=1024, layers=1, dropout=0.0)


@dataclass(frozen=True)
class LabConfig:
    """The lab's hyperparameters (2023 edition), kept as they were."""

    iterations: int = 3000
    batch_size: int = 8
    seq_len: int = 100
    learning_rate: float = 5e-3
    val_fraction: float = 0.1  # not in the lab: the same split musicgen uses, for scoring
    seed: int = 42


def lab_model_config(vocab_size: int) -> ModelConfig:
    return ModelConfig(vocab_size=vocab_size, **LAB_MODEL)


def lab_train_step(model, optimizer):
    """The lab's train step: one GradientTape pass under ``tf.function``."""
    import tensorflow as tf

    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            y_hat = model(x, training=True)
            loss = loss_fn(y, y_hat)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return train_step


def lab_get_batch(ids: np.ndarray, seq_len: int, batch_size: int, rng: np.random.Generator):
    """The lab's batches: windows at uniformly random positions, target shifted by one."""
    starts = rng.choice(len(ids) - seq_len - 1, batch_size)
    x = ids[starts[:, None] + np.arange(seq_len)]
    return x, ids[starts[:, None] + np.arange(1, seq_len + 1)]


def lab_train(
    tunes: Sequence[Tune],
    run_dir: str | Path,
    config: LabConfig = LabConfig(),
    max_minutes: float | None = None,
    progress: bool = True,
) -> dict:
    """Train the lab's model the lab's way into a musicgen run dir; return a summary."""
    import keras
    from tqdm import tqdm

    run_dir = Path(run_dir)
    vocab = Vocab.from_texts(t.text() for t in tunes)
    train_tunes, _ = split_tunes(tunes, config.val_fraction, config.seed)
    ids = encode_stream(train_tunes, vocab)
    model_config = lab_model_config(len(vocab))
    keras.utils.set_random_seed(config.seed)
    model = build_model(model_config)
    optimizer = keras.optimizers.Adam(config.learning_rate)
    step = lab_train_step(model, optimizer)
    rng = np.random.default_rng(config.seed)
    deadline = time.monotonic() + (max_minutes * 60 if max_minutes else math.inf)
    started = time.perf_counter()
    done = 0
    for iteration in tqdm(range(1, config.iterations + 1), disable=not progress, unit="step"):
        x, y = lab_get_batch(ids, config.seq_len, config.batch_size, rng)
        loss = float(step(x, y))
        done = iteration
        if time.monotonic() >= deadline:
            break
    seconds = time.perf_counter() - started
    train_config = {"recipe": "mit-6s191-lab", **config.__dict__, "iterations_done": done}
    rundir.write_run_files(run_dir, model_config, train_config, vocab)
    rundir.save_model(model, run_dir / rundir.MODEL_FILE)
    # The tunes it held out, so `evaluate --held-out` scores the lab on the same tunes.
    held_out = split.split_ids(len(tunes), config.val_fraction, 0.0, config.seed)
    split.write(run_dir, split.record(tunes, held_out))
    return {
        "iterations": done,
        "seconds": seconds,
        "last_loss_bits": loss / math.log(2),
        "chars_per_s": done * config.batch_size * config.seq_len / seconds,
    }


class LabSampler:
    """The lab's ``generate_text``: batch 1, one eager model call per character.

    The lab feeds one character at a time to a stateful model; here the one-step twin of
    the model carries the state explicitly, and each call is eager, as in the lab.  The
    model is built once, so only the per-character loop is measured.
    """

    def __init__(self, run: rundir.Run):
        from musicgen.models.lstm import build_step_model, copy_weights

        self.run = run
        self.step = build_step_model(run.model_config)
        copy_weights(run.model, self.step)

    def sample(self, length: int, seed: int = 0) -> str:
        import tensorflow as tf

        config = self.run.model_config
        tf.random.set_seed(seed)
        states = [tf.zeros((1, config.units))] * (2 * config.layers)
        ids = tf.constant([[self.run.vocab.bos]], tf.int32)
        out = []
        for _ in range(length):
            logits, *states = self.step([ids, *states])
            ids = tf.random.categorical(logits, num_samples=1, dtype=tf.int32)  # (1, 1)
            out.append(int(ids[0, 0]))
        return self.run.vocab.decode(out)
