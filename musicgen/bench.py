"""Benchmarks: musicgen beside a lab-style reference, measured in the same run.

Absolute times on shared 2-core machines are noisy; the ratios against the reference loop
measured a moment earlier on the same machine are what to read and report.  Each training
measurement runs in a fresh subprocess so its peak memory is its own.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Row:
    section: str
    name: str
    value: float
    unit: str
    ratio: float | None = None  # against the section's reference
    note: str = ""


# ---------------------------------------------------------------- sampling


def bench_sampling(run_dir: Path, seconds: float = 8.0, batches=(1, 16, 64, 256)) -> Iterator[Row]:
    """Characters/s and complete tunes/s: the lab's sampler, then musicgen's at each batch."""
    from musicgen.cli import _grammar_factory
    from musicgen.lab import LabSampler
    from musicgen.rundir import load_run
    from musicgen.sample import SampleConfig, Sampler

    run = load_run(run_dir)
    lab = LabSampler(run if run.model_config.arch == "lstm" else _lab_run(run))
    lab.sample(20)  # warm-up
    length = 400
    start = time.perf_counter()
    chars = 0
    while time.perf_counter() - start < seconds:
        chars += len(lab.sample(length, seed=chars))
    ref = chars / (time.perf_counter() - start)
    yield Row("sampling", "lab reference (batch 1, eager call per char)", ref, "chars/s", 1.0)
    grammar = _grammar_factory()
    sampler = Sampler(run, grammar)
    for constrain in [False, True] if grammar else [False]:
        for batch in batches:
            config = SampleConfig(n=batch, batch_size=batch, seed=0, constrain=constrain)
            list(sampler.generate(replace(config, max_chars=5)))  # warm-up: trace this shape
            start = time.perf_counter()
            chars = complete = rounds = 0
            while time.perf_counter() - start < seconds or rounds == 0:
                for tune in sampler.generate(replace(config, seed=rounds)):
                    chars += len(tune.text) + 1
                    complete += tune.complete
                rounds += 1
            elapsed = time.perf_counter() - start
            label = f"musicgen batch {batch}" + (" constrained" if constrain else "")
            yield Row(
                "sampling",
                label,
                chars / elapsed,
                "chars/s",
                chars / elapsed / ref,
                f"{complete / elapsed:.2f} complete tunes/s",
            )


def _lab_run(run):
    """`run` with the lab's own LSTM (untrained: speed does not depend on the weights), as
    the reference for architectures the lab's loop cannot drive."""
    from dataclasses import replace as replace_run

    from musicgen.lab import lab_model_config
    from musicgen.model import build_model

    config = lab_model_config(len(run.vocab))
    return replace_run(run, model=build_model(config), model_config=config)


# ---------------------------------------------------------------- training


