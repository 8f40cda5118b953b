"""Turn one ABC tune into a MIDI file: our own reader plays the notes, mido writes the file.

Why not music21, which reads ABC well enough for MusicXML (`musicgen.render.sheet` uses it)?  For
MIDI it is too slow (about 150 ms a tune here; the sampler and `render` convert hundreds)
and it silently drops some ABC: inline ``[K:]``/``[M:]`` changes, decorated notes, notes
next to the old ``!`` line-end marker.  `musicgen.playback.reader` (lexer tokens -> written events,
decorations from the table in `musicgen.playback.ornaments`) and
`musicgen.playback.perform` (ties, repeats,
parts, trills, timing) take a few milliseconds a tune, and follow abcMIDI's abc2midi, the
reference ABC player: tests/render/test_fidelity.py and tests/fidelity_sweep.py check that the
melody we write is note for note the melody plain abc2midi writes, grace notes, fermatas,
trills, rolls and chords included.  Guitar chords (``"Am"``) are played as abc2midi plays
them (`musicgen.playback.accompany`): a third track, after the melody's, holds the bass
on channel 1 and the chords on channel 2, the channels abc2midi gives them, with no
program change unless ``%%MIDI bassprog`` / ``chordprog`` sets one (General MIDI's
default, piano, as abc2midi leaves it).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import mido

from musicgen.errors import MidiError
from musicgen.playback.accompany import BASS, CHORD, Backing
from musicgen.playback.perform import perform
from musicgen.playback.reader import read_tune

TICKS_PER_BEAT = 480  # divisible by 3 and 16, so triplets and 1/32 notes land on whole ticks
VELOCITY = 80  # mezzo-forte, the same as abc2midi's unstressed notes
ACCENT = 15  # added on each downbeat: audible lift without a thump
CHANNEL = 0
BACKING_CHANNELS = {BASS: 1, CHORD: 2}  # abc2midi: the first two channels after the melody's
DRUM_CHANNEL = 9  # General MIDI percussion; never melody, so read_notes skips it
MAX_TICKS = 0x0FFFFFFF  # the largest time a MIDI file can state between two events
# Major key per number of sharps (negative: flats), for the key_signature meta message.
_MAJOR_KEYS = dict(zip(range(-7, 8), "Cb Gb Db Ab Eb Bb F C G D A E B F# C#".split(), strict=True))


def tune_to_midi(abc: str, *, program: int = 40, tempo_bpm: float | None = None) -> mido.MidiFile:
    """Convert one complete ABC tune (``X:``, ``T:``, ``M:``, ``L:``, ``K:``, body) to MIDI.

    Repeats, endings and ``P:`` parts are played out, tied notes merged, grace notes and
    decorations performed as abc2midi performs them, chord symbols in quotes left silent
    (see `musicgen.playback.reader` and `musicgen.playback.ornaments`).  The tempo is `tempo_bpm`
    (quarter notes per minute) if given, else the tune's ``Q:`` field, else `default_bpm`
    for its meter.  `program` is the General MIDI instrument, 0-based (40 = violin).
    Returns a type-1 file: a conductor track (tempo, meter, key), one melody track on
    channel 0 and, if the tune has guitar chords, an accompaniment track (bass on channel
    1, chords on channel 2).  Raises `MidiError` if the tune has no ``K:`` line or no notes.
    """
    if not 0 <= program <= 127:
        raise MidiError(f"program {program} is not a General MIDI program (0..127)")
    if tempo_bpm is not None and not 0 < tempo_bpm < 10_000:
        raise MidiError(f"tempo {tempo_bpm} bpm is not a usable tempo")
    played = perform(read_tune(abc))
    if not played.notes:
        raise MidiError(f"tune {played.title!r}: no notes to play")
    end = max(onset + duration for _, onset, duration, _ in played.notes)
    if end * TICKS_PER_BEAT > MAX_TICKS:
        raise MidiError(f"tune {played.title!r}: {float(end):.0f} beats is too long for MIDI")
    for pitch, onset, _, _ in played.notes:
        if not 0 <= pitch <= 127:
            raise MidiError(
                f"tune {played.title!r}: note {pitch} at beat {float(onset):g} "
                "is outside MIDI's range (0..127)"
            )
    bpm = tempo_bpm or played.tempo or default_bpm(*played.meters[0][1:])
    midi = _build(played.title, played.notes, played.meters, played.sharps, bpm, program)
    if played.backing.notes:
        midi.tracks.append(_backing_track(played.backing))
    return midi


def default_bpm(numerator: int, denominator: int) -> float:
    """Quarter notes per minute for a tune without ``Q:``, from its meter.

    Moderate session tempos, slow enough to learn from: reels and hornpipes (C, C|, 4/4,
    2/2) at 104; compound meters (jigs 6/8, slip jigs 9/8, slides 12/8) at a dotted
    quarter of 116, i.e. 174 quarters; polkas (2/4) and waltzes (3/4) at 120.
    """
    if denominator == 8 and numerator % 3 == 0 and numerator > 3:
        return 116 * 1.5
    if (numerator, denominator) in ((4, 4), (2, 2)):
        return 104
    return 120


def write_midi(midi: mido.MidiFile, path) -> None:
    """Write `midi` to `path` atomically: a temp file beside it, then ``os.replace``.

    A failure leaves neither a half-written file nor the temp file behind; an OSError
    becomes `OutputError` naming the path.
    """
    from musicgen.files import atomic_write

    atomic_write(Path(path), lambda tmp: midi.save(str(tmp)))


def read_notes(source) -> list[tuple[int, float, float]]:
    """Notes of a MIDI file as (pitch, onset, duration), times in quarter notes.

    `source` is a path, a binary file object or a `mido.MidiFile`.  Notes from every track
    and channel are returned except channel 10 (drums), sorted by onset then pitch.
    """
    try:
        if isinstance(source, mido.MidiFile):
            midi = source
        elif hasattr(source, "read"):
            midi = mido.MidiFile(file=source)
        else:
            midi = mido.MidiFile(os.fspath(source))
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise MidiError(f"{source}: cannot read MIDI file ({_one_line(exc)})") from exc
    per_beat = midi.ticks_per_beat
    notes = []
    for track in midi.tracks:
        tick = 0
        sounding: dict[tuple[int, int], list[int]] = {}  # (channel, pitch) -> onset ticks
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == DRUM_CHANNEL:
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault(key, []).append(tick)
            elif sounding.get(key):  # first in, first out when a pitch is re-struck
                start = sounding[key].pop(0)
                notes.append((msg.note, start / per_beat, (tick - start) / per_beat))
    return sorted(notes, key=lambda note: (note[1], note[0]))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _ticks(quarters: Fraction) -> int:
    """round(quarters * TICKS_PER_BEAT), halves up, in integers: Fraction math is slow."""
    twice = 2 * quarters.numerator * TICKS_PER_BEAT
    return (twice + quarters.denominator) // (2 * quarters.denominator)


def _backing_track(backing: Backing) -> mido.MidiTrack:
    """The guitar-chord accompaniment: bass and chord notes on their own channels."""
    events = [
        (
            _ticks(time),
            0,
            mido.Message("program_change", channel=BACKING_CHANNELS[part], program=program),
        )
        for time, part, program in backing.programs
        if 0 <= program <= 127
    ]
    for pitch, onset, duration, velocity, part in backing.notes:
        channel = BACKING_CHANNELS[part]
        start = _ticks(onset)
        on = mido.Message(
            "note_on", channel=channel, note=pitch, velocity=min(max(velocity, 1), 127)
        )
        off = mido.Message("note_off", channel=channel, note=pitch, velocity=0)
        events += [(start, 2, on), (max(start + 1, start + _ticks(duration)), 1, off)]
    return _track([(0, 0, mido.MetaMessage("track_name", name="accompaniment")), *events])


def _build(title, notes, meters, sharps, bpm, program) -> mido.MidiFile:
    """Lay the notes out as a type-1 MIDI file: conductor track plus one melody track."""

    ticks = _ticks
    conductor = [
        (0, 0, mido.MetaMessage("track_name", name=title)),
        (0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))),
        (0, 0, mido.MetaMessage("key_signature", key=_MAJOR_KEYS.get(sharps, "C"))),
    ]
    for onset, numerator, denominator in meters:
        if 0 < numerator < 256 and denominator in (1, 2, 4, 8, 16, 32, 64):  # else MIDI can't
            signature = mido.MetaMessage(
                "time_signature", numerator=numerator, denominator=denominator
            )
            conductor.append((ticks(onset), 0, signature))
    # (tick, 0 for note-off so that a note ends before the next one starts, pitch, velocity)
    timeline = []
    for pitch, onset, duration, downbeat in notes:
        start = ticks(onset)
        timeline.append((start, 1, pitch, VELOCITY + ACCENT if downbeat else VELOCITY))
        timeline.append((max(start + 1, start + ticks(duration)), 0, pitch, 0))
    timeline.sort()
    melody = mido.MidiTrack([mido.MetaMessage("track_name", name=title)])
    melody.append(mido.Message("program_change", channel=CHANNEL, program=program))
    now = 0
    on, off = 0x90 | CHANNEL, 0x80 | CHANNEL  # status bytes: from_bytes is mido's quick path
    for tick, is_on, pitch, velocity in timeline:
        status = on if is_on else off
        melody.append(mido.Message.from_bytes((status, pitch, velocity), time=tick - now))
        now = tick
    melody.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks += [_track(conductor), melody]
    return midi


def _track(events) -> mido.MidiTrack:
    """A track from (absolute tick, order, message) triples, in time order."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, msg in sorted(events, key=lambda event: event[:2]):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track
