import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.abc.theory import meter_fraction
from musicgen.abc.tunes import normalize_line, parse_abc
from tests.conftest import HORNPIPE_WITH_OLD_MARKERS, JIG, TUNES_TEXT


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


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_parser_never_crashes_on_arbitrary_text(text):
    tunes, skipped = parse_abc(text)
    for tune in tunes:
        assert tune.get("K") is not None
        assert tune.text().startswith("M:")
