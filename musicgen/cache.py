"""One-step sampling functions with their state ("cache"), one per architecture.

The sampler (`musicgen.sample.Sampler`) drives a stepper over a batch of tunes:
``state = stepper.start(batch)``, ``logits, state = stepper.step(ids, state)``, and, as
tunes end and new ones begin, ``stepper.reset(state, row)`` and ``stepper.take(state, rows)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class LSTMStepper:
    """The LSTM's step: its state is (2 * layers, B, units) numpy floats, zero at a start."""

    def __init__(self, step, config):
        self._step = step  # `musicgen.model.make_step_fn`
        self.shape = (2 * config.layers, config.units)

    def start(self, batch: int) -> np.ndarray:
        return np.zeros((self.shape[0], batch, self.shape[1]), np.float32)

    def step(self, ids: np.ndarray, state: np.ndarray):
        logits, state = self._step(ids, state)
        return logits.numpy(), state.numpy()

    def reset(self, state: np.ndarray, row: int) -> np.ndarray:
        state[:, row, :] = 0.0
        return state

    def take(self, state: np.ndarray, rows: list[int]) -> np.ndarray:
        return state[:, rows]


@dataclass
class KVCache:
    """Keys and values of every layer for B rows, as in-place updated variables.

    ``keys``/``values``: per layer, (B, heads, context, head_dim); ``length[b]``: how many
    positions of row b are filled; ``history[b, :length[b]]``: the ids that filled them.
    """

    keys: list  # of tf.Variable
    values: list
    length: np.ndarray  # (B,) int32
    history: np.ndarray  # (B, context) int32