def _in_subprocess(target: Callable, *args) -> tuple[object, float]:
    """Run target(*args) in a fresh process; return its result and peak RSS in MiB."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_measured, (target, *args))


def _measured(target, *args):
    from musicgen.cli import _quiet_tensorflow

    _quiet_tensorflow()
    result = target(*args)
    return result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _lab_loop_speed(seconds: float) -> float:
    """Characters/s of the lab's training loop at the lab's model size."""
    import keras

    from musicgen.lab import LabConfig, lab_get_batch, lab_model_config, lab_train_step
    from musicgen.model import build_model

    config = LabConfig()
    ids, vocab_size = _corpus_ids()
    model = build_model(lab_model_config(vocab_size))
    step = lab_train_step(model, keras.optimizers.Adam(config.learning_rate))
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(3):  # warm-up and tracing
        step(*lab_get_batch(ids, config.seq_len, config.batch_size, rng))
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < seconds:
        float(step(*lab_get_batch(ids, config.seq_len, config.batch_size, rng)))
        steps += 1
    return steps * config.batch_size * config.seq_len / (time.perf_counter() - start)


def _musicgen_fit_speed(seconds: float, batch_size: int, seq_len: int, arch="lstm") -> float:
    """Characters/s of musicgen's training path (model.fit on tf.data): the LSTM at the
    lab's size, the Transformer at its defaults (with its AdamW)."""
    import keras

    from musicgen.dataset import make_dataset
    from musicgen.lab import lab_model_config
    from musicgen.model import build_model, default_config
    from musicgen.optim import make_optimizer
    from musicgen.train import TrainConfig

    ids, vocab_size = _corpus_ids()
    config = lab_model_config(vocab_size) if arch == "lstm" else default_config(arch, vocab_size)
    model = build_model(config, fused=True)
    optimizer = keras.optimizers.Adam(1e-3, clipnorm=1.0)
    if arch != "lstm":
        optimizer = make_optimizer(TrainConfig(**architecture_train_defaults(arch)))
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    ds = make_dataset(ids, seq_len, batch_size, shuffle=True, drop_remainder=True).repeat()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # warm-up, tracing
    steps = 4
    while True:
        start = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds or steps >= 4096:
            return steps * batch_size * seq_len / elapsed
        steps = max(steps * 2, int(steps * seconds / max(elapsed, 1e-3)))


def _matmul_peak(seconds: float) -> float:
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


def _corpus_ids():
    from musicgen.abc import read_corpus
    from musicgen.dataset import encode_stream
    from musicgen.vocab import Vocab

    tunes = read_corpus([Path(__file__).resolve().parent.parent / "data" / "abc_tunes"]).tunes
    vocab = Vocab.from_texts(t.text() for t in tunes)
    return encode_stream(tunes, vocab), len(vocab)


def lstm_train_flops_per_char(embedding_dim: int, units: int, layers: int, vocab: int) -> float:
    """Matrix-multiply FLOPs to train on one character: forward x 3 (backward is ~2x)."""
    forward = 0
    inputs = embedding_dim
    for _ in range(layers):
        forward += 2 * (inputs + units) * 4 * units
        inputs = units
    forward += 2 * units * vocab
    return 3.0 * forward


def architecture_train_defaults(arch: str) -> dict:
    from musicgen.model import architecture

    return architecture(arch).train_defaults


def transformer_train_flops_per_char(width: int, layers: int, context: int, vocab: int) -> float:
    """Matrix-multiply FLOPs to train on one character: projections and MLP (24 D^2 a
    block), attention over the whole window (4 T D: the mask does not skip work), logits."""
    return 3.0 * (layers * (24 * width * width + 4 * context * width) + 2 * width * vocab)


