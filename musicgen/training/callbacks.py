"""Keras callbacks that make ``model.fit`` a tool: progress, checkpoints, time budget, early
stopping and dropout masks that a resumed run replays exactly.

No callback here waits on a training step: the batch-level ones are `async_safe`, and the
learning-rate schedule runs inside the step (`musicgen.training.optim.WarmupCosine`).
"""

from __future__ import annotations

import math
import time

import keras
import numpy as np
from tqdm import tqdm

from musicgen.models.registry import build_model
from musicgen.run import rundir
from musicgen.run.config import EpochRecord
from musicgen.run.history import epochs_since_best, write_history
from musicgen.run.plot import write_loss_plot
from musicgen.run.resume import save_resume_point

LN2 = math.log(2.0)  # losses are in nats; users read bits per character


class Checkpointer(keras.callbacks.Callback):
    """Per epoch: history.csv row, best model.keras, then the resume point (in that order,
    so a kill between steps at worst repeats an epoch, never skips one)."""

    def __init__(self, run_dir, model_config, epochs, history, best, chars, report):
        super().__init__()
        self.run_dir, self.model_config, self.epochs = run_dir, model_config, epochs
        self.history, self.best, self.chars, self.report = history, best, chars, report
        self.last_epoch = 0
        self._inference = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        self.train_seconds = None
        self.first_step = int(self.model.optimizer.iterations.numpy())

    def on_test_begin(self, logs=None):
        self.train_seconds = time.perf_counter() - self.started

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self.started
        loss = logs.get("loss", math.nan) / LN2
        val = logs.get("val_loss", math.nan) / LN2
        score = loss if math.isnan(val) else val  # no validation: keep the best training loss
        improved = score < self.best
        if improved:
            self.best = score
            self._save_inference_model()
        # An epoch cut short by the time budget trained on only part of the characters.
        batches = int(self.model.optimizer.iterations.numpy()) - self.first_step
        steps = self.params.get("steps") or batches
        chars = self.chars * min(1.0, batches / steps) if steps else self.chars
        chars_per_s = chars / (self.train_seconds or seconds)
        row = {
            "epoch": epoch + 1,
            "loss": loss,
            "val_loss": val,
            "seconds": round(seconds, 3),
            "chars_per_s": chars_per_s,
        }
        self.history = [r for r in self.history if r["epoch"] <= epoch] + [row]
        write_history(self.run_dir, self.history)
        write_loss_plot(self.run_dir, self.history)
        save_resume_point(self.model, self.run_dir, epoch + 1)
        self.last_epoch = epoch + 1
        if self.report:
            self.report(
                EpochRecord(epoch + 1, self.epochs, loss, val, seconds, chars_per_s, improved)
            )

    def _save_inference_model(self):
        # model.keras holds weights only (no optimizer state): a third of the size.
        if self._inference is None:
            self._inference = build_model(self.model_config)
        self._inference.set_weights(self.model.get_weights())
        rundir.save_model(self._inference, self.run_dir / rundir.MODEL_FILE)


class ProgressBar(keras.callbacks.Callback):
    """A tqdm bar over the batches of each epoch, showing the running loss in bits/char.

    Safe to run beside the next step (`async_safe`): Keras then hands it each batch's
    logs on a thread of its own instead of waiting for them between steps."""

    async_safe = True

    def __init__(self, enabled: bool):
        super().__init__()
        self.enabled = enabled

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = tqdm(
            total=self.params.get("steps"),
            unit="batch",
            leave=False,
            desc=f"epoch {epoch + 1}/{self.params['epochs']}",
            disable=not self.enabled,
        )

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if logs and "loss" in logs:
            self.bar.set_postfix_str(f"{float(logs['loss']) / LN2:.3f} bits/char")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()


class TimeBudget(keras.callbacks.Callback):
    """Stop once `seconds` have passed; the epoch in progress is still validated and
    checkpointed, so the best model so far is kept.  Safe beside the next step."""

    async_safe = True

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.fired = False

    def on_train_begin(self, logs=None):
        self.deadline = time.monotonic() + self.seconds

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline:
            self.fired = True
            self.model.stop_training = True


class EarlyStop(keras.callbacks.Callback):
    """Stop once `patience` epochs in a row found no better validation loss.

    It reads the `Checkpointer`'s history (so it must follow it in the callback list): the
    rows of earlier sessions count, and a resumed run stops where the uninterrupted one does.
    """

    def __init__(self, patience: int, checkpointer: Checkpointer):
        super().__init__()
        self.patience, self.checkpointer = patience, checkpointer
        self.fired = False

    def on_epoch_end(self, epoch, logs=None):
        if epochs_since_best(self.checkpointer.history) >= self.patience:
            self.fired = True
            self.model.stop_training = True


class DropoutSeeds(keras.callbacks.Callback):
    """Start each epoch's random streams (dropout masks) from (`seed`, epoch) alone.

    Keras draws each dropout mask from a seed generator whose state counts the calls since
    the model was built; a resumed run would start that count again.  Setting every state
    at the start of each epoch makes the masks a function of (seed, epoch, step), so an
    epoch replays the same masks whether or not the run was interrupted before it.
    """

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        states = [v for v in self.model.variables if v.name == "seed_generator_state"]
        draws = np.random.default_rng([self.seed, 4, epoch]).integers(1, 2**31, len(states))
        for state, draw in zip(states, draws, strict=True):
            state.assign(np.array([draw, 0]).astype(state.dtype))
