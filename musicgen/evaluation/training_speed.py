"""Training benchmarks: the lab's loop, then musicgen's ``fit`` for each architecture.

Each measurement runs in a fresh subprocess, so its peak memory is its own and no model
left over from another one shares its threads.  Speeds are characters/s beside the lab's
loop timed in the same run, and fractions of this machine's float32 matrix-multiply peak
(timed before and after, the higher kept: a machine busier at one moment must not
flatter the fractions).  FLOPs per character count the matrix multiplies only.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from musicgen.abc.corpus import BUNDLED_CORPUS
from musicgen.evaluation.speed import Row
from musicgen.models.registry import ModelConfig
from musicgen.training.fit import TrainConfig


def bench_training(seconds: float = 20.0, peak_seconds: float = 5.0) -> Iterator[Row]:
    """Training chars/s: the lab's loop at the lab's size, then musicgen's ``fit`` on the
    lab's model, the LSTM default and the Transformer default (each with its own
    `TrainConfig` defaults: batch, window, optimizer)."""
    from musicgen.evaluation.lab import lab_model_config
    from musicgen.training.presets import configs_for

    vocab_size = len(_corpus()[1])
    lab_config = lab_model_config(vocab_size)
    cases = [
        ("lstm at the lab's size", lab_config, configs_for("lstm", {})[1]),
        ("lstm", *configs_for("lstm", {})),
        ("transformer", *configs_for("transformer", {})),
    ]
    peak_before, _ = _in_subprocess(matmul_peak, peak_seconds)
    ref, ref_memory = _in_subprocess(lab_loop_speed, seconds)
    timed = [(case, *_in_subprocess(fit_speed, seconds, *case[1:])) for case in cases]
    peak_after, _ = _in_subprocess(matmul_peak, peak_seconds)
    peak = max(peak_before, peak_after)
    yield Row(
        "training",
        "float32 matmul peak (2048x2048)",
        peak,
        "GFLOP/s",
        note=f"before {peak_before:.0f}, after {peak_after:.0f}",
    )

    def note(speed: float, config: ModelConfig, memory: float) -> str:
        share = speed * train_flops_per_char(replace(config, vocab_size=vocab_size)) / 1e9
        return f"{share / peak:.0%} of peak, peak RSS {memory:.0f} MiB"

    yield Row(
        "training",
        "lab loop (batch 8 x 100, GradientTape)",
        ref,
        "chars/s",
        1.0,
        note(ref, lab_config, ref_memory),
    )
    for (label, model_config, train_config), speed, memory in timed:
        shape = f"{model_config.layers}x{model_config.units}"
        yield Row(
            "training",
            f"{label} {shape} (batch {train_config.batch_size} x {train_config.seq_len})",
            speed,
            "chars/s",
            speed / ref,
            note(speed, model_config, memory),
        )


def _in_subprocess(target: Callable, *args) -> tuple[object, float]:
    """Run target(*args) in a fresh process; return its result and peak RSS in MiB."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measured, (target, *args))


def _measured(target, *args):
    from musicgen.models.tfenv import quiet_tensorflow

    quiet_tensorflow()
    result = target(*args)
    return result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _corpus():
    """The bundled corpus as one id stream, and its vocabulary."""
    from musicgen.abc.corpus import read_corpus
    from musicgen.abc.vocab import Vocab
    from musicgen.training.dataset import encode_stream

    tunes = read_corpus([BUNDLED_CORPUS]).tunes
    vocab = Vocab.from_texts(t.text() for t in tunes)
    return encode_stream(tunes, vocab), vocab


def lab_loop_speed(seconds: float) -> float:
    """Characters/s of the lab's training loop at the lab's model size."""
    import keras
    import numpy as np

    from musicgen.evaluation.lab import LabConfig, lab_get_batch, lab_model_config, lab_train_step
    from musicgen.models.registry import build_model

    config = LabConfig()
    ids, vocab = _corpus()
    model = build_model(lab_model_config(len(vocab)))
    step = lab_train_step(model, keras.optimizers.Adam(config.learning_rate))
    rng = np.random.default_rng(0)
    for _ in range(3):  # warm-up and tracing
        step(*lab_get_batch(ids, config.seq_len, config.batch_size, rng))
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < seconds:
        float(step(*lab_get_batch(ids, config.seq_len, config.batch_size, rng)))
        steps += 1
    return steps * config.batch_size * config.seq_len / (time.perf_counter() - start)


def fit_speed(
    seconds: float, model_config: ModelConfig, config: TrainConfig, warmup: int = 3
) -> float:
    """Characters/s of musicgen's training path: ``model.fit`` on tf.data, the fused
    model and the optimizer `musicgen train` uses, at `config`'s batch and window.

    One ``fit`` call, timed from the end of its `warmup`-th step (tracing, the input
    pipeline's start) until `seconds` later: the steady state an epoch runs at.
    """
    import keras

    from musicgen.models.registry import build_model
    from musicgen.training.dataset import make_dataset
    from musicgen.training.optim import make_optimizer

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps, self.start, self.elapsed = 0, 0.0, 0.0

        def on_train_batch_end(self, batch, logs=None):
            float(logs["loss"])  # the step has finished, not only been dispatched
            now, self.steps = time.perf_counter(), self.steps + 1
            if self.steps == warmup:
                self.start = now
            elif self.steps > warmup:
                self.elapsed = now - self.start
                self.model.stop_training = self.elapsed >= seconds

    ids, vocab = _corpus()
    model = build_model(replace(model_config, vocab_size=len(vocab)), fused=True)
    model.compile(
        optimizer=make_optimizer(config),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    batch, seq_len = config.batch_size, config.seq_len
    ds = make_dataset(ids, seq_len, batch, shuffle=True, drop_remainder=True).repeat()
    clock = Clock()
    model.fit(ds, steps_per_epoch=10**6, epochs=1, verbose=0, callbacks=[clock], shuffle=False)
    return (clock.steps - warmup) * batch * seq_len / clock.elapsed


def matmul_peak(seconds: float) -> float:
    """float32 matrix-multiply GFLOP/s of this machine, measured with TensorFlow."""
    import tensorflow as tf

    n = 2048
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))

    @tf.function
    def mm(a, b):
        return tf.reduce_sum(tf.matmul(a, b))

    float(mm(a, b))
    start = time.perf_counter()
    count = 0
    while time.perf_counter() - start < seconds:
        float(mm(a, b))
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def train_flops_per_char(config: ModelConfig) -> float:
    """Matrix-multiply FLOPs to train on one character of `config`'s network."""
    if config.arch == "transformer":
        return transformer_train_flops_per_char(
            config.units, config.layers, config.context, config.vocab_size
        )
    return lstm_train_flops_per_char(
        config.embedding_dim, config.units, config.layers, config.vocab_size
    )


def lstm_train_flops_per_char(embedding_dim: int, units: int, layers: int, vocab: int) -> float:
    """Matrix-multiply FLOPs to train on one character: forward x 3 (backward is ~2x)."""
    forward = 0
    inputs = embedding_dim
    for _ in range(layers):
        forward += 2 * (inputs + units) * 4 * units
        inputs = units
    forward += 2 * units * vocab
    return 3.0 * forward


def transformer_train_flops_per_char(width: int, layers: int, context: int, vocab: int) -> float:
    """Matrix-multiply FLOPs to train on one character: projections and MLP (24 D^2 a
    block), attention over the whole window (4 T D: the mask does not skip work), logits."""
    return 3.0 * (layers * (24 * width * width + 4 * context * width) + 2 * width * vocab)
