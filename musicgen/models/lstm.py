"""The LSTM: Embedding -> LSTM x N -> Dense logits over the vocabulary; its entry `LSTM`.

`build_lstm` makes the training model: whole windows in, logits for every position out
(many-to-many).  `make_step_fn` writes the cell equations out over the trained weights,
and `LSTMStepper` drives it over a batch of tunes, so the sampler advances every tune
with one compiled call per character.  `build_step_model` is the same step as a Keras
model (the lab's way, kept for `musicgen.evaluation.lab` and the tests).

Keras and TensorFlow are imported inside the functions: the registry, and through it the
CLI, imports this module to read the defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from musicgen.models.architecture import Architecture

if TYPE_CHECKING:
    from musicgen.models.registry import ModelConfig
    from musicgen.run.config import TrainConfig


def build_lstm(config: ModelConfig, *, fused: bool = False):
    """Training model: (B, T) int ids -> (B, T, vocab) logits.

    The LSTMs keep Keras' default activations and no recurrent dropout, so TensorFlow
    uses the fused cuDNN kernel on a GPU.  With `fused`, they are
    `musicgen.models.fused_lstm.FusedLSTM`, which trains several times faster on a CPU;
    saved models use the plain layer.
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

    Layer names match `build_lstm`, so weights copy over with `copy_weights`.
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


class LSTMStepper:
    """The LSTM's `Stepper`: its state is the (2 * layers, B, units) h and c of every layer,
    zero at a tune's start.  An LSTM's state is all it carries forward: nothing to cache."""

    def __init__(self, model, config: ModelConfig):
        self._step = make_step_fn(model, config)
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


def layer_checks(model, config: ModelConfig) -> list[tuple[str, str, object]]:
    """(layer name, attribute, expected value) triples a loaded model must match."""
    return [
        ("embedding", "input_dim", config.vocab_size),
        ("embedding", "output_dim", config.embedding_dim),
        *((f"lstm_{i}", "units", config.units) for i in range(config.layers)),
        ("logits", "units", config.vocab_size),
    ]


def whole_logits(model, config: ModelConfig, inputs: np.ndarray) -> np.ndarray:
    """(B, T) ids -> (B, T, vocab) logits: a recurrent net reads any length at once."""
    return np.asarray(model(inputs, training=False))


def weight_count(config: ModelConfig) -> int:
    """Trainable floats: embedding excluded (a lookup, no multiply), LSTMs and logits."""
    weights, inputs = 0, config.embedding_dim
    for _ in range(config.layers):
        weights += 4 * config.units * (inputs + config.units + 1)
        inputs = config.units
    return weights + (config.units + 1) * config.vocab_size


def step_memory(config: ModelConfig, train: TrainConfig) -> int:
    """A generous estimate of one training step's memory, in bytes (float32).

    Backpropagation through time keeps, per character and layer, the four gates, the cell
    and the output (~8 x units floats, doubled for gradients), plus the logits and their
    softmax; the weights are counted four times (values, gradients, two Adam moments).
    """
    chars = train.batch_size * train.seq_len
    per_char = config.layers * 16 * config.units + 3 * config.vocab_size
    per_char += 2 * config.embedding_dim
    return 4 * (chars * per_char + 4 * weight_count(config))


def train_flops(config: ModelConfig) -> float:
    """Matrix-multiply FLOPs to train on one character: forward x 3 (backward is ~2x)."""
    forward, inputs = 0, config.embedding_dim
    for _ in range(config.layers):
        forward += 2 * (inputs + config.units) * 4 * config.units
        inputs = config.units
    forward += 2 * config.units * config.vocab_size
    return 3.0 * forward


LSTM = Architecture(
    name="lstm",
    model_defaults={
        "embedding_dim": 64,  # ~60 characters need few dimensions; bigger buys nothing
        "units": 512,  # the main capacity knob
        "layers": 2,  # two layers learn bar structure better than one wide layer
        "dropout": 0.4,  # between layers and before the output: 730 tunes overfit fast
        # Read only by the Transformer; the values every LSTM run dir has stored, so
        # those run dirs still resume (a resume compares whole configs).
        "heads": 4,
        "context": 384,
        "positions": "learned",
    },
    reads=("embedding_dim", "units", "layers", "dropout"),
    train_defaults={
        "batch_size": 32,  # 4k characters a step: enough steps per epoch on a small corpus
        "seq_len": 128,  # over a line of a tune: long enough to see a bar pattern repeat
        "learning_rate": 4e-3,  # Adam start; cosine-decayed, clipped: stable at this size
        "optimizer": "adam",
        "weight_decay": 0.0,
        "warmup_steps": 0,  # an LSTM trains stably from the first step
    },
    build=build_lstm,
    stepper=LSTMStepper,
    layer_checks=layer_checks,
    logits=whole_logits,
    check=lambda config, train=None: None,  # every positive size builds and trains
    step_memory=step_memory,
    train_flops=train_flops,
)
