"""musicgen.render.sheet: SVG through abcm2ps (skipped where missing), MusicXML via music21."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ElementTree

import pytest

from musicgen.errors import OutputError
from musicgen.render import sheet
from tests.conftest import JIG
from tests.render.test_midi import INLINE_KEY, OLD_LINE_END_MARKER

needs_abcm2ps = pytest.mark.skipif(shutil.which("abcm2ps") is None, reason="abcm2ps missing")


def test_for_music21_moves_inline_fields_and_bare_meters_onto_own_lines():
    text = sheet.for_music21("X:1\nT:t\nM:2/4\nK:G\nFGAB|[K:C] FGAB|\nM:3/4 ABc|\n\n")
    assert text == "%abc-2.1\nX:1\nT:t\nM:2/4\nK:G\nFGAB|\nK:C\n FGAB|\nM:3/4\nABc|\n"


def test_for_music21_drops_old_line_end_markers_but_not_decorations():
    text = sheet.for_music21(OLD_LINE_END_MARKER + "!trill!A2 B2|\n")
    assert "|!\n" not in text and text.count("!") == 2


def test_musicxml_has_every_note_with_the_inline_key(tmp_path):
    path = tmp_path / "tune.musicxml"
    sheet.write_musicxml(INLINE_KEY, path)
    root = ElementTree.parse(path).getroot()
    steps = [
        (n.findtext("pitch/step"), n.findtext("pitch/alter"))
        for n in root.iter("note")
        if n.find("pitch") is not None
    ]
    assert [step for step, _ in steps] == list("FGABFGABF")
    assert [alter for _, alter in steps] == ["1", None, None, None] + [None] * 4 + ["1"]
    assert list(tmp_path.iterdir()) == [path]


def test_musicxml_into_a_missing_directory_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="cannot write"):
        sheet.write_musicxml(JIG, tmp_path / "missing" / "tune.musicxml")


@needs_abcm2ps
def test_svg_is_engraved_by_abcm2ps(tmp_path):
    path = tmp_path / "jig.svg"
    sheet.write_svg(JIG, path)
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert list(tmp_path.iterdir()) == [path]


@needs_abcm2ps
def test_svg_of_text_abcm2ps_cannot_read_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="abcm2ps wrote no SVG"):
        sheet.write_svg("this is not ABC at all\n", tmp_path / "x.svg")
    assert list(tmp_path.iterdir()) == []


def test_svg_without_abcm2ps_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(sheet.shutil, "which", lambda name: None)
    with pytest.raises(OutputError, match=r"--format svg needs abcm2ps.*apt install abcm2ps"):
        sheet.write_svg(JIG, tmp_path / "jig.svg")
    assert list(tmp_path.iterdir()) == []
