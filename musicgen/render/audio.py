"""Render MIDI to a WAV file: FluidSynth with a General MIDI soundfont if installed, else a
small numpy synthesizer with four voices.

The built-in voices are additive: harmonics of the note's pitch under an envelope.  The
MIDI's program (``--program``, General MIDI, 0-based) picks one by family (`voice_for`):
``plucked`` (guitars, harp, banjo...: harmonics decaying exponentially, higher ones faster,
as on a real string), ``piano`` (keyboards: a brighter strike and a longer ring),
``bowed`` (strings, the default violin 40: a slow attack, held at full level, with
vibrato) and ``flute`` (pipes, reeds, organs: nearly pure, breathy onset, held).  Each has
a few milliseconds of attack at least, so nothing clicks, and a short release at note-off.
FluidSynth, when present, plays the program's own General MIDI instrument instead.
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
from musicgen.files import atomic_write
from musicgen.render.midi import read_notes

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


def voice_for(program: int) -> str:
    """The built-in voice for General MIDI `program` (0-based): its instrument family."""
    if program == 46 or 104 <= program <= 108 or 24 <= program <= 31:  # harp, banjo, guitars
        return "plucked"
    if 40 <= program <= 55 or program == 110:  # strings, ensembles, fiddle
        return "bowed"
    if 16 <= program <= 23 or 56 <= program <= 79 or program in (109, 111):  # organ, wind
        return "flute"
    if 0 <= program <= 15:  # pianos, chromatic percussion
        return "piano"
    return "plucked"


def _program(midi: mido.MidiFile) -> int:
    """The first program change in the file; 0 (piano) as General MIDI says, if none."""
    return next(
        (msg.program for track in midi.tracks for msg in track if msg.type == "program_change"),
        0,
    )


def midi_to_wav(midi: mido.MidiFile, path, *, sample_rate: int = 22050) -> None:
    """Write `midi` as a mono 16-bit WAV at `path`, atomically.

    Uses FluidSynth when `renderer()` says so (its WAV is as FluidSynth writes it, usually
    stereo; on failure the built-in synthesizer is used), else the built-in one.  Raises
    `MidiError` if the file has no notes and `OutputError` if `path` cannot be written.
    """
    notes = _notes_in_seconds(midi)
    voice = voice_for(_program(midi))
    if renderer() == "fluidsynth":

        def write(tmp: Path) -> None:
            try:
                _fluidsynth(midi, tmp, sample_rate)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("fluidsynth failed (%s); using the built-in synthesizer", exc)
                _write_wav(tmp, synthesize(notes, sample_rate, voice), sample_rate)

        atomic_write(Path(path), write)
        return
    samples = synthesize(notes, sample_rate, voice)
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


def synthesize(notes, sample_rate: int = 22050, voice: str = "plucked") -> np.ndarray:
    """Audio of (pitch, onset s, duration s) notes in `voice`, floats in [-1, 1].

    Length is the last note's end plus `TAIL`.  Returns a float32 array (samples,).
    """
    end = max(onset + dur for _, onset, dur in notes)
    out = np.zeros(int((end + TAIL) * sample_rate) + 1, dtype=np.float64)
    for pitch, onset, dur in notes:
        note = _note(voice, pitch, dur, sample_rate)
        start = int(round(onset * sample_rate))
        stop = min(start + len(note), len(out))
        out[start:stop] += note[: stop - start]
    peak = np.max(np.abs(out))
    if peak > 0:
        out *= PEAK / peak
    return out.astype(np.float32)


# voice: (harmonic amplitude power, decay time at 220 Hz in s or None = held, attack s,
# vibrato depth as a frequency ratio).  Flute: nearly pure; bowed: rich, slow attack.
VOICES = {
    "plucked": (1.4, 1.2, ATTACK, 0.0),
    "piano": (1.1, 2.5, 0.002, 0.0),
    "bowed": (1.0, None, 0.05, 0.004),
    "flute": (3.0, None, 0.03, 0.002),
}
VIBRATO_HZ = 5.5  # a player's vibrato rate


def _note(voice: str, pitch: int, dur: float, sample_rate: int) -> np.ndarray:
    """One note in `voice`: `dur` seconds sounding, then `RELEASE` seconds of release."""
    power, decay, attack, vibrato = VOICES[voice]
    freq = 440.0 * 2 ** ((pitch - 69) / 12)
    n = max(1, int((dur + RELEASE) * sample_rate))
    t = np.arange(n) / sample_rate  # (n,)
    k = np.arange(1, HARMONICS + 1)
    k = k[k * freq < sample_rate / 2 * 0.9]  # no partials folding back past Nyquist
    amps = 1.0 / k**power  # (K,)
    # phase of the fundamental; vibrato wobbles it by ±`vibrato` of the frequency
    phase = (
        2
        * np.pi
        * freq
        * (t - vibrato / (2 * np.pi * VIBRATO_HZ) * np.cos(2 * np.pi * VIBRATO_HZ * t))
    )
    partials = amps[:, None] * np.sin(k[:, None] * phase[None, :])  # (K, n)
    if decay is not None:
        # Low strings ring longer; each harmonic dies faster than the one below it.
        taus = decay * np.sqrt(220.0 / freq) / (1 + 0.7 * (k - 1))  # (K,)
        partials *= np.exp(-t[None, :] / taus[:, None])
    wave_ = partials.sum(axis=0)  # (n,)
    envelope = np.minimum(1.0, t / attack)
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
