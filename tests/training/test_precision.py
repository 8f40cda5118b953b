"""`musicgen.training.precision` and the Transformer's attention layer: fast paths that must
not change what a trained model computes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musicgen.errors import TrainError
from musicgen.models.registry import ModelConfig
from musicgen.run.config import TrainConfig
from musicgen.training.precision import cpu_has_bf16, resolve

AMX = "processor : 0\nflags : fpu sse avx512f amx_bf16 amx_tile\n"
OLD = "processor : 0\nflags : fpu sse avx2\n"


def test_bfloat16_hardware_is_read_off_the_cpu_flags():
    assert cpu_has_bf16(AMX) and cpu_has_bf16(OLD.replace("avx2", "avx512_bf16"))
    assert not cpu_has_bf16(OLD)


def test_auto_is_resolved_before_a_config_records_it():
    assert resolve("auto", cpuinfo=AMX, gpu=False) == "bfloat16"
    assert resolve("auto", cpuinfo=OLD, gpu=False) == "float32"
    assert resolve("auto", cpuinfo=OLD, gpu=True) == "bfloat16"
    assert resolve("float32", cpuinfo=AMX, gpu=True) == "float32"
    with pytest.raises(TrainError, match="precision 'half' is not one of auto, float32"):
        resolve("half")
    with pytest.raises(TrainError, match="precision 'auto' is not one of float32, bfloat16"):
        TrainConfig(precision="auto")
    assert TrainConfig.from_dict({}).precision == "float32"  # runs from before the option


@pytest.mark.slow
def test_a_bfloat16_run_saves_a_float32_model_that_samples(tmp_path, tiny_tunes):
    from musicgen.run.rundir import load_run
    from musicgen.sampling.sampler import SampleConfig, Sampler
    from musicgen.training.fit import train

    run = tmp_path / "bf16"
    model = ModelConfig(vocab_size=0, arch="transformer", units=16, layers=1, heads=2, context=64)
    config = TrainConfig(epochs=1, batch_size=4, seq_len=64, transpose=0, precision="bfloat16")
    train(tiny_tunes, run, model, config, progress=False)
    assert json.loads((run / "config.json").read_text())["train"]["precision"] == "bfloat16"
    loaded = load_run(run)
    assert {w.dtype for w in loaded.model.weights} == {"float32"}
    assert {layer.compute_dtype for layer in loaded.model.layers} == {"float32"}
    tunes = list(Sampler(loaded).generate(SampleConfig(n=2, seed=1, max_chars=60)))
    assert len(tunes) == 2


def test_bfloat16_multiplies_matrices_in_bfloat16_and_keeps_the_rest_in_float32():
    import keras

    from musicgen.models.registry import build_model
    from musicgen.training.precision import policy

    config = ModelConfig(vocab_size=20, arch="transformer", units=16, layers=2, heads=2, context=32)
    keras.utils.set_random_seed(3)
    full = build_model(config)
    with policy("bfloat16"):
        mixed = build_model(config)
    mixed.set_weights(full.get_weights())
    dtypes = {layer.name: layer.compute_dtype for layer in mixed.layers}
    for name in ("block_0_attention", "block_0_mlp_in", "block_1_mlp_out"):
        assert dtypes[name] == "bfloat16", name
    for name in ("embedding", "block_0_ln1", "block_0_gelu", "block_1_add2", "final_ln", "logits"):
        assert dtypes[name] == "float32", name
    ids = np.random.default_rng(0).integers(0, 20, (2, 32)).astype("int32")
    want, got = np.asarray(full(ids)), np.asarray(mixed(ids))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=0.1)  # bfloat16 keeps ~3 significant digits


@pytest.mark.parametrize("steps", [1, 2, 3, 5, 9, 16])
def test_attention_with_an_additive_mask_is_keras_causal_attention(steps):
    """Every length, one character included, and a packed window's (B, T, T) mask: the
    same outputs as Keras' masked softmax."""
    import keras

    from musicgen.models.layers import CausalSelfAttention

    rng = np.random.default_rng(steps)
    x = rng.normal(size=(2, steps, 8)).astype("float32")
    stock = keras.layers.MultiHeadAttention(2, 4)
    ours = CausalSelfAttention(2, 4)
    stock(x, x, use_causal_mask=True)
    ours(x, x)
    ours.set_weights(stock.get_weights())
    want = stock(x, x, use_causal_mask=True)
    np.testing.assert_allclose(ours(x, x), want, rtol=1e-5, atol=1e-6)
    tune = np.cumsum(rng.random((2, steps)) < 0.3, axis=1)  # segments, as TuneSegments
    mask = tune[:, :, None] == tune[:, None, :]
    want = stock(x, x, attention_mask=mask, use_causal_mask=True)
    got = ours(x, x, attention_mask=mask, use_causal_mask=True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_attention_layer_computes_what_keras_attention_computes_at_inference():
    import keras

    from musicgen.models.layers import CausalSelfAttention

    x = np.random.default_rng(0).normal(size=(2, 7, 8)).astype("float32")
    stock = keras.layers.MultiHeadAttention(2, 4, dropout=0.1)
    ours = CausalSelfAttention(2, 4, rate=0.1)
    want = stock(x, x, use_causal_mask=True)
    ours(x, x, use_causal_mask=True)
    ours.set_weights(stock.get_weights())  # old run dirs hold the stock layer's weights
    np.testing.assert_allclose(ours(x, x, use_causal_mask=True), want, rtol=1e-5, atol=1e-6)
    again = CausalSelfAttention.from_config(ours.get_config())
    assert again.rate == 0.1 and again.num_heads == 2
    # In training its dropout acts on the attention's output.
    dropped = ours(x, x, use_causal_mask=True, training=True)
    assert not np.allclose(dropped, want)


def _values_and_gradients(layer, x, *inputs):
    """`layer`'s output on `x` and the gradients of a fixed projection of it with respect
    to `x` and every weight: what a training step reads off the layer."""
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, *inputs)
        weights = tf.sin(tf.reshape(tf.range(tf.size(y), dtype=y.dtype), tf.shape(y)) * 0.7)
        loss = tf.reduce_sum(y * weights)
    grads = tape.gradient(loss, [x, *layer.trainable_variables])
    return [np.asarray(y), *(np.asarray(g) for g in grads)]


