"""Tunes -> integer id streams -> ``tf.data`` windows for next-character training.

The train/validation split is by tune, never by window, so no validation tune leaks into
training through an overlapping window.  Windows are cut from one concatenated id stream
(``BOS tune EOS BOS tune EOS ...``); the target is the input shifted by one character.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musicgen.abc import Tune
from musicgen.errors import TrainError
from musicgen.vocab import Vocab


def split_tunes(
    tunes: Sequence[Tune], val_fraction: float, seed: int
) -> tuple[list[Tune], list[Tune]]:
    """Shuffle tunes with `seed` and set `val_fraction` of them aside for validation.

    At least one tune goes to each side when `val_fraction` > 0 and there are two or more.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise TrainError(f"validation fraction must be in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(tunes))
    n_val = 0
    if val_fraction > 0 and len(tunes) >= 2:
        n_val = min(len(tunes) - 1, max(1, round(len(tunes) * val_fraction)))
    val = [tunes[i] for i in sorted(order[:n_val])]
    train = [tunes[i] for i in sorted(order[n_val:])]
    return train, val


def encode_stream(tunes: Sequence[Tune], vocab: Vocab) -> np.ndarray:
    """All tunes as one int32 stream of ids: ``BOS text EOS`` per tune."""
    if not tunes:
        return np.zeros(0, dtype=np.int32)
    return np.concatenate([vocab.encode_tune(t.text()) for t in tunes])


def window_count(stream_len: int, seq_len: int) -> int:
    """How many non-overlapping (input, target) windows of `seq_len` fit in a stream."""
    return max(0, (stream_len - 1) // seq_len)


def make_dataset(
    ids: np.ndarray,
    seq_len: int,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    drop_remainder: bool = False,
):
    """A ``tf.data.Dataset`` of (input, target) int32 batches of shape (B, seq_len).

    Windows are non-overlapping slices of `ids`; with `shuffle` the window order changes
    every epoch, reproducibly for a given `seed`.
    """
    import tensorflow as tf

    n = window_count(len(ids), seq_len)
    if n == 0:
        raise TrainError(
            f"not enough text for one window of {seq_len} characters "
            f"({len(ids)} ids); use a smaller --seq-len or more tunes"
        )
    # (n, seq_len + 1): each row holds an input window and its target, shifted by one.
    starts = np.arange(n) * seq_len
    rows = ids[starts[:, None] + np.arange(seq_len + 1)[None, :]]
    ds = tf.data.Dataset.from_tensor_slices(rows)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(split_input_target, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def split_input_target(rows):
    """(B, T+1) -> ((B, T) input, (B, T) target shifted by one)."""
    return rows[:, :-1], rows[:, 1:]
