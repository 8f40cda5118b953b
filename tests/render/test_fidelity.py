"""Fidelity: the melody in musicgen's MIDI is, note for note, the melody abc2midi writes.

abcMIDI's abc2midi (Debian package ``abcmidi``) is the reference ABC player, run plain: no
``-N`` flags, no exclusion by rule.  Only tunes abc2midi itself writes no readable MIDI
for are left out, and they are counted.  Compared: the melody channel (first track with
notes, the channel of its first note), pitch for pitch, onsets and durations within
`TOLERANCE` (abc2midi starts a note 1 tick late and ends it 1 early).  abc2midi run over
many tunes in one file sometimes carries state from one tune into the next, so a tune
that disagrees is checked again against abc2midi run on that tune alone.

Here: every fixture of tests/render/test_midi.py (one feature or decoration each), all of
data/abc_tunes, and a fixed sample of each of music21's bundled collections; the full
sweep over every tune is ``python -m tests.fidelity_sweep``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import mido
import pytest

from musicgen.abc.corpus import read_corpus
from musicgen.render.midi import read_notes, tune_to_midi
from tests.render import test_midi

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "data" / "abc_tunes"
TOLERANCE = 1 / 48  # quarter notes: 10 ticks of abc2midi's 480
COLLECTIONS = ("ryansMammoth", "essenFolksong", "airdsAirs", "miscFolk", "nottingham-dataset")
SAMPLE = {"essenFolksong": 200}  # tunes sampled per collection here (default `SAMPLE_SIZE`)
SAMPLE_SIZE = 60

pytestmark = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi missing")


def collection_files(name: str) -> list[Path]:
    """The .abc files of one of music21's bundled collections (found, not assumed)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted((Path(spec.submodule_search_locations[0]) / "corpus" / name).rglob("*.abc"))


def melody(path) -> list | None:
    """Notes of the first track with notes, on the channel of its first note (`path`: a
    file or a `mido.MidiFile`)."""
    try:
        midi = path if isinstance(path, mido.MidiFile) else mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError):  # none, or half-written
        return None
    for track in midi.tracks:
        notes = [m for m in track if m.type in ("note_on", "note_off")]
        if notes:
            channel = notes[0].channel
            kept = mido.MidiTrack(m for m in track if getattr(m, "channel", channel) == channel)
            return read_notes(mido.MidiFile(ticks_per_beat=midi.ticks_per_beat, tracks=[kept]))
    return []


def backing(path) -> list | None:
    """The guitar-chord accompaniment: notes of the track right after the melody's, if it
    is one (abc2midi's "gchord track", our "accompaniment"), as (channel, pitch, onset,
    duration) in quarter notes; [] when there is none, None when the file is unreadable."""
    try:
        midi = path if isinstance(path, mido.MidiFile) else mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError):
        return None
    tracks = [t for t in midi.tracks if any(m.type == "note_on" for m in t)]
    if len(tracks) < 2:
        return []
    marks = {getattr(m, "text", None) or getattr(m, "name", None) for m in tracks[1] if m.is_meta}
    if not marks & {"gchord track", "accompaniment"}:
        return []
    notes = []
    for channel in sorted({m.channel for m in tracks[1] if m.type == "note_on"}):
        kept = mido.MidiTrack(m for m in tracks[1] if getattr(m, "channel", channel) == channel)
        one = mido.MidiFile(ticks_per_beat=midi.ticks_per_beat, tracks=[kept])
        notes += [(channel, *note) for note in read_notes(one)]
    return sorted(notes, key=lambda n: (round(n[2] / TOLERANCE), n[0], n[1]))


def same_backing(a: list | None, b: list | None) -> bool:
    """Channel and pitch for each note, onsets and durations within `TOLERANCE`."""
    if a is None or b is None or len(a) != len(b):
        return False
    return all(
        n[:2] == m[:2]
        and abs(n[2] - m[2]) <= TOLERANCE + 1e-9
        and abs(n[3] - m[3]) <= TOLERANCE + 1e-9
        for n, m in zip(a, b, strict=True)
    )


def melody_and_backing(path) -> tuple[list, list] | None:
    """(melody, backing) of a MIDI file; None when it is unreadable."""
    tune, chords = melody(path), backing(path)
    return None if tune is None or chords is None else (tune, chords)


def abc2midi_one(text: str, tmp: Path, name: str = "one", read=None) -> list | None:
    """Plain abc2midi's melody (or what `read` reads) for one tune run on its own."""
    source, out = tmp / f"{name}.abc", tmp / f"{name}.mid"
    source.write_text(text + "\n", encoding="utf-8")
    subprocess.run(
        ["abc2midi", str(source), "-silent", "-o", str(out)],
        capture_output=True, timeout=60, cwd=tmp,
    )  # fmt: skip
    return (read or melody)(out)


