"""Keras layers of musicgen's own, registered as serializable so run dirs load safely.

`musicgen.run.rundir.load_run` imports this module before ``keras.models.load_model``
(with ``safe_mode=True``, no Lambda layers); a model that uses a layer from here finds
it under the ``musicgen`` package name.
"""

from __future__ import annotations

import keras
import numpy as np

from musicgen.models.native import causal_softmax_times_values, kernels


@keras.saving.register_keras_serializable(package="musicgen")
class PositionEmbedding(keras.layers.Layer):
    """Add a learned vector per position to (B, T, D) inputs: 0..T-1 (T <= `length`), or
    the (B, T) `positions` given (`TuneSegments`' count from each tune's start)."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape):
        self.positions = self.add_weight(
            name="positions",
            shape=(self.length, input_shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )

    def call(self, x, positions=None):
        if positions is not None:
            return x + keras.ops.take(self.positions, positions, axis=0)  # (B, T, D)
        steps = keras.ops.shape(x)[1]
        return x + keras.ops.expand_dims(self.positions[:steps], 0)  # (B, T, D)

    def get_config(self):
        return {**super().get_config(), "length": self.length}


@keras.saving.register_keras_serializable(package="musicgen")
class TuneSegments(keras.layers.Layer):
    """(B, T) ids -> (B, T, T) causal mask within each tune, and (B, T) positions in it.

    A ``BOS`` (id `bos`) starts a tune: no position attends to one before its tune's
    ``BOS``, and positions count from it.  Windows packed with whole tunes
    (`musicgen.training.dataset.pack`) so train each tune as if it stood alone, as the
    sampler and `musicgen evaluate` present it: for a window that starts with its only
    ``BOS``, or has none (a long tune's later windows), this is the plain causal mask and
    positions 0..T-1.
    """

    def __init__(self, bos: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.bos = bos

    def call(self, ids):
        ops = keras.ops
        tune = ops.cumsum(ops.cast(ops.equal(ids, self.bos), "int32"), axis=1)  # (B, T)
        same = ops.equal(ops.expand_dims(tune, 2), ops.expand_dims(tune, 1))  # (B, T, T)
        steps = ops.arange(ops.shape(ids)[1])
        causal = ops.expand_dims(ops.greater_equal(steps[:, None], steps[None, :]), 0)
        mask = ops.logical_and(same, causal)
        positions = ops.sum(ops.cast(mask, "int32"), axis=-1) - 1  # keys seen, less itself
        return mask, positions

    def compute_output_spec(self, ids):
        steps = ids.shape[1]
        return (
            keras.KerasTensor((ids.shape[0], steps, steps), dtype="bool"),
            keras.KerasTensor(ids.shape, dtype="int32"),
        )

    def get_config(self):
        return {**super().get_config(), "bos": self.bos}


@keras.saving.register_keras_serializable(package="musicgen")
class CausalSelfAttention(keras.layers.MultiHeadAttention):
    """Causal multi-head self-attention whose dropout acts on its output, not its weights.

    Stock ``MultiHeadAttention(dropout=r)`` drops attention probabilities: a random number,
    a compare and a select for each of (B, heads, T, T) entries, forward and backward,
    which was 16% of a training step of the default Transformer on a CPU (docs/training.md).
    Here the weights are those of ``MultiHeadAttention(dropout=0)`` (so the same weights
    load either way and the sampler reads them alike) and `rate` drops the (B, T, heads,
    head width) context before the output projection: T times fewer random numbers.

    The layer is always causal, and its mask is an additive bias (0, or a large negative
    where a key is out of reach) rather than Keras' masked softmax, which selects over the
    (B, heads, T, T) scores before the softmax and again after it, forward and backward.
    Every row keeps at least its own position, so nothing is left to zero afterwards: the
    result is that of Keras' attention with the causal mask (the tests check it).

    With `alibi` the bias also holds ALiBi's distance penalty (`alibi_bias`): each head
    weighs a key less the further back it is, at its own slope.

    Where `musicgen.models.native` could build its op, plainly causal attention (no
    packed tunes' mask) takes the mask, the penalty and the softmax in one pass over the
    scores each way instead; the same result to float order.
    """

    def __init__(self, num_heads, key_dim, rate: float = 0.0, alibi: bool = False, **kwargs):
        kwargs.pop("dropout", None)  # the probabilities are never dropped
        super().__init__(num_heads, key_dim, dropout=0.0, **kwargs)
        self.rate, self.alibi = rate, alibi
        self._context_dropout = ByteDropout(rate, dtype=self.dtype_policy)

    def _compute_attention_mask(self, query, value, attention_mask=None, **masks):
        # Causal whatever the caller says; a (B, T, S) `attention_mask` (packed tunes')
        # narrows it further.  None: plain causal, which `_compute_attention` applies.
        masks.pop("use_causal_mask", None)
        if attention_mask is None and all(m is None for m in masks.values()):
            return None
        return super()._compute_attention_mask(
            query, value, attention_mask=attention_mask, use_causal_mask=True, **masks
        )

    def _compute_attention(
        self,
        query,
        key,
        value,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        ops = keras.ops
        query = ops.multiply(query, ops.cast(self._inverse_sqrt_key_dim, query.dtype))
        # Heads first, (B, N, T, H): every product below is then a plain batched matrix
        # multiply whose (T, S) result needs no transpose (Keras' einsum of (key, query)
        # made (B, N, S, T) and transposed it: 4% of a training step).
        query_h, key_h, value_h = (ops.transpose(t, (0, 2, 1, 3)) for t in (query, key, value))
        scores = ops.matmul(query_h, ops.transpose(key_h, (0, 1, 3, 2)))  # (B, N, T, S)
        native = kernels() if scores.dtype in ("float32", "bfloat16") else None
        if attention_mask is None and native is not None:  # plain causal: one op each way
            slopes = alibi_slopes(self._num_heads) * self.alibi  # zeros: no penalty
            output = causal_softmax_times_values(scores, value_h, slopes, native)
        else:
            bias = self._bias(query, key, attention_mask)
            output = _softmax_times_values(scores + ops.cast(bias, scores.dtype), value_h)
        output = ops.transpose(output, (0, 2, 1, 3))  # (B, T, N, H)
        return self._context_dropout(output, training=training), None

    def _bias(self, query, key, attention_mask):
        """(B or 1, 1 or N, T, S) additive bias: 0 where a query may attend to a key, -1e9
        where not, less ALiBi's penalty."""
        ops = keras.ops
        if attention_mask is None:
            attention_mask = self._compute_causal_mask(query, key)  # (1, T, S)
        bias = ops.where(ops.expand_dims(attention_mask, 1), 0.0, -1e9)  # (B or 1, 1, T, S)
        if self.alibi:  # (B or 1, N, T, S)
            steps = ops.arange(ops.shape(query)[1])[:, None] - ops.arange(ops.shape(key)[1])
            bias = bias + alibi_bias(ops.cast(steps, "float32"), self._num_heads)
        return bias

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "alibi": self.alibi}


def alibi_slopes(heads: int) -> np.ndarray:
    """ALiBi's slope of each head (Press, Smith and Lewis, "Train short, test long", 2022):
    2^(-8 i / heads) for i = 1..heads, so 4 heads weigh a key 64 characters back by
    e^-16, e^-4, e^-1 and e^-0.25: some heads look at the last notes, some at the bar."""
    return (2.0 ** (-8.0 * np.arange(1, heads + 1) / heads)).astype(np.float32)


def alibi_bias(distance, heads: int):
    """(T, S) query-to-key distances (t - s) -> (1, heads, T, S) additive biases:
    -slope x distance.  Works on numpy arrays and on Keras tensors alike."""
    return distance[None, None] * -alibi_slopes(heads)[:, None, None]


def _softmax_times_values(scores, value):
    """softmax(scores) (B, N, T, S) times value (B, N, S, H) -> (B, N, T, H), with the
    gradient written out as FlashAttention's: the softmax's row sum of (gradient x
    probabilities) is the (B, N, T) sum of (output gradient x output), so the backward
    pass makes two passes over the (B, N, T, S) entries where TensorFlow's own makes four.
    """
    import tensorflow as tf

    @tf.custom_gradient
    def attend(scores, value):
        probs = tf.nn.softmax(scores, axis=-1)
        output = tf.matmul(probs, value)

        def grad(d_output):
            d_probs = tf.matmul(d_output, value, transpose_b=True)  # (B, N, T, S)
            d_value = tf.matmul(probs, d_output, transpose_a=True)  # (B, N, S, H)
            wide = tf.float32
            row = tf.reduce_sum(tf.cast(d_output, wide) * tf.cast(output, wide), -1, keepdims=True)
            return probs * (d_probs - tf.cast(row, probs.dtype)), d_value

        return output, grad

    return attend(scores, value)


@keras.saving.register_keras_serializable(package="musicgen")
class LayerNorm(keras.layers.LayerNormalization):
    """Keras' ``LayerNormalization`` over the last axis (its weights, its outputs), with
    the gradient written out: TensorFlow differentiates Keras' formula op by op, about
    twice the passes over the (B, T, width) activations that the closed form needs
    (docs/training.md, issue 26)."""

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        y = _layer_norm(
            x,
            keras.ops.cast(self.gamma, "float32"),
            keras.ops.cast(self.beta, "float32"),
            self.epsilon,
        )
        return keras.ops.cast(y, self.compute_dtype)


def _layer_norm(x, gamma, beta, epsilon: float):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis; the backward
    pass is the closed form: dx = (g - mean(g) - x̂ mean(g x̂)) / std with g = dy gamma."""
    import tensorflow as tf

    @tf.custom_gradient
    def norm(x, gamma, beta):
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        rstd = tf.math.rsqrt(variance + epsilon)
        xhat = (x - mean) * rstd

        def grad(dy):
            g = dy * gamma
            mean_g = tf.reduce_mean(g, axis=-1, keepdims=True)
            mean_gx = tf.reduce_mean(g * xhat, axis=-1, keepdims=True)
            rows = tf.reshape(dy, [-1, tf.shape(dy)[-1]])
            d_gamma = tf.reduce_sum(rows * tf.reshape(xhat, tf.shape(rows)), axis=0)
            return rstd * (g - mean_g - xhat * mean_gx), d_gamma, tf.reduce_sum(rows, axis=0)

        return xhat * gamma + beta, grad

    return norm(x, gamma, beta)


@keras.saving.register_keras_serializable(package="musicgen")
class ByteDropout(keras.layers.Dropout):
    """Keras' ``Dropout`` drawing one random byte per entry where Keras draws a float: a
    quarter of the random numbers, which were 7% of a training step of the default
    Transformer (docs/training.md, issue 26).

    The rate is rounded to a multiple of 1/256 (0.05 drops 13/256, 5.1%, of the entries)
    and the kept entries are scaled by 256 / (256 - 13), so the expected output is the
    input.  The masks come from the layer's seed generator as Keras' do, so
    `musicgen.training.callbacks.DropoutSeeds` replays them on resume.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        if noise_shape is not None:
            raise ValueError("ByteDropout draws a mask for every entry: no noise_shape")
        super().__init__(rate, seed=seed, **kwargs)

    def call(self, inputs, training=False):
        share = round(self.rate * 256)  # bytes below it drop their entry
        if not training or share == 0:
            return inputs
        import tensorflow as tf

        seed = self.seed_generator.next()  # as keras.random draws it
        if seed.dtype != tf.int32:
            seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        random = _random_bytes(tf, tf.shape(inputs), inputs.shape[-1], seed)
        # A multiply by a float mask, not a select: its gradient is one more multiply.
        keep = tf.cast(random >= share, inputs.dtype) * (256 / (256 - share))
        return inputs * keep


def _random_bytes(tf, shape, last, seed):
    """A uint8 tensor of `shape`, four bytes from each random 32-bit word.  When the last
    axis (`last`, static) is a multiple of 4 the words come in that shape and the bytes
    need no copy; the bytes are the same either way."""
    if last is not None and last % 4 == 0:
        words = tf.random.stateless_uniform(
            tf.concat([shape[:-1], [last // 4]], 0), seed, minval=None, maxval=None, dtype=tf.uint32
        )
        return tf.reshape(tf.bitcast(words, tf.uint8), shape)
    size = tf.reduce_prod(shape)
    words = tf.random.stateless_uniform(
        [(size + 3) // 4], seed, minval=None, maxval=None, dtype=tf.uint32
    )
    return tf.reshape(tf.reshape(tf.bitcast(words, tf.uint8), [-1])[:size], shape)
