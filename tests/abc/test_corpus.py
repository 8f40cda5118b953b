"""Reading ABC files: `musicgen.abc.corpus` finds, reads and parses them, skipping bad input."""

from pathlib import Path

import music21
import pytest

from musicgen.abc.corpus import binary_reason, read_corpus, read_text
from musicgen.abc.tunes import Tune
from musicgen.errors import CorpusError
from tests.conftest import CORPUS


def test_bundled_corpus_loads():
    corpus = read_corpus([CORPUS])
    assert len(corpus.tunes) == 728
    assert len(corpus.skipped) == 1  # a second part separated from its tune by a blank line
    assert {t.get("L") for t in corpus.tunes} == {"1/8"}


@pytest.mark.parametrize("folder", ["nottingham-dataset", "ryansMammoth"])
def test_music21_bundled_corpora_load_without_crashing(folder):
    root = Path(music21.__file__).parent / "corpus" / folder
    corpus = read_corpus([root])
    assert len(corpus.tunes) > 0
    assert all(isinstance(t, Tune) and t.get("K") is not None for t in corpus.tunes)
    assert all(s.reason for s in corpus.skipped)  # every skip says why


def test_missing_file_error(tmp_path):
    with pytest.raises(CorpusError, match=r"nope\.abc: no such file or directory"):
        read_corpus([tmp_path / "nope.abc"])


def test_binary_file_error_names_byte_offset(tmp_path):
    path = tmp_path / "bin.abc"
    path.write_bytes(b"X:1\nK:G\nAB\xff\xfe")
    with pytest.raises(CorpusError, match=r"bin\.abc: not UTF-8 text \(byte 0xff at offset 10\)"):
        read_corpus([path])


def test_empty_file_error(tmp_path):
    path = tmp_path / "empty.abc"
    path.write_text("\n\n")
    with pytest.raises(CorpusError, match=r"empty\.abc: file is empty"):
        read_corpus([path])


def test_no_tunes_error(tmp_path):
    path = tmp_path / "prose.abc"
    path.write_text("Just some words.\nNo music here.\n")
    with pytest.raises(CorpusError, match=r"prose\.abc: no tunes found"):
        read_corpus([path])


def test_bad_file_inside_a_directory_is_skipped_not_fatal(tmp_path, tunes_file):
    (tmp_path / "junk.abc").write_bytes(b"\x00\x01\x02")
    corpus = read_corpus([tmp_path])
    assert len(corpus.tunes) == 3
    assert [s.source.endswith("junk.abc") for s in corpus.skipped] == [True]


def test_read_text_keeps_bytes_that_are_not_utf8_for_the_parser_to_skip(tmp_path):
    path = tmp_path / "mixed.abc"
    path.write_bytes(b"X:1\nT:Caf\xe9\nK:G\nABc|\n")
    text = read_text(path)
    assert "\udce9" in text  # the byte survives, as a lone surrogate
    assert binary_reason(text) == "not UTF-8 text (byte 0xe9 at offset 9)"
    assert binary_reason("X:1\nK:G\nAB\x00") == "not a text file (NUL byte at offset 10)"
    assert binary_reason("X:1\nK:G\nABc|\n") is None
