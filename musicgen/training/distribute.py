"""Where training runs: one device, all local devices, or several machines (`tf.distribute`).

``--strategy default`` trains on TensorFlow's default device.  ``mirrored`` keeps a copy
of the model on every local GPU (on a machine without GPUs, on every logical CPU device,
which is one unless a program splits the CPU) and averages their gradients each step.
``multi-worker`` does the same across machines: every machine runs the same
``musicgen train`` command with its own ``TF_CONFIG`` environment variable naming the
cluster and its own place in it, the standard TensorFlow way.

In every strategy ``--batch-size`` is the *global* batch: each step consumes that many
windows in all, split evenly over the replicas, so the learning rate needs no change and
a run trains the same model (up to floating-point order) on one device or eight.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from musicgen.errors import TrainError

STRATEGIES = ("default", "mirrored", "multi-worker")


@dataclass(frozen=True)
class Placement:
    """What a strategy means for this process."""

    strategy: object  # a tf.distribute.Strategy
    replicas: int  # model copies taking part in each step, over all workers
    workers: int  # processes (machines) in the cluster
    chief: bool  # worker 0, or the only process


def make_strategy(name: str) -> Placement:
    """Build the `tf.distribute` strategy called `name` (one of `STRATEGIES`).

    Must run before any TensorFlow op: TensorFlow fixes its devices at first use.
    Raises `TrainError` for an unknown name or an unusable ``TF_CONFIG``.
    """
    import tensorflow as tf

    if name == "default":
        return Placement(tf.distribute.get_strategy(), 1, 1, True)
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
        return Placement(strategy, strategy.num_replicas_in_sync, 1, True)
    if name == "multi-worker":
        workers, index = read_tf_config(os.environ.get("TF_CONFIG"))
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        return Placement(strategy, strategy.num_replicas_in_sync, workers, index == 0)
    raise TrainError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")


def planned_workers(name: str) -> int:
    """How many workers strategy `name` will train on, read without importing TensorFlow,
    so settings that conflict with it are refused first.  Raises `TrainError` like
    `make_strategy` for an unknown name or an unusable ``TF_CONFIG``."""
    if name not in STRATEGIES:
        raise TrainError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")
    if name == "multi-worker":
        return read_tf_config(os.environ.get("TF_CONFIG"))[0]
    return 1


def read_tf_config(text: str | None) -> tuple[int, int]:
    """(number of workers, this worker's index) from a ``TF_CONFIG`` JSON string."""
    if not text:
        raise TrainError(
            "--strategy multi-worker needs TF_CONFIG, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainError(f"TF_CONFIG is not a usable cluster description ({exc})") from exc
    if task.get("type", "worker") != "worker" or not 0 <= index < len(workers):
        raise TrainError(
            f"TF_CONFIG task {task} is not one of the {len(workers)} workers in its cluster"
        )
    return len(workers), index


def shard_policy_data(dataset):
    """Split `dataset` among workers batch by batch (it is in memory, not in files)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def build_for_fit(model, placement: Placement, dataset) -> None:
    """Work around two Keras 3.15 failures of ``fit`` under ``MultiWorkerMirroredStrategy``.

    1. ``fit`` first reduces one batch across replicas to learn its shapes, a reduction
       this strategy cannot do on an (inputs, targets) pair ("Attempt to convert a value
       (PerReplica...)"): we build the loss and metrics from a plain local batch instead
       and skip that step.
    2. Each step's logged loss is reduced with ``axis=0``, which fails on a scalar
       ("Invalid reduction dimension 0"): we reduce it as the mean over workers.

    Both touch Keras internals and are checked by tests/training/test_distribute.py.  A no-op on
    one worker.
    """
    if placement.workers == 1:
        return
    with placement.strategy.scope():
        model._symbolic_build(data_batch=next(iter(dataset)))  # noqa: SLF001 - see 1.
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None  # noqa: SLF001
    _patch_step_reduction()


def _patch_step_reduction() -> None:
    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "musicgen_patch", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica.musicgen_patch = True
    trainer.reduce_per_replica = reduce_per_replica
