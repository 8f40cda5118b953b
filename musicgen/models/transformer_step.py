"""The Transformer's `Stepper`: cached one-step sampling over a key/value cache, in numpy.

`TransformerStepper` holds the weights of a `musicgen.models.transformer` model as numpy
arrays; its state is a `KVCache` of B rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class KVCache:
    """Keys and values of every layer for B rows, as numpy arrays updated in place.

    ``keys``/``values``: (layers, B, heads, context, head_dim); ``length[b]``: how many
    positions of row b are filled; ``history[b, :length[b]]``: the ids that filled them.
    """

    keys: np.ndarray
    values: np.ndarray
    length: np.ndarray  # (B,) int
    history: np.ndarray  # (B, context) int32


class TransformerStepper:
    """Cached one-step sampling for `musicgen.models.transformer` models: O(context) per step.

    A step attends over the row's cached keys and values and appends its own.  When a
    row's cache is full, its last ``context // 2`` ids are encoded again from position 0
    (as `musicgen.models.transformer.window_logits` scores long texts), and the step goes on.

    The step is the model's own maths written out in numpy over the trained weights (and
    checked against the Keras forward pass by the tests).  A step of this small model is
    far less work than a TensorFlow call's own dispatch: numpy steps one tune about ten
    times as fast as a compiled ``tf.function`` and 64 at once about twice, and rows may
    come and go without retracing.  Training and scoring stay in Keras.
    """

    def __init__(self, model, config):
        self.config = config
        self.context = config.context
        self.half = max(1, config.context // 2)
        self.heads, self.head_dim = config.heads, config.units // config.heads
        width = config.units
        weights = _Weights(model)
        self.embedding = weights.get("embedding", "embeddings")
        learned = config.positions != "alibi"  # "alibi" alone has no position vectors
        self.positions = weights.get("positions", "positions") if learned else None
        self.blocks = []
        for i in range(config.layers):
            attention = model.get_layer(f"block_{i}_attention")
            dense = [attention._query_dense, attention._key_dense, attention._value_dense]
            self.blocks.append(
                {
                    "ln1": weights.norm(f"block_{i}_ln1"),
                    "ln2": weights.norm(f"block_{i}_ln2"),
                    # query, key and value projections side by side: one matmul
                    "qkv": (
                        np.concatenate([_array(d.kernel).reshape(width, width) for d in dense], 1),
                        np.concatenate([_array(d.bias).reshape(width) for d in dense]),
                    ),
                    "out": (
                        _array(attention._output_dense.kernel).reshape(width, width),
                        _array(attention._output_dense.bias),
                    ),
                    "mlp_in": weights.dense(f"block_{i}_mlp_in"),
                    "mlp_out": weights.dense(f"block_{i}_mlp_out"),
                }
            )
        self.final_ln = weights.norm("final_ln")
        self.logits = weights.dense("logits")
        self.scale = np.float32(1.0 / np.sqrt(self.head_dim))
        from musicgen.models.layers import alibi_slopes  # Keras: not at the CLI's start

        alibi = config.positions != "learned"
        self.slopes = alibi_slopes(self.heads)[:, None, None] if alibi else None  # (H, 1, 1)

    def start(self, batch: int) -> KVCache:
        shape = (self.config.layers, batch, self.heads, self.context, self.head_dim)
        return KVCache(
            np.zeros(shape, np.float32),
            np.zeros(shape, np.float32),
            np.zeros(batch, np.int64),
            np.zeros((batch, self.context), np.int32),
        )

    def reset(self, state: KVCache, row: int) -> KVCache:
        state.length[row] = 0  # stale keys past the length are masked, never read
        return state

    def take(self, state: KVCache, rows: list[int]) -> KVCache:
        return KVCache(
            state.keys[:, rows], state.values[:, rows], state.length[rows], state.history[rows]
        )

    def step(self, ids: np.ndarray, state: KVCache):
        """Feed one id per row; return (B, vocab) logits for the next one."""
        full = np.flatnonzero(state.length >= self.context)
        if len(full):
            self._reencode(state, full)
        ids = np.asarray(ids, np.int32)
        logits = self._forward(ids[:, None], state.length, None, state)[:, -1]
        state.history[np.arange(len(ids)), state.length] = ids
        state.length += 1
        return logits, state

    def _reencode(self, state: KVCache, rows: np.ndarray) -> None:
        tail = state.history[rows, self.context - self.half :]  # (R, half)
        state.history[rows, : self.half] = tail
        self._forward(tail, np.zeros(len(rows), np.int64), rows, state)
        state.length[rows] = self.half

    def _forward(self, ids, start, rows, state: KVCache) -> np.ndarray:
        """ids (R, T) at positions start[r] + t of cache rows `rows` (None: every row, in
        order) -> (R, T, vocab) logits.  Writes the ids' keys and values into the cache."""
        count, steps = ids.shape
        width, heads, head_dim = self.config.units, self.heads, self.head_dim
        at = start[:, None] + np.arange(steps)[None, :]  # (R, T) absolute positions
        x = (
            self.embedding[ids]
            if self.positions is None
            else self.embedding[ids] + self.positions[at]
        )
        x = x.reshape(count * steps, width)
        # Row r's position t may see cache slots 0..at[r, t]: earlier tokens and itself.
        span = int(at.max()) + 1  # slots past every row's last are never read
        hidden = np.where(np.arange(span)[None, None, :] <= at[:, :, None], 0.0, -1e9)
        hidden = hidden.astype(np.float32)[:, None]  # (R, 1, T, span)
        if self.slopes is not None:  # ALiBi: (R, H, T, span)
            hidden = hidden - self.slopes * (at[:, :, None] - np.arange(span))[:, None]
        index = (np.arange(count) if rows is None else rows)[:, None], slice(None), at
        written = (slice(None) if rows is None else rows, slice(None), slice(0, span))
        for layer, block in enumerate(self.blocks):
            qkv = _affine(_layer_norm(x, block["ln1"]), block["qkv"])
            q, k, v = (
                part.reshape(count, steps, heads, head_dim) for part in np.split(qkv, 3, axis=1)
            )
            state.keys[layer][index] = k  # cache[row, :, position] = the row's key
            state.values[layer][index] = v
            keys = state.keys[layer][written]  # (R, H, span, hd)
            values = state.values[layer][written]
            scores = np.matmul(q.transpose(0, 2, 1, 3) * self.scale, keys.swapaxes(2, 3))
            scores += hidden  # (R, H, T, span)
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            attended = np.matmul(weights, values).transpose(0, 2, 1, 3)  # (R, T, H, hd)
            x = x + _affine(attended.reshape(count * steps, width), block["out"])
            h = _gelu(_affine(_layer_norm(x, block["ln2"]), block["mlp_in"]))
            x = x + _affine(h, block["mlp_out"])
        logits = _affine(_layer_norm(x, self.final_ln), self.logits)
        return logits.reshape(count, steps, -1)


