"""`musicgen check`: per-tune verdicts, a summary with rates, exit 1 on any invalid tune."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from musicgen.cli import main
from musicgen.evaluation.abc2midi import have_abc2midi
from musicgen.form.phrases import PHRASE_RATES
from tests.conftest import JIG, REEL

SHORT_BAR = "X:5\nT:Short Bar\nM:6/8\nL:1/8\nK:G\nGAB c2d|e3 d2|cBA G3|]\n"
NO_NUMBER = "T:No Number\nM:C\nL:1/8\nK:D\nABcd efga|gfed cBAG|\n"


def run(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.abc"
    path.write_text(JIG + "\n" + REEL, encoding="utf-8")
    return path


@pytest.fixture
def mixed(tmp_path):
    path = tmp_path / "mixed.abc"
    path.write_text("\n".join([JIG, SHORT_BAR, NO_NUMBER]), encoding="utf-8")
    return path


def test_valid_file_exits_0_with_one_line_per_tune_and_rates(good):
    result = run(good, "--no-abc2midi")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["1", "Tiny", "Jig", "valid,"]
    assert lines[0].endswith(" 16 notes")  # as written: repeats not played out, rests not notes
    assert lines[1].split()[:2] == ["2", "Tiny"]
    assert "tunes 2 (skipped 0)" in result.output
    assert "valid                              2/2     100.0%" in result.output


def test_invalid_tunes_exit_1_and_say_why(mixed):
    result = run(mixed, "--no-abc2midi")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "INVALID, BARS" in lines[1] and "bar holds" in lines[1]
    assert "INVALID" in lines[2] and lines[2].endswith("no X: header")
    assert "valid                              1/3      33.3%" in result.output
    assert "headers X: T: K:                   2/3      66.7%" in result.output


def test_verbose_lists_every_problem_under_its_tune(mixed):
    result = run(mixed, "--no-abc2midi", "-v")
    lines = result.output.splitlines()
    assert "INVALID, BARS" in lines[1] and "bar holds" in lines[2]
    assert lines[3].split()[:3] == ["3", "No", "Number"] and lines[4].strip() == "no X: header"


def test_json_has_the_summary_and_every_tune(mixed):
    result = run(mixed, "--no-abc2midi", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["summary"]["tunes"] == 3 and data["summary"]["valid"] == 1
    assert data["summary"]["judge"] == "musicgen grammar (lenient)"
    third = data["tunes"][2]
    assert third["missing_headers"] == ["X"] and third["problems"] == ["no X: header"]
    assert [t["notes"] for t in data["tunes"]] == [16, 11, 16]


@pytest.mark.skipif(not have_abc2midi(), reason="abc2midi not installed")
def test_abc2midi_judges_bars_and_names_the_bar(mixed):
    result = run(mixed)
    lines = result.output.splitlines()
    assert "valid, BARS" in lines[1]
    # the file's line 13, the bar line closing the second bar (abc2midi: "Bar 1", from 0)
    assert lines[1].endswith(
        "line 13, column 14: bar 2 has 5 time units while the time signature has 6"
    )
    assert "parses (abc2midi)" in result.output and "abc2midi: no errors" in result.output


# A tune after a preamble, with header lines the canonical text drops and comments.
LATE = """% tunes for the check
%%abc-version 2.1

X:1
T:Graced
% transcribed by ear
R:reel
M: 4/4
L:1/8
K: G

