"""Every CPU core busy in one training step: the batch split into towers, one op per core.

A training step of our small models is a few hundred small ops.  TensorFlow's default
runs each op on all cores in turn (intra-op parallelism), and on ops this small the
cores spend much of the step waiting for each other: the default Transformer on two
cores ran barely faster than on one (docs/training.md, issue 26).  Here, on a CPU-only
machine, each op runs on one core (``intra_op = 1``) and the batch is cut into one slice
per core; the slices go through the model as independent branches of the step's graph,
which TensorFlow's executor runs side by side (``inter_op = cores``), and their logits
are joined before the loss.  The loss, the gradients and the optimizer step are those
of the whole batch, so the model trained is the same one up to floating-point order.

Under a `tf.distribute` strategy other than the default, on a GPU, or on one core, the
step is left as Keras makes it.
"""

from __future__ import annotations

import os
import types

__all__ = ["plan_towers", "split_steps"]


def available_cores() -> int:
    """Cores this process may run on (``taskset`` and container limits included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan_towers(strategy: str, batch_size: int, cores: int | None = None) -> int:
    """How many towers a training step uses, and set TensorFlow's threads to match.

    1 (Keras' own step, TensorFlow's own threads) unless the strategy is ``default``, no
    GPU is visible and there are two or more cores.  Runs before any TensorFlow op where
    it can: the thread pools are fixed when TensorFlow starts.
    """
    import tensorflow as tf

    cores = available_cores() if cores is None else cores
    if strategy != "default" or tf.config.list_physical_devices("GPU"):
        return 1
    towers = max(1, min(cores, batch_size))
    if towers > 1:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(towers)
        except RuntimeError:  # TensorFlow already started (tests, notebooks): its threads
            pass  # stay as they are, and the towers still overlap
    return towers


def split_steps(model, towers: int) -> None:
    """Make `model`'s training step run its batch as `towers` slices side by side.

    Keras' own ``train_step`` for TensorFlow, with one change: the forward pass runs on
    each slice of the batch and the logits are joined again, so the loss and the
    gradients are the whole batch's.  A batch smaller than `towers` (an epoch's last)
    goes through whole.  A no-op for one tower.
    """
    if towers <= 1:
        return
    import keras
    import tensorflow as tf

    def forward(self, x):
        size = tf.shape(x)[0]

        def split():
            bounds = [size * i // towers for i in range(towers + 1)]
            parts = [x[bounds[i] : bounds[i + 1]] for i in range(towers)]
            return tf.concat([self(part, training=True) for part in parts], axis=0)

        return tf.cond(size >= towers, split, lambda: self(x, training=True))

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = forward(self, x)
            loss = self._compute_loss(  # noqa: SLF001 - as Keras' own train_step
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])  # noqa: SLF001
            loss = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    model.train_step = types.MethodType(train_step, model)
