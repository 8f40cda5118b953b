import pytest

from musicgen.abc import bars
from musicgen.abc.corpus import read_corpus
from musicgen.errors import TuneError
from musicgen.run.config import TrainConfig
from musicgen.training.fim import MIDDLE, SENTINELS, SUFFIX, cut, rearrange, rearranged

TUNE = "M:6/8\nL:1/8\nK:G\n|:GAB cBA|d2e dBG|GAB cBA|1 BAG G3:|2 BAG G2z|]\n"


def test_cut_keeps_every_character_and_the_closing_bar_line_in_the_suffix():
    prefix, middle, suffix = cut(TUNE, 2, 3)
    assert prefix + middle + suffix == TUNE
    assert middle == "d2e dBG|GAB cBA"
    assert suffix.startswith("|1 BAG")


def test_rearrange_moves_the_bars_after_the_rest_between_sentinels():
    text = rearrange(TUNE, 2, 3)
    assert text == f"{cut(TUNE, 2, 3)[0]}{SUFFIX}|1 BAG G3:|2 BAG G2z|]\n{MIDDLE}d2e dBG|GAB cBA"
    with pytest.raises(TuneError, match="not within the tune's 1-5"):
        cut(TUNE, 4, 6)


def test_rearranged_moves_only_copies_about_the_share_asked_and_is_seeded(tiny_tunes):
    texts = [t.text() for t in tiny_tunes for _ in range(5)]  # each tune and 4 "copies"
    out = rearranged(texts, 0.4, seed=1, copies=4, longest=10_000)
    moved = [i for i, (a, b) in enumerate(zip(texts, out, strict=True)) if a != b]
    assert all(i % 5 for i in moved)  # every tune is still read in order once
    assert 0.25 < len(moved) / len(texts) < 0.55
    assert out == rearranged(texts, 0.4, seed=1, copies=4, longest=10_000)
    assert out != rearranged(texts, 0.4, seed=2, copies=4, longest=10_000)
    for i in moved:  # the gap is 1..4 whole bars, and the text comes back from its parts
        prefix, rest = out[i].split(SUFFIX)
        suffix, middle = rest.split(MIDDLE)
        assert prefix + middle + suffix == texts[i]
        assert 1 <= len(bars.layout(f"K:C\n{middle}|").bars) <= 4
    assert rearranged(texts, 0.0, seed=1, copies=4, longest=10_000) == texts
    assert rearranged(texts, 0.9, seed=1, copies=4, longest=20) == texts  # none fit


def test_prepare_data_with_fim_has_the_sentinels_and_plain_validation(tiny_tunes):
    from musicgen.training.fit import prepare_data

    config = TrainConfig(seq_len=512, fim=0.5, transpose=1, val_fraction=0.2)
    data = prepare_data(tiny_tunes, config)
    assert set(SENTINELS) <= set(data.vocab.chars)
    assert any(SUFFIX in text for text in data.texts)
    assert not any(SUFFIX in t.text() for t in data.val_tunes)
    plain = prepare_data(tiny_tunes, TrainConfig(seq_len=512, transpose=1, val_fraction=0.2))
    assert not set(SENTINELS) & set(plain.vocab.chars)
    assert len(data.texts) == len(plain.texts)


def test_fim_share_is_checked():
    from musicgen.errors import TrainError

    with pytest.raises(TrainError, match="fim must be in"):
        TrainConfig(fim=1.0)


def test_corpus_tunes_cut_anywhere_come_back_whole():
    tunes = read_corpus(["data/abc_tunes"]).tunes[::40]
    for tune in tunes:
        text = tune.text()
        count = len(bars.layout(text).bars)
        for first in range(1, count + 1, 3):
            assert "".join(cut(text, first, min(count, first + 1))) == text