def abc2midi_melodies(texts: list[str], tmp: Path, read=None) -> list:
    """Plain abc2midi's melody (or what `read` reads from each file) for each tune, in one
    run (None where it writes no file)."""
    read = read or melody
    numbered = [re.sub(r"^X:.*$", f"X:{i}", t, count=1, flags=re.M) for i, t in enumerate(texts, 1)]
    source = tmp / "all.abc"
    source.write_text("\n\n".join(numbered) + "\n", encoding="utf-8")
    subprocess.run(["abc2midi", str(source), "-silent"], capture_output=True, timeout=600, cwd=tmp)
    found = [read(tmp / f"all{i}.mid") for i in range(1, len(texts) + 1)]
    # abc2midi sometimes dies part-way through a long file: the tunes after the crash get
    # a run of their own before they count as unconvertible.
    return [
        ref if ref is not None else abc2midi_one(t, tmp, read=read)
        for t, ref in zip(numbered, found, strict=True)
    ]


def ours(text: str) -> list | None:
    try:
        return melody(tune_to_midi(text))
    except Exception:  # noqa: BLE001 - a comparison counts failures, it does not stop on them
        return None


def same(a: list | None, b: list | None) -> bool:
    """Pitch for pitch, onsets and durations within `TOLERANCE` quarter notes."""
    if a is None or b is None or len(a) != len(b):
        return False
    return all(
        p == q and abs(s - t) <= TOLERANCE + 1e-9 and abs(d - e) <= TOLERANCE + 1e-9
        for (p, s, d), (q, t, e) in zip(_by_onset(a), _by_onset(b), strict=True)
    )


def _by_onset(notes: list) -> list:
    # Onsets within rounding count as equal, so chords compare pitch by pitch.
    return sorted(notes, key=lambda n: (round(n[1] / TOLERANCE), n[0]))


def agreement(texts: list[str], tmp: Path) -> tuple[int, int, int, list[int]]:
    """(tunes that agree, tunes compared, tunes abc2midi cannot convert, numbers of those
    that differ)."""
    references = abc2midi_melodies(texts, tmp)
    differ, skipped = [], 0
    for number, (text, reference) in enumerate(zip(texts, references, strict=True), 1):
        if not reference:
            skipped += 1
            continue
        mine = ours(text)
        if not same(mine, reference) and not same(mine, abc2midi_one(text, tmp)):
            differ.append(number)
    compared = len(texts) - skipped
    return compared - len(differ), compared, skipped, differ


def texts_of(files: list[Path]) -> list[str]:
    return [t.abc(i) for i, t in enumerate(read_corpus(files).tunes, 1)]


def test_bundled_corpus_agrees_with_abc2midi_everywhere(tmp_path):
    agree, total, skipped, differ = agreement(texts_of([CORPUS]), tmp_path)
    print(f"\ndata/abc_tunes: {agree}/{total} agree, abc2midi cannot convert {skipped}")
    assert total > 700 and skipped == 0
    assert agree == total, f"{agree}/{total}; first that differ: {differ[:10]}"


@pytest.mark.parametrize("name", COLLECTIONS)
def test_sample_of_each_music21_collection_agrees(name, tmp_path):
    files = collection_files(name)
    if not files:
        pytest.skip(f"music21's {name} folder is not installed")
    texts = texts_of(files)
    step = max(1, len(texts) // SAMPLE.get(name, SAMPLE_SIZE))
    agree, total, skipped, differ = agreement(texts[::step], tmp_path)
    print(f"\n{name} (every {step}th): {agree}/{total} agree, cannot convert {skipped}")
    assert total > 0 and skipped <= total // 20
    assert agree / total >= 0.95, f"{agree}/{total}; first that differ: {differ[:10]}"


NO_MIDI = {"ONLY_RESTS", "TOO_HIGH", "NO_KEY"}  # fixtures of errors: nothing to compare
FIXTURES = sorted(
    name
    for name, value in vars(test_midi).items()
    if name.isupper() and isinstance(value, str) and value.startswith("X:")
    if name not in NO_MIDI
)


@pytest.mark.parametrize("name", FIXTURES)
def test_every_feature_and_decoration_fixture_agrees_with_abc2midi(name, tmp_path):
    text = getattr(test_midi, name)
    reference = abc2midi_one(text, tmp_path)
    assert same(ours(text), reference), (ours(text), reference)


def test_the_comparison_can_fail(tmp_path):
    reference = abc2midi_one(test_midi.TIE_ACROSS_BAR, tmp_path)
    assert same(ours(test_midi.TIE_ACROSS_BAR), reference)
    assert not same(ours(test_midi.BROKEN_RHYTHM), reference)
    shifted = [(p, s + 0.1, d) for p, s, d in reference]
    assert not same(shifted, reference)
    assert not same(reference, None)
