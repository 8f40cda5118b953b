"""musicgen.render.output: formats, options and the files written for one tune."""

from __future__ import annotations

import mido
import pytest

from musicgen.errors import OutputError
from musicgen.render import audio, output, sheet
from musicgen.render.output import RenderOptions, WriteReport, parse_formats, write_tune
from tests.conftest import JIG

ALL = ("abc", "mid", "wav", "svg", "musicxml")


@pytest.fixture(autouse=True)
def built_in(monkeypatch):
    monkeypatch.setattr(audio, "renderer", lambda: "built-in")


def test_parse_formats():
    assert parse_formats("mid, wav,mid") == ("mid", "wav")
    assert parse_formats(",".join(ALL)) == ALL
    with pytest.raises(ValueError, match="unknown format mp3, ogg; choose from abc, mid"):
        parse_formats("mid,mp3,ogg")
    with pytest.raises(ValueError, match=r"unknown format \(none\)"):
        parse_formats(" , ")


def test_check_formats_names_the_package_for_svg(monkeypatch):
    monkeypatch.setattr(sheet.shutil, "which", lambda name: None)
    output.check_formats(("mid", "wav", "musicxml"))  # no tool needed
    with pytest.raises(OutputError, match="apt install abcm2ps"):
        output.check_formats(("svg",))


def test_slug_and_stem():
    assert output.tune_stem(7, "Jig No. 3") == "007-jig-no-3"
    assert output.tune_stem(1234, "???") == "1234-tune"
    long = output.tune_stem(2, "Long Title " * 100)  # 1,100 characters: too long a file name
    assert long.startswith("002-long-title-long") and len(long) <= 64
    assert not long.endswith("-")


def test_write_tune_program_and_tempo_reach_the_midi(tmp_path):
    report = WriteReport()
    options = RenderOptions(("mid",), program=73, tempo_bpm=90)
    write_tune(tmp_path, 3, "Tiny Jig", JIG, options, report)
    assert report.written == [tmp_path / "003-tiny-jig.mid"]
    midi = mido.MidiFile(tmp_path / "003-tiny-jig.mid")
    messages = [m for track in midi.tracks for m in track]
    assert [m.program for m in messages if m.type == "program_change"] == [73]
    assert [m.tempo for m in messages if m.type == "set_tempo"] == [mido.bpm2tempo(90)]


def test_write_tune_records_a_tune_without_notes_and_goes_on(tmp_path):
    report = WriteReport()
    rests = "X:1\nT:Rests\nM:2/4\nL:1/8\nK:C\nz4|\n"
    write_tune(tmp_path, 1, "Rests", rests, RenderOptions(("abc", "mid", "wav")), report)
    assert report.written == [tmp_path / "001-rests.abc"]
    assert report.midi_failed == ["001-rests: tune 'Rests': no notes to play"]


def test_write_tune_every_format(tmp_path, monkeypatch):
    if sheet.shutil.which("abcm2ps") is None:
        monkeypatch.setattr(sheet, "write_svg", lambda abc, path: path.write_text("<svg/>"))
    report = WriteReport()
    write_tune(tmp_path, 1, "Tiny Jig", JIG, RenderOptions(ALL), report)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"001-tiny-jig.{kind}" for kind in sorted(ALL)
    ]
    assert report.midi_failed == report.sheet_failed == []


def test_prepare_out_dir_counts_sheet_music_as_ours(tmp_path):
    (tmp_path / "001-jig.svg").write_text("<svg/>")
    with pytest.raises(OutputError, match=r"already holds tunes \(001-jig.svg\)"):
        output.prepare_out_dir(tmp_path, force=False)
    output.prepare_out_dir(tmp_path, force=True)
    assert list(tmp_path.iterdir()) == []


def test_an_abc_file_ends_with_one_newline(tmp_path):
    report = WriteReport()
    for position, text in enumerate((JIG.rstrip("\n"), JIG), start=1):
        write_tune(tmp_path, position, "Tiny Jig", text, RenderOptions(("abc",)), report)
    for path in report.written:
        assert path.read_text(encoding="utf-8") == JIG  # added once, never doubled