def bench_training(seconds: float = 20.0, shapes=None):
    """Training chars/s at the lab's model size: the lab's loop, then musicgen's ``fit``.

    `shapes` are the (batch, seq_len) pairs to time musicgen at: by default the default
    `TrainConfig`'s and a larger batch that keeps the matrix units busier.  The matmul
    peak is timed before and after, and the higher of the two is used, so a machine that
    was busier at one moment does not flatter the fractions.
    """
    from musicgen.lab import LAB_MODEL
    from musicgen.train import TrainConfig

    if shapes is None:
        default = TrainConfig()
        shapes = [(default.batch_size, default.seq_len), (128, 100)]
    _, vocab_size = _corpus_ids()
    flops = lstm_train_flops_per_char(
        LAB_MODEL["embedding_dim"], LAB_MODEL["units"], LAB_MODEL["layers"], vocab_size
    )
    peak_before, _ = _in_subprocess(_matmul_peak, 5.0)
    ref, ref_mem = _in_subprocess(_lab_loop_speed, seconds)
    ours = [(shape, *_in_subprocess(_musicgen_fit_speed, seconds, *shape)) for shape in shapes]
    tf_defaults = architecture_train_defaults("transformer")
    tf_shape = (tf_defaults["batch_size"], tf_defaults["seq_len"])
    tf_speed, tf_memory = _in_subprocess(_musicgen_fit_speed, seconds, *tf_shape, "transformer")
    peak_after, _ = _in_subprocess(_matmul_peak, 5.0)
    peak = max(peak_before, peak_after)
    yield Row(
        "training",
        "float32 matmul peak (2048x2048)",
        peak,
        "GFLOP/s",
        note=f"before {peak_before:.0f}, after {peak_after:.0f}",
    )
    yield Row(
        "training",
        "lab loop (batch 8 x 100, GradientTape)",
        ref,
        "chars/s",
        1.0,
        f"{ref * flops / 1e9 / peak:.0%} of peak, peak RSS {ref_mem:.0f} MiB",
    )
    for (batch_size, seq_len), speed, memory in ours:
        yield Row(
            "training",
            f"musicgen fit (batch {batch_size} x {seq_len})",
            speed,
            "chars/s",
            speed / ref,
            f"{speed * flops / 1e9 / peak:.0%} of peak, peak RSS {memory:.0f} MiB",
        )
    from musicgen.model import default_config

    tf_config = default_config("transformer", vocab_size)
    tf_flops = transformer_train_flops_per_char(
        tf_config.units, tf_config.layers, tf_config.context, vocab_size
    )
    yield Row(
        "training",
        f"musicgen transformer (batch {tf_shape[0]} x {tf_shape[1]})",
        tf_speed,
        "chars/s",
        tf_speed / ref,
        f"{tf_speed * tf_flops / 1e9 / peak:.0%} of peak, peak RSS {tf_memory:.0f} MiB",
    )


# ---------------------------------------------------------------- MIDI


def bench_midi(reference_count: int = 10) -> Iterator[Row]:
    """Milliseconds per tune from ABC text to a written MIDI file, over the whole corpus.

    The reference is music21 (parse, then its own MIDI writer) on a few tunes spread over
    the corpus: what musicgen used before it read ABC itself.  Target: at most 30 ms.
    """
    import tempfile

    from musicgen.abc import read_corpus
    from musicgen.midi import tune_to_midi, write_midi
    from musicgen.sheet import for_music21

    tunes = read_corpus([Path(__file__).resolve().parent.parent / "data" / "abc_tunes"]).tunes
    texts = [tune.abc(i) for i, tune in enumerate(tunes, start=1)]
    with tempfile.TemporaryDirectory() as tmp:
        from music21 import converter

        picked = texts[:: max(1, len(texts) // reference_count)][:reference_count]
        converter.parseData(for_music21(picked[0]), format="abc")  # warm-up: imports, caches
        start = time.perf_counter()
        for i, text in enumerate(picked):
            score = converter.parseData(for_music21(text), format="abc")
            score.write("midi", fp=str(Path(tmp) / f"ref{i}.mid"))
        ref = (time.perf_counter() - start) / len(picked) * 1e3
        yield Row("midi", f"music21 reference ({len(picked)} corpus tunes)", ref, "ms/tune", 1.0)
        write_midi(tune_to_midi(texts[0]), Path(tmp) / "warm.mid")
        start = time.perf_counter()
        for i, text in enumerate(texts):
            write_midi(tune_to_midi(text), Path(tmp) / f"{i}.mid")
        ours = (time.perf_counter() - start) / len(texts) * 1e3
    yield Row(
        "midi",
        f"musicgen ABC -> MIDI ({len(texts)} corpus tunes)",
        ours,
        "ms/tune",
        ref / ours,
        "target <= 30 ms/tune; ratio is speed-up",
    )


def format_row(row: Row) -> str:
    ratio = "" if row.ratio is None else f"{row.ratio:8.1f}x"
    value = f"{row.value:,.1f}" if not math.isnan(row.value) else "n/a"
    return f"{row.section:9} {row.name:44} {value:>12} {row.unit:9} {ratio:>9}  {row.note}"
