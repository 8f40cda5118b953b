"""abc2midi (abcMIDI, Debian package ``abcmidi``) as an independent judge of one tune.

It turns the tune into MIDI; `run_abc2midi` keeps how many notes the file holds (read
with mido), the lines of its output that report an error, and its warnings that a bar's
length disagrees with the meter, as abc2midi wrote them (positions in the text it was
given, bars counted from 0: `musicgen.evaluation.places` turns them into the file's).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Abc2MidiResult:
    """What abc2midi made of one tune."""

    notes: int  # note-on events in the MIDI file abc2midi wrote (0 if none)
    errors: tuple[str, ...]  # lines of its output that report an error
    bar_warnings: tuple[str, ...]  # "... Bar N has X time units while the time signature has Y"

    @property
    def converts(self) -> bool:
        return self.notes > 0


def have_abc2midi() -> bool:
    """True if the ``abc2midi`` program is on the PATH."""
    return shutil.which("abc2midi") is not None


def run_abc2midi(abc: str) -> Abc2MidiResult:
    """Convert one tune with abc2midi and read its verdict and its MIDI (with mido)."""
    import mido

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "t.abc", Path(tmp) / "t.mid"
        source.write_text(abc, encoding="utf-8")
        try:
            done = subprocess.run(
                ["abc2midi", str(source), "-o", str(target)],
                capture_output=True,
                encoding="utf-8",
                errors="replace",  # abc2midi echoes bad input byte by byte
                timeout=30,
            )
            output = (done.stdout + done.stderr).splitlines()
        except subprocess.TimeoutExpired:
            return Abc2MidiResult(0, ("abc2midi timed out",), ())
        notes = 0
        if target.exists():
            try:
                midi = mido.MidiFile(target)
                notes = sum(
                    1
                    for track in midi.tracks
                    for m in track
                    if m.type == "note_on" and m.velocity > 0
                )
            except (OSError, ValueError, EOFError):
                notes = 0
    errors = tuple(line for line in output if "Error" in line)
    bars = tuple(line for line in output if re.search(r"Bar \d+ has", line))
    return Abc2MidiResult(notes, errors, bars)
