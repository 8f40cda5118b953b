"""A decoder-only causal Transformer over characters; its entry `TRANSFORMER`.

Token embedding plus learned positions, then pre-LayerNorm blocks of causal
self-attention (`musicgen.models.layers.CausalSelfAttention`: Keras' multi-head attention
with an additive causal mask, dropout on its output) and a GELU MLP, a final LayerNorm and Dense
logits.  ``config.positions`` may swap the learned positions for ALiBi's distance penalty
in the attention's bias ("alibi"), or keep both ("both").
The model sees at most ``config.context`` characters at once; longer texts are scored in
sliding windows (`window_logits`) and sampled with a key/value cache that is re-encoded
from its last half when it fills (`musicgen.models.transformer_step`).

Every layer is a stock Keras layer or one of `musicgen.models.layers`, registered as
serializable, so run dirs load with ``safe_mode=True``.  Run dirs from before the
attention layer existed hold ``MultiHeadAttention`` with the same weights, and load as
they are.  Keras is
imported inside the functions: the registry, and through it the CLI, imports this module
to read the defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from musicgen.errors import TrainError
from musicgen.models.architecture import Architecture
from musicgen.models.transformer_step import TransformerStepper

if TYPE_CHECKING:
    from musicgen.models.registry import ModelConfig
    from musicgen.run.config import TrainConfig


def check_transformer(config: ModelConfig, train: TrainConfig | None = None) -> None:
    """Refuse settings the Transformer cannot build (its heads split its width evenly) or
    train with (a window longer than its context has no position for its tail)."""
    if config.units % config.heads:
        raise TrainError(
            f"units {config.units} must be a multiple of heads {config.heads} "
            "(each attention head takes an equal share of the width)"
        )
    if train is not None and train.seq_len > config.context:
        raise TrainError(
            f"seq_len {train.seq_len} is longer than context {config.context}: "
            "the Transformer attends over at most its context"
        )


def build_transformer(config: ModelConfig, *, fused: bool = False):
    """Training model: (B, T) int ids, T <= context -> (B, T, vocab) logits.

    With ``config.segments`` each tune in a window attends within itself alone
    (`musicgen.models.layers.TuneSegments`).  `fused` is the LSTM's CPU kernel;
    attention has nothing to fuse."""
    import keras

    from musicgen.models.layers import (
        ByteDropout,
        CausalSelfAttention,
        LayerNorm,
        PositionEmbedding,
        TuneSegments,
    )
    from musicgen.models.mlp import Gelu, TokenDense

    check_transformer(config)
    width, rate = config.units, config.dropout
    # Under a mixed policy (--precision bfloat16) the matrix multiplies and attention run
    # in its compute dtype and everything element-wise (embedding, layer norms, GELU,
    # dropout, the residual stream) in float32: TensorFlow's CPU kernels for those run
    # slower in bfloat16 than in float32 (docs/training.md).  No-ops under float32.
    f32 = {"dtype": "float32"}
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(config.vocab_size, width, name="embedding", **f32)(ids)
    mask, positions = TuneSegments(name="segments")(ids) if config.segments else (None, None)
    if config.positions != "alibi":
        x = PositionEmbedding(config.context, name="positions", **f32)(x, positions)
    alibi = config.positions != "learned"
    x = ByteDropout(rate, name="dropout_in", **f32)(x)
    for i in range(config.layers):
        h = LayerNorm(epsilon=1e-5, name=f"block_{i}_ln1", **f32)(x)
        h = CausalSelfAttention(
            config.heads, width // config.heads, rate=rate, alibi=alibi, name=f"block_{i}_attention"
        )(h, h, attention_mask=mask, use_causal_mask=True)
        h = ByteDropout(rate, name=f"block_{i}_drop1", **f32)(h)
        x = keras.layers.Add(name=f"block_{i}_add1", **f32)([x, h])
        h = LayerNorm(epsilon=1e-5, name=f"block_{i}_ln2", **f32)(x)
        h = TokenDense(4 * width, name=f"block_{i}_mlp_in")(h)
        h = Gelu(name=f"block_{i}_gelu", **f32)(h)
        h = TokenDense(width, name=f"block_{i}_mlp_out")(h)
        h = ByteDropout(rate, name=f"block_{i}_drop2", **f32)(h)
        x = keras.layers.Add(name=f"block_{i}_add2", **f32)([x, h])
    x = LayerNorm(epsilon=1e-5, name="final_ln", **f32)(x)
    # float32 logits (and so loss) under bfloat16 mixed precision too
    logits = TokenDense(config.vocab_size, name="logits", **f32)(x)
    return keras.Model(ids, logits, name="musicgen_transformer")  # (B, T, vocab)


def check_transformer_layers(model, config: ModelConfig) -> list[tuple[str, str, object]]:
    """(layer name, attribute, expected value) triples a loaded model must match."""
    return [
        ("embedding", "input_dim", config.vocab_size),
        ("embedding", "output_dim", config.units),
        *([("positions", "length", config.context)] if config.positions != "alibi" else []),
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


def step_memory(config: ModelConfig, train: TrainConfig) -> int:
    """A generous estimate of one training step's memory, in bytes (float32): activations
    ~24 x width per block and character plus attention over the window, the logits and
    their softmax, and the weights four times (values, gradients, two Adam moments)."""
    chars = train.batch_size * train.seq_len
    attention = 4 * config.heads * train.seq_len
    per_char = config.layers * (24 * config.units + attention)
    weights = 12 * config.layers * config.units**2
    return 4 * (chars * (per_char + 3 * config.vocab_size) + 4 * weights)


def train_flops(config: ModelConfig) -> float:
    """Matrix-multiply FLOPs to train on one character: projections and MLP (24 D^2 a
    block), attention over the whole window (4 T D: the mask does not skip work), logits."""
    width, context = config.units, config.context
    per_block = 24 * width * width + 4 * context * width
    return 3.0 * (config.layers * per_block + 2 * width * config.vocab_size)


def _logits(model, config: ModelConfig, inputs: np.ndarray) -> np.ndarray:
    return window_logits(model, inputs, config.context)


# Issue 26's 30-CPU-minute screen (docs/training.md): 3 x 192, 4 heads, ALiBi positions,
# dropout 0.15, weight decay 0.2; the best test bits/char of those tried, 9.9% below
# issue 12's 3 x 128.
TRANSFORMER = Architecture(
    name="transformer",
    model_defaults={
        "units": 192,  # the width: embedding, attention and residual stream
        "layers": 3,
        "dropout": 0.15,  # with ALiBi: 0.9451 test bits/char; 0.05 memorises sooner
        "heads": 4,
        "context": 384,  # longest window; ~95% of tunes fit whole
        "positions": "alibi",  # learns far faster at first; no table of context vectors
        # Not read (the width is units); what every Transformer run dir has stored.
        "embedding_dim": 64,
    },
    reads=("units", "layers", "dropout", "heads", "context", "segments", "positions"),
    train_defaults={
        "batch_size": 12,  # many small steps beat few big ones at this budget
        "seq_len": 384,  # = context: a whole tune per window
        "learning_rate": 3e-3,
        "optimizer": "adamw",
        "weight_decay": 0.2,  # the model memorises the tunes: 0.05 and 0.5 score worse
        "warmup_steps": 100,  # attention diverges at full rate from random weights
    },
    build=build_transformer,
    stepper=TransformerStepper,
    layer_checks=check_transformer_layers,
    logits=_logits,
    check=check_transformer,
    step_memory=step_memory,
    train_flops=train_flops,
)
