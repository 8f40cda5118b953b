"""The WAV renderer: the built-in synthesizer's voices, read back with `wave`."""

from __future__ import annotations

import time
import wave

import mido
import numpy as np
import pytest

from musicgen.errors import MidiError
from musicgen.render import audio
from musicgen.render.midi import read_notes, tune_to_midi
from tests.conftest import JIG

LONG_A = """X:1
T:Long A
M:4/4
L:1/4
K:C
A4|]
"""


@pytest.fixture(autouse=True)
def built_in(monkeypatch):
    """Test our synthesizer even where FluidSynth is installed."""
    monkeypatch.setattr(audio, "renderer", lambda: "built-in")


def _read(path) -> tuple[wave.Wave_read, np.ndarray]:
    with wave.open(str(path), "rb") as handle:
        frames = handle.readframes(handle.getnframes())
        return handle, np.frombuffer(frames, dtype="<i2").astype(np.float64)


def _last_note_end(midi) -> float:
    tempo = next(m.tempo for t in midi.tracks for m in t if m.type == "set_tempo")
    return max(onset + dur for _, onset, dur in read_notes(midi)) * tempo / 1e6


def test_jig_wav_format_length_and_level(tmp_path):
    midi = tune_to_midi(JIG)
    path = tmp_path / "jig.wav"
    audio.midi_to_wav(midi, path, sample_rate=22050)
    handle, samples = _read(path)
    assert handle.getframerate() == 22050
    assert handle.getnchannels() == 1
    assert handle.getsampwidth() == 2
    seconds = len(samples) / 22050
    end = _last_note_end(midi)
    assert end <= seconds <= end + 1.0
    rms = np.sqrt(np.mean(samples**2)) / 32768
    assert rms > 0.05, f"nearly silent: RMS {rms:.4f} of full scale"
    assert np.max(np.abs(samples)) < 32767, "clipped"
    assert not list(tmp_path.glob(".*")), "temp file left behind"


def test_sustained_a_sounds_at_440_hz(tmp_path):
    assert [p for p, _, _ in read_notes(tune_to_midi(LONG_A))] == [69]  # A4
    path = tmp_path / "a.wav"
    audio.midi_to_wav(tune_to_midi(LONG_A), path, sample_rate=22050)
    _, samples = _read(path)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / 22050)
    peak = freqs[np.argmax(spectrum)]
    assert peak == pytest.approx(440.0, rel=0.02)


def test_plucked_not_a_steady_beep(tmp_path):
    path = tmp_path / "a.wav"
    audio.midi_to_wav(tune_to_midi(LONG_A, program=24), path, sample_rate=22050)  # guitar
    _, samples = _read(path)
    window = 2205  # 0.1 s
    first = np.sqrt(np.mean(samples[:window] ** 2))
    later = np.sqrt(np.mean(samples[11025 : 11025 + window] ** 2))  # at 0.5 s
    assert later < 0.8 * first, "no decay: a sine beep, not a pluck"
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / 22050)
    second = spectrum[np.abs(freqs - 880) < 10].max()
    assert second > 0.05 * spectrum.max(), "no overtones"


def test_thirty_seconds_render_fast():
    notes = [(60 + i % 12, i * 0.25, 0.25) for i in range(120)]  # 30 s of eighth notes
    start = time.process_time()  # CPU time: other jobs on a shared machine do not count
    samples = audio.synthesize(notes, 22050)
    assert time.process_time() - start < 1.0
    assert len(samples) / 22050 == pytest.approx(30.0 + audio.TAIL, abs=0.01)
    assert np.max(np.abs(samples)) <= 1.0


def test_no_notes_is_a_midi_error(tmp_path):
    import mido

    with pytest.raises(MidiError, match="no notes"):
        audio.midi_to_wav(mido.MidiFile(), tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_renderer_names_one_of_two():
    assert audio.renderer() in ("fluidsynth", "built-in")


def test_fluidsynth_gets_a_tail_after_the_last_note():
    midi = tune_to_midi(LONG_A)
    tempo = next(m.tempo for t in midi.tracks for m in t if m.type == "set_tempo")
    longer = audio.with_tail(midi)
    assert longer.length == pytest.approx(midi.length + audio.TAIL, abs=0.01)
    assert read_notes(longer) == read_notes(midi) and tempo == mido.bpm2tempo(104)
    assert midi.tracks[1][-1].time == 0  # the original is left alone


def test_program_picks_the_built_in_voice_by_family():
    assert [audio.voice_for(p) for p in (0, 24, 46, 105, 40, 48, 73, 78, 21)] == [
        "piano",
        "plucked",
        "plucked",
        "plucked",
        "bowed",
        "bowed",
        "flute",
        "flute",
        "flute",
    ]


def _levels_and_overtone(program: int, tmp_path) -> tuple[float, float, float]:
    path = tmp_path / f"{program}.wav"
    audio.midi_to_wav(tune_to_midi(LONG_A, program=program), path, sample_rate=22050)
    _, samples = _read(path)
    window = 2205  # 0.1 s
    first = np.sqrt(np.mean(samples[2205 : 2205 + window] ** 2))  # after any attack
    later = np.sqrt(np.mean(samples[11025 : 11025 + window] ** 2))  # at 0.5 s
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / 22050)
    third = spectrum[np.abs(freqs - 1320) < 15].max() / spectrum.max()
    return first, later, third


def test_voices_sound_different(tmp_path):
    bowed = _levels_and_overtone(40, tmp_path)  # violin, the default
    flute = _levels_and_overtone(73, tmp_path)
    plucked = _levels_and_overtone(24, tmp_path)
    piano = _levels_and_overtone(0, tmp_path)
    assert bowed[1] > 0.9 * bowed[0] and flute[1] > 0.9 * flute[0], "held voices decayed"
    assert plucked[1] < 0.8 * plucked[0] and piano[1] < 0.95 * piano[0], "struck voices held"
    assert piano[1] / piano[0] > plucked[1] / plucked[0], "piano rings longer than a pluck"
    assert flute[2] < 0.5 * bowed[2], "flute no purer than the violin"
