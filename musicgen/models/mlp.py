"""The per-character layers of a Transformer block's feed-forward half, and of its output:
`TokenDense` and `Gelu`, registered as serializable as `musicgen.models.layers`' are."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="musicgen")
class TokenDense(keras.layers.Dense):
    """Keras' ``Dense`` on a (..., width) input as one 2-D matrix multiply and a bias add.

    ``Dense`` multiplies a (B, T, width) input by ``tensordot``, which reshapes after the
    multiply, so the bias's add is not next to it and TensorFlow's remapper cannot fold
    it into the multiply.  Here the reshapes come first and last, the multiply and the
    ``BiasAdd`` are adjacent (one oneDNN kernel on CPU, and ``BiasAddGrad`` for the
    bias's gradient).  The same weights, names and outputs as ``Dense``, so run dirs
    saved with either load into both.
    """

    def call(self, inputs, training=None):
        if keras.backend.backend() != "tensorflow" or self.bias is None or self.lora_enabled:
            return super().call(inputs, training=training)
        import tensorflow as tf

        shape = tf.shape(inputs)
        x = tf.reshape(inputs, [-1, self.kernel.shape[0]])
        x = tf.nn.bias_add(tf.matmul(x, self.kernel), self.bias)
        x = tf.reshape(x, tf.concat([shape[:-1], [self.units]], 0))
        return x if self.activation is None else self.activation(x)


@keras.saving.register_keras_serializable(package="musicgen")
class Gelu(keras.layers.Layer):
    """The exact GELU, x Φ(x), as ``Activation("gelu")`` computes it, with its gradient
    written out, Φ(x) + x φ(x), from the Φ the forward pass kept: fewer passes over the
    (B, T, 4 width) activations than TensorFlow's derivative of ``erfc``."""

    def call(self, inputs):
        import tensorflow as tf

        @tf.custom_gradient
        def gelu(x):
            cdf = 0.5 * tf.math.erfc(x * -0.7071067811865476)

            def grad(dy):
                pdf = tf.exp(-0.5 * tf.square(x)) * 0.3989422804014327
                return dy * (cdf + x * pdf)

            return x * cdf, grad

        return gelu(keras.ops.cast(inputs, self.compute_dtype))
