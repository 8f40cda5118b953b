"""The typed records of a training run: how to train, each finished epoch, the outcome.

They live apart from `musicgen.training.fit` so that the run directory (`musicgen.run.rundir`), the
callbacks and the CLI can all name them without importing the trainer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

# What a run dir written before an option existed trained with, where that differs from
# today's default (a missing key must not turn into a setting it never had).
_BEFORE_OPTION = {"windows": "stream", "transpose": 0}


@dataclass(frozen=True)
class TrainConfig:
    """How to train.  Stored in config.json; a resumed run must ask for the same."""

    epochs: int = 40  # upper bound: `make checkpoint` stops at its 15-minute budget first
    batch_size: int = 32  # 4k characters a step: enough steps per epoch on a small corpus
    seq_len: int = 128  # over a line of a tune: long enough to see a bar pattern repeat
    learning_rate: float = 4e-3  # Adam start; cosine-decayed, clipped: stable at this size
    val_fraction: float = 0.1  # tunes set aside to measure generalisation, not memorising
    test_fraction: float = 0.0  # tunes never used for any choice (0: old runs' split)
    seed: int = 42  # fixes the split, the initial weights, dropout and batch order
    clipnorm: float = 1.0  # gradient clipping: LSTMs on text occasionally spike
    schedule: str = "cosine"  # "cosine": decay to min_lr by the last epoch or time budget
    min_lr: float = 1e-4  # where the cosine schedule ends
    windows: str = "tunes"  # also start windows at each tune: 1.876 vs 1.947 in 5 min
    transpose: int = 4  # copies of each training tune in other keys: 1.470 vs 1.549 held out
    optimizer: str = "adam"  # "adamw" for the transformer (see musicgen.training.optim)
    weight_decay: float = 0.0  # AdamW only
    warmup_steps: int = 0  # linear warm-up before the schedule (transformer: 100)
    # Shuffle the training tunes' order in the stream (seeded), so a window that runs past
    # its tune's end never meets a transposed copy of that tune: attention learns to copy.
    shuffle_tunes: bool = False  # off: 1.364 vs 1.282 held out with it (docs/training.md)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """From config.json's ``train`` object: unknown keys (the lab's recipe) are ignored,
        and a key missing from an older run dir means what that run did."""
        known = {f.name for f in fields(cls)}
        return cls(**{**_BEFORE_OPTION, **{k: v for k, v in data.items() if k in known}})


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch, as written to history.csv and reported to the user."""

    epoch: int  # 1-based
    epochs: int
    loss: float  # bits per character on the training windows
    val_loss: float  # bits per character on the validation tunes (nan without them)
    seconds: float
    chars_per_s: float
    best: bool  # this epoch's model became model.keras


@dataclass(frozen=True)
class TrainResult:
    """What `musicgen.training.fit.train` did."""

    run_dir: Path
    epochs_done: int
    best_val_loss: float
    stopped_by_budget: bool
    train_tunes: int
    val_tunes: int
    replicas: int = 1  # model copies that trained in step (see musicgen.training.distribute)
