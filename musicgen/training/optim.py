"""Optimizers and the learning-rate warm-up, chosen by the training config.

The LSTM trains with Adam; the Transformer with AdamW (decoupled weight decay) and a
linear warm-up before the cosine decay of `musicgen.training.callbacks.CosineSchedule`: attention
from random weights at the full rate tends to lock onto the previous character and stay.
"""

from __future__ import annotations

import keras

from musicgen.errors import TrainError


def make_optimizer(config) -> keras.optimizers.Optimizer:
    """Adam or AdamW from a `musicgen.training.fit.TrainConfig`, clipped by `clipnorm`."""
    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm)
    if config.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(
            config.learning_rate, weight_decay=config.weight_decay, clipnorm=config.clipnorm
        )
        # Decay matrices only: biases, LayerNorm scales and position vectors stay free.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "positions"])
        return optimizer
    raise TrainError(f"unknown optimizer {config.optimizer!r} (adam or adamw)")


class WarmUp(keras.callbacks.Callback):
    """Scale the learning rate by (step + 1) / `steps` over the first `steps` steps.

    Runs after the schedule callback in the same list, so it scales whatever that set;
    without a schedule, give `base` (the constant rate) so the scaling does not compound.
    `initial_step` counts steps done before a resume: a resumed run does not warm up again.
    """

    def __init__(self, steps: int, initial_step: int = 0, base: float | None = None):
        super().__init__()
        self.steps, self.step, self.base = steps, initial_step, base

    def on_train_begin(self, logs=None):
        self._apply()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self._apply()

    def _apply(self):
        if self.step < self.steps:
            lr = self.model.optimizer.learning_rate
            start = lr.numpy() if self.base is None else self.base
            lr.assign(start * (self.step + 1) / self.steps)
