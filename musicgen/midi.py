"""Turn one ABC tune into a MIDI file: music21 reads the music, mido writes the file.

music21 does the music theory (keys, accidentals carried through a bar, tuplets, broken
rhythm, ties, repeats and endings); we write the MIDI ourselves so that tempo, program,
accents and file layout are ours to choose and to test.  music21 is imported lazily so
that importing this module (and ``musicgen --help``) stays fast.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from fractions import Fraction
from pathlib import Path

import mido

from musicgen.errors import MidiError

log = logging.getLogger(__name__)

TICKS_PER_BEAT = 480  # divisible by 3 and 16, so triplets and 1/32 notes land on whole ticks
VELOCITY = 80  # mezzo-forte, the same as abc2midi's unstressed notes
ACCENT = 15  # added on each downbeat: audible lift without a thump
CHANNEL = 0
DRUM_CHANNEL = 9  # General MIDI percussion; never melody, so read_notes skips it

# Inline fields music21 ignores inside a line ([K:C] keeps the old key); on their own line
# it honours them, so we move them there.
_INLINE_FIELD_RE = re.compile(r"\[([KLMQ]):([^\]]*)\]")
# A meter or unit length written bare before music ("M:9/8 EDC|"), which music21 misreads.
_BARE_FIELD_RE = re.compile(r"(^|\|)\s*([ML]):\s*(C\|?|\d+/\d+)(?=\s|$)", re.MULTILINE)
# Major key per number of sharps (negative: flats), for the key_signature meta message.
_MAJOR_KEYS = dict(zip(range(-7, 8), "Cb Gb Db Ab Eb Bb F C G D A E B F# C#".split(), strict=True))


def tune_to_midi(abc: str, *, program: int = 40, tempo_bpm: float | None = None) -> mido.MidiFile:
    """Convert one complete ABC tune (``X:``, ``T:``, ``M:``, ``L:``, ``K:``, body) to MIDI.

    Repeats and first/second endings are played out, tied notes merged, chord symbols in
    quotes left silent.  The tempo is `tempo_bpm` (quarter notes per minute) if given, else
    the tune's ``Q:`` field, else `default_bpm` for its meter.  `program` is the General
    MIDI instrument, 0-based (40 = violin).  Returns a type-1 file: a conductor track
    (tempo, meter, key) and one melody track on channel 0.  Raises `MidiError` if music21
    cannot read the tune or it has no notes.
    """
    if not 0 <= program <= 127:
        raise MidiError(f"program {program} is not a General MIDI program (0..127)")
    if tempo_bpm is not None and not 0 < tempo_bpm < 10_000:
        raise MidiError(f"tempo {tempo_bpm} bpm is not a usable tempo")
    title = _title(abc)
    with _quiet():
        try:
            score = _parse(abc, title)
            notes, meters, sharps, score_bpm = _extract(score, title)
        except MidiError:
            raise
        except Exception as exc:  # music21 raises many types; none may reach the user raw
            raise MidiError(f"tune {title!r}: music21 cannot read it ({_one_line(exc)})") from exc
    if not notes:
        raise MidiError(f"tune {title!r}: no notes to play")
    bpm = tempo_bpm or score_bpm or default_bpm(*meters[0][1:])
    return _build(title, notes, meters, sharps, bpm, program)


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
    from musicgen.rundir import atomic_write

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


def _title(abc: str) -> str:
    match = re.search(r"^T:(.*)$", abc, re.MULTILINE)
    return match.group(1).strip() if match else "Untitled"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


@contextlib.contextmanager
def _quiet():
    """Silence music21, which writes warnings straight to stderr; keep them in the log."""
    stderr = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(stderr):
        warnings.simplefilter("ignore")
        yield
    if stderr.getvalue().strip():
        log.debug("music21: %s", stderr.getvalue().strip())


def _parse(abc: str, title: str):
    """Parse with music21, play out the repeats, merge the ties."""
    from music21 import converter, stream

    text = _BARE_FIELD_RE.sub(r"\1[\2:\3]", abc)
    lines = _INLINE_FIELD_RE.sub(r"\n\1:\2\n", text).splitlines()
    # %abc-2.1 makes music21 carry accidentals through the bar, as the standard (and every
    # player) does; without it music21 reads ABC 1.3, where ^F F is F sharp then F natural.
    body = "\n".join(line for line in lines if line.strip())  # a blank line ends a tune
    text = f"%abc-2.1\n{body}\n"
    try:
        score = converter.parseData(text, format="abc")
    except Exception as exc:
        raise MidiError(f"tune {title!r}: music21 cannot parse it ({_one_line(exc)})") from exc
    if isinstance(score, stream.Opus):  # several X: fields; the caller promised one tune
        if not score.scores:
            raise MidiError(f"tune {title!r}: music21 found no tune in the text")
        score = score.scores[0]
    try:
        for part in score.parts:
            _add_section_starts(part)
        if any(part.getElementsByClass(stream.Measure) for part in score.parts):
            score = score.expandRepeats()
    except Exception as exc:
        # Sampled tunes often have a stray :| or [2; playing them once as written still
        # gives usable MIDI, so this is a logged warning, not a failure.
        log.warning("tune %r: repeats not played (%s)", title, _one_line(exc))
    score.stripTies(inPlace=True)  # in place: expandRepeats already made a copy
    return score


def _add_section_starts(part) -> None:
    """Mark where each repeated section starts, as ABC players read it; move stray ``:|``.

    Folk ABC rarely writes ``|:``; a ``:|`` then repeats back to the previous ``:|`` (past
    any endings after it), ``||`` or ``|]`` (once a part has repeated), or to the start.
    music21 would go back to the start every time, playing an AABB tune as AABAAB, so we
    add the missing start-repeat barlines.
    """
    from music21 import bar, spanner, stream

    measures = list(part.getElementsByClass(stream.Measure))
    for measure in measures:
        left = measure.leftBarline
        if _is_repeat(left, "end") and measure.rightBarline is None:
            # music21 leaves a :| on the left when it re-bars an overlong bar; its place is
            # at the end of the split-off remainder ...
            measure.leftBarline, measure.rightBarline = None, left
    for bracket in part.spanners.getElementsByClass(spanner.RepeatBracket):
        # ... and that remainder belongs to the ending the overlong bar was in.
        last = bracket.getLast()
        following = measures.index(last) + 1 if last in measures else len(measures)
        if following < len(measures) and not _is_repeat(last.rightBarline, "end"):
            if _is_repeat(measures[following].rightBarline, "end"):
                bracket.addSpannedElements(measures[following])
    start, has_start, repeated = 0, False, False
    for index, measure in enumerate(measures):
        right = measure.rightBarline
        has_start = has_start or _is_repeat(measure.leftBarline, "start")
        if _is_repeat(right, "end"):
            if not has_start and 0 < start <= index:
                measures[start].leftBarline = bar.Repeat(direction="start")
            start, has_start, repeated = _after_endings(part, measures, index), False, True
        elif repeated and right is not None and right.type != "regular" and index >= start:
            # After a first :|, a || or |] also opens a section, as abc2midi reads it.
            start, has_start = index + 1, False


def _after_endings(part, measures, index) -> int:
    """Index of the first bar after the ``:|`` at `index` and the endings that follow it."""
    from music21 import bar, spanner

    in_ending = {
        id(m)
        for bracket in part.spanners.getElementsByClass(spanner.RepeatBracket)
        for m in bracket.getSpannedElements()
    }
    after = index + 1
    if after == len(measures) or id(measures[after]) not in in_ending:
        return after
    # A last ending runs to the next || or |]; music21 closes it after one bar.
    for later in range(after, len(measures)):
        right = measures[later].rightBarline
        if isinstance(right, bar.Repeat):
            break
        if right is not None and right.type != "regular":
            return later + 1
    while after < len(measures) and id(measures[after]) in in_ending:
        after += 1
    return after


def _is_repeat(barline, direction: str) -> bool:
    from music21 import bar

    return isinstance(barline, bar.Repeat) and barline.direction == direction


def _extract(score, title: str):
    """Notes (pitch, onset, duration, is_downbeat), meters, key sharps and Q: tempo."""
    from music21 import harmony, key, meter, stream, tempo

    flat = score.flatten()
    marks = flat.getElementsByClass(tempo.MetronomeMark)
    score_bpm = marks[0].getQuarterBPM() if marks else None
    signatures = flat.getElementsByClass(key.KeySignature)
    sharps = signatures[0].sharps if signatures else 0
    first = [ts for ts in flat.getElementsByClass(meter.TimeSignature) if _valid(ts)]
    bar_meter = first[0] if first else meter.TimeSignature("4/4")  # ABC's free meter
    meters = [(Fraction(0), bar_meter.numerator, bar_meter.denominator)]

    part = score.parts[0] if score.parts else score
    measures = list(part.getElementsByClass(stream.Measure)) or [part]
    notes = []
    phase = None  # how much of the current bar was played before this measure began
    for index, measure in enumerate(measures):
        begin = _ql(measure.offset) if measure is not part else Fraction(0)
        later = measures[index + 1] if index + 1 < len(measures) else None
        length = _ql(later.offset) - begin if later is not None else _ql(measure.quarterLength)
        changed = [ts for ts in measure.getElementsByClass(meter.TimeSignature) if _valid(ts)]
        if changed and changed[0].ratioString != bar_meter.ratioString:
            bar_meter = changed[0]
            meters.append((begin, bar_meter.numerator, bar_meter.denominator))
        bar_length = _ql(bar_meter.barDuration.quarterLength)
        # A short first bar is a pickup; a short bar that fits what is left of the current
        # one (the bar split by a :| and the next part's pickup) continues it.
        if phase is None:
            phase = bar_length - length if length < bar_length else Fraction(0)
        elif phase + length > bar_length:
            phase = Fraction(0)
        for element in measure.flatten().notes:
            if isinstance(element, harmony.ChordSymbol) or element.duration.quarterLength == 0:
                continue  # guitar chords are for accompanists; grace notes have no time
            offset = _ql(element.offset)
            downbeat = (phase + offset) % bar_length == 0
            for pitch in element.pitches:
                if not 0 <= pitch.ps <= 127:  # music21's .midi would wrap it, silently
                    raise MidiError(f"tune {title!r}: note {pitch} is outside MIDI's range")
                notes.append((pitch.midi, begin + offset, _ql(element.quarterLength), downbeat))
        phase = (phase + length) % bar_length
    return notes, meters, sharps, score_bpm


def _valid(signature) -> bool:
    # music21 invents meters such as 6/83333 for garbled M: lines; MIDI cannot store them.
    denominator = signature.denominator
    return 0 < signature.numerator < 256 and denominator in (1, 2, 4, 8, 16, 32, 64)


def _ql(value) -> Fraction:
    # music21 gives floats that are exact binary fractions, or Fractions for tuplets.
    return Fraction(value).limit_denominator(1 << 12)


def _build(title, notes, meters, sharps, bpm, program) -> mido.MidiFile:
    """Lay the notes out as a type-1 MIDI file: conductor track plus one melody track."""

    def ticks(quarters: Fraction) -> int:
        return round(quarters * TICKS_PER_BEAT)

    conductor = [
        (0, mido.MetaMessage("track_name", name=title)),
        (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))),
        (0, mido.MetaMessage("key_signature", key=_MAJOR_KEYS.get(sharps, "C"))),
    ]
    for onset, numerator, denominator in meters:
        signature = mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)
        conductor.append((ticks(onset), signature))
    melody = [(0, mido.Message("program_change", channel=CHANNEL, program=program))]
    for pitch, onset, duration, downbeat in notes:
        velocity = VELOCITY + ACCENT if downbeat else VELOCITY
        on = mido.Message("note_on", channel=CHANNEL, note=pitch, velocity=velocity)
        off = mido.Message("note_off", channel=CHANNEL, note=pitch, velocity=0)
        melody += [(ticks(onset), on), (ticks(onset + duration), off)]
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks += [_track(conductor), _track(melody, name=title)]
    return midi


def _track(events, name: str | None = None) -> mido.MidiTrack:
    """A track from (absolute tick, message) pairs; a note ends before one starts on a tick."""
    track = mido.MidiTrack()
    if name is not None:
        track.append(mido.MetaMessage("track_name", name=name))
    now = 0
    order = sorted(events, key=lambda event: (event[0], event[1].type != "note_off"))
    for tick, msg in order:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track
