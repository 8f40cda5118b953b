"""What `musicgen.training.fit.train` checks before it writes anything to a run dir.

The configs check themselves when built (`musicgen.run.config.TrainConfig`,
`musicgen.models.registry.ModelConfig`); here are the checks that need more than one
config: the architecture with the training settings, the strategy with the time budget,
the memory one step needs, and the corpus with the windows.  None imports TensorFlow, so
the CLI runs the ones it can before the first TensorFlow import.
"""

from __future__ import annotations

from musicgen.errors import TrainError
from musicgen.models.registry import ModelConfig, architecture
from musicgen.run.config import TrainConfig
from musicgen.training.distribute import planned_workers


def check_placement(strategy: str, max_minutes: float | None) -> int:
    """The number of workers `strategy` trains on; `TrainError` if `max_minutes` conflicts."""
    workers = planned_workers(strategy)
    if workers > 1 and max_minutes is not None:
        raise TrainError(
            "--max-minutes cannot stop several workers at the same step; "
            "use --epochs with --strategy multi-worker"
        )
    return workers


def check_configs(model_config: ModelConfig, config: TrainConfig) -> None:
    """`TrainError` unless the architecture can train with these settings (e.g. its
    windows fit its context, and it can keep packed tunes apart)."""
    spec = architecture(model_config.arch)
    if config.windows == "packed" and "segments" not in spec.reads:
        raise TrainError(
            f"--windows packed needs a model that attends within each tune; "
            f"the {model_config.arch} cannot (use --windows tunes)"
        )
    spec.check(model_config, config)


def step_memory_bytes(model_config: ModelConfig, config: TrainConfig) -> int:
    """A generous estimate of one training step's memory in bytes: the architecture's."""
    return architecture(model_config.arch).step_memory(model_config, config)


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


def check_steps(steps: int, config: TrainConfig, ids: int, workers: int) -> None:
    """`TrainError` unless an epoch of `steps` batches over `ids` ids gives every worker
    at least one."""
    if steps == 0 and workers == 1:
        raise TrainError(
            f"not enough text for one window of {config.seq_len} characters "
            f"({ids} ids); use a smaller --seq-len or more tunes"
        )
    if steps == 0:
        raise TrainError(
            f"--batch-size {config.batch_size} leaves no whole batch for each of "
            f"{workers} workers; use a smaller --batch-size or --seq-len"
        )
