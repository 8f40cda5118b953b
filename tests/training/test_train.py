import contextlib
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from musicgen.errors import RunDirError, TrainError
from musicgen.files import atomic_write
from musicgen.models.registry import ModelConfig
from musicgen.run import rundir
from musicgen.run.config import TrainConfig
from musicgen.run.history import read_history
from musicgen.training.fit import train

SMALL = ModelConfig(vocab_size=0, embedding_dim=8, units=16, layers=1, dropout=0.0)


def test_run_dir_holds_everything_and_loads_back(tiny_run):
    for name in ("model.keras", "config.json", "vocab.json", "history.csv", "loss.png"):
        assert (tiny_run / name).is_file()
    # form.json: the training tunes' forms per meter, what `sample --form auto` draws from
    from musicgen.form.stats import read_form_stats

    assert read_form_stats(tiny_run), "the tiny corpus's forms are recorded"
    run = rundir.load_run(tiny_run)
    assert run.model_config.units == 32 and len(run.vocab) == run.model_config.vocab_size
    history = read_history(tiny_run)
    assert [r["epoch"] for r in history] == [1, 2]
    assert all(r["loss"] > 0 and r["val_loss"] > 0 and r["chars_per_s"] > 0 for r in history)
    # The best model is the one saved: its validation loss is the history's minimum.
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["format"] == 1 and config["train"]["epochs"] == 2
    assert (tiny_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = run.model(np.zeros((1, 5), dtype=np.int32))
    assert tuple(out.shape) == (1, 5, len(run.vocab))


def test_resume_continues_after_last_finished_epoch(tmp_path, tiny_tunes):
    run = tmp_path / "run"
    config = TrainConfig(epochs=1, batch_size=8, seq_len=64, seed=5)
    first = train(tiny_tunes, run, SMALL, config, progress=False)
    assert first.epochs_done == 1
    # Simulate a kill after epoch 1 of a 3-epoch run: same command, more epochs.
    seen = []
    result = train(
        tiny_tunes,
        run,
        SMALL,
        TrainConfig(**{**config.to_dict(), "epochs": 3}),
        progress=False,
        report=seen.append,
    )
    assert [r.epoch for r in seen] == [2, 3]
    assert [r["epoch"] for r in read_history(run)] == [1, 2, 3]
    assert result.epochs_done == 3
    # Running the finished command again does nothing.
    again = train(
        tiny_tunes,
        run,
        SMALL,
        TrainConfig(**{**config.to_dict(), "epochs": 3}),
        progress=False,
        report=seen.append,
    )
    assert again.epochs_done == 3 and len(seen) == 2


class Killed(Exception):
    """Raised from the epoch report, after the resume point is written: a kill there."""


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_resumed_run_matches_uninterrupted_run_exactly(tmp_path, tiny_tunes, arch):
    """Stopped after each of epochs 1 and 2 and resumed, a run with dropout and a cosine
    schedule (and, for the Transformer, AdamW and a warm-up) ends bit for bit where the
    uninterrupted run ends: batch order, dropout masks and learning rate replay exactly."""
    extra = {"heads": 2, "context": 64} if arch == "transformer" else {}
    model = ModelConfig(
        vocab_size=0, embedding_dim=8, units=16, layers=1, dropout=0.4, arch=arch, **extra
    )
    config = TrainConfig(epochs=3, batch_size=8, seq_len=64, seed=9, transpose=0)
    if arch == "transformer":
        config = replace(config, optimizer="adamw", weight_decay=0.01, warmup_steps=5)

    def losses(run, stop_after=()):
        seen = []

        def report(record):
            seen.append((record.loss, record.val_loss))
            if record.epoch in stop_after:
                raise Killed

        for _ in range(len(stop_after) + 1):
            with contextlib.suppress(Killed):
                train(tiny_tunes, run, model, config, progress=False, report=report)
        return seen

    straight = losses(tmp_path / "a")
    assert losses(tmp_path / "b", stop_after=(1, 2)) == straight
    assert [r["val_loss"] for r in read_history(tmp_path / "b")] == [v for _, v in straight]


def test_seed_makes_training_repeatable(tmp_path, tiny_tunes):
    config = TrainConfig(epochs=1, batch_size=8, seq_len=64, seed=4)
    a = train(tiny_tunes, tmp_path / "a", SMALL, config, progress=False)
    b = train(tiny_tunes, tmp_path / "b", SMALL, config, progress=False)
    assert a.best_val_loss == pytest.approx(b.best_val_loss, rel=1e-5)


def test_other_settings_on_an_existing_run_are_refused(tmp_path, tiny_tunes):
    config = TrainConfig(epochs=1, batch_size=8, seq_len=64)
    train(tiny_tunes, tmp_path / "run", SMALL, config, progress=False)
    bigger = ModelConfig(**{**SMALL.to_dict(), "units": 24})
    with pytest.raises(TrainError, match=r"other settings \(units 16 there, 24 here\).*--force"):
        train(tiny_tunes, tmp_path / "run", bigger, config, progress=False)
    result = train(tiny_tunes, tmp_path / "run", bigger, config, progress=False, force=True)
    assert result.epochs_done == 1
    assert rundir.load_run(tmp_path / "run").model_config.units == 24


def test_refuses_a_directory_that_is_not_a_run(tmp_path, tiny_tunes):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(TrainError, match="is not a musicgen run directory"):
        train(tiny_tunes, tmp_path / "mine", SMALL, TrainConfig(epochs=1), progress=False)


def test_time_budget_stops_and_keeps_best_model(tmp_path, tiny_tunes):
    config = TrainConfig(epochs=50, batch_size=8, seq_len=64)
    result = train(tiny_tunes, tmp_path / "run", SMALL, config, max_minutes=0.0001, progress=False)
    assert result.stopped_by_budget and result.epochs_done == 1
    rundir.load_run(tmp_path / "run")


def test_no_validation_keeps_best_training_loss(tmp_path, tiny_tunes):
    config = TrainConfig(epochs=1, batch_size=8, seq_len=64, val_fraction=0.0)
    result = train(tiny_tunes, tmp_path / "run", SMALL, config, progress=False)
    assert result.val_tunes == 0 and math.isfinite(result.best_val_loss)
    assert (tmp_path / "run" / "model.keras").is_file()


def test_load_run_errors_name_the_file(tmp_path, tiny_run):
    import shutil

    with pytest.raises(RunDirError, match="no such run directory"):
        rundir.load_run(tmp_path / "none")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_run, broken)
    (broken / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(RunDirError, match=r"model\.keras: cannot load model"):
        rundir.load_run(broken)
    (broken / "config.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(RunDirError, match=r"config\.json: config format 99 is not 1"):
        rundir.load_run(broken)
    (broken / "config.json").unlink()
    with pytest.raises(RunDirError, match=r"config\.json: missing"):
        rundir.load_run(broken)


def test_vocab_size_mismatch_is_caught(tmp_path, tiny_run):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_run, bad)
    vocab = json.loads((bad / "vocab.json").read_text())
    vocab["chars"].append("\u00e9")
    (bad / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(RunDirError, match=r"vocab\.json: \d+ characters, but config\.json says"):
        rundir.load_run(bad)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def boom(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    from musicgen.errors import OutputError

    with pytest.raises(OutputError, match=r"f\.txt: cannot write \(No space left on device\)"):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_the_schedule_warms_up_then_decays_by_steps_or_by_time_budget():
    import keras

    from musicgen.training.optim import BudgetClock, WarmupCosine

    def rate(schedule, step):
        return float(schedule(step))

    cosine = WarmupCosine(1.0, 0.1, total=10)
    assert [rate(cosine, s) for s in (0, 5, 10, 20)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    # Warm-up scales the first steps: (step + 1) / warmup.
    warm = WarmupCosine(1.0, 0.1, total=10**6, warmup=4)
    assert [rate(warm, s) for s in (0, 1, 3, 4)] == pytest.approx([0.25, 0.5, 1.0, 1.0], 1e-4)
    constant = WarmupCosine(0.5, 0.1, total=10, warmup=2, decay=False)
    assert [rate(constant, s) for s in (0, 1, 9)] == pytest.approx([0.25, 0.5, 0.5])
    # A time budget moves the decay on: half of it used, half-way down.
    clock = keras.Variable(0.0, trainable=False)
    timed = WarmupCosine(1.0, 0.1, total=10**9, clock=clock)
    BudgetClock(clock, seconds=3600.0, elapsed=1800.0).on_train_begin()
    assert rate(timed, 0) == pytest.approx(0.55, abs=1e-3)
    BudgetClock(clock, seconds=1e-9).on_train_begin()  # spent: the end of the schedule
    assert rate(timed, 0) == pytest.approx(0.1)
    # The schedule is saved with a resume point's optimizer: its config rebuilds it.
    assert rate(WarmupCosine(**cosine.get_config()), 5) == pytest.approx(0.55)


def test_time_budget_carries_across_resumes(tmp_path, tiny_tunes):
    config = TrainConfig(epochs=3, batch_size=8, seq_len=64)
    run = tmp_path / "run"
    first = train(tiny_tunes, run, SMALL, replace(config, epochs=1), progress=False)
    assert first.epochs_done == 1
    spent = read_history(run)[0]["seconds"]
    # a budget the first session already used up: the rerun trains nothing more
    again = train(tiny_tunes, run, SMALL, config, max_minutes=spent / 120, progress=False)
    assert again.stopped_by_budget and again.epochs_done == 1
    assert len(read_history(run)) == 1


def test_settings_that_cannot_fit_in_memory_are_refused_up_front(tmp_path, tiny_tunes):
    from musicgen.training.checks import step_memory_bytes

    config = ModelConfig(vocab_size=60, embedding_dim=64, units=512, layers=2)
    small = step_memory_bytes(config, TrainConfig(batch_size=32, seq_len=128))
    assert 50e6 < small < 2e9  # the default step: tens to hundreds of MB
    huge = TrainConfig(epochs=1, batch_size=100_000, seq_len=10_000)
    with pytest.raises(TrainError, match=r"--batch-size 100000 x --seq-len 10000 .* GiB"):
        train(tiny_tunes, tmp_path / "run", SMALL, huge, progress=False)
    assert not (tmp_path / "run").exists()


def test_transpose_adds_copies_of_training_tunes_only(tmp_path, tiny_tunes):
    from musicgen.abc.transpose import transpose_tune
    from musicgen.training.dataset import training_texts

    train_tunes = tiny_tunes[:5]
    texts = training_texts(train_tunes, TrainConfig(transpose=2, seed=4))
    assert len(texts) == 15 and texts[::3] == [t.text() for t in train_tunes]
    assert texts[1] in {transpose_tune(texts[0], s) for s in (-5, -2, 2, 5)}
    assert training_texts(train_tunes, TrainConfig(transpose=2, seed=4)) == texts  # seeded
    result = train(
        tiny_tunes,
        tmp_path / "run",
        ModelConfig(vocab_size=0, embedding_dim=8, units=16, layers=1, dropout=0.0),
        TrainConfig(epochs=1, batch_size=8, seq_len=32, transpose=1, windows="tunes"),
        progress=False,
    )
    assert result.epochs_done == 1
    assert rundir.load_run(tmp_path / "run").train_config.transpose == 1
