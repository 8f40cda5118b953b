"""Fine-tuning (``train --init``): the parent's vocabulary, weights and shape carry over."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musicgen.abc.vocab import BOS, EOS, Vocab
from musicgen.errors import RunDirError, TrainError
from musicgen.models.registry import ModelConfig
from musicgen.run import rundir
from musicgen.run.config import Parent, TrainConfig
from musicgen.run.history import read_history
from musicgen.training.finetune import BIAS, EMBEDDING, KERNEL, Init, extend_vocab, grow_weights
from musicgen.training.fit import train

# A tune with a character the tiny parents never saw: a roll (~).
NEW_TUNE = """X:9
T:New Marks
M:6/8
L:1/8
K:D Major
|:~d3 _B2A|dAF ~G3|FGA _B2c|d3 d2z:|
"""
# Learning rate so small that no float32 weight moves: the weights stay the parent's.
FROZEN = 1e-20


@pytest.fixture(scope="module")
def tiny_transformer(tmp_path_factory, tiny_tunes) -> Path:
    """A one-epoch Transformer run dir of the smallest shape (a few seconds)."""
    run = tmp_path_factory.mktemp("runs") / "transformer"
    model = ModelConfig(vocab_size=0, units=16, layers=1, heads=2, context=64, arch="transformer")
    config = TrainConfig(epochs=1, batch_size=8, seq_len=64, seed=3, transpose=0)
    train(tiny_tunes, run, model, config, progress=False)
    return run


@pytest.fixture(scope="module")
def new_tunes(tiny_tunes):
    """Eight tunes of the parents' corpus and one with new characters."""
    from musicgen.abc.corpus import read_corpus

    text = "\n".join([*(t.abc(i + 1) for i, t in enumerate(tiny_tunes[:8])), NEW_TUNE])
    return read_corpus([_write(text)]).tunes


def _write(text: str) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "new.abc"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(params=["lstm", "transformer"])
def parent(request, tiny_run, tiny_transformer) -> Path:
    return tiny_run if request.param == "lstm" else tiny_transformer


def _config(parent_run: Path, **changes) -> tuple[ModelConfig, TrainConfig]:
    model = rundir.read_config(parent_run)[0]
    base = TrainConfig(epochs=1, batch_size=8, seq_len=64, seed=7, transpose=0)
    return model, replace(base, **changes)


def test_extend_vocab_keeps_the_parents_ids_and_appends_new_characters():
    base = Vocab((BOS, EOS, "A", "c", "|"))
    new = Vocab.from_texts(["|A~c_", "z"])
    grown = extend_vocab(base, new)
    assert grown.chars == (BOS, EOS, "A", "c", "|", "_", "z", "~")
    assert extend_vocab(base, base) == base


def test_grow_weights_copies_old_rows_and_starts_new_characters_unlikely():
    rng = np.random.default_rng(0)
    weights = [
        (EMBEDDING, rng.normal(size=(4, 3)).astype("float32")),
        ("lstm_0/kernel", rng.normal(size=(3, 8)).astype("float32")),
        (KERNEL, rng.normal(size=(3, 4)).astype("float32")),
        (BIAS, np.array([0.5, -1.0, 2.0, 0.0], dtype="float32")),
    ]
    init = Init(Parent("p", "0" * 64), None, Vocab((BOS, EOS, "a", "b")), weights)
    embedding, kernel, out_kernel, bias = grow_weights(init, 6, seed=1)
    assert embedding.shape == (6, 3) and np.array_equal(embedding[:4], weights[0][1])
    # New rows: near the mean of the old ones (noise of a tenth of their spread), apart
    assert np.abs(embedding[4:] - weights[0][1].mean(axis=0)).max() < 0.5
    assert not np.array_equal(embedding[4], embedding[5])
    assert np.array_equal(kernel, weights[1][1])  # not per character: as it was
    assert out_kernel.shape == (3, 6) and np.array_equal(out_kernel[:, :4], weights[2][1])
    assert bias.shape == (6,) and list(bias[4:]) == [-5.0, -5.0]
    assert all(w.dtype == np.float32 for w in (embedding, out_kernel, bias))
    again = grow_weights(init, 6, seed=1)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(again, [embedding, kernel, out_kernel, bias], strict=True)
    )
    with pytest.raises(TrainError, match="below the parent's 4"):
        grow_weights(init, 3, seed=1)


def test_fine_tuning_starts_from_the_parent_with_a_grown_vocabulary(tmp_path, parent, new_tunes):
    old = rundir.load_run(parent)
    model, config = _config(parent, learning_rate=FROZEN, min_lr=0.0)
    result = train(new_tunes, tmp_path / "new", model, config, progress=False, init=parent)
    assert result.epochs_done == 1 and math.isfinite(result.best_val_loss)
    new = rundir.load_run(tmp_path / "new")
    assert new.vocab.chars[: len(old.vocab)] == old.vocab.chars
    assert "~" in new.vocab.chars[len(old.vocab) :]
    assert new.model_config == replace(old.model_config, vocab_size=len(new.vocab))
    grown = {v.path: v.numpy() for v in new.model.weights}
    for variable in old.model.weights:
        value = variable.numpy()
        if variable.path == EMBEDDING:  # the old characters' rows are the parent's
            np.testing.assert_allclose(grown[EMBEDDING][: len(old.vocab)], value, atol=1e-6)
        elif variable.path not in (KERNEL, BIAS):
            np.testing.assert_allclose(grown[variable.path], value, atol=1e-6)
    np.testing.assert_allclose(grown[KERNEL][:, : len(old.vocab)], old.model.weights[-2].numpy())


