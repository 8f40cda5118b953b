import numpy as np

from musicgen.models.lstm import build_step_model, copy_weights
from musicgen.models.registry import ModelConfig, build_model


def test_model_outputs_logits_per_position():
    config = ModelConfig(vocab_size=20, embedding_dim=4, units=8, layers=2, dropout=0.1)
    model = build_model(config)
    out = model(np.zeros((3, 11), dtype=np.int32))
    assert tuple(out.shape) == (3, 11, 20)
    lstms = [layer for layer in model.layers if layer.name.startswith("lstm")]
    # Default activations and no recurrent dropout keep the fused cuDNN kernel on GPUs.
    assert len(lstms) == 2
    assert all(
        layer.activation.__name__ == "tanh" and layer.recurrent_dropout == 0 for layer in lstms
    )


def test_step_model_matches_full_model_one_character_at_a_time():
    config = ModelConfig(vocab_size=12, embedding_dim=4, units=8, layers=2, dropout=0.0)
    model = build_model(config)
    step = build_step_model(config)
    copy_weights(model, step)
    ids = np.array([[1, 5, 7, 2, 9]], dtype=np.int32)
    full = np.asarray(model(ids))[0]  # (T, vocab)
    states = [np.zeros((1, 8), np.float32)] * 4
    for t in range(ids.shape[1]):
        logits, *states = step([ids[:, t : t + 1], *states])
        states = [np.asarray(s) for s in states]
        np.testing.assert_allclose(np.asarray(logits)[0], full[t], rtol=1e-4, atol=1e-5)


def test_config_json_round_trip():
    config = ModelConfig(vocab_size=9, units=16)
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_fast_step_matches_full_model():
    from musicgen.models.lstm import make_step_fn

    config = ModelConfig(vocab_size=12, embedding_dim=4, units=8, layers=2, dropout=0.0)
    model = build_model(config)
    step = make_step_fn(model, config)
    ids = np.array([[1, 5, 7, 2, 9], [3, 3, 0, 11, 4]], dtype=np.int32)
    full = np.asarray(model(ids))  # (B, T, vocab)
    states = np.zeros((4, 2, 8), np.float32)
    for t in range(ids.shape[1]):
        logits, states = step(ids[:, t], states)
        np.testing.assert_allclose(np.asarray(logits), full[:, t], rtol=1e-4, atol=1e-5)