def _same_function(stock, ours, x, *inputs):
    stock(x, *inputs)
    ours(x, *inputs)
    ours.set_weights([w + 0.1 * i for i, w in enumerate(stock.get_weights())])
    stock.set_weights(ours.get_weights())
    want, got = _values_and_gradients(stock, x, *inputs), _values_and_gradients(ours, x, *inputs)
    assert len(want) == len(got)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_layer_norm_and_gelu_compute_and_differentiate_as_keras_layers():
    """The written-out gradients are the ones TensorFlow derives from Keras' formulas."""
    import keras

    from musicgen.models.layers import LayerNorm
    from musicgen.models.mlp import Gelu

    x = np.random.default_rng(1).normal(1.0, 3.0, size=(2, 5, 16)).astype("float32")
    _same_function(keras.layers.LayerNormalization(epsilon=1e-5), LayerNorm(epsilon=1e-5), x)
    _same_function(keras.layers.Activation("gelu"), Gelu(), x)


def test_token_dense_computes_and_differentiates_as_keras_dense():
    """The 2-D multiply and bias add: Dense's values and gradients, on a (B, T, width)
    input and a 2-D one, with and without an activation."""
    import keras

    from musicgen.models.mlp import TokenDense

    x = np.random.default_rng(2).normal(size=(3, 7, 16)).astype("float32")
    _same_function(keras.layers.Dense(24), TokenDense(24), x)
    _same_function(keras.layers.Dense(5, activation="tanh"), TokenDense(5, activation="tanh"), x)
    _same_function(keras.layers.Dense(24), TokenDense(24), x[0])


@pytest.mark.parametrize("steps", [1, 6])
def test_the_attention_layer_differentiates_as_keras_attention(steps):
    import keras

    from musicgen.models.layers import CausalSelfAttention

    x = np.random.default_rng(steps).normal(size=(2, steps, 8)).astype("float32")

    class Stock(keras.layers.MultiHeadAttention):
        def call(self, query, value, key=None):
            return super().call(query, value, key, use_causal_mask=True)

    _same_function(Stock(2, 4), CausalSelfAttention(2, 4), x, x)


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.4])
def test_byte_dropout_drops_its_rounded_rate_and_keeps_the_expected_value(rate):
    """One random byte per entry: the share dropped is the rate rounded to 1/256, the kept
    entries are scaled so the mean is kept, and a seed gives the same mask again.  Any
    shape works, sizes that are not a multiple of four included."""
    from musicgen.models.layers import ByteDropout

    share = round(rate * 256) / 256
    x = np.ones((7, 301, 33), "float32")  # 69,531 entries
    layer = ByteDropout(rate, seed=5)
    assert np.array_equal(np.asarray(layer(x)), x)  # not training: as it is
    y = np.asarray(layer(x, training=True))
    dropped = np.mean(y == 0)
    assert abs(dropped - share) < 4 * np.sqrt(share * (1 - share) / x.size)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - share), rtol=1e-6)
    assert abs(y.mean() - 1) < 0.02
    again = np.asarray(ByteDropout(rate, seed=5)(x, training=True))
    assert np.array_equal(again, y)
    assert not np.array_equal(np.asarray(layer(x, training=True)), y)  # the next mask
    assert ByteDropout.from_config(layer.get_config()).rate == rate
    with pytest.raises(ValueError, match="no noise_shape"):
        ByteDropout(rate, noise_shape=(1, 301, 33))


def test_byte_dropout_bytes_do_not_depend_on_the_shape_they_are_drawn_in():
    """A last axis that is a multiple of four draws its words in the tensor's shape, other
    shapes draw them flat and cut: the bytes are the same sequence either way, and the
    gradient is the output's mask (zero where dropped, the kept scale elsewhere)."""
    import tensorflow as tf

    from musicgen.models.layers import ByteDropout, _random_bytes

    seed = tf.constant([3, 4], tf.int32)
    shaped = _random_bytes(tf, tf.constant([5, 6, 8]), 8, seed).numpy()
    flat = _random_bytes(tf, tf.constant([5, 6, 8]), None, seed).numpy()
    assert shaped.shape == flat.shape == (5, 6, 8)
    assert np.array_equal(shaped, flat)
    assert len(np.unique(shaped)) > 120  # 240 bytes: about 156 of the 256 values

    layer = ByteDropout(0.25, seed=7)
    x = tf.Variable(np.linspace(1, 2, 4 * 50 * 12, dtype="float32").reshape(4, 50, 12))
    with tf.GradientTape() as tape:
        y = layer(x, training=True)
    grad = tape.gradient(y, x).numpy()
    kept = y.numpy() != 0
    assert 0.2 < 1 - kept.mean() < 0.3
    np.testing.assert_allclose(grad, np.where(kept, 256 / 192, 0.0), rtol=1e-6)
