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

`train` reads as its stages: prepare the data (`prepare_data`), check everything
(`musicgen.training.checks`) before writing the run dir (`write_run_dir`), then build the
datasets, the model and the callbacks and fit (`_fit`).  A refused setting leaves no run
dir behind, or an existing one untouched.  With `init` the run is fine-tuned: its first
weights and the start of its vocabulary come from another run dir
(`musicgen.training.finetune`); with ``config.patience`` it stops early.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from musicgen.abc.tunes import Tune
from musicgen.abc.vocab import Vocab
from musicgen.form.stats import write_form_stats
from musicgen.models.registry import ModelConfig, build_model
from musicgen.run import resume, split
from musicgen.run.config import EpochRecord, TrainConfig, TrainResult
from musicgen.run.history import epochs_since_best, read_history
from musicgen.training.checks import check_configs, check_memory, check_placement, check_steps
from musicgen.training.dataset import (
    encode_texts,
    run_datasets,
    steps_per_epoch,
    training_texts,
    tune_starts,
)

__all__ = ["prepare_data", "train"]


@dataclass(frozen=True)
class RunData:
    """A corpus as one training run uses it: split, augmented, encoded, in batches."""

    split: dict  # tune numbers of each split (`musicgen.run.split.split_ids`)
    train_tunes: list[Tune]
    val_tunes: list[Tune]
    texts: list[str]  # the training texts, transposed copies included, in stream order
    vocab: Vocab  # every character of the training and validation tunes
    ids: np.ndarray  # the texts as one id stream
    starts: np.ndarray | None  # tune offsets windows also start at (None: a plain tiling)
    steps: int  # batches per epoch


@dataclass(frozen=True)
class Resumed:
    """What earlier sessions on a run dir did (nothing, for a new run)."""

    done: int  # epochs finished
    history: list[dict]  # their rows of history.csv
    best: float  # best validation loss so far (inf: none yet)
    seconds: float  # training time they used, counted against --max-minutes


@dataclass(frozen=True)
class Setup:
    """What the training model is built from."""

    model_config: ModelConfig  # with the corpus's vocab_size
    config: TrainConfig
    placement: object  # a `musicgen.training.distribute.Placement`
    start: object = None  # a fine-tuned run's `musicgen.training.finetune.Init`
    towers: int = 1  # slices of each batch run side by side (`musicgen.training.towers`)


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
    init: str | Path | None = None,
) -> TrainResult:
    """Train (or resume training) a model on `tunes` into `run_dir`.

    `strategy` places the work (see `musicgen.training.distribute`); under ``multi-worker`` every
    worker runs this same function and writes its own `run_dir`.  `init` names a run dir
    to fine-tune: `model_config` must have its shape (`musicgen.training.finetune`).
    """
    from musicgen.training.distribute import make_strategy
    from musicgen.training.finetune import check_shape, read_init
    from musicgen.training.towers import plan_towers

    run_dir = Path(run_dir)
    check_placement(strategy, max_minutes)
    towers = plan_towers(strategy, config.batch_size)  # before any TensorFlow op: threads
    placement = make_strategy(strategy)  # and devices are fixed at the first
    start = None if init is None else read_init(init)  # a bad parent: nothing written yet
    data = prepare_data(tunes, config, placement.workers, start and start.vocab)
    packed = config.windows == "packed"  # then each tune attends within itself alone
    model_config = replace(model_config, vocab_size=len(data.vocab), segments=packed)
    if start is not None:
        check_shape(start, model_config)
    check_memory(model_config, config)
    check_configs(model_config, config)
    check_steps(data.steps, config, len(data.ids), placement.workers)
    if not force:  # a resume on another corpus would silently train on other tunes
        split.check(run_dir, tunes, "resume")
        resume.read_resume_epoch(run_dir)  # an unreadable resume point, before any write
    parent = None if start is None else start.parent
    resumed = write_run_dir(run_dir, tunes, data, model_config, config, force, parent)
    result = TrainResult(
        run_dir,
        resumed.done,
        resumed.best,
        False,
        len(data.train_tunes),
        len(data.val_tunes),
        placement.replicas,
    )
    if resumed.done >= config.epochs:
        return result
    if config.patience and epochs_since_best(resumed.history) >= config.patience:
        return replace(result, stopped_early=True)  # it stopped early before this session
    # --max-minutes is the whole run's budget: finished epochs of earlier sessions count.
    budget = None if max_minutes is None else max_minutes * 60.0
    if budget is not None and resumed.seconds >= budget:
        return replace(result, stopped_by_budget=True)
    setup = Setup(model_config, config, placement, start, towers)
    return _fit(run_dir, data, setup, resumed, budget, progress, report)