class TransformerStepper:
    """Cached one-step sampling for `musicgen.transformer` models: O(context) per step.

    A step attends over the row's cached keys and values and appends its own.  When a
    row's cache is full, its last ``context // 2`` ids are encoded again from position 0
    (as `musicgen.transformer.window_logits` scores long texts), and the step goes on.
    """

    def __init__(self, model, config):
        import tensorflow as tf

        self.config = config
        self.context = config.context
        self.half = max(1, config.context // 2)
        self.heads, self.head_dim = config.heads, config.units // config.heads
        self.embedding = tf.constant(model.get_layer("embedding").embeddings)
        self.positions = tf.constant(model.get_layer("positions").positions)
        self.blocks = []
        for i in range(config.layers):
            attention = model.get_layer(f"block_{i}_attention")
            dense = [attention._query_dense, attention._key_dense, attention._value_dense]
            self.blocks.append(
                {
                    "ln1": _norm(model.get_layer(f"block_{i}_ln1")),
                    "ln2": _norm(model.get_layer(f"block_{i}_ln2")),
                    "qkv": [(tf.constant(d.kernel), tf.constant(d.bias)) for d in dense],
                    "out": (
                        tf.constant(attention._output_dense.kernel),
                        tf.constant(attention._output_dense.bias),
                    ),
                    "mlp_in": _dense(model.get_layer(f"block_{i}_mlp_in")),
                    "mlp_out": _dense(model.get_layer(f"block_{i}_mlp_out")),
                }
            )
        # Weights as constants, the layers' maths written out: Keras layers called inside a
        # shape-relaxed tf.function keep stale static shapes.
        self.final_ln = _norm(model.get_layer("final_ln"))
        self.logits = _dense(model.get_layer("logits"))
        # Exact shapes per trace (a batch only shrinks a few times): relaxed shapes broke
        # the scatter indices' static shapes.  Re-encoding, rare, runs eagerly.
        self._run = tf.function(self._chunk)

    def start(self, batch: int) -> KVCache:
        import tensorflow as tf

        shape = (batch, self.heads, self.context, self.head_dim)
        layers = range(self.config.layers)
        return KVCache(
            [tf.Variable(tf.zeros(shape), trainable=False) for _ in layers],
            [tf.Variable(tf.zeros(shape), trainable=False) for _ in layers],
            np.zeros(batch, np.int32),
            np.zeros((batch, self.context), np.int32),
        )

    def reset(self, state: KVCache, row: int) -> KVCache:
        state.length[row] = 0  # stale keys past the length are masked, never read
        return state

    def take(self, state: KVCache, rows: list[int]) -> KVCache:
        import tensorflow as tf

        return KVCache(
            [tf.Variable(tf.gather(k, rows), trainable=False) for k in state.keys],
            [tf.Variable(tf.gather(v, rows), trainable=False) for v in state.values],
            state.length[rows],
            state.history[rows],
        )

    def step(self, ids: np.ndarray, state: KVCache):
        """Feed one id per row; return (B, vocab) logits for the next one."""
        full = np.flatnonzero(state.length >= self.context)
        if len(full):
            self._reencode(state, full.astype(np.int32))
        rows = np.arange(len(ids), dtype=np.int32)
        logits = self._run(
            np.asarray(ids, np.int32)[:, None], state.length, rows, state.keys, state.values, True
        )
        state.history[rows, state.length] = ids
        state.length += 1
        return logits.numpy()[:, -1], state

    def _reencode(self, state: KVCache, rows: np.ndarray) -> None:
        tail = state.history[rows, self.context - self.half :]  # (R, half)
        state.history[rows, : self.half] = tail
        self._chunk(tail, np.zeros(len(rows), np.int32), rows, state.keys, state.values, False)
        state.length[rows] = self.half

    def _chunk(self, ids, start, rows, keys, values, every_row):
        """ids (R, T) at positions start[r] + t of cache rows `rows` -> (R, T, vocab).

        Writes the chunk's keys and values into the cache variables in place.  With
        `every_row` (rows = 0..B-1, the common step), the caches are read without a gather.
        """
        import tensorflow as tf

        steps = tf.shape(ids)[1]
        at = start[:, None] + tf.range(steps)[None, :]  # (R, T) absolute positions
        x = tf.gather(self.embedding, ids) + tf.gather(self.positions, at)  # (R, T, D)
        # Row r's position t may see cache slots 0..at[r, t]: earlier tokens and itself.
        visible = tf.range(self.context)[None, None, :] <= at[:, :, None]  # (R, T, C)
        rr = tf.broadcast_to(rows[:, None], tf.shape(at))
        scale = 1.0 / np.sqrt(self.head_dim)
        for layer, block in enumerate(self.blocks):
            h = _apply_norm(block["ln1"], x)
            q, k, v = (tf.einsum("rtd,dhk->rthk", h, w) + b for w, b in block["qkv"])
            self._write(keys[layer], rr, at, k)
            self._write(values[layer], rr, at, v)
            cached_k, cached_v = keys[layer], values[layer]  # (R, H, C, hd)
            if not every_row:
                cached_k, cached_v = tf.gather(cached_k, rows), tf.gather(cached_v, rows)
            scores = tf.einsum("rthk,rhck->rhtc", q * scale, cached_k)
            scores = tf.where(visible[:, None], scores, -1e9)
            weights = tf.nn.softmax(scores, axis=-1)
            attended = tf.einsum("rhtc,rhck->rthk", weights, cached_v)
            kernel, bias = block["out"]
            x = x + tf.einsum("rthk,hkd->rtd", attended, kernel) + bias
            h = tf.nn.gelu(_apply_dense(block["mlp_in"], _apply_norm(block["ln2"], x)))
            x = x + _apply_dense(block["mlp_out"], h)
        return _apply_dense(self.logits, _apply_norm(self.final_ln, x))  # (R, T, vocab)

    @staticmethod
    def _write(cache, rows, at, update):
        """cache[rows[r,t], :, at[r,t], :] = update[r, t] for every (r, t)."""
        import tensorflow as tf

        flat = tf.reshape(update, (-1, tf.shape(update)[2], tf.shape(update)[3]))  # (RT, H, hd)
        heads = tf.shape(flat)[1]
        n = tf.shape(flat)[0]
        row_i = tf.repeat(tf.reshape(rows, (-1, 1)), heads, axis=1)
        head_i = tf.tile(tf.range(heads)[None, :], (n, 1))
        pos_i = tf.repeat(tf.reshape(at, (-1, 1)), heads, axis=1)
        index = tf.stack([row_i, head_i, pos_i], axis=-1)  # (RT, H, 3)
        cache.scatter_nd_update(index, flat)


def _norm(layer):
    import tensorflow as tf

    return tf.constant(layer.gamma), tf.constant(layer.beta), layer.epsilon


def _apply_norm(norm, x):
    import tensorflow as tf

    gamma, beta, epsilon = norm
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon) * gamma + beta


def _dense(layer):
    import tensorflow as tf

    return tf.constant(layer.kernel), tf.constant(layer.bias)


def _apply_dense(dense, x):
    import tensorflow as tf

    kernel, bias = dense
    return tf.einsum("rtd,de->rte", x, kernel) + bias
