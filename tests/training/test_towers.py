"""Towers: the batch split over the cores inside one training step, same model trained."""

from __future__ import annotations

import numpy as np
import pytest

from musicgen.models.registry import ModelConfig, build_model
from musicgen.training.towers import plan_towers, split_steps

TINY = ModelConfig(
    vocab_size=11, units=16, layers=1, dropout=0.0, arch="transformer", heads=2, context=12
)


def _trained(towers: int, batches) -> list[np.ndarray]:
    import keras

    keras.utils.set_random_seed(3)
    model = build_model(TINY)
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),  # Adam would blow float order up to full steps
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    split_steps(model, towers)
    assert (model.train_step.__func__ is type(model).train_step) == (towers == 1)
    losses = [float(model.train_on_batch(x, y)) for x, y in batches]
    return [*model.get_weights(), np.array(losses)]


def test_towers_train_the_same_model_as_one_step():
    rng = np.random.default_rng(0)
    batches = []
    for size in (6, 6, 5, 1):  # uneven slices, and a batch smaller than the towers
        x = rng.integers(0, TINY.vocab_size, (size, 12)).astype(np.int32)
        batches.append((x, np.roll(x, -1, axis=1)))
    whole, split = _trained(1, batches), _trained(3, batches)
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("strategy", "batch", "cores", "towers"),
    [("default", 12, 2, 2), ("default", 12, 1, 1), ("default", 3, 8, 3), ("mirrored", 12, 2, 1)],
)
def test_plan_towers_splits_over_the_cores_only_for_the_default_strategy(
    strategy, batch, cores, towers
):
    assert plan_towers(strategy, batch, cores) == towers
