"""``%%MIDI`` lines that change the melody, as abc2midi reads them.  Pure.

A tune's ``%%`` lines (`musicgen.abc.lexer` tokens of kind ``directive``) reach the note
state (`musicgen.playback.state.Writer`) one by one; `read_directive` folds each into the
`MidiSettings` in force: ``transpose`` / ``rtranspose`` shift later notes, ``gracedivider``
(or ``grace a/b``) sets how much of a note its grace notes take, ``fermatafixed`` makes a
fermata add one unit instead of doubling the note.  `read_backing` picks out the lines
that change the guitar-chord accompaniment (``gchord``, ``gchordon``, ``gchordoff``,
``chordprog``, ``bassprog``, ``chordvol``, ``bassvol``), which take effect where they stand
in playing order (`musicgen.playback.accompany`).  Every other line changes nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from musicgen.playback import ornaments


@dataclass(frozen=True)
class MidiSettings:
    """What ``%%MIDI`` lines have set so far, of what changes the melody."""

    transpose: int = 0  # %%MIDI transpose / rtranspose: semitones added to every note
    grace_divider: int = ornaments.GRACE_DIVIDER  # %%MIDI gracedivider (or grace a/b)
    fermata_fixed: bool = False  # %%MIDI fermatafixed: a fermata adds one unit, not doubles


def read_directive(settings: MidiSettings, value: str) -> MidiSettings:
    """`settings` after the ``%%`` line `value` (``MIDI transpose 2``, ``MIDI gracedivider
    3``, ``MIDI fermatafixed``); any other line leaves them as they are."""
    words = value.split()
    if len(words) < 2 or words[0] != "MIDI":
        return settings
    command, args = words[1], words[2:]
    number = _integer(args[0]) if args else None
    if command in ("transpose", "rtranspose") and number is not None:
        base = settings.transpose if command == "rtranspose" else 0
        return replace(settings, transpose=base + number)
    if command == "gracedivider" and number is not None and number >= 2:
        return replace(settings, grace_divider=number)
    if command == "grace" and args and "/" in args[0]:
        denominator = _integer(args[0].partition("/")[2])
        divider = denominator if denominator and denominator >= 2 else settings.grace_divider
        return replace(settings, grace_divider=divider)
    if command in ("fermatafixed", "fermataproportional"):
        return replace(settings, fermata_fixed=command == "fermatafixed")
    return settings


@dataclass(frozen=True, slots=True)
class BackingChange:
    """A ``%%MIDI`` command for the accompaniment, as an event at its place in the tune."""

    command: str  # one of BACKING_COMMANDS
    value: str | int | None = None  # the pattern, program or velocity; None for on/off


BACKING_COMMANDS = (
    "gchord",
    "gchordon",
    "gchordoff",
    "chordprog",
    "bassprog",
    "chordvol",
    "bassvol",
)


def read_backing(value: str) -> BackingChange | None:
    """The accompaniment command on the ``%%`` line `value` (``MIDI gchord fzcz``, ``MIDI
    chordprog 24``), or None.  Numbers are read as abc2midi's readnump reads them: the
    digits at the start, 0 when none."""
    words = value.split()
    if len(words) < 2 or words[0] != "MIDI" or words[1] not in BACKING_COMMANDS:
        return None
    command, args = words[1], words[2:]
    if command in ("gchordon", "gchordoff"):
        return BackingChange(command)
    if command == "gchord":
        return BackingChange(command, args[0] if args else "")
    digits = args[0][: len(args[0]) - len(args[0].lstrip("0123456789"))] if args else ""
    return BackingChange(command, int(digits) if digits else 0)


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
