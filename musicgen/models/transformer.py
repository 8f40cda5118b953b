"""A decoder-only causal Transformer over characters, beside the LSTM.

Token embedding plus learned positions, then pre-LayerNorm blocks of causal
``keras.layers.MultiHeadAttention`` and a GELU MLP, a final LayerNorm and Dense logits.
The model sees at most ``config.context`` characters at once; longer texts are scored in
sliding windows (`window_logits`) and sampled with a cache that is re-encoded from its
last half when it fills (`musicgen.models.steppers`).

Every layer is a stock Keras layer except `PositionEmbedding`, which is registered as
serializable, so run dirs load with ``safe_mode=True`` and no Lambda layers.
"""

from __future__ import annotations

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="musicgen")
class PositionEmbedding(keras.layers.Layer):
    """Add a learned vector per position 0..T-1 to (B, T, D) inputs (T <= `length`)."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape):
        self.positions = self.add_weight(
            name="positions",
            shape=(self.length, input_shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )

    def call(self, x):
        steps = keras.ops.shape(x)[1]
        return x + keras.ops.expand_dims(self.positions[:steps], 0)  # (B, T, D)

    def get_config(self):
        return {**super().get_config(), "length": self.length}


def build_transformer(config) -> keras.Model:
    """Training model: (B, T) int ids, T <= context -> (B, T, vocab) logits."""
    width, rate = config.units, config.dropout
    if width % config.heads:
        from musicgen.errors import TrainError

        raise TrainError(f"--units {width} must be a multiple of --heads {config.heads}")
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(config.vocab_size, width, name="embedding")(ids)
    x = PositionEmbedding(config.context, name="positions")(x)
    x = keras.layers.Dropout(rate, name="dropout_in")(x)
    for i in range(config.layers):
        h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block_{i}_ln1")(x)
        h = keras.layers.MultiHeadAttention(
            config.heads, width // config.heads, dropout=rate, name=f"block_{i}_attention"
        )(h, h, use_causal_mask=True)
        x = keras.layers.Add(name=f"block_{i}_add1")(
            [x, keras.layers.Dropout(rate, name=f"block_{i}_drop1")(h)]
        )
        h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block_{i}_ln2")(x)
        h = keras.layers.Dense(4 * width, activation="gelu", name=f"block_{i}_mlp_in")(h)
        h = keras.layers.Dense(width, name=f"block_{i}_mlp_out")(h)
        x = keras.layers.Add(name=f"block_{i}_add2")(
            [x, keras.layers.Dropout(rate, name=f"block_{i}_drop2")(h)]
        )
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_ln")(x)
    logits = keras.layers.Dense(config.vocab_size, name="logits")(x)  # (B, T, vocab)
    return keras.Model(ids, logits, name="musicgen_transformer")


def check_transformer_layers(model, config) -> list[tuple[str, str, object]]:
    """(layer name, attribute, expected value) triples a loaded model must match."""
    return [
        ("embedding", "input_dim", config.vocab_size),
        ("embedding", "output_dim", config.units),
        ("positions", "length", config.context),
        *((f"block_{i}_attention", "num_heads", config.heads) for i in range(config.layers)),
        ("logits", "units", config.vocab_size),
    ]


def window_logits(model, inputs: np.ndarray, context: int) -> np.ndarray:
    """(B, T) ids -> (B, T, vocab) logits, for any T: sliding windows past `context`.

    Position t is predicted from the window that starts at the latest multiple of
    ``context // 2`` keeping t inside it (as sampling re-encodes), so every prediction
    sees at least ``context // 2`` characters of history once the text is that long.
    """
    steps = inputs.shape[1]
    if steps <= context:
        return np.asarray(model(inputs, training=False))
    half = max(1, context // 2)
    out = None
    start = 0
    while True:
        window = inputs[:, start : start + context]
        logits = np.asarray(model(window, training=False))
        if out is None:
            out = np.zeros((*inputs.shape, logits.shape[-1]), np.float32)
        keep_from = 0 if start == 0 else context - half  # earlier ones came from before
        out[:, start + keep_from : start + window.shape[1]] = logits[:, keep_from:]
        if start + context >= steps:
            return out
        start += half
