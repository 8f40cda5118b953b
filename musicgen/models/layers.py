"""Keras layers of musicgen's own, registered as serializable so run dirs load safely.

`musicgen.run.rundir.load_run` imports this module before ``keras.models.load_model``
(with ``safe_mode=True``, no Lambda layers); a model that uses a layer from here finds
it under the ``musicgen`` package name.
"""

from __future__ import annotations

import keras


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
    which was 16% of a training step of the default Transformer on a CPU (docs/training.md)
    and rules out the fused ``keras.ops.dot_product_attention`` path.  Here the weights are
    those of ``MultiHeadAttention(dropout=0)`` (so the same weights load either way and the
    sampler reads them alike) and `rate` drops the (B, T, heads, head width) context
    before the output projection: T times fewer random numbers.
    """

    def __init__(self, num_heads, key_dim, rate: float = 0.0, **kwargs):
        kwargs.pop("dropout", None)  # the probabilities are never dropped
        super().__init__(num_heads, key_dim, dropout=0.0, **kwargs)
        self.rate = rate
        self._context_dropout = keras.layers.Dropout(rate, dtype=self.dtype_policy)

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
        # Keras' own einsum layout (the two batched matmuls it folds transposes into),
        # the causal mask as its masked softmax applies it; no dropout on the weights.
        ops = keras.ops
        if use_causal_mask:
            causal = self._compute_causal_mask(query, value)
            attention_mask = causal if attention_mask is None else attention_mask & causal
        query = ops.multiply(query, ops.cast(self._inverse_sqrt_key_dim, query.dtype))
        scores = ops.einsum(self._dot_product_equation, key, query)  # (B, N, T, S)
        scores = self._masked_softmax(scores, attention_mask)
        output = ops.einsum(self._combine_equation, scores, value)  # (B, T, N, H)
        return self._context_dropout(output, training=training), scores

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