def prepare_data(
    tunes: Sequence[Tune], config: TrainConfig, workers: int = 1, base: Vocab | None = None
) -> RunData:
    """Split `tunes`, augment and order the training ones, encode them and count the
    batches of an epoch (whole batches each of `workers` can share).  Writes nothing.

    A share ``config.fim`` of the texts is in fill-in-the-middle order
    (`musicgen.training.fim`).  The vocabulary is every character of the training and
    validation tunes (and the fill-in-the-middle sentinels, with ``fim``), after `base`'s
    (a fine-tuned run's parent's) if given."""
    from musicgen.training.fim import SENTINELS, rearranged
    from musicgen.training.finetune import extend_vocab

    ids = split.split_ids(len(tunes), config.val_fraction, config.test_fraction, config.seed)
    train_tunes, val_tunes = ([tunes[i] for i in ids[k]] for k in ("train", "validation"))
    texts = training_texts(train_tunes, config)
    texts = rearranged(texts, config.fim, config.seed, config.transpose, config.seq_len - 1)
    if config.shuffle_tunes:
        order = np.random.default_rng([config.seed, 2]).permutation(len(texts))
        texts = [texts[i] for i in order]
    sentinels = SENTINELS if config.fim else ()  # all of them, however few texts moved
    vocab = Vocab.from_texts([*texts, *(t.text() for t in val_tunes), *sentinels])
    vocab = vocab if base is None else extend_vocab(base, vocab)
    stream = encode_texts(texts, vocab)
    starts = None if config.windows == "stream" else tune_starts(texts)
    whole = workers > 1  # several workers must agree on the steps: whole batches only
    packed = config.windows == "packed"
    steps = steps_per_epoch(len(stream), config.seq_len, config.batch_size, starts, whole, packed)
    steps = steps // workers * workers  # checked by `check_steps`
    return RunData(ids, train_tunes, val_tunes, texts, vocab, stream, starts, steps)


def write_run_dir(
    run_dir: Path,
    tunes: Sequence[Tune],
    data: RunData,
    model_config: ModelConfig,
    config: TrainConfig,
    force: bool,
    parent=None,
) -> Resumed:
    """Create (or check and reopen) the run dir and write what a run keeps beside the
    model: config (and `parent`), vocabulary, split, form statistics.  Returns what was
    done there."""
    done = resume.prepare_run_dir(run_dir, model_config, config, data.vocab, force, parent)
    split.write(run_dir, split.record(tunes, data.split))
    write_form_stats(run_dir, data.train_tunes)  # what `sample --form auto` draws from
    history = [row for row in read_history(run_dir) if row["epoch"] <= done]
    best = min((r["val_loss"] for r in history if not math.isnan(r["val_loss"])), default=math.inf)
    return Resumed(done, history, best, sum(r["seconds"] for r in history))


def _compiled_model(setup: Setup, run_dir: Path, resumed, steps):
    """The training model under the strategy and `config.precision`, compiled; a resumed
    run's weights and optimizer state (its step count, which the schedule follows) loaded,
    or a new fine-tuned run's parent's weights, grown to its vocabulary.
    Returns the model and the schedule's budget clock (None without a time budget)."""
    import keras

    from musicgen.training.finetune import grow_weights
    from musicgen.training.optim import make_loss, make_optimizer, make_schedule
    from musicgen.training.precision import policy

    model_config, config, start = setup.model_config, setup.config, setup.start
    with setup.placement.strategy.scope(), policy(config.precision):
        clock = keras.Variable(0.0, trainable=False, name="budget_share")
        model = build_model(model_config, fused=True)
        model.compile(
            optimizer=make_optimizer(config, make_schedule(config, steps, clock)),
            loss=make_loss(),
        )
        model.optimizer.build(model.trainable_variables)  # so optimizer state can load
        if resumed.done:
            resume.load_resume_weights(model, run_dir)
        elif start is not None:
            model.set_weights(grow_weights(start, model_config.vocab_size, config.seed))
    return model, clock


def _budget_callbacks(clock, budget: float | None, used: float) -> list:
    """With a time budget: stop when it is spent, and let the schedule's decay follow it."""
    from musicgen.training.callbacks import TimeBudget
    from musicgen.training.optim import BudgetClock

    if budget is None:
        return []
    return [TimeBudget(budget - used), BudgetClock(clock, budget, used)]


def _fit(
    run_dir: Path,
    data: RunData,
    setup: Setup,
    resumed: Resumed,
    budget: float | None,
    progress: bool,
    report: Callable[[EpochRecord], None] | None,
) -> TrainResult:
    """Fit from `resumed.done` to `config.epochs` (or the budget, or early stopping) and
    say what happened.

    Initial weights come from the seed (or the parent run); a resumed run then loads its
    own.  Batch order and dropout masks depend on (seed, epoch) alone, so a resumed run
    trains exactly as an uninterrupted one.
    """
    import keras

    from musicgen.training import callbacks as cb
    from musicgen.training.distribute import build_for_fit
    from musicgen.training.towers import split_steps

    model_config, config, placement = setup.model_config, setup.config, setup.placement
    keras.utils.set_random_seed(config.seed)
    train_ds, val_ds = run_datasets(data, config, resumed.done, placement.workers)
    model, clock = _compiled_model(setup, run_dir, resumed, data.steps)
    build_for_fit(model, placement, train_ds)
    split_steps(model, setup.towers)
    checkpointer = cb.Checkpointer(
        run_dir,
        model_config,
        config.epochs,
        resumed.history,
        resumed.best,
        len(data.ids) - 1,
        report,
    )
    early = [cb.EarlyStop(config.patience, checkpointer)] if config.patience else []
    callbacks = [cb.ProgressBar(progress), checkpointer, *early, cb.DropoutSeeds(config.seed)]
    callbacks += _budget_callbacks(clock, budget, resumed.seconds)
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        initial_epoch=resumed.done,
        steps_per_epoch=data.steps,  # one iterator over all epochs' batches (see run_datasets)
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )  # the dataset holds each epoch's order
    return TrainResult(
        run_dir,
        checkpointer.last_epoch or resumed.done,
        checkpointer.best,
        any(isinstance(c, cb.TimeBudget) and c.fired for c in callbacks),
        len(data.train_tunes),
        len(data.val_tunes),
        placement.replicas,
        any(isinstance(c, cb.EarlyStop) and c.fired for c in callbacks),
    )
