"""The causal Transformer: masking, the cached sampler, long tunes, saving, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from musicgen.models.registry import ModelConfig, architecture, build_model

# Learned positions, as checkpoints/default and every run dir before ALiBi; the default's
# ALiBi (and both together) have their own test below.
TINY = ModelConfig(
    vocab_size=13,
    units=16,
    layers=2,
    dropout=0.0,
    arch="transformer",
    heads=2,
    context=16,
    positions="learned",
)


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(5)
    return build_model(TINY)


def test_a_later_position_never_changes_an_earlier_logit(tiny_model):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, TINY.vocab_size, (2, 12)).astype(np.int32)
    changed = ids.copy()
    changed[:, 7:] = (changed[:, 7:] + 1) % TINY.vocab_size
    before, after = np.asarray(tiny_model(ids)), np.asarray(tiny_model(changed))
    np.testing.assert_allclose(before[:, :7], after[:, :7], atol=1e-6)
    assert np.abs(before[:, 7:] - after[:, 7:]).max() > 1e-3  # the mask is not all-blocking


def test_cached_step_equals_the_full_forward_pass_past_the_context(tiny_model):
    from musicgen.models.transformer import window_logits

    rng = np.random.default_rng(1)
    ids = rng.integers(0, TINY.vocab_size, (3, 45)).astype(np.int32)  # ~3 contexts long
    full = window_logits(tiny_model, ids, TINY.context)
    np.testing.assert_allclose(full[:, :16], np.asarray(tiny_model(ids[:, :16])), atol=1e-5)
    stepper = architecture("transformer").stepper(tiny_model, TINY)
    state = stepper.start(3)
    for t in range(ids.shape[1]):
        logits, state = stepper.step(ids[:, t], state)
        np.testing.assert_allclose(logits, full[:, t], atol=1e-5, err_msg=f"position {t}")


def test_packed_tunes_are_scored_as_if_each_stood_alone(tiny_model, tmp_path):
    import keras

    packed = build_model(ModelConfig(**{**TINY.to_dict(), "segments": True}))
    packed.set_weights(tiny_model.get_weights())  # the mask and positions add no weights
    rng = np.random.default_rng(2)
    first = np.concatenate([[0], rng.integers(2, TINY.vocab_size, 5), [1]]).astype(np.int32)
    second = np.concatenate([[0], rng.integers(2, TINY.vocab_size, 7), [1]]).astype(np.int32)
    alone = [np.asarray(tiny_model(tune[None]))[0] for tune in (first, second)]
    together = np.asarray(packed(np.concatenate([first, second])[None]))[0]
    np.testing.assert_allclose(together[:7], alone[0], atol=1e-5)
    np.testing.assert_allclose(together[7:], alone[1], atol=1e-5)
    # A window with no BOS (a long tune's later one) is the plain causal model's, so the
    # cached sampler and sliding-window scoring read a packed run's weights as they are.
    middle = rng.integers(2, TINY.vocab_size, (2, 12)).astype(np.int32)
    np.testing.assert_allclose(packed(middle), tiny_model(middle), atol=1e-5)
    packed.save(tmp_path / "packed.keras")
    loaded = keras.models.load_model(tmp_path / "packed.keras", safe_mode=True)
    np.testing.assert_allclose(
        loaded(together[None].argmax(-1)), packed(together[None].argmax(-1)), atol=1e-5
    )


def test_reset_and_take_rows_keep_each_tune_its_own_cache(tiny_model):
    stepper = architecture("transformer").stepper(tiny_model, TINY)
    ids = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.int32)
    full = np.asarray(tiny_model(ids))
    state = stepper.start(2)
    for t in range(2):
        _, state = stepper.step(ids[:, t], state)
    state = stepper.reset(state, 0)  # row 0 starts a new tune: 3, 4 from position 0
    logits, state = stepper.step(np.array([3, 7], np.int32), state)
    np.testing.assert_allclose(logits[1], full[1, 2], atol=1e-5)
    np.testing.assert_allclose(logits[0], np.asarray(tiny_model(ids[:1, 2:3]))[0, 0], atol=1e-5)
    state = stepper.take(state, [1])
    logits, _ = stepper.step(np.array([8], np.int32), state)
    np.testing.assert_allclose(logits[0], full[1, 3], atol=1e-5)


def test_save_and_safe_load_give_the_same_outputs(tiny_model, tmp_path):
    import keras

    path = tmp_path / "m.keras"
    tiny_model.save(path)
    loaded = keras.models.load_model(path, compile=False, safe_mode=True)
    ids = np.arange(10, dtype=np.int32)[None] % TINY.vocab_size
    np.testing.assert_allclose(np.asarray(loaded(ids)), np.asarray(tiny_model(ids)), atol=1e-6)
    assert not any(type(layer).__name__ == "Lambda" for layer in loaded.layers)


@pytest.mark.parametrize("positions", ["alibi", "both"])
def test_alibi_models_step_save_and_slide_like_the_learned_one(positions, tmp_path):
    """ALiBi (alone or with learned vectors): causal, the cached sampler's steps equal the
    sliding-window forward pass past the context, it saves and loads safely, and a key
    further back weighs less in the heads' bias (a row of each head's bias falls)."""
    import keras

    from musicgen.models.layers import alibi_bias
    from musicgen.models.transformer import window_logits

    config = ModelConfig(**{**TINY.to_dict(), "positions": positions})
    keras.utils.set_random_seed(6)
    model = build_model(config)
    assert ("positions" in [layer.name for layer in model.layers]) == (positions == "both")
    rng = np.random.default_rng(3)
    ids = rng.integers(0, TINY.vocab_size, (2, 40)).astype(np.int32)
    changed = ids.copy()
    changed[:, 7:] = (changed[:, 7:] + 1) % TINY.vocab_size
    early = np.asarray(model(ids[:, :16])), np.asarray(model(changed[:, :16]))
    np.testing.assert_allclose(early[0][:, :7], early[1][:, :7], atol=1e-6)
    full = window_logits(model, ids, TINY.context)
    stepper = architecture("transformer").stepper(model, config)
    state = stepper.start(2)
    for t in range(ids.shape[1]):
        logits, state = stepper.step(ids[:, t], state)
        np.testing.assert_allclose(logits, full[:, t], atol=1e-5, err_msg=f"position {t}")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(ids[:, :16])), early[0], atol=1e-6)
    bias = alibi_bias(np.arange(5.0)[:, None] - np.arange(5.0), TINY.heads)  # (1, 2, 5, 5)
    assert bias.shape == (1, TINY.heads, 5, 5)
    assert np.all(np.diff(bias[0, :, 4, :], axis=-1) > 0)  # nearer keys: less penalty
    assert bias[0, 0, 4, 0] < bias[0, 1, 4, 0] < 0  # the first head looks nearest


def test_positions_are_checked_and_old_run_dirs_hold_learned_ones():
    from musicgen.errors import TrainError

    old = {k: v for k, v in TINY.to_dict().items() if k != "positions"}
    assert ModelConfig.from_dict(old).positions == "learned"
    with pytest.raises(TrainError, match="positions must be one of learned, alibi, both"):
        ModelConfig(**{**TINY.to_dict(), "positions": "rotary"})


def test_config_json_round_trip_and_old_configs_are_lstm():
    assert ModelConfig.from_dict(TINY.to_dict()) == TINY
    old = {"vocab_size": 61, "embedding_dim": 64, "units": 512, "layers": 2, "dropout": 0.4}
    assert ModelConfig.from_dict(old).arch == "lstm"
    with pytest.raises(ValueError, match="unknown model settings"):
        ModelConfig.from_dict({**old, "colour": "red"})


def test_unknown_architecture_is_a_train_error():
    from musicgen.errors import TrainError

    with pytest.raises(TrainError, match="unknown architecture 'gru'"):
        architecture("gru")


def _train(run_dir, tunes_path, *extra):
    from musicgen.cli import main

    args = ["train", str(tunes_path), "--run", str(run_dir), "--arch", "transformer"]
    args += ["--layers", "1", "--units", "16", "--heads", "2", "--context", "32"]
    args += ["--batch-size", "8", "--transpose", "0", "--val-fraction", "0.2", "--quiet"]
    return CliRunner().invoke(main, [*args, *extra])


@pytest.fixture(scope="module")
def tiny_tf_run(tmp_path_factory):
    from tests.conftest import CORPUS

    path = tmp_path_factory.mktemp("tf") / "tunes.abc"
    blocks = CORPUS.read_text(encoding="utf-8").split("\nX:")
    path.write_text("\nX:".join(blocks[1::40]).join(["X:", "\n"]), encoding="utf-8")
    run_dir = path.parent / "run"
    first = _train(run_dir, path, "--epochs", "1")
    assert first.exit_code == 0, first.output
    return run_dir, path, first


def test_train_through_the_cli_then_resume(tiny_tf_run):
    run_dir, path, first = tiny_tf_run
    assert "epoch 1/1  loss" in first.output
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["arch"] == "transformer"
    assert config["train"]["optimizer"] == "adamw" and config["train"]["seq_len"] == 32
    second = _train(run_dir, path, "--epochs", "2")
    assert second.exit_code == 0, second.output
    assert "epoch 2/2" in second.output and "epoch 1/2" not in second.output


def test_a_tune_longer_than_the_context_samples_and_scores(tiny_tf_run):
    from musicgen.abc.corpus import read_corpus
    from musicgen.evaluation.bits import evaluate
    from musicgen.run.rundir import load_run
    from musicgen.sampling.sampler import SampleConfig, Sampler

    run_dir, path, _ = tiny_tf_run
    run = load_run(run_dir)
    tunes = [t for t in read_corpus([path]).tunes if len(t.text()) > 2 * run.model_config.context]
    assert tunes
    result = evaluate(run, tunes)
    assert result.tunes == len(tunes) and np.isfinite(result.bits_per_char)
    sampled = list(Sampler(run).generate(SampleConfig(n=7, max_chars=120, seed=2, batch_size=4)))
    assert len(sampled) == 7
    assert max(len(s.text) for s in sampled) > run.model_config.context
    again = list(Sampler(run).generate(SampleConfig(n=7, max_chars=120, seed=2, batch_size=4)))
    assert sorted((s.index, s.text) for s in again) == sorted((s.index, s.text) for s in sampled)


def test_packed_windows_train_resume_and_score_like_any_run(tiny_tf_run, tmp_path):
    from musicgen.abc.corpus import read_corpus
    from musicgen.evaluation.bits import evaluate
    from musicgen.run.rundir import load_run

    _, path, _ = tiny_tf_run
    run_dir = tmp_path / "packed"
    first = _train(run_dir, path, "--windows", "packed", "--epochs", "1")
    assert first.exit_code == 0, first.output
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["segments"] is True and config["train"]["windows"] == "packed"
    second = _train(run_dir, path, "--windows", "packed", "--epochs", "2")
    assert second.exit_code == 0 and "epoch 2/2" in second.output, second.output
    run = load_run(run_dir)
    assert any(type(layer).__name__ == "TuneSegments" for layer in run.model.layers)
    scores = evaluate(run, read_corpus([path]).tunes[:3])
    assert 0 < scores.bits_per_char < 10


def test_an_lstm_cannot_train_on_packed_windows(tmp_path):
    from musicgen.cli import main
    from tests.conftest import CORPUS

    args = ["train", str(CORPUS), "--run", str(tmp_path / "r"), "--windows", "packed"]
    result = CliRunner().invoke(main, [*args, "--arch", "lstm", "--epochs", "1"])
    assert result.exit_code != 0 and not (tmp_path / "r").exists()
    assert "--windows packed needs a model that attends within each tune" in result.output
