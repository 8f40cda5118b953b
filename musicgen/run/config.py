"""The typed records of a training run: how to train, each finished epoch, the outcome.

They live apart from `musicgen.training.fit` so that the run directory (`musicgen.run.rundir`), the
callbacks and the CLI can all name them without importing the trainer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from musicgen.abc.transpose import DEFAULT_SHIFTS
from musicgen.errors import MusicgenError, TrainError

# The values a TrainConfig's named choices may take.
SCHEDULES = ("cosine", "constant")
OPTIMIZERS = ("adam", "adamw")
WINDOWS = ("stream", "tunes", "packed")
PRECISIONS = ("float32", "bfloat16")  # "auto" is resolved before a config is built
# What a run dir written before an option existed trained with, where that differs from
# today's default (a missing key must not turn into a setting it never had).
_BEFORE_OPTION = {"windows": "stream", "transpose": 0}


@dataclass(frozen=True)
class TrainConfig:
    """How to train.  Stored in config.json; a resumed run must ask for the same.

    The defaults are the LSTM's (the only architecture when they were chosen), so old run
    dirs read back as what they ran; `musicgen train` starts from its architecture's own
    (`musicgen.training.presets.configs_for`).  Built, it checks itself: a bad value
    raises `TrainError` naming the field, the value and what it may be.
    """

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
    # The number format of the maths (musicgen.training.precision); weights stay float32.
    precision: str = "float32"  # what every run before the option computed in
    # Stop after this many epochs in a row without a better validation loss (0: never).
    # Off by default: a run trains its epochs (or budget), as every run before the option.
    patience: int = 0
    # Share of the training texts in fill-in-the-middle order (musicgen.training.fim), so
    # that `musicgen vary` can fill a gap knowing what follows it (0: runs before the option).
    fim: float = 0.0

    def __post_init__(self):
        _check_train(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """From config.json's ``train`` object: unknown keys (the lab's recipe) are ignored,
        and a key missing from an older run dir means what that run did.  A bad value is a
        `ValueError` (a bad file)."""
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{**_BEFORE_OPTION, **{k: v for k, v in data.items() if k in known}})
        except MusicgenError as exc:
            raise ValueError(str(exc)) from None


# (field, least value, whether the least is allowed)
_LEAST = (
    ("epochs", 0, True),  # 0 trains nothing (a resume compares settings with epochs 0)
    ("batch_size", 1, True),
    ("seq_len", 2, True),
    ("learning_rate", 0, False),
    ("clipnorm", 0, False),
    ("min_lr", 0, True),
    ("weight_decay", 0, True),
    ("warmup_steps", 0, True),
    ("patience", 0, True),
)


def _check_train(config: TrainConfig) -> None:
    """Raise `TrainError` for the first setting of `config` that cannot train."""
    choices = (
        ("schedule", SCHEDULES),
        ("optimizer", OPTIMIZERS),
        ("windows", WINDOWS),
        ("precision", PRECISIONS),
    )
    for name, allowed in choices:
        value = getattr(config, name)
        if value not in allowed:
            raise TrainError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    for name, least, inclusive in _LEAST:
        value = getattr(config, name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TrainError(f"{name} must be a number, got {value!r}")
        if value < least or (value == least and not inclusive):
            raise TrainError(f"{name} must be {'>=' if inclusive else '>'} {least}, got {value!r}")
    for name in ("val_fraction", "test_fraction", "fim"):
        if not 0 <= getattr(config, name) < 1:
            raise TrainError(f"{name} must be in [0, 1), got {getattr(config, name)!r}")
    if config.val_fraction + config.test_fraction >= 1:
        raise TrainError(
            f"val_fraction {config.val_fraction} + test_fraction {config.test_fraction} "
            "leave no tunes to train on (their sum must be < 1)"
        )
    if not 0 <= config.transpose <= len(DEFAULT_SHIFTS):
        raise TrainError(f"transpose must be 0..{len(DEFAULT_SHIFTS)}, got {config.transpose!r}")
    if config.weight_decay and config.optimizer != "adamw":
        raise TrainError(
            f"weight_decay {config.weight_decay} needs optimizer 'adamw' "
            f"({config.optimizer!r} has none)"
        )


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
    stopped_early: bool = False  # `TrainConfig.patience` epochs passed without improving


@dataclass(frozen=True)
class Parent:
    """The run a fine-tuned run started from (``musicgen train --init``): config.json's
    ``parent`` object.  A run trained from scratch has none."""

    path: str  # the parent run dir as the user named it
    sha256: str  # hex digest of its model.keras when this run started: which weights, exactly

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Parent:
        """From config.json's ``parent`` object; `ValueError` for a bad one (a bad file)."""
        if not isinstance(data, dict) or set(data) != {"path", "sha256"}:
            raise ValueError(f"parent must hold path and sha256, got {data!r}")
        if not all(isinstance(v, str) and v for v in data.values()):
            raise ValueError(f"parent path and sha256 must be text, got {data!r}")
        return cls(data["path"], data["sha256"])
