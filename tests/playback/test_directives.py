"""`musicgen.playback.directives`: the ``%%MIDI`` lines that change the melody."""

from __future__ import annotations

import pytest

from musicgen.playback.directives import MidiSettings, read_directive
from musicgen.playback.ornaments import GRACE_DIVIDER


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["MIDI transpose 2", "MIDI transpose -1"], MidiSettings(transpose=-1)),
        (["MIDI transpose 2", "MIDI rtranspose 3"], MidiSettings(transpose=5)),
        (["MIDI gracedivider 3"], MidiSettings(grace_divider=3)),
        (["MIDI grace 1/6"], MidiSettings(grace_divider=6)),
        (["MIDI fermatafixed"], MidiSettings(fermata_fixed=True)),
        (["MIDI fermatafixed", "MIDI fermataproportional"], MidiSettings()),
    ],
)
def test_midi_lines_change_the_settings(lines, expected):
    settings = MidiSettings()
    for line in lines:
        settings = read_directive(settings, line)
    assert settings == expected


@pytest.mark.parametrize(
    "line",
    ["MIDI program 1", "MIDI transpose x", "MIDI gracedivider 1", "MIDI grace 1/1",
     "MIDI", "pagewidth 21cm", ""],
)  # fmt: skip
def test_other_lines_and_bad_numbers_change_nothing(line):
    assert read_directive(MidiSettings(), line) == MidiSettings()
    assert MidiSettings().grace_divider == GRACE_DIVIDER
