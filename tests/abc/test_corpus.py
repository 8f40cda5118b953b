"""Reading ABC files: `musicgen.abc.corpus` finds, reads and parses them, skipping bad input."""

from pathlib import Path

import music21
import pytest

from musicgen.abc.corpus import binary_reason, read_corpus, read_text
from musicgen.abc.tunes import Tune
from musicgen.errors import CorpusError
from tests.conftest import CORPUS, JIG, REEL


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


def test_a_music21_collection_is_read_by_name_from_the_installed_package():
    corpus = read_corpus(["music21:miscFolk"])
    assert len(corpus.tunes) > 100
    assert all("music21" in Path(f).parts and "miscFolk" in Path(f).parts for f in corpus.files)


def test_an_unknown_music21_collection_names_the_ones_there_are():
    with pytest.raises(CorpusError) as err:
        read_corpus(["music21:noSuchThing"])
    message = str(err.value)
    assert message.startswith("music21:noSuchThing: no such music21 collection")
    assert "ryansMammoth" in message and "\n" not in message


def test_the_same_tune_in_two_sources_is_kept_once_and_reported(tmp_path):
    first, second = tmp_path / "a.abc", tmp_path / "b.abc"
    first.write_text(JIG, encoding="utf-8")
    second.write_text(JIG.replace("T:Tiny Jig", "T:Same Jig, Other Title") + "\n" + REEL)
    corpus = read_corpus([first, second])
    assert [t.title for t in corpus.tunes] == ["Tiny Jig", "Tiny Reel"]
    assert len(corpus.skipped) == 1
    assert str(corpus.skipped[0]) == f"{second}:1: the same tune as {first}:1"


def test_repeats_inside_one_source_are_kept(tmp_path):
    path = tmp_path / "twice.abc"
    path.write_text(JIG + "\n" + JIG.replace("X:1", "X:2"), encoding="utf-8")
    assert len(read_corpus([path]).tunes) == 2