GABc {g}dedB|{/a}dedB dedB|
% the B part
c2ec B2dB|c2A2 {gab}A2 A3|]
"""


@pytest.fixture
def late(tmp_path):
    path = tmp_path / "late.abc"
    path.write_text(LATE, encoding="utf-8")
    return path


def test_grace_notes_are_valid_without_abc2midi(tmp_path):
    path = tmp_path / "grace.abc"
    path.write_text(LATE.replace("A2 A3|]", "A2 A2|]"), encoding="utf-8")
    result = run(path, "--no-abc2midi")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[2:5] == ["valid,", "bars", "ok"]


def test_grammar_problems_point_at_the_file_line_and_column(late):
    result = run(late, "--no-abc2midi", "-v")
    assert result.exit_code == 1
    # line 14 of the file: the A3 overfills the bar (the grace notes take no time)
    assert (
        result.output.splitlines()[1]
        .strip()
        .startswith("line 14, column 26: '|': bar holds 48/64 ticks")
    )


@pytest.mark.skipif(not have_abc2midi(), reason="abc2midi not installed")
def test_abc2midi_problems_point_at_the_file_line_and_column(late):
    result = run(late, "-v")
    assert result.output.splitlines()[1].strip() == (
        "line 14, column 26: bar 4 has 9/2 time units while the time signature has 4"
    )


@pytest.mark.parametrize("judge", ["--no-abc2midi", None])
def test_a_bad_key_is_flagged_as_a_key_not_bars(tmp_path, judge):
    if judge is None and not have_abc2midi():
        pytest.skip("abc2midi not installed")
    path = tmp_path / "key.abc"
    path.write_text(LATE.replace("K: G", "K: H Major").replace("A2 A3|]", "A2 A2|]"))
    result = run(path, *([judge] if judge else []))
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert "INVALID, bars ok, KEY" in first
    assert first.endswith(
        "line 10, column 4: K:H Major: H is not a key (a tonic A-G with "
        + ("# or b, HP, Hp or none)")
    )
    assert "K: names a key                     0/1" in result.output


def test_missing_file_is_a_one_line_error(tmp_path):
    result = run(tmp_path / "nope.abc")
    assert result.exit_code == 1 and "no such file" in result.output
    assert len(result.output.strip().splitlines()) == 1


AABB = """X:7
T:Two Parts
M:4/4
L:1/8
K:C
|:CDEF GABc|dcBA GFED|CEGc dBGE|FAcA GFED|CDEF GABc|dcBA GFED|CEGc BGdB|c8:|
|:cdef gabc'|bagf edcB|cege fdfa|gfed cBAG|cdef gabc'|bagf edcB|cege fdBd|c8:|
"""


def test_each_tune_shows_its_form_and_the_summary_its_rates(good):
    result = run(good, "--no-abc2midi")
    lines = result.output.splitlines()
    assert lines[0].split()[6:8] == ["AA", "3"]  # |: 2 bars |1 1 bar :|2 ... |]
    assert lines[1].split()[6:8] == ["AA", "4"]  # pickup + 3 bars + completion
    assert rate_line(result.output, "a single part, nothing else") == ["2/2", "100.0%"]
    assert rate_line(result.output, "last note is the tonic") == ["2/2", "100.0%"]
    assert rate_line(result.output, "B part higher than A (of AB..)") == ["0/0", "0.0%"]


def rate_line(output: str, label: str) -> list[str]:
    """The figures after `label` on its summary line."""
    (line,) = [line for line in output.splitlines() if line.startswith(label)]
    return line[len(label) :].split()


def test_against_a_corpus_puts_its_rates_beside_and_the_overlaps(tmp_path, good):
    corpus = tmp_path / "corpus.abc"
    corpus.write_text(AABB + "\n" + AABB.replace("X:7", "X:8"), encoding="utf-8")
    result = run(good, "--no-abc2midi", "--against", corpus)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = lines.index(f"against {corpus} (2 tunes)")
    assert lines[at + 1].split() == ["this", "file", "corpus"]
    assert lines[at + 3].split()[-2:] == ["0.0%", "100.0%"]  # two parts AABB, 8 bars each
    assert lines[at + 3].startswith("two parts AABB, 8 bars each")
    assert lines[at + 7].startswith("B part higher than A") and lines[at + 7].split()[-2:] == [
        "-",
        "100.0%",
    ]  # no tune of the file has a B part
    assert lines[at + 8].startswith("A part ends on the tonic")  # issue 14's phrase rates
    assert lines[at + 11].startswith("B's last bar is A's (notes)")
    at += len(PHRASE_RATES)
    assert lines[at + 8].split() == "overlap (1.0 = the same) MGEval OA pooled tunes".split()
    rows = [line.split() for line in lines[at + 9 : at + 12]]
    assert [" ".join(row[:-3]) for row in rows] == ["pitch class", "interval", "note length"]
    assert all(row[-1] == "2/2" and 0 <= float(row[-3]) <= 1 for row in rows)
    assert len(lines) == at + 12


def test_against_in_json(tmp_path, good):
    corpus = tmp_path / "corpus.abc"
    corpus.write_text(AABB, encoding="utf-8")
    data = json.loads(run(good, "--no-abc2midi", "--json", "--against", corpus).output)
    assert data["summary"]["form"]["single_part"] == 2
    assert data["against"]["tunes"] == 1 and data["against"]["form"]["aabb_of_8"] == 1
    assert [o["histogram"] for o in data["against"]["overlaps"]] == [
        "pitch class",
        "interval",
        "note length",
    ]
    assert data["tunes"][0]["form"]["letters"] == "AA"
