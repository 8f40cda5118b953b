"""The native causal softmax (musicgen.models.native): the same attention as TensorFlow's
own ops, forward and backward, and a clean fallback where it cannot be built."""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pytest

from musicgen.models import native

needs_compiler = pytest.mark.skipif(
    shutil.which(os.environ.get("CXX") or "g++") is None, reason="no C++ compiler"
)


def masked_softmax(scores: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """The reference: softmax over keys j <= query i of scores - slope (i - j)."""
    queries, keys = scores.shape[-2:]
    distance = np.arange(queries)[:, None] - np.arange(keys)[None, :]
    logits = scores - slopes[:, None, None] * distance
    logits = np.where(distance >= 0, logits, -np.inf)
    logits -= logits.max(-1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(-1, keepdims=True)


@pytest.fixture(scope="module")
def ops():
    if native.kernels() is None:
        pytest.fail("the native op did not build here; see the warning logged")
    return native.kernels()


@needs_compiler
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("alibi", [False, True])
@pytest.mark.parametrize(("queries", "keys"), [(1, 1), (5, 5), (37, 37), (3, 7)])
def test_the_native_softmax_is_the_masked_softmax(ops, dtype, alibi, queries, keys):
    import tensorflow as tf

    rng = np.random.default_rng(queries * 100 + keys)
    scores = tf.cast(rng.normal(0, 3, (2, 4, queries, keys)).astype(np.float32), dtype)
    slopes = np.float32([0.5, 0.25, 0.125, 0.0625]) if alibi else np.zeros(4, np.float32)
    probs = ops.musicgen_causal_softmax(scores, slopes)
    assert probs.dtype == scores.dtype and probs.shape == scores.shape
    expected = masked_softmax(tf.cast(scores, "float32").numpy().astype(np.float64), slopes)
    got = tf.cast(probs, "float32").numpy()
    tolerance = 1e-6 if dtype == "float32" else 4e-3  # bfloat16 keeps 8 bits
    np.testing.assert_allclose(got, expected, atol=tolerance, rtol=tolerance)
    above = np.arange(queries)[:, None] < np.arange(keys)[None, :]  # keys after the query
    assert np.all(got[..., above] == 0)


@needs_compiler
@pytest.mark.parametrize("alibi", [False, True])
def test_the_native_attention_differentiates_as_tensorflows(ops, alibi):
    import tensorflow as tf

    from musicgen.models.layers import _softmax_times_values, alibi_bias, alibi_slopes

    rng = np.random.default_rng(3)
    steps = 23
    scores = tf.constant(rng.normal(0, 2, (2, 4, steps, steps)).astype(np.float32))
    value = tf.constant(rng.normal(0, 1, (2, 4, steps, 8)).astype(np.float32))
    weights = tf.constant(rng.normal(0, 1, (2, 4, steps, 8)).astype(np.float32))
    slopes = alibi_slopes(4) * alibi
    distance = np.arange(steps)[:, None] - np.arange(steps)[None, :]
    bias = np.where(distance >= 0, 0.0, -1e9) + alibi_bias(distance.astype(np.float32), 4) * alibi

    def results(attend):
        with tf.GradientTape() as tape:
            tape.watch([scores, value])
            output = attend()
            loss = tf.reduce_sum(output * weights)
        return [output, *tape.gradient(loss, [scores, value])]

    got = results(lambda: native.causal_softmax_times_values(scores, value, slopes, ops))
    want = results(lambda: _softmax_times_values(scores + bias.astype(np.float32), value))
    for mine, theirs in zip(got, want, strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=2e-5, rtol=1e-5)


@needs_compiler
@pytest.mark.parametrize("alibi", [False, True])
def test_the_attention_layer_is_the_same_with_and_without_the_native_op(ops, monkeypatch, alibi):
    import keras
    import tensorflow as tf

    from musicgen.models import layers

    layer = layers.CausalSelfAttention(4, 8, alibi=alibi)
    x = tf.constant(np.random.default_rng(5).normal(size=(3, 19, 32)).astype(np.float32))

    def results():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, x, use_causal_mask=True)
            loss = tf.reduce_sum(y * y)
        return [y, *tape.gradient(loss, [x, *layer.trainable_weights])]

    keras.utils.set_random_seed(0)
    with_op = results()
    monkeypatch.setattr(layers, "kernels", lambda: None)
    without = results()
    for mine, theirs in zip(with_op, without, strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=2e-5, rtol=1e-4)


@needs_compiler
def test_the_op_is_built_once_per_source_compiler_and_cpu(tmp_path):
    first = native.build(cache=tmp_path)
    stamp = first.stat().st_mtime_ns
    assert native.build(cache=tmp_path) == first and first.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no partial files left


def test_a_missing_or_failing_compiler_is_one_clear_error(tmp_path):
    with pytest.raises(native.NativeBuildError, match="no C\\+\\+ compiler 'no-such-c\\+\\+'"):
        native.build(cache=tmp_path, compiler="no-such-c++")
    failing = tmp_path / "failing-cc"
    # Writes a partial output, as a compiler killed halfway might, then fails.
    failing.write_text(
        '#!/bin/sh\nfor a; do [ "$prev" = -o ] && echo half > "$a"; prev=$a; done\n'
        "echo 'x.cc:1:1: error: boom' >&2\nexit 1\n"
    )
    failing.chmod(0o755)
    with pytest.raises(native.NativeBuildError, match="failed: x.cc:1:1: error: boom"):
        native.build(cache=tmp_path / "cache", compiler=str(failing))
    assert not list((tmp_path / "cache").iterdir())  # no library, no partial file


def test_without_the_op_attention_falls_back_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MUSICGEN_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", "no-such-c++")
    with caplog.at_level(logging.WARNING, logger="musicgen.models.native"):
        assert native._load.__wrapped__() is None
    assert "TensorFlow's own ops: no C++ compiler 'no-such-c++'" in caplog.text
    monkeypatch.setenv("MUSICGEN_NATIVE", "0")
    caplog.clear()
    assert native._load.__wrapped__() is None and not caplog.text
