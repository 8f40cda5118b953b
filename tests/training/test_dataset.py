import numpy as np
import pytest

from musicgen.abc.vocab import Vocab
from musicgen.errors import TrainError
from musicgen.training.dataset import (
    encode_stream,
    encode_texts,
    make_dataset,
    pack,
    split_tunes,
    steps_per_epoch,
    tune_pieces,
    tune_starts,
    window_count,
)


def test_split_is_by_tune_seeded_and_disjoint(tiny_tunes):
    train, val = split_tunes(tiny_tunes, 0.25, seed=1)
    assert len(val) == 6 and len(train) == 19
    assert {id(t) for t in train}.isdisjoint({id(t) for t in val})
    assert split_tunes(tiny_tunes, 0.25, seed=1) == (train, val)
    assert split_tunes(tiny_tunes, 0.25, seed=2) != (train, val)


def test_split_keeps_one_tune_each_side_when_small(tiny_tunes):
    train, val = split_tunes(tiny_tunes[:2], 0.1, seed=0)
    assert len(train) == 1 and len(val) == 1
    assert split_tunes(tiny_tunes[:3], 0.0, seed=0)[1] == []
    with pytest.raises(TrainError, match="validation fraction"):
        split_tunes(tiny_tunes, 1.0, seed=0)


def test_stream_marks_every_tune(tiny_tunes):
    vocab = Vocab.from_texts(t.text() for t in tiny_tunes)
    ids = encode_stream(tiny_tunes[:3], vocab)
    assert ids.dtype == np.int32
    assert (ids == vocab.bos).sum() == 3 and (ids == vocab.eos).sum() == 3
    assert vocab.decode(ids).split("\x03\x02")[1] == tiny_tunes[1].text()


def test_windows_have_shape_and_are_shifted_by_one():
    ids = np.arange(1000, dtype=np.int32) % 50
    ds = make_dataset(ids, seq_len=30, batch_size=4, shuffle=True, seed=0, drop_remainder=True)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == window_count(1000, 30) // 4
    for x, y in batches:
        assert x.shape == y.shape == (4, 30) and x.dtype == np.int32
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
        np.testing.assert_array_equal(y[:, -1], (x[:, -1] + 1) % 50)


def test_shuffle_is_seeded():
    ids = np.arange(2000, dtype=np.int32)

    def first(seed):
        return next(make_dataset(ids, 10, 8, shuffle=True, seed=seed).as_numpy_iterator())[0]

    np.testing.assert_array_equal(first(5), first(5))
    assert not np.array_equal(first(5), first(6))


def test_each_epochs_order_depends_on_seed_and_epoch_only():
    """A run resumed at epoch 2 sees the batches an uninterrupted run sees from epoch 2."""
    from musicgen.training.dataset import steps_per_epoch

    ids = np.arange(2000, dtype=np.int32)
    steps = steps_per_epoch(len(ids), 10, 8)
    assert steps == 25  # 199 windows: 24 whole batches and one of 7

    def batches(epochs, seed=5):
        ds = make_dataset(ids, 10, 8, shuffle=True, seed=seed, epochs=epochs)
        return [x for x, _ in ds.as_numpy_iterator()]

    whole = batches((0, 3))
    assert len(whole) == 3 * steps and len(whole[steps - 1]) == 7
    resumed = batches((2, 3))
    assert len(resumed) == steps
    assert all(np.array_equal(a, b) for a, b in zip(resumed, whole[2 * steps :], strict=True))
    assert not np.array_equal(whole[0], whole[steps])  # a new order every epoch
    # Every window once per epoch.
    firsts = np.sort(np.concatenate([x[:, 0] for x in whole[steps : 2 * steps]]))
    np.testing.assert_array_equal(firsts, np.arange(199) * 10)
    # steps keeps that many whole batches of each epoch (several workers).
    kept = make_dataset(ids, 10, 8, shuffle=True, seed=5, epochs=(0, 2), steps=4)
    assert [len(x) for x, _ in kept.as_numpy_iterator()] == [8] * 8


def test_too_little_text_is_a_clear_error():
    with pytest.raises(TrainError, match="not enough text for one window of 100"):
        make_dataset(np.zeros(50, dtype=np.int32), 100, 8, shuffle=False)


def test_tune_aligned_windows_start_at_every_bos(tiny_tunes):
    from musicgen.training.dataset import tune_starts, window_starts

    vocab = Vocab.from_texts(t.text() for t in tiny_tunes)
    ids = encode_stream(tiny_tunes, vocab)
    starts = tune_starts([t.text() for t in tiny_tunes])
    assert (ids[starts] == vocab.bos).all() and len(starts) == len(tiny_tunes)
    first = window_starts(len(ids), 64, starts)
    assert set(starts[starts + 65 <= len(ids)]) <= set(first)  # each tune opens a window
    assert (first + 65 <= len(ids)).all()
    assert len(first) > window_count(len(ids), 64)  # tune ends overlap the next tune
    rows = next(make_dataset(ids, 64, 500, shuffle=False, starts=starts).as_numpy_iterator())[0]
    assert (rows[:, 0] == vocab.bos).sum() == (starts + 65 <= len(ids)).sum()


def _stream(lengths):
    """A stream of tunes of these text lengths, and their starts (BOS text EOS each)."""
    texts = ["a" * n for n in lengths]
    vocab = Vocab.from_texts(texts)
    return encode_texts(texts, vocab), tune_starts(texts), vocab


def test_pack_holds_every_piece_once_and_each_tune_from_its_start():
    ids, starts, _ = _stream([90, 500, 20, 383, 384, 7, 150, 150, 40])
    rows = pack(len(ids), 128, starts)
    pieces = sorted(p for row in rows for p in row)
    assert pieces == sorted(tune_pieces(len(ids), 128, starts))
    assert all(sum(length for _, length in row) <= 129 for row in rows)
    first = set(starts.tolist())
    for row in rows:  # a tune's continuation only ever opens a row
        assert all(offset in first for offset, _ in row[1:])
    # Every character of the stream is some piece's: targets cover the stream once.
    targets = sum(length - 1 for _, length in pieces)
    assert targets == len(ids) - len(starts)


def test_pack_fills_rows_with_short_tunes():
    ids, starts, _ = _stream([40 + (i * 37) % 150 for i in range(200)])
    rows = pack(len(ids), 384, starts)
    used = sum(length for row in rows for _, length in row)
    assert used / (len(rows) * 385) > 0.95  # 63 rows where 62 is the least possible


def test_packed_batches_weigh_only_real_targets():
    ids, starts, vocab = _stream([30, 12, 61, 5, 44, 60])  # each fits a row
    ds = make_dataset(
        ids, seq_len=64, batch_size=2, shuffle=True, seed=0, starts=starts, packed=True
    )
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == steps_per_epoch(len(ids), 64, 2, starts, packed=True)
    weighted = 0
    for x, y, w in batches:
        assert x.shape == y.shape == w.shape and x.shape[1] == 64 and w.dtype == np.float32
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
        for row_x, row_y, row_w in zip(x, y, w, strict=True):
            assert row_x[0] == vocab.bos  # every row opens with a tune
            assert (row_w[row_y == vocab.bos] == 0).all()  # no tune is asked to follow another
        weighted += int(w.sum())
    assert weighted == len(ids) - len(starts)  # every target once, no padding scored
