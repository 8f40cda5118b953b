"""Train a model (LSTM or Transformer, see `musicgen.model`) into a resumable run directory.

``model.fit`` does the work; callbacks add what a user needs around it: a tqdm bar, a
per-epoch report in bits per character, the best-validation checkpoint, history.csv, a
resume point after every epoch, and a wall-clock budget.  Running the same command on the
same run directory again continues after the last finished epoch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from musicgen import rundir
from musicgen.abc import Tune
from musicgen.dataset import encode_stream, encode_texts, make_dataset, tune_starts
from musicgen.errors import TrainError
from musicgen.model import ModelConfig, build_model
from musicgen.vocab import Vocab

log = logging.getLogger(__name__)


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
    optimizer: str = "adam"  # "adamw" for the transformer (see musicgen.optim)
    weight_decay: float = 0.0  # AdamW only
    warmup_steps: int = 0  # linear warm-up before the schedule (transformer: 100)
    # Shuffle the training tunes' order in the stream (seeded), so a window that runs past
    # its tune's end never meets a transposed copy of that tune: attention learns to copy.
    shuffle_tunes: bool = False  # off: 1.364 vs 1.282 held out with it (docs/training.md)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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
    run_dir: Path
    epochs_done: int
    best_val_loss: float
    stopped_by_budget: bool
    train_tunes: int
    val_tunes: int
    replicas: int = 1  # model copies that trained in step (see musicgen.distribute)


def step_memory_bytes(model_config: ModelConfig, config: TrainConfig) -> int:
    """A generous estimate of one training step's memory, in bytes (float32).

    Backpropagation through time keeps, per character and layer, the four gates, the cell
    and the output (~8 x units floats, doubled for gradients), plus the logits and their
    softmax; the weights are counted four times (values, gradients, two Adam moments).
    """
    chars = config.batch_size * config.seq_len
    if model_config.arch == "transformer":  # activations ~24 x width per block, attention T
        attention = 4 * model_config.heads * config.seq_len
        per_char = model_config.layers * (24 * model_config.units + attention)
        weights = 12 * model_config.layers * model_config.units**2
        return 4 * (chars * (per_char + 3 * model_config.vocab_size) + 4 * weights)
    layers = model_config.layers * 16 * model_config.units
    per_char = layers + 3 * model_config.vocab_size + 2 * model_config.embedding_dim
    inputs = model_config.embedding_dim
    weights = 0
    for _ in range(model_config.layers):
        weights += 4 * model_config.units * (inputs + model_config.units + 1)
        inputs = model_config.units
    weights += (model_config.units + 1) * model_config.vocab_size
    return 4 * (chars * per_char + 4 * weights)


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def check_memory(model_config: ModelConfig, config: TrainConfig) -> None:
    """Refuse settings whose training step would not fit in memory, before the OS kills us."""
    need, have = step_memory_bytes(model_config, config), available_memory()
    if have is not None and need > 0.8 * have:
        raise TrainError(
            f"--batch-size {config.batch_size} x --seq-len {config.seq_len} with "
            f"{model_config.layers} x {model_config.units} units needs about "
            f"{need / 2**30:.1f} GiB per step, but only {have / 2**30:.1f} GiB is free; "
            "use a smaller --batch-size, --seq-len, --units or --layers"
        )


def prepare_run_dir(
    run_dir: Path, model_config: ModelConfig, config: TrainConfig, vocab: Vocab, force: bool
) -> int:
    """Check or create `run_dir`; return the number of epochs already done there."""
    if force and run_dir.exists():
        rundir.clear_run_dir(run_dir)
    if (run_dir / rundir.CONFIG_FILE).exists():
        old_model, old_train = rundir.read_config(run_dir)
        old = TrainConfig.from_dict(old_train)
        if old_model != model_config or _replace_epochs(old) != _replace_epochs(config):
            diff = _diff(old_model, model_config, old, config)
            raise TrainError(
                f"{run_dir} holds a run with other settings ({diff}); "
                "use another --run directory, or --force to start it over"
            )
        if rundir.read_vocab(run_dir) != vocab:
            raise TrainError(
                f"{run_dir}/vocab.json differs from this corpus's characters; "
                "use another --run directory, or --force to start it over"
            )
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise TrainError(
            f"{run_dir}: exists and is not a musicgen run directory; choose another --run"
        )
    rundir.write_run_files(run_dir, model_config, config.to_dict(), vocab)
    return rundir.read_resume_epoch(run_dir)


def training_texts(train_tunes: Sequence[Tune], config: TrainConfig) -> list[str]:
    """The training tunes' texts, each followed by `config.transpose` copies in other keys.

    The shifts come from `musicgen.transpose.DEFAULT_SHIFTS`, drawn per tune with the
    run's seed; a tune that cannot be transposed (no tonic in ``K:``) stays in its key.
    Validation tunes are never transposed: they measure the corpus as it is.
    """
    import numpy as np

    from musicgen.transpose import DEFAULT_SHIFTS, augment

    texts = [t.text() for t in train_tunes]
    if config.transpose == 0:
        return texts
    if not 0 < config.transpose <= len(DEFAULT_SHIFTS):
        raise TrainError(f"--transpose must be 0..{len(DEFAULT_SHIFTS)}, got {config.transpose}")
    rng = np.random.default_rng([config.seed, 1])
    moved, failed = augment(texts, copies=config.transpose, rng=rng)
    if failed:
        log.warning("--transpose: %d tunes have no key to move from; kept in their key", failed)
    return moved


def _window_starts(texts: Sequence[str], windows: str):
    if windows == "stream":
        return None
    if windows == "tunes":
        return tune_starts(texts)
    raise TrainError(f"unknown window placement {windows!r} (stream or tunes)")


def _replace_epochs(config: TrainConfig) -> TrainConfig:
    return replace(config, epochs=0)


def _diff(old_model, new_model, old_train, new_train) -> str:
    parts = []
    for old, new in ((old_model, new_model), (old_train, new_train)):
        for f in fields(old):
            if f.name != "epochs" and getattr(old, f.name) != getattr(new, f.name):
                parts.append(f"{f.name} {getattr(old, f.name)} there, {getattr(new, f.name)} here")
    return "; ".join(parts)


def train(
    tunes: Sequence[Tune],
    run_dir: str | Path,
    model_config: ModelConfig,
    config: TrainConfig = TrainConfig(),
    *,
    max_minutes: float | None = None,
    force: bool = False,
    progress: bool = True,
    report: Callable[[EpochRecord], None] | None = None,
    strategy: str = "default",
) -> TrainResult:
    """Train (or resume training) a model on `tunes` into `run_dir`.

    `strategy` places the work (see `musicgen.distribute`); under ``multi-worker`` every
    worker runs this same function and writes its own `run_dir`.
    """
    import keras

    from musicgen.callbacks import Checkpointer, CosineSchedule, ProgressBar, TimeBudget
    from musicgen.distribute import build_for_fit, make_strategy, shard_policy_data
    from musicgen.optim import WarmUp, make_optimizer

    placement = make_strategy(strategy)  # before any TensorFlow op fixes the devices
    if placement.workers > 1 and max_minutes is not None:
        raise TrainError(
            "--max-minutes cannot stop several workers at the same step; "
            "use --epochs with --strategy multi-worker"
        )
    run_dir = Path(run_dir)
    from musicgen import split

    ids = split.split_ids(len(tunes), config.val_fraction, config.test_fraction, config.seed)
    train_tunes, val_tunes = ([tunes[i] for i in ids[k]] for k in ("train", "validation"))
    if not force:  # a resume on another corpus would silently train on other tunes
        split.check(run_dir, tunes, "resume")
    elif run_dir.is_dir():
        split.clear(run_dir)
    train_texts = training_texts(train_tunes, config)
    if config.shuffle_tunes:
        import numpy as np

        order = np.random.default_rng([config.seed, 2]).permutation(len(train_texts))
        train_texts = [train_texts[i] for i in order]
    vocab = Vocab.from_texts([*train_texts, *(t.text() for t in val_tunes)])
    model_config = ModelConfig(**{**model_config.to_dict(), "vocab_size": len(vocab)})
    check_memory(model_config, config)
    done = prepare_run_dir(run_dir, model_config, config, vocab, force)
    split.write(run_dir, split.record(tunes, ids))
    history = [row for row in rundir.read_history(run_dir) if row["epoch"] <= done]
    best = min((r["val_loss"] for r in history if not math.isnan(r["val_loss"])), default=math.inf)
    result = TrainResult(
        run_dir, done, best, False, len(train_tunes), len(val_tunes), placement.replicas
    )
    if done >= config.epochs:
        return result
    # --max-minutes is the whole run's budget: finished epochs of earlier sessions count.
    used = sum(r["seconds"] for r in history)
    budget = None if max_minutes is None else max_minutes * 60.0
    if budget is not None and used >= budget:
        return replace(result, stopped_by_budget=True)

    keras.utils.set_random_seed(config.seed + done)  # resumed epochs still get a fixed seed
    train_ids = encode_texts(train_texts, vocab)
    # Several workers must agree on the number of steps: whole batches only, then.
    whole = placement.workers > 1
    train_ds = make_dataset(
        train_ids,
        config.seq_len,
        config.batch_size,
        shuffle=True,
        seed=config.seed + done,
        drop_remainder=whole,
        starts=_window_starts(train_texts, config.windows),
    )
    steps = len(train_ds)  # batches per epoch
    if whole:
        steps = steps // placement.workers * placement.workers
        if steps == 0:
            raise TrainError(
                f"--batch-size {config.batch_size} leaves no whole batch for each of "
                f"{placement.workers} workers; use a smaller --batch-size or --seq-len"
            )
        train_ds = shard_policy_data(train_ds.repeat())
    val_ds = None
    if val_tunes:
        val_ids = encode_stream(val_tunes, vocab)
        val_len = min(config.seq_len, len(val_ids) - 1)
        val_ds = make_dataset(val_ids, val_len, config.batch_size, shuffle=False)
        if whole:
            val_ds = shard_policy_data(val_ds)

    with placement.strategy.scope():
        model = build_model(model_config, fused=True)
        model.compile(
            optimizer=make_optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.optimizer.build(model.trainable_variables)  # so optimizer state can load
        if done:
            rundir.load_resume_weights(model, run_dir)
    build_for_fit(model, placement, train_ds)

    chars_per_epoch = len(train_ids) - 1
    checkpointer = Checkpointer(
        run_dir, model_config, config.epochs, history, best, chars_per_epoch, report
    )
    callbacks = [ProgressBar(progress), checkpointer]
    if budget is not None:
        callbacks.append(TimeBudget(budget - used))
    if config.schedule == "cosine":
        callbacks.append(
            CosineSchedule(
                config.learning_rate,
                config.min_lr,
                steps * config.epochs,
                steps * done,
                budget,
                elapsed=used,
            )
        )
    elif config.schedule != "constant":
        raise TrainError(f"unknown schedule {config.schedule!r} (cosine or constant)")
    if config.warmup_steps:
        base = None if config.schedule == "cosine" else config.learning_rate
        callbacks.append(WarmUp(config.warmup_steps, steps * done, base))  # after the schedule
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        initial_epoch=done,
        steps_per_epoch=steps if whole else None,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )  # tf.data shuffles
    return TrainResult(
        run_dir,
        checkpointer.last_epoch or done,
        checkpointer.best,
        any(isinstance(c, TimeBudget) and c.fired for c in callbacks),
        len(train_tunes),
        len(val_tunes),
        placement.replicas,
    )
