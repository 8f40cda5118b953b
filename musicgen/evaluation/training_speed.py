"""Training benchmarks: the lab's loop, then `musicgen train`'s path for each architecture.

Each measurement runs in a fresh subprocess, so its peak memory is its own and no model
left over from another one shares its threads.  Speeds are characters/s beside the lab's
loop timed in the same run, and MFU: the model's FLOPs per character times its speed, as
a fraction of this machine's matrix-multiply peak in the same precision (timed before and
after, the higher kept: a machine busier at one moment must not flatter the fractions).
FLOPs per character count the matrix multiplies only.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from musicgen.abc.corpus import BUNDLED_CORPUS
from musicgen.evaluation.speed import Row
from musicgen.models.registry import ARCHITECTURES, ModelConfig, architecture
from musicgen.run.config import TrainConfig


def bench_training(seconds: float = 20.0, peak_seconds: float = 5.0) -> Iterator[Row]:
    """Training chars/s: the lab's loop at the lab's size, then musicgen's training path on
    the lab's model and each architecture's default (its own `TrainConfig` defaults:
    batch, window, optimizer, transposed copies), the Transformer also 256 wide, each in
    float32 and, where this machine has it, bfloat16.  Each row gives the model's FLOPs per
    character and the share of the measured matrix-multiply peak in its precision (MFU).
    """
    from musicgen.evaluation.lab import lab_model_config
    from musicgen.training.precision import has_bf16

    vocab_size = len(_corpus()[1])
    precisions = ["float32"] + (["bfloat16"] if has_bf16() else [])
    cases = _cases(lab_model_config(vocab_size), precisions)
    peaks = {p: _in_subprocess(matmul_peak, peak_seconds, p)[0] for p in precisions}
    ref, ref_memory = _in_subprocess(lab_loop_speed, seconds)
    timed = [(case, *_in_subprocess(fit_speed, seconds, *case[1:])) for case in cases]
    for precision in precisions:  # again after, the higher kept: a busy moment must not
        after = _in_subprocess(matmul_peak, peak_seconds, precision)[0]  # flatter MFU
        before, peaks[precision] = peaks[precision], max(peaks[precision], after)
        yield Row(
            "training",
            f"{precision} matmul peak (2048x2048)",
            peaks[precision],
            "GFLOP/s",
            note=f"before {before:.0f}, after {after:.0f}",
        )

    def note(computed: float, config: ModelConfig, precision: str, memory: float) -> str:
        """FLOPs and MFU from the characters the model computed on per second."""
        flops = train_flops_per_char(replace(config, vocab_size=vocab_size))
        mfu = computed * flops / 1e9 / peaks[precision]
        return f"{flops / 1e6:.1f} MFLOP/char, MFU {mfu:.0%}, peak RSS {memory:.0f} MiB"

    lab = lab_model_config(vocab_size)
    yield Row(
        "training",
        "lab loop (batch 8 x 100, GradientTape)",
        ref,
        "chars/s",
        1.0,
        note(ref, lab, "float32", ref_memory),
    )
    for (label, model_config, train_config), (speed, computed), memory in timed:
        shape = f"{model_config.layers}x{model_config.units}"
        batch = f"{train_config.windows} {train_config.batch_size} x {train_config.seq_len}"
        yield Row(
            "training",
            f"{label} {shape} ({batch}, {train_config.precision})",
            speed,
            "chars/s",
            speed / ref,
            f"{computed:,.0f} window chars/s, "
            + note(computed, model_config, train_config.precision, memory),
        )


def _cases(lab: ModelConfig, precisions: list[str]) -> list[tuple[str, ModelConfig, TrainConfig]]:
    """(label, model config, training config) of every timed training row."""
    from musicgen.training.presets import configs_for

    lab_train = configs_for(lab.arch, {"precision": "float32"})[1]
    cases = [(f"{lab.arch} at the lab's size", lab, lab_train)]
    for name in ARCHITECTURES:
        for precision in precisions:
            cases.append((f"{name} default", *configs_for(name, {"precision": precision})))
    if "transformer" in ARCHITECTURES:
        for precision in precisions:
            wide = {"units": 256, "batch_size": 48, "precision": precision}
            cases.append(("transformer 256 wide", *configs_for("transformer", wide)))
        for precision in precisions:  # the same tunes a step, without the run-on windows
            packed = {"windows": "packed", "batch_size": 6, "precision": precision}
            cases.append(("transformer default", *configs_for("transformer", packed)))
    return cases


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
) -> tuple[float, float]:
    """(corpus characters/s, window characters/s) of `musicgen train`'s training steps at
    `config`: its data (the bundled corpus split, transposed, windowed or packed as
    `train` does), its model built in `config.precision`, its towers over the cores, its
    optimizer and schedule, its callbacks.  What it leaves out is what ``history.csv``'s
    chars/s leaves out too: validation and checkpoint writes.  Corpus characters are what
    ``history.csv`` counts (an epoch's stream over its steps); window characters are what
    the model computes on (batch x window), which MFU counts.

    One ``fit`` call, timed from the end of its `warmup`-th step (tracing, the input
    pipeline's start) until `seconds` later: the steady state an epoch runs at.
    """

    from musicgen.abc.corpus import read_corpus
    from musicgen.models.registry import build_model
    from musicgen.training.callbacks import DropoutSeeds, ProgressBar
    from musicgen.training.dataset import make_dataset
    from musicgen.training.fit import prepare_data
    from musicgen.training.optim import make_loss, make_optimizer, make_schedule
    from musicgen.training.precision import policy
    from musicgen.training.towers import plan_towers, split_steps

    towers = plan_towers("default", config.batch_size)  # as `train`: before TensorFlow starts
    data = prepare_data(read_corpus([BUNDLED_CORPUS]).tunes, config)
    batch, seq_len, packed = config.batch_size, config.seq_len, config.windows == "packed"
    ds = make_dataset(
        data.ids, seq_len, batch, shuffle=True, seed=config.seed, starts=data.starts, packed=packed
    ).repeat()
    shape = replace(model_config, vocab_size=len(data.vocab), segments=packed)
    with policy(config.precision):
        model = build_model(shape, fused=True)
        schedule = make_schedule(config, data.steps)
        model.compile(
            optimizer=make_optimizer(config, schedule),
            loss=make_loss(),
        )
    split_steps(model, towers)
    clock = _clock(warmup, seconds)
    callbacks = [ProgressBar(False), DropoutSeeds(config.seed), clock]
    model.fit(ds, steps_per_epoch=10**6, epochs=1, verbose=0, callbacks=callbacks, shuffle=False)
    steps_per_second = (clock.steps - warmup) / clock.elapsed
    corpus_per_step = (len(data.ids) - 1) / data.steps
    return steps_per_second * corpus_per_step, steps_per_second * batch * seq_len


def _clock(warmup: int, seconds: float):
    """A callback that times `fit` from its `warmup`-th step and stops it `seconds` later."""
    import keras

    class Clock(keras.callbacks.Callback):
        async_safe = True  # as train's own callbacks: nothing waits between steps

        def __init__(self):
            super().__init__()
            self.steps, self.start, self.elapsed = 0, 0.0, 0.0

        def on_train_batch_end(self, batch, logs=None):
            now, self.steps = time.perf_counter(), self.steps + 1
            if self.steps == warmup:
                self.start = now
            elif self.steps > warmup:
                self.elapsed = now - self.start
                self.model.stop_training = self.elapsed >= seconds

    return Clock()


def matmul_peak(seconds: float, precision: str = "float32") -> float:
    """Matrix-multiply GFLOP/s of this machine in `precision` (float32 or bfloat16),
    measured with TensorFlow on 2048 x 2048 matrices."""
    import tensorflow as tf

    n = 2048
    a = tf.cast(tf.random.normal((n, n)), precision)
    b = tf.cast(tf.random.normal((n, n)), precision)

    @tf.function
    def mm(a, b):
        return tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32))

    float(mm(a, b))
    start = time.perf_counter()
    count = 0
    while time.perf_counter() - start < seconds:
        float(mm(a, b))
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def train_flops_per_char(config: ModelConfig) -> float:
    """Matrix-multiply FLOPs to train on one character of `config`'s network."""
    return architecture(config.arch).train_flops(config)
