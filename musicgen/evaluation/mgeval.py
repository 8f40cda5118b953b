"""Do two sets of tunes sound alike?  Histogram overlaps in the manner of MGEval.

MGEval (Yang & Lerch 2018, "On the evaluation of generative models in music", the toolbox
RichardYang40148/mgeval) compares two sets feature by feature: each tune gives a feature
(here a normalised histogram); the *intra-set* distances are the Euclidean distances between
the tunes of the reference set, pair by pair, the *inter-set* distances those between each
reference tune and each tune of the other set; each set of distances is smoothed into a
probability density by a Gaussian kernel density estimate (Scott's bandwidth, as
``scipy.stats.gaussian_kde``), and the *overlapping area* of the two densities,
``∫ min(p, q)``, says how alike the sets are: 1.0 when the other set's tunes lie from the
reference's as far as the reference's own tunes lie from each other, 0.0 when they are
elsewhere.  That is `overlap_area` (MGEval's OA, the figure the literature quotes), with the
densities estimated on a grid of `GRID` points (a binned KDE, not scipy's exact sum) so
that 700 x 700 distances cost milliseconds; a bandwidth of zero (all distances equal) is
raised to `MIN_BANDWIDTH`.

Beside it, `pooled_overlap` is the simpler reading: the overlap ``sum(min(p, q))`` of the two
sets' pooled, normalised histograms (1.0 = the same distribution).

The histograms, per tune, from `musicgen.form.analysis.Form`:
- pitch class: 12 bins, C to B, every note (chord notes too), absolute as in MGEval;
- interval: semitones between consecutive melody notes (a chord's highest), -12..+12
  (wider leaps counted at the edge): 25 bins;
- note length: MGEval's 12 classes (whole, half, quarter, 8th, 16th, their dotted forms,
  and half, quarter and 8th triplets), each note's length to the nearest class (log scale).
Notes are counted as written (a tie does not join two notes; repeats are not played out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

GRID = 2048  # points of the density grid
MIN_BANDWIDTH = 1e-3  # distances of normalised histograms lie in [0, sqrt(2)]
MAX_INTERVAL = 12  # an octave: wider leaps count as an octave
# MGEval's note-length classes, in whole notes: plain, dotted, triplet.
LENGTH_CLASSES = tuple(
    map(
        Fraction,
        ("1", "1/2", "1/4", "1/8", "1/16", "3/4", "3/8", "3/16", "3/32", "1/3", "1/6", "1/12"),
    )
)
HISTOGRAMS = ("pitch class", "interval", "note length")
_LOG_CLASSES = np.log2(np.array([float(c) for c in LENGTH_CLASSES]))


@dataclass(frozen=True)
class Overlap:
    """One histogram compared between a set of tunes and a reference set."""

    histogram: str  # one of HISTOGRAMS
    pooled: float  # overlap of the pooled histograms, sum of min (1.0 = the same)
    area: float  # MGEval's overlapping area of intra- and inter-set distance densities
    tunes: int  # tunes of the set with this histogram (an interval needs two notes)
    reference_tunes: int


def histograms(form) -> dict[str, np.ndarray | None]:
    """The three histograms of one tune, each summing to 1 (None: no note to count)."""
    pitches = np.array(form.pitches, dtype=int)
    melody = np.array(form.melody, dtype=int)
    intervals = np.clip(np.diff(melody), -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
    lengths = np.array([float(length) for length in form.lengths if length > 0])
    classes = (
        np.abs(np.log2(lengths)[:, None] - _LOG_CLASSES[None, :]).argmin(axis=1)
        if lengths.size
        else lengths.astype(int)
    )
    counts = {
        "pitch class": np.bincount(pitches % 12, minlength=12),
        "interval": np.bincount(intervals, minlength=2 * MAX_INTERVAL + 1),
        "note length": np.bincount(classes, minlength=len(LENGTH_CLASSES)),
    }
    return {name: c / c.sum() if c.sum() else None for name, c in counts.items()}


def pooled_overlap(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """Overlap (sum of min) of the mean histograms of two sets: 1.0 same, 0.0 disjoint."""
    if not len(a) or not len(b):
        return 0.0
    return min(float(np.minimum(np.mean(a, axis=0), np.mean(b, axis=0)).sum()), 1.0)


def intra_distances(a: np.ndarray) -> np.ndarray:
    """Euclidean distances between every two rows of `a` (each pair once)."""
    squared = (a * a).sum(axis=1)
    gram = squared[:, None] + squared[None, :] - 2 * a @ a.T
    upper = np.triu_indices(len(a), k=1)
    return np.sqrt(np.maximum(gram[upper], 0))


def inter_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances from every row of `a` to every row of `b`."""
    gram = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(gram, 0)).ravel()


def overlap_area(x: np.ndarray, y: np.ndarray) -> float:
    """∫ min(p, q) of Gaussian KDEs of two samples (binned on `GRID` points)."""
    if len(x) == 0 or len(y) == 0:
        return 0.0
    hx, hy = _bandwidth(x), _bandwidth(y)
    low = min(x.min() - 4 * hx, y.min() - 4 * hy)
    high = max(x.max() + 4 * hx, y.max() + 4 * hy)
    grid = np.linspace(low, high, GRID)
    step = grid[1] - grid[0]
    p, q = _density(x, hx, grid, step), _density(y, hy, grid, step)
    return float(min(np.minimum(p, q).sum() * step, 1.0))


def _bandwidth(x: np.ndarray) -> float:
    """Scott's rule, scipy's default: the sample's deviation times n ** (-1/5)."""
    deviation = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    return max(deviation * len(x) ** (-1 / 5), MIN_BANDWIDTH)


def _density(x: np.ndarray, bandwidth: float, grid: np.ndarray, step: float) -> np.ndarray:
    """A Gaussian KDE of `x` on `grid`: counts per grid point, smoothed, area 1."""
    counts, _ = np.histogram(x, bins=len(grid), range=(grid[0] - step / 2, grid[-1] + step / 2))
    reach = max(1, math.ceil(4 * bandwidth / step))
    offsets = np.arange(-reach, reach + 1) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    density = np.convolve(counts, kernel / kernel.sum(), mode="same")
    return density / (density.sum() * step)


def compare(forms, reference_forms) -> list[Overlap]:
    """`Overlap` of each of `HISTOGRAMS` between a set of tune forms and a reference set."""
    ours = [histograms(f) for f in forms]
    theirs = [histograms(f) for f in reference_forms]
    found = []
    for name in HISTOGRAMS:
        a = np.array([h[name] for h in ours if h[name] is not None])
        b = np.array([h[name] for h in theirs if h[name] is not None])
        area = (
            overlap_area(intra_distances(b), inter_distances(b, a))
            if len(a) and len(b) > 1
            else 0.0
        )
        found.append(Overlap(name, pooled_overlap(a, b), area, len(a), len(b)))
    return found
