"""`musicgen check`: per-tune verdicts, a summary with rates, exit 1 on any invalid tune."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from musicgen.cli import main
from musicgen.quality import have_abc2midi
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
    assert lines[1].endswith("Bar 1 has 5 time units while the time signature has 6")
    assert "parses (abc2midi)" in result.output and "abc2midi: no errors" in result.output


def test_missing_file_is_a_one_line_error(tmp_path):
    result = run(tmp_path / "nope.abc")
    assert result.exit_code == 1 and "no such file" in result.output
    assert len(result.output.strip().splitlines()) == 1
