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
from musicgen.models.registry import ModelConfig
from musicgen.training.fit import TrainConfig


def test_format_row_lines_up_and_shows_missing_values():
    line = format_row(Row("sampling", "lstm batch 1", 1234.5, "chars/s", 12.34, "untrained"))
    assert line.split() == ["sampling", "lstm", "batch", "1", "1,234.5", "chars/s", "12.3x"] + [
        "untrained"
    ]
    assert len(line.split("untrained")[0]) == len(bench.HEADER) + 2
    assert " n/a " in format_row(Row("midi", "x", math.nan, "ms/tune"))


def test_flops_per_character_count_the_matrix_multiplies():
    # one layer: gates 2 (in + units) 4 units, logits 2 units vocab; training = 3x forward
    assert bench_training.lstm_train_flops_per_char(2, 3, 1, 5) == 3 * (2 * 5 * 12 + 2 * 3 * 5)
    assert bench_training.transformer_train_flops_per_char(4, 2, 10, 7) == 3 * (
        2 * (24 * 16 + 4 * 10 * 4) + 2 * 4 * 7
    )
    lstm = ModelConfig(vocab_size=5, embedding_dim=2, units=3, layers=1)
    assert bench_training.train_flops_per_char(lstm) == 3 * (2 * 5 * 12 + 2 * 3 * 5)


def test_training_rows_cover_both_architectures_against_the_lab_loop(monkeypatch):
    speeds = {"matmul_peak": iter([90.0, 100.0]), "lab_loop_speed": iter([1000.0])}
    fits = iter([2000.0, 3000.0, 17000.0])

    def fake(target, *args):
        if target is bench_training.fit_speed:
            return next(fits), 500.0
        return next(speeds[target.__name__]), 400.0

    monkeypatch.setattr(bench_training, "_in_subprocess", fake)
    rows = list(bench_training.bench_training(seconds=1))
    assert [r.name for r in rows] == [
        "float32 matmul peak (2048x2048)",
        "lab loop (batch 8 x 100, GradientTape)",
        "lstm at the lab's size 1x1024 (batch 32 x 128)",
        "lstm 2x512 (batch 32 x 128)",
        "transformer 3x128 (batch 12 x 384)",
    ]
    assert rows[0].value == 100.0  # the higher of before and after
    assert [r.ratio for r in rows[1:]] == [1.0, 2.0, 3.0, 17.0]
    vocab = len(bench_training._corpus()[1])
    flops = bench_training.transformer_train_flops_per_char(128, 3, 384, vocab)
    share = 17000.0 * flops / 1e9 / 100.0
    assert rows[-1].note == f"{share:.0%} of peak, peak RSS 500 MiB"


@pytest.mark.slow
def test_sampling_rows_time_both_architectures():
    rows = list(bench.bench_sampling(DEFAULT_RUN, seconds=0.01, batches=(2,), max_chars=12))
    assert [r.name for r in rows] == [
        "lab reference (batch 1, eager call per char)",
        "lstm 2x512 batch 2 constrained",  # untrained, default shape
        "transformer 3x128 batch 2 constrained",  # the bundled model
        "transformer 3x128 batch 2 constrained, --form auto",  # as `musicgen sample`
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
    config = TrainConfig(batch_size=2, seq_len=16)
    start = time.perf_counter()
    speed = bench_training.fit_speed(0.2, model, config, warmup=2)
    assert 0 < speed < math.inf
    assert time.perf_counter() - start < 120  # the clock stopped fit, not its 10^6 steps
