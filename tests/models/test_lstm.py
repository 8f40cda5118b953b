"""FusedLSTM must be the same function as keras.layers.LSTM, with the same gradients."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from musicgen.models.fused_lstm import FusedLSTM  # noqa: E402


def _pair(units=4, features=5):
    plain = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    fused = FusedLSTM(units, return_sequences=True, return_state=True)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 7, features)), tf.float32)
    plain(x), fused(x)
    weights = [w + rng.normal(size=w.shape).astype("float32") * 0.3 for w in plain.get_weights()]
    plain.set_weights(weights)
    fused.set_weights(weights)
    return plain, fused, x, rng


def test_same_outputs_and_states_from_given_initial_states():
    plain, fused, x, rng = _pair()
    h0 = tf.constant(rng.normal(size=(3, 4)), tf.float32)
    c0 = tf.constant(rng.normal(size=(3, 4)), tf.float32)
    states = [h0, c0]
    for a, b in zip(plain(x, initial_state=states), fused(x, initial_state=states), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True])
def test_same_gradients_for_inputs_states_and_weights(compiled):
    plain, fused, x, rng = _pair()
    h0 = tf.constant(rng.normal(size=(3, 4)), tf.float32)
    c0 = tf.constant(rng.normal(size=(3, 4)), tf.float32)
    w_out = tf.constant(rng.normal(size=(3, 7, 4)), tf.float32)
    w_h, w_c = (tf.constant(rng.normal(size=(3, 4)), tf.float32) for _ in range(2))

    def grads(layer):
        with tf.GradientTape() as tape:
            tape.watch([x, h0, c0])
            out, h, c = layer(x, initial_state=[h0, c0])
            loss = tf.reduce_sum(out * w_out) + tf.reduce_sum(h * w_h) + tf.reduce_sum(c * w_c)
        return tape.gradient(loss, [x, h0, c0, *layer.trainable_weights])

    run = tf.function(grads) if compiled else grads
    for a, b in zip(run(plain), run(fused), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-4)


def test_masked_input_falls_back_to_keras():
    _, fused, x, _ = _pair()
    mask = tf.constant([[True] * 7, [True] * 4 + [False] * 3, [True] * 7])
    out = fused(x, mask=mask)[0]
    assert out.shape == (3, 7, 4)
