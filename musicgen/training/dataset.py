"""Tunes -> integer id streams -> ``tf.data`` windows for next-character training.

The train/validation split is by tune, never by window, so no validation tune leaks into
training through an overlapping window.  Windows are cut from one concatenated id stream
(``BOS tune EOS BOS tune EOS ...``); the target is the input shifted by one character.
They either tile the stream end to end, or start at each tune's ``BOS`` and every
`seq_len` characters after it, so that every tune's headers are learned from the zero
LSTM state the sampler starts from (`window_starts`), or hold whole tunes packed side by
side (`pack`), for a Transformer that attends within each tune alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from musicgen.abc.tunes import Tune
from musicgen.abc.vocab import Vocab
from musicgen.errors import TrainError
from musicgen.run.config import TrainConfig

log = logging.getLogger(__name__)


def split_tunes(
    tunes: Sequence[Tune], val_fraction: float, seed: int
) -> tuple[list[Tune], list[Tune]]:
    """Shuffle tunes with `seed` and set `val_fraction` of them aside for validation.

    At least one tune goes to each side when `val_fraction` > 0 and there are two or more.
    """
    from musicgen.run.split import split_ids  # the one definition of the split (and test set)

    ids = split_ids(len(tunes), val_fraction, 0.0, seed)
    return [tunes[i] for i in ids["train"]], [tunes[i] for i in ids["validation"]]


def encode_stream(tunes: Sequence[Tune], vocab: Vocab) -> np.ndarray:
    """All tunes as one int32 stream of ids: ``BOS text EOS`` per tune."""
    return encode_texts([t.text() for t in tunes], vocab)


def encode_texts(texts: Sequence[str], vocab: Vocab) -> np.ndarray:
    """Tune texts (as `Tune.text` gives them) as one int32 stream: ``BOS text EOS`` each."""
    if not texts:
        return np.zeros(0, dtype=np.int32)
    return np.concatenate([vocab.encode_tune(text) for text in texts])


def training_texts(train_tunes: Sequence[Tune], config: TrainConfig) -> list[str]:
    """The training tunes' texts, each followed by `config.transpose` copies in other keys.

    The shifts come from `musicgen.abc.transpose.DEFAULT_SHIFTS`, drawn per tune with the
    run's seed; a tune that cannot be transposed (no tonic in ``K:``) stays in its key.
    Validation tunes are never transposed: they measure the corpus as it is.
    """
    from musicgen.abc.transpose import augment

    texts = [t.text() for t in train_tunes]
    if config.transpose == 0:
        return texts
    rng = np.random.default_rng([config.seed, 1])
    moved, failed = augment(texts, copies=config.transpose, rng=rng)
    if failed:
        log.warning("--transpose: %d tunes have no key to move from; kept in their key", failed)
    return moved


def tune_context(vocab: Vocab, train_config) -> list[int]:
    """The ids a tune is sampled and scored after, from the zero LSTM state.

    It is what training put there (the run's `musicgen.run.config.TrainConfig`): with
    ``windows="tunes"`` a window opens at each tune's ``BOS``; with ``"stream"`` (and in
    runs from before the option, or the lab's) a tune only ever follows an ``EOS``.
    """
    if train_config.windows in ("tunes", "packed"):
        return [vocab.bos]
    return [vocab.eos, vocab.bos]


def window_count(stream_len: int, seq_len: int) -> int:
    """How many non-overlapping (input, target) windows of `seq_len` fit in a stream."""
    return max(0, (stream_len - 1) // seq_len)


def tune_starts(texts: Sequence[str]) -> np.ndarray:
    """Offset of each tune's ``BOS`` in the stream `encode_texts` makes of `texts`."""
    lengths = [len(text) + 2 for text in texts]  # BOS text EOS
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)


