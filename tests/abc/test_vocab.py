import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicgen.abc.vocab import BOS, EOS, Vocab
from musicgen.errors import VocabError


def test_from_texts_puts_markers_first_then_sorted_characters():
    vocab = Vocab.from_texts(["cab", "b|a"])
    assert vocab.chars == (BOS, EOS, "a", "b", "c", "|")
    assert (vocab.bos, vocab.eos) == (0, 1)


@given(st.lists(st.text(min_size=1), min_size=1))
def test_decode_encode_round_trip(texts):
    vocab = Vocab.from_texts(texts)
    for text in texts:
        text = text.replace(BOS, "").replace(EOS, "")
        assert vocab.decode(vocab.encode(text)) == text
        assert vocab.encode_tune(text)[0] == vocab.bos and vocab.encode_tune(text)[-1] == vocab.eos


def test_json_round_trip():
    vocab = Vocab.from_texts(["M:6/8\nK:G\nABc|"])
    assert Vocab.from_json(vocab.to_json()) == vocab


def test_unknown_characters_are_listed():
    vocab = Vocab.from_texts(["abc"])
    with pytest.raises(VocabError, match=r"characters not in the vocabulary: '\$', 'é'"):
        vocab.encode("ab$cé$")


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "v.json: not valid JSON"),
        ('{"format": 9, "chars": []}', "v.json: unsupported vocabulary format 9"),
        ('{"format": 1, "chars": ["a"]}', "v.json: vocabulary lacks the tune start/end markers"),
        ('{"format": 1, "chars": "abc"}', "v.json: 'chars' must be a list"),
    ],
)
def test_bad_vocab_json(text, message):
    with pytest.raises(VocabError, match=message):
        Vocab.from_json(text, "v.json")
