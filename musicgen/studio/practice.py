"""Sound to practise with: a tune (or a part, or a few bars) at a chosen tempo, moved to
another key, with one bar of metronome clicks before it.

`render` is what ``POST /api/render/{mid,wav}`` calls.  The MIDI comes from
`musicgen.render.midi.tune_to_midi` (its ``tempo_bpm``), the WAV from
`musicgen.render.audio.midi_to_wav`; the count-in is mixed in here, in front of the WAV's
own frames, so the renderers stay as they are.
"""

from __future__ import annotations

import io
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.abc import bars
from musicgen.errors import MidiError

CLICK = 0.03  # seconds: a short tick, heard clearly even under a fast tempo
CLICK_HZ = (1760.0, 1320.0)  # the bar's first beat higher (A6), the others E6
CLICK_LEVEL = 0.5  # of full scale: well above the music's quiet notes, not painful


@dataclass(frozen=True)
class Practice:
    """How to play a tune: `bpm` (quarter notes a minute; None: the tune's own) or `speed`
    (a factor of the tune's own tempo), `count_in` (one bar of clicks first),
    `transpose` (semitones), and `bars` (first, last) or `part` ("A", "B"...) to play
    only those."""

    bpm: float | None = None
    speed: float = 1.0
    count_in: bool = False
    transpose: int = 0
    bars: tuple[int, int] | None = None
    part: str | None = None


@dataclass(frozen=True)
class Sound:
    """Rendered bytes, the tempo played (quarter bpm) and the count-in's length (s)."""

    data: bytes
    bpm: float
    count_in: float


def practice_text(abc: str, practice: Practice) -> str:
    """The ABC that `practice` plays: transposed, then cut to its part or bars."""
    if practice.transpose:
        from musicgen.abc.transpose import transpose_tune

        abc = transpose_tune(abc, practice.transpose)
    if practice.part:
        return bars.part(abc, practice.part)
    if practice.bars:
        return bars.bar_range(abc, *practice.bars)
    return abc


def render(abc: str, fmt: str, practice: Practice = Practice(), program: int = 40) -> Sound:
    """One tune as MIDI (``"mid"``) or WAV (``"wav"``) bytes, as `practice` says."""
    import mido

    from musicgen.render.midi import tune_to_midi

    if fmt not in ("mid", "wav"):
        raise MidiError(f"format {fmt!r} is not one of mid, wav")
    text = practice_text(abc, practice)
    midi = tune_to_midi(text, program=program, tempo_bpm=practice.bpm)
    bpm = mido.tempo2bpm(_first(midi, "set_tempo", "tempo", 500_000))
    if practice.bpm is None and practice.speed != 1.0:
        bpm = bpm * practice.speed
        midi = tune_to_midi(text, program=program, tempo_bpm=bpm)
    if fmt == "mid":
        buffer = io.BytesIO()
        midi.save(file=buffer)
        return Sound(buffer.getvalue(), round(bpm, 3), 0.0)
    from musicgen.render.audio import midi_to_wav

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tune.wav"
        midi_to_wav(midi, path)
        data = path.read_bytes()
    if not practice.count_in:
        return Sound(data, round(bpm, 3), 0.0)
    beats, beat_quarters = beats_of(
        _first(midi, "time_signature", "numerator", 4),
        _first(midi, "time_signature", "denominator", 4),
    )
    seconds = 60.0 / bpm * beat_quarters
    return Sound(with_count_in(data, beats, seconds), round(bpm, 3), round(beats * seconds, 6))


def _first(midi, kind: str, attribute: str, default):
    return next(
        (getattr(m, attribute) for track in midi.tracks for m in track if m.type == kind), default
    )


def beats_of(numerator: int, denominator: int) -> tuple[int, float]:
    """Beats a bar of this meter is counted in, and quarter notes per beat: compound
    meters (6/8, 9/8, 12/8) in dotted quarters, others in their own unit."""
    if denominator == 8 and numerator % 3 == 0 and numerator > 3:
        return numerator // 3, 1.5
    return numerator, 4 / denominator


def clicks(beats: int, seconds: float, rate: int) -> np.ndarray:
    """`beats` clicks `seconds` apart, the first higher, as floats in [-1, 1]; (samples,)."""
    out = np.zeros(int(round(beats * seconds * rate)), dtype=np.float32)
    t = np.arange(int(CLICK * rate)) / rate
    for beat in range(beats):
        tone = np.sin(2 * np.pi * CLICK_HZ[beat > 0] * t) * np.exp(-t / (CLICK / 4))
        start = int(round(beat * seconds * rate))
        piece = tone[: len(out) - start]
        out[start : start + len(piece)] += CLICK_LEVEL * piece
    return out


def with_count_in(wav_bytes: bytes, beats: int, seconds: float) -> bytes:
    """The WAV with `beats` clicks (one bar) in front, in the WAV's own format (16-bit)."""
    with wave.open(io.BytesIO(wav_bytes)) as source:
        params = source.getparams()
        frames = source.readframes(params.nframes)
    if params.sampwidth != 2:
        raise MidiError(f"count-in needs a 16-bit WAV, not {8 * params.sampwidth}-bit")
    mono = (clicks(beats, seconds, params.framerate) * 32767).astype("<i2")
    lead = np.repeat(mono, params.nchannels).tobytes()  # the same clicks on every channel
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setparams(params)
        target.writeframes(lead + frames)
    return out.getvalue()