def window_starts(stream_len: int, seq_len: int, starts: np.ndarray | None = None) -> np.ndarray:
    """First index of each (input, target) window of `seq_len` in a stream.

    Without `starts`, windows tile the stream end to end.  With `starts` (tune offsets),
    each tune gets windows at its ``BOS`` and every `seq_len` after, up to its end; the
    last may run on into the next tune, whose own first window then overlaps it.
    """
    if starts is None:
        return np.arange(window_count(stream_len, seq_len), dtype=np.int64) * seq_len
    pieces = tune_pieces(stream_len, seq_len, starts)
    first = np.array([offset for offset, _ in pieces], dtype=np.int64)
    return first[first + seq_len + 1 <= stream_len]


def tune_pieces(stream_len: int, seq_len: int, starts: np.ndarray) -> list[tuple[int, int]]:
    """(offset, length) of each tune's pieces of at most ``seq_len + 1`` ids: the tune from
    its ``BOS`` to its ``EOS``, cut every `seq_len` ids when longer (each piece's last id
    is the next one's first): where `window_starts` opens a tune's windows."""
    ends = np.append(starts[1:], stream_len)
    pieces = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        for first in range(start, max(start + 1, end - 1), seq_len):
            pieces.append((first, min(seq_len + 1, end - first)))
    return pieces


def pack(stream_len: int, seq_len: int, starts: np.ndarray) -> list[list[tuple[int, int]]]:
    """Rows of ``seq_len + 1`` ids, each a list of the (offset, length) pieces it holds.

    A piece that continues a tune past its first (no ``BOS`` of its own) opens a row, so
    that nothing of another tune comes before it.  Then best fit, longest piece first:
    each tune's first piece goes to the fullest row it fits in, so a corpus of short tunes
    fills its rows almost to the end.  A function of the lengths alone: every epoch and
    every resume packs alike.
    """
    import bisect

    pieces = tune_pieces(stream_len, seq_len, starts)
    first = set(starts.tolist())
    rows: list[list[tuple[int, int]]] = []
    free: list[tuple[int, int]] = []  # (room left, row number), sorted
    for offset, length in sorted(pieces, key=lambda p: (p[0] in first, -p[1], p[0])):
        at = bisect.bisect_left(free, (length, -1)) if offset in first else len(free)
        if at < len(free):
            room, row = free.pop(at)
            rows[row].append((offset, length))
        else:
            room, row = seq_len + 1, len(rows)
            rows.append([(offset, length)])
        if room - length > 1:  # room for at least an input and its target
            bisect.insort(free, (room - length, row))
    return rows