def test_one_epoch_of_fine_tuning_learns_and_samples(tmp_path, tiny_run, new_tunes):
    from click.testing import CliRunner

    from musicgen.cli import main

    model, config = _config(tiny_run, learning_rate=1e-3)
    result = train(new_tunes, tmp_path / "new", model, config, progress=False, init=tiny_run)
    assert math.isfinite(read_history(tmp_path / "new")[0]["loss"]) and result.epochs_done == 1
    out = tmp_path / "out"
    sampled = CliRunner().invoke(
        main, ["sample", "--run", str(tmp_path / "new"), "-n", "1", "--out", str(out), "--quiet"]
    )
    assert sampled.exit_code == 0, sampled.output
    assert any(p.suffix == ".abc" for p in out.iterdir())


def test_the_parent_is_recorded_by_path_and_hash(tmp_path, tiny_run, new_tunes):
    model, config = _config(tiny_run)
    train(new_tunes, tmp_path / "new", model, config, progress=False, init=tiny_run)
    recorded = json.loads((tmp_path / "new" / "config.json").read_text())["parent"]
    digest = hashlib.sha256((tiny_run / "model.keras").read_bytes()).hexdigest()
    assert recorded == {"path": str(tiny_run), "sha256": digest}
    assert rundir.read_parent(tmp_path / "new") == Parent(str(tiny_run), digest)
    assert rundir.read_parent(tiny_run) is None


def test_a_shape_other_than_the_parents_is_refused_before_writing(tmp_path, tiny_run, new_tunes):
    model, config = _config(tiny_run)
    with pytest.raises(TrainError, match="units 32 there, 64 here"):
        train(new_tunes, tmp_path / "n", replace(model, units=64), config, init=tiny_run)
    assert not (tmp_path / "n").exists()


def test_a_missing_or_damaged_parent_is_refused_before_writing(tmp_path, tiny_run, new_tunes):
    import shutil

    model, config = _config(tiny_run)
    with pytest.raises(RunDirError, match="no such run directory"):
        train(new_tunes, tmp_path / "n", model, config, init=tmp_path / "nowhere")
    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_run, damaged)
    data = bytearray((damaged / "model.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / "model.keras").write_bytes(bytes(data))
    with pytest.raises(RunDirError, match="model.keras"):
        train(new_tunes, tmp_path / "n", model, config, init=damaged)
    assert not (tmp_path / "n").exists()


class Killed(Exception):
    """Raised from the epoch report, after the resume point is written: a kill there."""


def test_a_fine_tuned_run_resumes_exactly_from_its_own_weights(tmp_path, tiny_run, new_tunes):
    model, config = _config(tiny_run, epochs=2, learning_rate=1e-3)
    model = replace(model, dropout=0.3)  # no weights of its own: it may differ from the parent's

    def losses(run, stop_after=()):
        seen = []

        def report(record):
            seen.append((record.epoch, record.loss, record.val_loss))
            if record.epoch in stop_after:
                raise Killed

        for _ in range(len(stop_after) + 1):
            with contextlib.suppress(Killed):
                train(new_tunes, run, model, config, progress=False, report=report, init=tiny_run)
        return seen

    straight = losses(tmp_path / "a")
    assert losses(tmp_path / "b", stop_after=(1,)) == straight
    assert [r["epoch"] for r in read_history(tmp_path / "b")] == [1, 2]
    # A run from scratch in the same directory is another run: refused, not mixed.
    with pytest.raises(TrainError, match="fine-tuned from .*not one trained from scratch"):
        train(new_tunes, tmp_path / "b", model, replace(config, epochs=3), progress=False)


def test_early_stopping_stops_and_stays_stopped_on_resume(tmp_path, tiny_run, new_tunes):
    model, config = _config(tiny_run, epochs=6, patience=2, learning_rate=FROZEN, min_lr=0.0)
    seen = []
    result = train(
        new_tunes, tmp_path / "r", model, config, progress=False, report=seen.append, init=tiny_run
    )
    # The weights never move, so epochs 2 and 3 are no better than epoch 1: stop after 3.
    assert result.stopped_early and result.epochs_done == 3
    assert [r.epoch for r in seen] == [1, 2, 3]
    again = train(new_tunes, tmp_path / "r", model, config, progress=False, init=tiny_run)
    assert again.stopped_early and again.epochs_done == 3
    assert [r["epoch"] for r in read_history(tmp_path / "r")] == [1, 2, 3]
