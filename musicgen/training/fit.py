"""Train a model (LSTM or Transformer, see `musicgen.models.registry`) into a resumable
run directory.

``model.fit`` does the work; callbacks add what a user needs around it: a tqdm bar, a
per-epoch report in bits per character, the best-validation checkpoint, history.csv, a
resume point after every epoch, and a wall-clock budget.  Running the same command on the
same run directory again continues after the last finished epoch, exactly: each epoch's
batch order and dropout masks are functions of (seed, epoch), the learning rate follows
the optimizer's step count, and weights and optimizer state come from the resume point,
so on CPU a run killed and resumed ends bit for bit where the uninterrupted one ends
(tests/run/test_faults.py).  `--max-minutes` is the whole run's budget, across resumes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from musicgen.abc.tunes import Tune
from musicgen.abc.vocab import Vocab
from musicgen.errors import TrainError
from musicgen.form.stats import write_form_stats
from musicgen.models.registry import ModelConfig, build_model
from musicgen.run import resume
from musicgen.run.config import EpochRecord, TrainConfig, TrainResult
from musicgen.run.history import read_history
from musicgen.training.dataset import (
    encode_stream,
    encode_texts,
    make_dataset,
    steps_per_epoch,
    tune_starts,
)

# The records are defined in musicgen.run.config; they are named here for the trainer's users.
__all__ = ["EpochRecord", "TrainConfig", "TrainResult", "train"]

log = logging.getLogger(__name__)


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


def training_texts(train_tunes: Sequence[Tune], config: TrainConfig) -> list[str]:
    """The training tunes' texts, each followed by `config.transpose` copies in other keys.

    The shifts come from `musicgen.abc.transpose.DEFAULT_SHIFTS`, drawn per tune with the
    run's seed; a tune that cannot be transposed (no tonic in ``K:``) stays in its key.
    Validation tunes are never transposed: they measure the corpus as it is.
    """
    import numpy as np

    from musicgen.abc.transpose import DEFAULT_SHIFTS, augment

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


def _datasets(train_ids, train_texts, val_tunes, vocab, config: TrainConfig, done, workers):
    """(train batches of epochs done..epochs, validation batches or None, steps per epoch).

    Several workers must agree on the number of steps: whole batches only, then, and a
    number of them each worker can share.
    """
    whole = workers > 1
    starts = _window_starts(train_texts, config.windows)
    steps = steps_per_epoch(len(train_ids), config.seq_len, config.batch_size, starts, whole)
    if whole:
        steps = steps // workers * workers
        if steps == 0:
            raise TrainError(
                f"--batch-size {config.batch_size} leaves no whole batch for each of "
                f"{workers} workers; use a smaller --batch-size or --seq-len"
            )
    train_ds = make_dataset(
        train_ids,
        config.seq_len,
        config.batch_size,
        shuffle=True,
        seed=config.seed,
        epochs=(done, config.epochs),
        drop_remainder=whole,
        starts=starts,
        steps=steps,
    )
    val_ds = None
    if val_tunes:
        val_ids = encode_stream(val_tunes, vocab)
        val_len = min(config.seq_len, len(val_ids) - 1)
        val_ds = make_dataset(val_ids, val_len, config.batch_size, shuffle=False)
    return train_ds, val_ds, steps


def _window_starts(texts: Sequence[str], windows: str):
    if windows == "stream":
        return None
    if windows == "tunes":
        return tune_starts(texts)
    raise TrainError(f"unknown window placement {windows!r} (stream or tunes)")


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

    `strategy` places the work (see `musicgen.training.distribute`); under ``multi-worker`` every
    worker runs this same function and writes its own `run_dir`.
    """
    import keras

    from musicgen.training.callbacks import (
        Checkpointer,
        CosineSchedule,
        DropoutSeeds,
        ProgressBar,
        TimeBudget,
    )
    from musicgen.training.distribute import build_for_fit, make_strategy, shard_policy_data
    from musicgen.training.optim import WarmUp, make_optimizer

    placement = make_strategy(strategy)  # before any TensorFlow op fixes the devices
    if placement.workers > 1 and max_minutes is not None:
        raise TrainError(
            "--max-minutes cannot stop several workers at the same step; "
            "use --epochs with --strategy multi-worker"
        )
    run_dir = Path(run_dir)
    from musicgen.run import split

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
    done = resume.prepare_run_dir(run_dir, model_config, config, vocab, force)
    split.write(run_dir, split.record(tunes, ids))
    write_form_stats(run_dir, train_tunes)  # what `sample --form auto` draws from
    history = [row for row in read_history(run_dir) if row["epoch"] <= done]
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

    # Initial weights from the seed; a resumed run then loads its own (and the optimizer's
    # step count, which the schedule follows).  Batch order and dropout masks depend on
    # (seed, epoch) alone, so a resumed run trains exactly as an uninterrupted one.
    keras.utils.set_random_seed(config.seed)
    train_ids = encode_texts(train_texts, vocab)
    train_ds, val_ds, steps = _datasets(
        train_ids, train_texts, val_tunes, vocab, config, done, placement.workers
    )
    whole = placement.workers > 1
    if whole:  # each worker reads its share of the batches: never let one run dry
        train_ds = shard_policy_data(train_ds.repeat())
        val_ds = None if val_ds is None else shard_policy_data(val_ds)

    with placement.strategy.scope():
        model = build_model(model_config, fused=True)
        model.compile(
            optimizer=make_optimizer(config),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.optimizer.build(model.trainable_variables)  # so optimizer state can load
        if done:
            resume.load_resume_weights(model, run_dir)
    build_for_fit(model, placement, train_ds)
    step = int(model.optimizer.iterations.numpy())  # global steps done (0, or resumed)

    checkpointer = Checkpointer(
        run_dir, model_config, config.epochs, history, best, len(train_ids) - 1, report
    )
    callbacks = [ProgressBar(progress), checkpointer, DropoutSeeds(config.seed)]
    if budget is not None:
        callbacks.append(TimeBudget(budget - used))
    if config.schedule == "cosine":
        total = steps * config.epochs
        schedule = CosineSchedule(config.learning_rate, config.min_lr, total, step, budget, used)
        callbacks.append(schedule)
    elif config.schedule != "constant":
        raise TrainError(f"unknown schedule {config.schedule!r} (cosine or constant)")
    if config.warmup_steps:
        base = None if config.schedule == "cosine" else config.learning_rate
        callbacks.append(WarmUp(config.warmup_steps, step, base))  # after the schedule
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        initial_epoch=done,
        steps_per_epoch=steps,  # one iterator over all epochs' batches (see _datasets)
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )  # the dataset holds each epoch's order
    return TrainResult(
        run_dir,
        checkpointer.last_epoch or done,
        checkpointer.best,
        any(isinstance(c, TimeBudget) and c.fired for c in callbacks),
        len(train_tunes),
        len(val_tunes),
        placement.replicas,
    )
