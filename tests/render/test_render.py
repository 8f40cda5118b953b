"""`musicgen render` (and sample's formats): any ABC file to numbered MIDI, WAV, sheet music."""

from __future__ import annotations

import wave

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from musicgen.cli import main
from musicgen.render import audio, sheet
from musicgen.render.midi import read_notes
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


def test_render_program_and_tempo_reach_the_midi(tmp_path, two_tunes):
    out = tmp_path / "out"
    result = run(
        "render", two_tunes, "--out", out, "--format", "mid", "--program", 73, "--tempo", 90
    )
    assert result.exit_code == 0, result.output
    midi = mido.MidiFile(out / "001-tiny-jig.mid")
    messages = [m for track in midi.tracks for m in track]
    assert [m.program for m in messages if m.type == "program_change"] == [73]
    assert [m.tempo for m in messages if m.type == "set_tempo"] == [mido.bpm2tempo(90)]


def test_render_keeps_the_tunes_own_tempo(tmp_path):
    path = tmp_path / "q.abc"
    path.write_text(JIG.replace("M:6/8", "M:6/8\nQ:3/8=80"), encoding="utf-8")
    assert run("render", path, "--out", tmp_path / "out", "--format", "mid").exit_code == 0
    midi = mido.MidiFile(tmp_path / "out" / "001-tiny-jig.mid")
    assert [m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"] == [
        mido.bpm2tempo(120)  # a dotted quarter of 80 is 120 quarters
    ]


def test_render_bad_program_or_tempo_is_a_usage_error(tmp_path, two_tunes):
    for option, value in (("--program", 128), ("--tempo", 0)):
        result = run("render", two_tunes, "--out", tmp_path / "out", option, value)
        assert result.exit_code == 2 and option in result.output


def test_render_musicxml_and_abc(tmp_path, two_tunes):
    out = tmp_path / "out"
    result = run("render", two_tunes, "--out", out, "--format", "musicxml,abc")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "001-tiny-jig.abc",
        "001-tiny-jig.musicxml",
        "002-tiny-reel.abc",
        "002-tiny-reel.musicxml",
    ]
    assert "<score-partwise" in (out / "002-tiny-reel.musicxml").read_text()


def test_render_svg_without_abcm2ps_names_the_package(tmp_path, two_tunes, monkeypatch):
    monkeypatch.setattr(sheet.shutil, "which", lambda name: None)
    result = run("render", two_tunes, "--out", tmp_path / "out", "--format", "mid,svg")
    assert result.exit_code == 1
    assert result.output == (
        "Error: --format svg needs abcm2ps, which is not installed "
        "(Debian/Ubuntu: sudo apt install abcm2ps)\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(sheet.shutil.which("abcm2ps") is None, reason="abcm2ps missing")
def test_render_svg(tmp_path, two_tunes):
    out = tmp_path / "out"
    assert run("render", two_tunes, "--out", out, "--format", "svg").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["001-tiny-jig.svg", "002-tiny-reel.svg"]


def test_sample_wav_from_the_bundled_model_sounds_like_music(tmp_path):
    """No FluidSynth (see the fixture): the built-in synthesizer, at --tempo, on --program."""
    out = tmp_path / "out"
    args = ("sample", "-n", 1, "--seed", 1, "--out", out, "--quiet")
    result = run(*args, "--format", "mid,wav", "--program", 73, "--tempo", 90)
    assert result.exit_code == 0, result.output
    (wav,) = out.glob("001-*.wav")
    midi = mido.MidiFile(wav.with_suffix(".mid"))
    assert [m.program for t in midi.tracks for m in t if m.type == "program_change"] == [73]
    last_end = max(onset + duration for _, onset, duration in read_notes(midi)) * 60 / 90
    with wave.open(str(wav)) as handle:
        rate = handle.getframerate()
        samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2") / 32768
    assert last_end < len(samples) / rate < last_end + 1.0  # ends shortly after the last note
    assert np.sqrt(np.mean(samples**2)) > 0.05 and 0.5 < np.max(np.abs(samples)) < 1.0