class _Weights:
    """A Keras model's weights by layer name, as float32 numpy arrays."""

    def __init__(self, model):
        self.model = model

    def get(self, layer: str, attribute: str) -> np.ndarray:
        return _array(getattr(self.model.get_layer(layer), attribute))

    def norm(self, layer: str) -> tuple:
        found = self.model.get_layer(layer)
        return _array(found.gamma), _array(found.beta), float(found.epsilon)

    def dense(self, layer: str) -> tuple:
        return self.get(layer, "kernel"), self.get(layer, "bias")


def _array(variable) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(variable), dtype=np.float32)


def _layer_norm(x: np.ndarray, norm: tuple) -> np.ndarray:
    gamma, beta, epsilon = norm
    centred = x - x.mean(axis=-1, keepdims=True)
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + epsilon) * gamma + beta


def _affine(x: np.ndarray, dense: tuple) -> np.ndarray:
    kernel, bias = dense
    return x @ kernel + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Keras's exact GELU, x * Phi(x), with erf to 1.5e-7 (Abramowitz & Stegun 7.1.26):
    numpy has no erf, and float32 logits cannot tell the difference."""
    z = np.abs(x) * np.float32(0.7071067811865476)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = (
        (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t
    erf = np.copysign(1.0 - poly * np.exp(-z * z), x)
    return 0.5 * x * (1.0 + erf)
