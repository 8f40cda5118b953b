"""The bench table: rows for both architectures, ratios against the reference, % of peak."""

import math
import time

import pytest
from click.testing import CliRunner

from musicgen.cli import main
from musicgen.cli.common import DEFAULT_RUN
from musicgen.evaluation import speed as bench
from musicgen.evaluation import training_speed as bench_training
from musicgen.evaluation.speed import Row, format_row
from musicgen.models.registry import ModelConfig, default_config
from musicgen.run.config import TrainConfig


def test_format_row_lines_up_and_shows_missing_values():
    line = format_row(Row("sampling", "lstm batch 1", 1234.5, "chars/s", 12.34, "untrained"))
    assert line.split() == ["sampling", "lstm", "batch", "1", "1,234.5", "chars/s", "12.3x"] + [
        "untrained"
    ]
    assert len(line.split("untrained")[0]) == len(bench.HEADER) + 2
    assert " n/a " in format_row(Row("midi", "x", math.nan, "ms/tune"))


def test_flops_per_character_count_the_matrix_multiplies():
    # one layer: gates 2 (in + units) 4 units, logits 2 units vocab; training = 3x forward
    lstm = ModelConfig(vocab_size=5, embedding_dim=2, units=3, layers=1)
    assert bench_training.train_flops_per_char(lstm) == 3 * (2 * 5 * 12 + 2 * 3 * 5)
    # blocks: 24 D^2 (projections, MLP) + 4 T D (attention over the window); logits
    transformer = ModelConfig(
        vocab_size=7, units=4, layers=2, heads=2, context=10, arch="transformer"
    )
    assert bench_training.train_flops_per_char(transformer) == 3 * (
        2 * (24 * 16 + 4 * 10 * 4) + 2 * 4 * 7
    )


def test_training_rows_give_mfu_in_each_precision_against_the_lab_loop(monkeypatch):
    peaks = {"float32": iter([90.0, 100.0]), "bfloat16": iter([400.0, 380.0])}
    fits = iter([2000.0, 3000.0, 2500.0, 17000.0, 30000.0, 8000.0, 20000.0, 25000.0, 40000.0])
    timed = []

    def fake(target, *args):
        if target is bench_training.fit_speed:
            timed.append(args[2].precision)
            speed = next(fits)
            return (speed, 2 * speed), 500.0  # half the characters computed on are the corpus's
        if target is bench_training.matmul_peak:
            return next(peaks[args[1]]), 400.0
        return 1000.0, 400.0  # the lab loop

    monkeypatch.setattr(bench_training, "_in_subprocess", fake)
    monkeypatch.setattr("musicgen.training.precision.has_bf16", lambda **kw: True)
    rows = list(bench_training.bench_training(seconds=1))
    assert [r.name for r in rows] == [
        "float32 matmul peak (2048x2048)",
        "bfloat16 matmul peak (2048x2048)",
        "lab loop (batch 8 x 100, GradientTape)",
        "lstm at the lab's size 1x1024 (tunes 32 x 128, float32)",
        "lstm default 2x512 (tunes 32 x 128, float32)",
        "lstm default 2x512 (tunes 32 x 128, bfloat16)",
        "transformer default 3x192 (tunes 12 x 384, float32)",
        "transformer default 3x192 (tunes 12 x 384, bfloat16)",
        "transformer 256 wide 3x256 (tunes 48 x 384, float32)",
        "transformer 256 wide 3x256 (tunes 48 x 384, bfloat16)",
        "transformer default 3x192 (packed 6 x 384, float32)",
        "transformer default 3x192 (packed 6 x 384, bfloat16)",
    ]
    assert [r.value for r in rows[:2]] == [100.0, 400.0]  # the higher of before and after
    assert [r.ratio for r in rows[2:]] == [1.0, 2.0, 3.0, 2.5, 17.0, 30.0, 8.0, 20.0, 25.0, 40.0]
    vocab = len(bench_training._corpus()[1])
    flops = bench_training.train_flops_per_char(default_config("transformer", vocab))
    mfu = 60000.0 * flops / 1e9 / 400.0  # the bfloat16 row against the bfloat16 peak
    assert rows[7].note == (
        f"60,000 window chars/s, {flops / 1e6:.1f} MFLOP/char, MFU {mfu:.0%}, peak RSS 500 MiB"
    )


@pytest.mark.slow
def test_sampling_rows_time_both_architectures():
    rows = list(bench.bench_sampling(DEFAULT_RUN, seconds=0.01, batches=(2,), max_chars=12))
    assert [r.name for r in rows] == [
        "lab reference (batch 1, eager call per char)",
        "lstm 2x512 batch 2 constrained",  # untrained, default shape
        "transformer 3x192 batch 2 constrained",  # the bundled model
        "transformer 3x192 batch 2 constrained, --form auto",  # as `musicgen sample`
    ]
    ref = rows[0].value
    assert ref > 0 and all(r.ratio == pytest.approx(r.value / ref) for r in rows)
    assert rows[1].note == "untrained" and rows[2].note.endswith("complete tunes/s")
    assert rows[3].note.endswith("complete tunes/s")


def test_bench_refuses_an_unknown_section():
    result = CliRunner().invoke(main, ["bench", "--sections", "sampling,speed"])
    assert result.exit_code == 2
    assert "speed: choose from sampling, training, midi" in result.output


@pytest.mark.slow
def test_fit_speed_times_steady_steps_and_stops_on_time():
    model = ModelConfig(vocab_size=0, embedding_dim=4, units=8, layers=1, dropout=0.0)
    config = TrainConfig(batch_size=2, seq_len=16, transpose=0)
    start = time.perf_counter()
    speed, computed = bench_training.fit_speed(0.2, model, config, warmup=2)
    assert 0 < speed < computed < math.inf  # windows start at every tune: they overlap
    assert time.perf_counter() - start < 120  # the clock stopped fit, not its 10^6 steps


@pytest.mark.slow
def test_the_training_row_times_what_train_runs(monkeypatch):
    """`make bench`'s training rows go through train's own data, precision and schedule."""
    from musicgen.training import fit, optim, precision

    seen = []
    monkeypatch.setattr(fit, "prepare_data", _spy(fit.prepare_data, seen, "data"))
    monkeypatch.setattr(optim, "make_schedule", _spy(optim.make_schedule, seen, "schedule"))
    monkeypatch.setattr(precision, "policy", _spy(precision.policy, seen, "precision"))
    model = ModelConfig(vocab_size=0, embedding_dim=4, units=8, layers=1, dropout=0.0)
    config = TrainConfig(batch_size=2, seq_len=16, transpose=1, warmup_steps=5)
    assert bench_training.fit_speed(0.1, model, config, warmup=2)[0] > 0
    assert [name for name, _ in seen] == ["data", "precision", "schedule"]
    assert seen[0][1][1] == config and seen[1][1] == ("float32",)


def _spy(function, seen: list, name: str):
    def spy(*args, **kwargs):
        seen.append((name, args))
        return function(*args, **kwargs)

    return spy
