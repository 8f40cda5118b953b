"""The networks, and the registry that picks one: ``lstm`` or ``transformer``.

An architecture (`Architecture`) is a config's defaults plus a builder, a one-step cached
sampling function, a whole-text scorer and the layer checks a loaded run dir must pass;
`architecture(config.arch)` looks it up.  Nothing outside the architecture's own module
names its layers.

The LSTM: Embedding -> LSTM x N -> Dense logits over the vocabulary.

`build_model` makes the training model: whole windows in, logits for every position out
(many-to-many).  `build_step_model` makes a twin with the same weights that takes one
character per tune plus explicit LSTM states and returns the next logits and states, so
the sampler advances a whole batch of tunes with one compiled call per character.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network.  Stored in config.json so a run dir rebuilds its model."""

    vocab_size: int
    embedding_dim: int = 64  # ~60 characters need few dimensions; bigger buys nothing
    units: int = 512  # LSTM width: the main capacity knob
    layers: int = 2  # two layers learn bar structure better than one wide layer
    dropout: float = 0.4  # between layers and before the output: 730 tunes overfit fast
    arch: str = "lstm"  # run dirs from before the registry hold LSTMs
    heads: int = 4  # transformer only: attention heads per block
    context: int = 384  # transformer only: longest window; ~95% of tunes fit whole

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model settings {sorted(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


@dataclass(frozen=True)
class Architecture:
    """What the rest of musicgen may ask of a kind of network."""

    name: str
    model_defaults: dict  # ModelConfig fields that differ from the LSTM's
    train_defaults: dict  # TrainConfig fields that differ (the trial's settings)
    build: Callable  # (config, fused) -> keras.Model, (B, T) ids -> (B, T, vocab)
    stepper: Callable  # (model, config) -> a `Stepper`-like object (see musicgen.sampling.sampler)
    layer_checks: Callable  # (model, config) -> [(layer name, attribute, value)]
    logits: Callable  # (model, config, (B, T) ids) -> (B, T, vocab) numpy logits
    notes: dict = field(default_factory=dict)


def _lstm_checks(model, config: ModelConfig) -> list:
    return [
        ("embedding", "input_dim", config.vocab_size),
        ("embedding", "output_dim", config.embedding_dim),
        *((f"lstm_{i}", "units", config.units) for i in range(config.layers)),
        ("logits", "units", config.vocab_size),
    ]


def _lstm_logits(model, config: ModelConfig, inputs):
    import numpy as np

    return np.asarray(model(inputs, training=False))


def _lstm_stepper(model, config: ModelConfig):
    from musicgen.models.steppers import LSTMStepper

    return LSTMStepper(make_step_fn(model, config), config)


def _transformer_build(config: ModelConfig, fused: bool = False):
    from musicgen.models.transformer import build_transformer

    return build_transformer(config)


def _transformer_checks(model, config: ModelConfig) -> list:
    from musicgen.models.transformer import check_transformer_layers

    return check_transformer_layers(model, config)


def _transformer_logits(model, config: ModelConfig, inputs):
    from musicgen.models.transformer import window_logits

    return window_logits(model, inputs, config.context)


def _transformer_stepper(model, config: ModelConfig):
    from musicgen.models.steppers import TransformerStepper

    return TransformerStepper(model, config)


def _lstm_build(config: ModelConfig, fused: bool = False):
    return build_lstm(config, fused=fused)


ARCHITECTURES = {
    "lstm": Architecture("lstm", {}, {}, _lstm_build, _lstm_stepper, _lstm_checks, _lstm_logits),
    "transformer": Architecture(
        "transformer",
        # The trial in issue 12: 3 x 128, 4 heads, 0.64M parameters, 10 CPU-minutes.
        {"layers": 3, "units": 128, "dropout": 0.1, "heads": 4, "context": 384},
        {
            "batch_size": 12,  # many small steps beat few big ones at this budget
            "seq_len": 384,  # = context: a whole tune per window
            "learning_rate": 3e-3,
            "warmup_steps": 100,  # attention diverges at full rate from random weights
            "optimizer": "adamw",
            "weight_decay": 0.05,
        },
        _transformer_build,
        _transformer_stepper,
        _transformer_checks,
        _transformer_logits,
    ),
}


def architecture(name: str) -> Architecture:
    """The registered architecture called `name`."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        from musicgen.errors import TrainError

        raise TrainError(f"unknown architecture {name!r} ({' or '.join(ARCHITECTURES)})") from None


def default_config(arch: str, vocab_size: int = 0) -> ModelConfig:
    """The ModelConfig an architecture trains with when no option says otherwise."""
    return ModelConfig(vocab_size=vocab_size, arch=arch, **architecture(arch).model_defaults)


def build_model(config: ModelConfig, *, fused: bool = False):
    """The training model of `config.arch`: (B, T) int ids -> (B, T, vocab) logits."""
    return architecture(config.arch).build(config, fused)


def build_lstm(config: ModelConfig, *, fused: bool = False):
    """Training model: (B, T) int ids -> (B, T, vocab) logits.

    The LSTMs keep Keras' default activations and no recurrent dropout, so TensorFlow
    uses the fused cuDNN kernel on a GPU.  With `fused`, they are
    `musicgen.models.fused_lstm.FusedLSTM`,
    which trains several times faster on a CPU; saved models use the plain layer.
    """
    import keras

    lstm_class = keras.layers.LSTM
    if fused:
        from musicgen.models.fused_lstm import FusedLSTM as lstm_class

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(ids)
    for i in range(config.layers):
        x = lstm_class(config.units, return_sequences=True, name=f"lstm_{i}")(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(config.vocab_size, name="logits")(x)  # (B, T, vocab)
    return keras.Model(ids, logits, name="musicgen_lstm")


def build_step_model(config: ModelConfig):
    """Sampling model: (ids (B, 1), h_0, c_0, ..., h_N, c_N) -> (logits (B, vocab), states).

    Layer names match `build_model`, so weights copy over with `copy_weights`.
    """
    import keras

    ids = keras.Input(shape=(1,), dtype="int32", name="ids")
    states_in = []
    x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(ids)
    states_out = []
    for i in range(config.layers):
        h = keras.Input(shape=(config.units,), name=f"h_{i}")
        c = keras.Input(shape=(config.units,), name=f"c_{i}")
        states_in += [h, c]
        lstm = keras.layers.LSTM(
            config.units, return_sequences=True, return_state=True, name=f"lstm_{i}"
        )
        x, h_out, c_out = lstm(x, initial_state=[h, c])
        states_out += [h_out, c_out]
    logits = keras.layers.Dense(config.vocab_size, name="logits")(x[:, 0, :])  # (B, vocab)
    return keras.Model([ids, *states_in], [logits, *states_out], name="musicgen_step")


def copy_weights(source, target) -> None:
    """Copy weights layer by layer between models built from the same config."""
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def make_step_fn(model, config: ModelConfig):
    """A compiled one-character step with the trained weights, for fast sampling.

    ``step(ids (B,), states (2*layers, B, units)) -> (logits (B, vocab), states)``.  The
    LSTM cell equations are written out (gate order i, f, g, o, as Keras stores them), so
    one call is a handful of matrix multiplies rather than a Keras layer graph with a
    one-step recurrence loop: several times faster at batch 1, where call overhead rules.
    """
    import tensorflow as tf

    embeddings = tf.constant(model.get_layer("embedding").embeddings)
    cells = []
    for i in range(config.layers):
        cell = model.get_layer(f"lstm_{i}").cell
        kernel = tf.concat([cell.kernel, cell.recurrent_kernel], axis=0)  # (in + units, 4u)
        cells.append((tf.constant(kernel), tf.constant(cell.bias)))
    dense = model.get_layer("logits")
    dense_kernel, dense_bias = tf.constant(dense.kernel), tf.constant(dense.bias)

    @tf.function(reduce_retracing=True)
    def step(ids, states):
        x = tf.gather(embeddings, ids)  # (B, embedding_dim)
        new_states = []
        for layer, (kernel, bias) in enumerate(cells):
            h, c = states[2 * layer], states[2 * layer + 1]
            z = tf.matmul(tf.concat([x, h], axis=1), kernel) + bias  # (B, 4 * units)
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            new_states += [h, c]
            x = h
        return tf.matmul(x, dense_kernel) + dense_bias, tf.stack(new_states)

    return step