def packed_rows(ids: np.ndarray, seq_len: int, starts: np.ndarray):
    """(rows, weights): `pack`'s rows of `ids`, (n, seq_len + 1) int32, and (n, seq_len)
    float32 loss weights: 1 for each piece's own targets, 0 where one piece's last id
    would predict the next piece's ``BOS`` and on the padding (id 0) after the last."""
    layout = pack(len(ids), seq_len, starts)
    rows = np.zeros((len(layout), seq_len + 1), dtype=np.int32)
    weights = np.zeros((len(layout), seq_len), dtype=np.float32)
    for r, pieces in enumerate(layout):
        at = 0
        for offset, length in pieces:
            rows[r, at : at + length] = ids[offset : offset + length]
            weights[r, at : at + length - 1] = 1.0  # a piece's last id predicts nothing
            at += length
    return rows, weights


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of `n` windows in `epoch` (0-based): a function of (seed, epoch) alone."""
    return np.random.default_rng([seed, 3, epoch]).permutation(n)


def steps_per_epoch(
    stream_len: int,
    seq_len: int,
    batch_size: int,
    starts: np.ndarray | None = None,
    drop_remainder: bool = False,
    packed: bool = False,
) -> int:
    """Batches in one epoch of `make_dataset` over a stream of `stream_len` ids."""
    if packed:
        n = len(pack(stream_len, seq_len, starts))
    else:
        n = len(window_starts(stream_len, seq_len, starts))
    return n // batch_size if drop_remainder else -(-n // batch_size)


def make_dataset(
    ids: np.ndarray,
    seq_len: int,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    epochs: tuple[int, int] = (0, 1),
    drop_remainder: bool = False,
    starts: np.ndarray | None = None,
    steps: int | None = None,
    packed: bool = False,
):
    """A ``tf.data.Dataset`` of (input, target) int32 batches of shape (B, seq_len).

    Windows are slices of `ids` placed by `window_starts` (tiling the stream, or from
    each of the tune offsets `starts`), or with `packed` the rows `pack` fills with whole
    tunes, each batch then (input, target, loss weight).  With `shuffle`, the dataset
    holds the batches of the epochs ``range(*epochs)`` one after another, each epoch in the order
    `epoch_order` draws from (`seed`, epoch): a run resumed at epoch k sees the batches an
    uninterrupted run sees from epoch k on.  `steps` keeps the first `steps` batches of
    each epoch (so several workers all get whole batches).
    """
    import tensorflow as tf

    if packed:
        rows, weights = packed_rows(ids, seq_len, starts)
    else:
        first = window_starts(len(ids), seq_len, starts)
        # (n, seq_len + 1): each row holds an input window and its target, shifted by one.
        rows = ids[first[:, None] + np.arange(seq_len + 1)[None, :]]
    n = len(rows)
    if n == 0:
        raise TrainError(
            f"not enough text for one window of {seq_len} characters "
            f"({len(ids)} ids); use a smaller --seq-len or more tunes"
        )
    if packed:  # the weights ride in the rows' table as one more int column per target
        rows = np.concatenate([rows, weights.astype(np.int32)], axis=1)
    if not shuffle:
        ds = tf.data.Dataset.from_tensor_slices(rows).batch(batch_size, drop_remainder)
    else:
        orders = np.array([epoch_order(n, seed, e) for e in range(*epochs)]).reshape(-1, n)
        table = tf.constant(rows)
        keep = -1 if steps is None else steps  # take(-1): all of them

        def epoch(order):  # one epoch's batches of window numbers, (B,) each
            return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder)

        ds = tf.data.Dataset.from_tensor_slices(orders)  # (epochs, n)
        ds = ds.flat_map(lambda order: epoch(order).take(keep))
        ds = ds.map(lambda index: tf.gather(table, index))  # (B, seq_len + 1)
    split = split_weighted if packed else split_input_target
    ds = ds.map(split, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def run_datasets(data, config: TrainConfig, done: int, workers: int):
    """(train batches of epochs done..epochs, validation batches or None) of `data`, a
    `musicgen.training.fit.RunData`.

    Under several workers each reads its share of the batches, from a dataset repeated so
    that none runs dry.
    """
    from musicgen.training.distribute import shard_policy_data

    whole = workers > 1
    train_ds = make_dataset(
        data.ids,
        config.seq_len,
        config.batch_size,
        shuffle=True,
        seed=config.seed,
        epochs=(done, config.epochs),
        drop_remainder=whole,
        starts=data.starts,
        steps=data.steps,
        packed=config.windows == "packed",
    )
    val_ds = None
    if data.val_tunes:
        val_ids = encode_stream(data.val_tunes, data.vocab)
        val_len = min(config.seq_len, len(val_ids) - 1)
        val_ds = make_dataset(val_ids, val_len, config.batch_size, shuffle=False)
    if whole:
        train_ds = shard_policy_data(train_ds.repeat())
        val_ds = None if val_ds is None else shard_policy_data(val_ds)
    return train_ds, val_ds


def split_input_target(rows):
    """(B, T+1) -> ((B, T) input, (B, T) target shifted by one)."""
    return rows[:, :-1], rows[:, 1:]


def split_weighted(rows):
    """(B, 2T+1) packed rows and their weights -> (input, target, float32 loss weights)."""
    import tensorflow as tf

    steps = (tf.shape(rows)[1] - 1) // 2
    ids, weights = rows[:, : steps + 1], rows[:, steps + 1 :]
    return ids[:, :-1], ids[:, 1:], tf.cast(weights, tf.float32)
