"""`musicgen render`: any ABC file to numbered MIDI and WAV files."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from musicgen import audio
from musicgen.cli import main
from tests.conftest import JIG, REEL


@pytest.fixture(autouse=True)
def built_in(monkeypatch):
    monkeypatch.setattr(audio, "renderer", lambda: "built-in")


@pytest.fixture
def two_tunes(tmp_path):
    path = tmp_path / "two.abc"
    path.write_text(JIG + "\n" + REEL, encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_render_writes_numbered_mid_and_wav(tmp_path, two_tunes):
    out = tmp_path / "out"
    result = run("render", two_tunes, "--out", out, "--format", "mid,wav")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "001-tiny-jig.mid",
        "001-tiny-jig.wav",
        "002-tiny-reel.mid",
        "002-tiny-reel.wav",
    ]
    assert str(out / "002-tiny-reel.wav") in result.output
    assert f"written 2 tunes to {out}; 0 without MIDI" in result.output


def test_render_numbers_by_position_not_x(tmp_path):
    path = tmp_path / "x.abc"
    path.write_text(REEL.replace("X:2", "X:77"), encoding="utf-8")
    result = run("render", path, "--out", tmp_path / "out", "--format", "abc")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out" / "001-tiny-reel.abc").read_text()
    assert written.startswith("X:1\nT:Tiny Reel\n")


def test_render_refuses_to_overwrite_without_force(tmp_path, two_tunes):
    out = tmp_path / "out"
    assert run("render", two_tunes, "--out", out, "--format", "mid").exit_code == 0
    result = run("render", two_tunes, "--out", out, "--format", "mid")
    assert result.exit_code == 1
    assert "already holds tunes" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert run("render", two_tunes, "--out", out, "--format", "mid", "--force").exit_code == 0


def test_render_missing_file_is_one_line_error(tmp_path):
    result = run("render", tmp_path / "nope.abc", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "no such file" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_render_reports_skipped_tunes_with_line(tmp_path):
    path = tmp_path / "mixed.abc"
    path.write_text(JIG + "\nX:9\nT:Broken\nM:C\nABC|\n", encoding="utf-8")
    result = run("render", path, "--out", tmp_path / "out", "--format", "mid")
    assert result.exit_code == 0, result.output
    assert f"{path}:8: no K: field" in result.stderr
    assert "written 1 tunes" in result.stdout


def test_render_rejects_unknown_format(tmp_path, two_tunes):
    result = run("render", two_tunes, "--out", tmp_path / "out", "--format", "mp3")
    assert result.exit_code == 2
    assert "unknown format mp3" in result.output
