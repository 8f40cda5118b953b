from pathlib import Path

import music21
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.abc import (
    Tune,
    meter_fraction,
    normalize_line,
    parse_abc,
    read_corpus,
)
from musicgen.errors import CorpusError
from tests.conftest import CORPUS, HORNPIPE_WITH_OLD_MARKERS, JIG, TUNES_TEXT


def test_parse_splits_tunes_and_reads_headers():
    tunes, skipped = parse_abc(TUNES_TEXT, "t.abc")
    assert [t.title for t in tunes] == ["Tiny Jig", "Tiny Reel", "Old Markers"]
    assert skipped == []
    jig = tunes[0]
    assert (jig.meter, jig.unit_length, jig.key) == ("6/8", "1/8", "G Major")
    assert jig.source == "t.abc" and jig.line == 1
    assert tunes[1].line == JIG.count("\n") + 2


def test_split_at_x_line_without_blank_line():
    text = JIG.strip() + "\n" + JIG.replace("X:1", "X:1").replace("Tiny Jig", "Second")
    tunes, _ = parse_abc(text)
    assert [t.title for t in tunes] == ["Tiny Jig", "Second"]  # same X: number, two tunes


def test_old_line_end_markers_and_bookkeeping_fields_are_dropped_from_text():
    (tune,), _ = parse_abc(HORNPIPE_WITH_OLD_MARKERS)
    assert "!" not in tune.body
    assert tune.get("Z") == "id:test-1"
    assert (
        tune.text() == "M:C|\nL:1/8\nK:A Dorian\ned|cAAB cBcd|eaaf gedB|\nc2Ac B2Bc|d2de dBGB:|\n"
    )


def test_decoration_bangs_are_kept():
    assert normalize_line("A2 !trill!B2|") == "A2 !trill!B2|"
    assert normalize_line("A2 !trill!B2|!") == "A2 !trill!B2|"


def test_normalize_drops_comments_tabs_and_trailing_space():
    assert normalize_line("ab\tcd  % a comment") == "ab cd"
    assert normalize_line("50\\% off") == "50\\% off"


def test_blank_line_between_header_and_music_is_joined():
    tunes, skipped = parse_abc("X:1\nT:A\nM:C\nL:1/8\nK:D\n\nABcd|\n")
    assert len(tunes) == 1 and tunes[0].body == "ABcd|" and skipped == []


def test_tune_without_k_or_notes_is_skipped_with_reason():
    text = (
        "X:1\nT:No key\nM:C\nABC|\n\nX:2\nT:Empty\nK:G\n\nX:3\nT:Rests\nK:G\nz4|z4|\n\nwords only\n"
    )
    tunes, skipped = parse_abc(text, "bad.abc")
    assert tunes == []
    assert [str(s) for s in skipped] == [
        "bad.abc:1: no K: field before the music at line 4",
        "bad.abc:6: no notes after the K: field",
        "bad.abc:10: no notes after the K: field",
        "bad.abc:15: no header: a block of text without X:/K: fields (not a tune)",
    ]


def test_missing_headers_get_abc_defaults():
    (tune,), _ = parse_abc("X:1\nK:G\nABcd|\n")
    assert tune.meter == "none" and tune.unit_length == "1/8" and tune.title == "Untitled"
    assert tune.abc(7, "New").startswith("X:7\nT:New\nM:none\nL:1/8\nK:G\n")


@pytest.mark.parametrize(
    "meter, expected",
    [("C", 1), ("C|", 1), ("6/8", 0.75), ("2/4", 0.5), ("(2+3)/8", 0.625), ("none", None)],
)
def test_meter_fraction(meter, expected):
    value = meter_fraction(meter)
    assert (value if value is None else float(value)) == expected


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


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_parser_never_crashes_on_arbitrary_text(text):
    tunes, skipped = parse_abc(text)
    for tune in tunes:
        assert tune.get("K") is not None
        assert tune.text().startswith("M:")
