"""An LSTM layer that trains faster on CPUs: `FusedLSTM`, a drop-in for ``keras.layers.LSTM``.

Keras' own LSTM, without a GPU, runs one small ``x_t @ W + h @ U`` per character in a
``while_loop`` and lets autodiff accumulate the weight gradients one time step at a time:
most of its floating-point work is in matrices a few dozen rows tall, far from what the
CPU's matrix units can do.  Here only what truly depends on the previous step stays in
the loop (``h @ U`` forward, ``dz @ U.T`` backward).  Everything else is one large
matrix multiply over all ``B * T`` characters at once: the input projection, the input
gradient and all three weight gradients.  The backward pass is written out by hand
(`tf.custom_gradient`), keeping the gate activations and cell states from the forward
pass.

The layer *is* a ``keras.layers.LSTM`` (same weights in the same order, same initialisers),
so ``set_weights`` copies between the two.  It takes the fused path
only where it is exact and helps: on a machine without a GPU (with one, the parent's
cuDNN kernel is faster), for sequences without a mask, with the default activations and
no dropout inside the layer.  Otherwise it is the parent class unchanged.  Run
directories always hold the plain Keras layer (see `musicgen.models.lstm.build_lstm`).
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf


@functools.cache
def _has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


class FusedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` with a hand-fused forward and backward pass for CPUs."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        plain = (
            mask is None
            and not _has_gpu()
            and not self.go_backwards
            and not self.unroll
            and not cell.dropout
            and not cell.recurrent_dropout
            and cell.use_bias
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
        )
        if not plain:
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        h0, c0 = initial_state
        outputs, h, c = lstm_sequence(
            sequences, h0, c0, cell.kernel.value, cell.recurrent_kernel.value, cell.bias.value
        )
        return h, outputs, [h, c]


def lstm_sequence(x, h0, c0, kernel, recurrent_kernel, bias):
    """Run an LSTM over ``x`` (B, T, E) from states ``h0``, ``c0`` (B, U).

    Returns ``(outputs (B, T, U), h_T, c_T)``.  Gate order i, f, g, o and the equations
    are Keras': ``c = f * c + i * g``, ``h = o * tanh(c)``.  Differentiable in every input.
    """

    @tf.custom_gradient
    def run(x, h0, c0, kernel, recurrent_kernel, bias):
        xt = tf.transpose(x, (1, 0, 2))  # (T, B, E): time-major for the loop
        x_flat = tf.reshape(xt, (tf.shape(xt)[0] * tf.shape(xt)[1], -1))  # (T*B, E)
        saved = _forward(x_flat, tf.shape(xt)[0], h0, c0, kernel, recurrent_kernel, bias)

        def grad(d_outputs, d_h, d_c):
            d_h = tf.zeros_like(h0) if d_h is None else d_h
            d_c = tf.zeros_like(c0) if d_c is None else d_c
            d_hs = tf.transpose(d_outputs, (1, 0, 2))  # (T, B, U)
            d_x, *rest = _backward(saved, x_flat, d_hs, d_h, d_c, kernel, recurrent_kernel)
            return (tf.transpose(d_x, (1, 0, 2)), *rest)

        return (tf.transpose(saved["hs"], (1, 0, 2)), saved["h"], saved["c"]), grad

    return run(x, h0, c0, kernel, recurrent_kernel, bias)


def _forward(x_flat, steps, h0, c0, kernel, recurrent_kernel, bias) -> dict:
    """The forward loop over time-major inputs (T*B, E); keeps what the backward pass
    needs: gate activations (T, B, 4U), cells and outputs (T, B, U) before and after."""
    units, batch = tf.shape(h0)[1], tf.shape(h0)[0]
    z_in = tf.reshape(tf.matmul(x_flat, kernel) + bias, (steps, batch, 4 * units))

    def forward(t, h, c, gates, cells, hiddens):
        z = z_in[t] + tf.matmul(h, recurrent_kernel)  # (B, 4U)
        i, f, g, o = tf.split(z, 4, axis=1)
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        c = f * c + i * g
        h = o * tf.tanh(c)
        gates = gates.write(t, tf.concat([i, f, g, o], axis=1))
        return t + 1, h, c, gates, cells.write(t, c), hiddens.write(t, h)

    arrays = [tf.TensorArray(x_flat.dtype, size=steps) for _ in range(3)]
    _, h, c, gates, cells, hiddens = tf.while_loop(
        lambda t, *_: t < steps, forward, [0, h0, c0, *arrays]
    )
    cs, hs = cells.stack(), hiddens.stack()
    return {
        "acts": gates.stack(),
        "cs": cs,
        "hs": hs,
        "cs_prev": tf.concat([c0[None], cs[:-1]], axis=0),
        "hs_prev": tf.concat([h0[None], hs[:-1]], axis=0),
        "h": h,
        "c": c,
    }


def _backward(saved: dict, x_flat, d_hs, d_h, d_c, kernel, recurrent_kernel):
    """Gradients (d_x (T, B, E), d_h0, d_c0, d_kernel, d_recurrent, d_bias): only the
    recurrence loops; every weight gradient is one matrix multiply over all T*B rows."""
    acts, cs, cs_prev = saved["acts"], saved["cs"], saved["cs_prev"]
    steps, batch, units = tf.shape(cs)[0], tf.shape(cs)[1], tf.shape(cs)[2]

    def backward(t, d_h_next, d_c_next, d_zs):
        i, f, g, o = tf.split(acts[t], 4, axis=1)
        tanh_c = tf.tanh(cs[t])
        dh = d_hs[t] + d_h_next
        dc = d_c_next + dh * o * (1.0 - tanh_c * tanh_c)
        dz = tf.concat(
            [
                dc * g * i * (1.0 - i),
                dc * cs_prev[t] * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=1,
        )  # (B, 4U): gradient at the gates' pre-activations
        d_h_prev = tf.matmul(dz, recurrent_kernel, transpose_b=True)
        return t - 1, d_h_prev, dc * f, d_zs.write(t, dz)

    _, d_h0, d_c0, d_zs = tf.while_loop(
        lambda t, *_: t >= 0,
        backward,
        [steps - 1, d_h, d_c, tf.TensorArray(x_flat.dtype, size=steps)],
    )
    d_z = tf.reshape(d_zs.stack(), (steps * batch, 4 * units))  # (T*B, 4U)
    h_prev = tf.reshape(saved["hs_prev"], (steps * batch, units))
    d_kernel = tf.matmul(x_flat, d_z, transpose_a=True)
    d_recurrent = tf.matmul(h_prev, d_z, transpose_a=True)
    d_bias = tf.reduce_sum(d_z, axis=0)
    d_x = tf.reshape(tf.matmul(d_z, kernel, transpose_b=True), (steps, batch, -1))
    return d_x, d_h0, d_c0, d_kernel, d_recurrent, d_bias
