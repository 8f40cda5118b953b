"""`musicgen.evaluation.mgeval`: per-tune histograms and MGEval's overlaps between two sets."""

from __future__ import annotations

import numpy as np
import pytest

from musicgen.evaluation.mgeval import (
    compare,
    histograms,
    inter_distances,
    intra_distances,
    overlap_area,
    pooled_overlap,
)
from musicgen.form.analysis import tune_form

SCALE = "C D E F G A B c d e C2 E2 G/ A/"
LOW = "C,2 E,2 G,2 C,4"  # C major triad, low and long: no note like the other set
HIGH = "^f ^a ^c' ^f/ ^f'/"  # F sharp major, high, and shorter notes


def forms(notes: str, n: int = 40, seed: int = 5):
    """`n` random tunes of 4 bars drawn from `notes` (ABC note names split by spaces)."""
    rng = np.random.default_rng(seed)
    choices = notes.split()
    bars = ("".join(rng.choice(choices, size=8)) for _ in range(4 * n))
    return [
        tune_form("|".join(next(bars) for _ in range(4)) + "|]", "4/4", "1/8", "C")
        for _ in range(n)
    ]


def test_histograms_count_pitch_classes_intervals_and_note_lengths():
    h = histograms(tune_form("CEG c2 z2|G,4 [CE]4|", "4/4", "1/8", "C"))
    assert h["pitch class"][[0, 4, 7]].tolist() == pytest.approx([3 / 7, 2 / 7, 2 / 7])
    # melody C E G c G, (E of the chord): +4 +3 +5 -17 (an octave at most) +9
    steps = np.flatnonzero(h["interval"]) - 12
    assert steps.tolist() == [-12, 3, 4, 5, 9]
    # eighths, a quarter, two halves: MGEval's classes 3 (8th), 2 (quarter), 1 (half)
    assert h["note length"][[1, 2, 3]].tolist() == pytest.approx([2 / 6, 1 / 6, 3 / 6])
    empty = histograms(tune_form("z8|", "4/4", "1/8", "C"))
    assert all(value is None for value in empty.values())


def test_identical_sets_overlap_fully():
    tunes = forms(SCALE)
    for o in compare(tunes, tunes):
        assert o.pooled == pytest.approx(1.0) and o.area > 0.9, o
        assert (o.tunes, o.reference_tunes) == (40, 40)


def test_disjoint_sets_do_not_overlap():
    overlaps = {o.histogram: o for o in compare(forms(HIGH), forms(LOW, seed=6))}
    for name in ("pitch class", "note length"):
        assert overlaps[name].pooled == pytest.approx(0.0) and overlaps[name].area < 0.05
    # Both sets are triads: their intervals are alike, by MGEval's measure too.
    assert overlaps["interval"].area > 0.3


def test_pooled_overlap_is_the_sum_of_minima_of_the_mean_histograms():
    a = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    assert pooled_overlap(a, [np.array([1.0, 0.0])]) == pytest.approx(0.5)
    assert pooled_overlap([], a) == 0.0


def test_distances_and_overlap_area_of_samples():
    a = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert sorted(intra_distances(a).tolist()) == pytest.approx([1.0, np.sqrt(18), 5.0])
    assert inter_distances(a[:1], a[1:]).tolist() == pytest.approx([5.0, 1.0])
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 4000), rng.normal(0, 1, 4000)
    assert overlap_area(x, y) > 0.93
    assert overlap_area(x, y + 10) < 0.01
    # Two unit Gaussians one deviation apart share 2 * Phi(-1/2) = 0.617 of their area.
    assert overlap_area(x, y + 1) == pytest.approx(0.617, abs=0.04)
