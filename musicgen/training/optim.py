"""Optimizers and the learning-rate schedule, chosen by the training config.

The LSTM trains with Adam; the Transformer with AdamW (decoupled weight decay) and a
linear warm-up before the cosine decay: attention from random weights at the full rate
tends to lock onto the previous character and stay.

The rate is a function of the optimizer's step count (`WarmupCosine`), computed in the
training graph: nothing runs in Python between steps, and a resumed run, which restores
the step count, goes on where it stopped.  A ``--max-minutes`` budget also moves the
decay on: `BudgetClock` keeps the share of the budget used in a variable the schedule
reads, so a run cut short still ends on a low rate (and its best).
"""

from __future__ import annotations

import math
import time

import keras

from musicgen.errors import TrainError


@keras.saving.register_keras_serializable(package="musicgen")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """``base`` scaled by (step + 1) / `warmup` for the first `warmup` steps, then (with
    `decay`) a cosine from `base` down to `final` over `total` steps.

    Progress is the larger of steps / `total` and the time share in `clock` (a variable
    of `BudgetClock`, or None without a budget).
    """

    def __init__(self, base, final, total, warmup=0, decay=True, clock=None):
        self.base, self.final, self.total = float(base), float(final), max(1, int(total))
        self.warmup, self.decay, self.clock = int(warmup), bool(decay), clock

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        rate = ops.convert_to_tensor(self.base, "float32")
        if self.decay:
            progress = step / self.total
            if self.clock is not None:
                progress = ops.maximum(progress, ops.cast(self.clock, "float32"))
            progress = ops.minimum(progress, 1.0)
            cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
            rate = self.final + (self.base - self.final) * cosine
        if self.warmup:
            rate = rate * ops.minimum(1.0, (step + 1.0) / self.warmup)
        return rate

    def get_config(self):
        keys = ("base", "final", "total", "warmup", "decay")
        return {key: getattr(self, key) for key in keys}


class BudgetClock(keras.callbacks.Callback):
    """Keep `clock` (a float variable) at the share of `seconds` used so far, `elapsed`
    of it by earlier sessions of the run.  Safe to run beside the next step."""

    async_safe = True

    def __init__(self, clock, seconds: float, elapsed: float = 0.0):
        super().__init__()
        self.clock, self.seconds, self.elapsed = clock, seconds, elapsed

    def on_train_begin(self, logs=None):
        self.started = time.monotonic() - self.elapsed
        self._tick()

    def on_train_batch_end(self, batch, logs=None):
        self._tick()

    def _tick(self):
        self.clock.assign(min(1.0, (time.monotonic() - self.started) / self.seconds))


def make_schedule(config, steps_per_epoch: int, clock=None) -> WarmupCosine | float:
    """The learning rate of `config`: a constant, or a `WarmupCosine` over the run."""
    decay = config.schedule == "cosine"
    if not decay and not config.warmup_steps:
        return config.learning_rate
    total = steps_per_epoch * config.epochs
    return WarmupCosine(
        config.learning_rate, config.min_lr, total, config.warmup_steps, decay, clock
    )


def make_optimizer(config, learning_rate=None) -> keras.optimizers.Optimizer:
    """Adam or AdamW from a `musicgen.run.config.TrainConfig`, clipped by `clipnorm`;
    `learning_rate` (a rate or a schedule) defaults to the config's constant rate."""
    rate = config.learning_rate if learning_rate is None else learning_rate
    if config.optimizer == "adam":
        return keras.optimizers.Adam(rate, clipnorm=config.clipnorm)
    if config.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(
            rate, weight_decay=config.weight_decay, clipnorm=config.clipnorm
        )
        # Decay matrices only: biases, LayerNorm scales and position vectors stay free.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "positions"])
        return optimizer
    raise TrainError(f"unknown optimizer {config.optimizer!r} (adam or adamw)")


def make_loss() -> keras.losses.Loss:
    """Next-character cross-entropy from logits, the mean over the targets that count:
    all of them, or with packed windows' loss weights those weighted 1, so the loss stays
    nats per character and not a share of the padding."""
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight"
    )
