"""Render MIDI to a WAV file: FluidSynth with a General MIDI soundfont if installed, else a
small numpy synthesizer that sounds like a plucked string.

The built-in voice is additive: harmonics of the note's pitch, each decaying exponentially
(higher ones faster, as on a real string), a few milliseconds of attack so the pluck does
not click, and a short damping release at the note's end.  It has this one voice: the
MIDI's program (``--program``) chooses FluidSynth's instrument, not the built-in one.
Either way the WAV ends a quarter of a second after the last note.  Output is mono 16-bit
PCM (FluidSynth's own format when it renders) written atomically, so a crash never leaves
half a WAV behind.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import mido
import numpy as np

from musicgen.errors import MidiError
from musicgen.midi import read_notes
from musicgen.rundir import atomic_write

log = logging.getLogger(__name__)

SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/default.sf2"),
)
DEFAULT_TEMPO = 500_000  # µs per quarter note: MIDI's default, 120 bpm
FLUIDSYNTH_TIMEOUT = 60  # seconds; a folk tune renders in about one
ATTACK = 0.004  # seconds: long enough not to click, short enough to sound plucked
RELEASE = 0.06  # seconds of damping after note-off; a finger stopping the string
TAIL = 0.25  # seconds of silence-ish after the last note: ends well within 1 s
HARMONICS = 10  # more add little but brightness (and cost)
PEAK = 0.89  # of full scale after normalizing: about -1 dBFS, never clips


def renderer() -> str:
    """``"fluidsynth"`` if the binary and a General MIDI soundfont exist, else ``"built-in"``."""
    return "fluidsynth" if shutil.which("fluidsynth") and _soundfont() else "built-in"


def _soundfont() -> Path | None:
    return next((path for path in SOUNDFONTS if path.is_file()), None)


def midi_to_wav(midi: mido.MidiFile, path, *, sample_rate: int = 22050) -> None:
    """Write `midi` as a mono 16-bit WAV at `path`, atomically.

    Uses FluidSynth when `renderer()` says so (its WAV is as FluidSynth writes it, usually
    stereo; on failure the built-in synthesizer is used), else the built-in one.  Raises
    `MidiError` if the file has no notes and `OutputError` if `path` cannot be written.
    """
    notes = _notes_in_seconds(midi)
    if renderer() == "fluidsynth":

        def write(tmp: Path) -> None:
            try:
                _fluidsynth(midi, tmp, sample_rate)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("fluidsynth failed (%s); using the built-in synthesizer", exc)
                _write_wav(tmp, synthesize(notes, sample_rate), sample_rate)

        atomic_write(Path(path), write)
        return
    samples = synthesize(notes, sample_rate)
    atomic_write(Path(path), lambda tmp: _write_wav(tmp, samples, sample_rate))


def _notes_in_seconds(midi: mido.MidiFile) -> list[tuple[int, float, float]]:
    """(pitch, onset s, duration s); the first set_tempo holds for the whole file."""
    tempo = next(
        (msg.tempo for track in midi.tracks for msg in track if msg.type == "set_tempo"),
        DEFAULT_TEMPO,
    )
    notes = read_notes(midi)
    if not notes:
        raise MidiError("no notes to render")
    per_quarter = tempo / 1e6
    return [(p, onset * per_quarter, dur * per_quarter) for p, onset, dur in notes]


def synthesize(notes, sample_rate: int = 22050) -> np.ndarray:
    """Plucked-string audio of (pitch, onset s, duration s) notes, floats in [-1, 1].

    Length is the last note's end plus `TAIL`.  Returns a float32 array (samples,).
    """
    end = max(onset + dur for _, onset, dur in notes)
    out = np.zeros(int((end + TAIL) * sample_rate) + 1, dtype=np.float64)
    for pitch, onset, dur in notes:
        voice = _pluck(pitch, dur, sample_rate)
        start = int(round(onset * sample_rate))
        stop = min(start + len(voice), len(out))
        out[start:stop] += voice[: stop - start]
    peak = np.max(np.abs(out))
    if peak > 0:
        out *= PEAK / peak
    return out.astype(np.float32)


def _pluck(pitch: int, dur: float, sample_rate: int) -> np.ndarray:
    """One plucked note: `dur` seconds sounding, then `RELEASE` seconds of damping."""
    freq = 440.0 * 2 ** ((pitch - 69) / 12)
    n = max(1, int((dur + RELEASE) * sample_rate))
    t = np.arange(n) / sample_rate  # (n,)
    k = np.arange(1, HARMONICS + 1)
    k = k[k * freq < sample_rate / 2 * 0.9]  # no partials folding back past Nyquist
    # Low strings ring longer; each harmonic dies faster than the one below it.
    tau = 1.2 * np.sqrt(220.0 / freq)
    taus = tau / (1 + 0.7 * (k - 1))  # (K,)
    amps = 1.0 / k**1.4  # (K,)
    partials = amps[:, None] * np.exp(-t[None, :] / taus[:, None])  # (K, n)
    partials *= np.sin(2 * np.pi * freq * k[:, None] * t[None, :])
    wave_ = partials.sum(axis=0)  # (n,)
    envelope = np.minimum(1.0, t / ATTACK)
    damping = np.clip((dur + RELEASE - t) / RELEASE, 0.0, 1.0)  # linear fade after note-off
    return wave_ * envelope * damping


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())


def _fluidsynth(midi: mido.MidiFile, out: Path, sample_rate: int) -> None:
    """Render with FluidSynth into `out` (the caller's temp file)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.mid"
        with_tail(midi).save(str(source))
        rendered = Path(tmp) / "out.wav"
        command = ["fluidsynth", "-ni", "-F", str(rendered), "-r", str(sample_rate)]
        command += [str(_soundfont()), str(source)]
        subprocess.run(command, check=True, capture_output=True, timeout=FLUIDSYNTH_TIMEOUT)
        if not rendered.is_file():
            raise OSError("fluidsynth wrote no file")
        shutil.move(str(rendered), str(out))


def with_tail(midi: mido.MidiFile) -> mido.MidiFile:
    """A copy of `midi` whose tracks end `TAIL` seconds late: FluidSynth stops rendering at
    the end of the tracks, and would otherwise cut the last note's release short."""
    tempo = next(
        (msg.tempo for track in midi.tracks for msg in track if msg.type == "set_tempo"),
        DEFAULT_TEMPO,
    )
    extra = round(mido.second2tick(TAIL, midi.ticks_per_beat, tempo))
    copy = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        track = mido.MidiTrack(track)
        if track and track[-1].type == "end_of_track":
            track[-1] = track[-1].copy(time=track[-1].time + extra)
        copy.tracks.append(track)
    return copy
