"""What an architecture is to the rest of musicgen: an `Architecture` entry and a `Stepper`.

Each architecture's module (`musicgen.models.lstm`, `musicgen.models.transformer`) defines
one `Architecture`; `musicgen.models.registry` lists them.  Nothing outside those modules
names an architecture's layers or branches on its name: callers ask the entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import numpy as np

State = TypeVar("State")


class Stepper(Protocol[State]):
    """One-step sampling over a batch of B rows (tunes), each with its own state.

    The sampler (`musicgen.sampling.sampler.Sampler`) calls ``start`` once, then ``step``
    per character, ``reset`` when a row begins a new tune and ``take`` when rows leave.
    A state may be updated in place; callers always use the one returned.
    """

    def start(self, batch: int) -> State:
        """The state of `batch` rows that have seen nothing yet."""
        ...

    def step(self, ids: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Feed (B,) int ids, one per row; return (B, vocab) float logits and the state."""
        ...

    def reset(self, state: State, row: int) -> State:
        """Row `row` starts again from nothing."""
        ...

    def take(self, state: State, rows: list[int]) -> State:
        """The state of `rows` alone, in that order."""
        ...


@dataclass(frozen=True, kw_only=True)
class Architecture:
    """A kind of network: its defaults and every question the rest of musicgen may ask of it.

    `model` and `config` below are a Keras model and its
    `musicgen.models.registry.ModelConfig`; `train` a `musicgen.run.config.TrainConfig`.
    """

    name: str
    # Every architecture-dependent ModelConfig field, so a config that leaves one out gets
    # this architecture's value, never another's.
    model_defaults: Mapping[str, Any]
    # The ModelConfig fields the network reads; the others are stored and ignored.
    reads: tuple[str, ...]
    # TrainConfig fields that `musicgen train` starts from for this architecture.
    train_defaults: Mapping[str, Any]
    # (config, *, fused) -> keras.Model: (B, T) int ids -> (B, T, vocab) logits
    build: Callable[..., Any]
    # (model, config) -> Stepper: the cached one-step sampler over the model's weights
    stepper: Callable[[Any, Any], Stepper]
    # (model, config) -> [(layer name, attribute, expected value)] a loaded model must match
    layer_checks: Callable[[Any, Any], list]
    # (model, config, (B, T) ids) -> (B, T, vocab) numpy logits, for any T
    logits: Callable[[Any, Any, Any], Any]
    # (config, train=None) -> None: raise `musicgen.errors.TrainError` for settings it
    # cannot build (ModelConfig checks itself with it), or train with `train`
    check: Callable[..., None]
    # (config, train) -> bytes: a generous estimate of one training step's memory
    step_memory: Callable[[Any, Any], int]
    # (config) -> matrix-multiply FLOPs to train on one character
    train_flops: Callable[[Any], float]
