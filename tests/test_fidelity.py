"""Fidelity: the melody in musicgen's MIDI is, note for note, the melody abc2midi writes.

abcMIDI's abc2midi (Debian package ``abcmidi``) is the reference ABC player.  Every tune of
the bundled corpus and of music21's bundled Nottingham folder goes through both; the
(pitch, onset, duration) sequences, in quarter notes, must agree within rounding
(`TOLERANCE`).  Differences that are deliberate are excluded by rule, never by tune:
- guitar chords ``"G"`` are accompaniment: abc2midi runs with ``-NGUI``, and only notes on
  the melody track's own channel are compared (drones and chords use other channels);
- grace notes make no sound in musicgen: abc2midi runs with ``-NGRA``;
- fermatas are played as written: abc2midi runs with ``-NFER`` (else it doubles the note);
- abc2midi strikes chord notes 10 ticks apart to sound human: ``%%MIDI chordattack 0``;
- tunes with rolls or trills (``~``, ``T``, ``!roll!``, ``!trill!``...), which abc2midi plays as
  runs of short notes, are left out of the count (`ORNAMENT`; none in these corpora).
The full sweep against plain abc2midi, with no rule at all, is `tests.fidelity_sweep`.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import mido
import pytest

from musicgen.abc import read_corpus
from musicgen.midi import read_notes, tune_to_midi
from tests import test_midi

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "abc_tunes"
TOLERANCE = 1 / 32  # quarter notes: abc2midi starts a note 1 tick late, ends it 1 early
ABC2MIDI = ["abc2midi", "-NGRA", "-NFER", "-NGUI", "-silent"]
ORNAMENT = re.compile(r"~|T(?=[\^_=A-Ga-gH-W.~(\[{])|!(roll|trill|turn|\w*mordent)!")

pytestmark = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi missing")


def nottingham_files() -> list[Path]:
    """The .abc files of music21's bundled nottingham-dataset folder (found, not assumed)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(spec.submodule_search_locations[0]) / "corpus" / "nottingham-dataset"
    return sorted(folder.glob("*.abc"))


def abc2midi_melodies(texts: list[str], tmp: Path) -> list[list | None]:
    """abc2midi's melody for each tune text (None where it writes no file), in one run."""
    numbered = [re.sub(r"^X:.*$", f"X:{i}", t, count=1, flags=re.M) for i, t in enumerate(texts, 1)]
    source = tmp / "all.abc"
    source.write_text(
        "\n".join(t.replace("\n", "\n%%MIDI chordattack 0\n", 1) for t in numbered),
        encoding="utf-8",
    )
    subprocess.run([ABC2MIDI[0], str(source), *ABC2MIDI[1:]], capture_output=True, timeout=60)
    return [melody(tmp / f"all{i}.mid") for i in range(1, len(texts) + 1)]


def melody(path: Path) -> list | None:
    """Notes of the first track with notes, on the channel of its first note."""
    try:
        midi = mido.MidiFile(path)
    except (OSError, EOFError, ValueError):  # no file, or abc2midi gave up half-way
        return None
    for track in midi.tracks:
        notes = [m for m in track if m.type in ("note_on", "note_off")]
        if notes:
            channel = notes[0].channel
            kept = mido.MidiTrack(m for m in track if getattr(m, "channel", channel) == channel)
            return read_notes(mido.MidiFile(ticks_per_beat=midi.ticks_per_beat, tracks=[kept]))
    return []


def ours(text: str) -> list:
    return read_notes(tune_to_midi(text))


def same(a: list, b: list | None) -> bool:
    if b is None or len(a) != len(b):
        return False
    return all(
        p == q and abs(s - t) <= TOLERANCE and abs(d - e) <= TOLERANCE
        for (p, s, d), (q, t, e) in zip(_by_onset(a), _by_onset(b), strict=True)
    )


def _by_onset(notes: list) -> list:
    # Onsets within rounding count as equal, so chords compare pitch by pitch.
    return sorted(notes, key=lambda n: (round(n[1] / TOLERANCE), n[0]))


def excluded(text: str) -> bool:
    """Left out of the count by a rule of the module docstring (applied to the body)."""
    body = re.split(r"^K:.*$", text, maxsplit=1, flags=re.MULTILINE)[-1]
    return bool(ORNAMENT.search(re.sub(r'"[^"]*"', "", body)))


def agreement(texts: list[str], tmp: Path) -> tuple[int, int, list[int]]:
    """(tunes that agree, tunes compared, positions of those that do not)."""
    compared = [t for t in texts if not excluded(t)]
    references = abc2midi_melodies(compared, tmp)
    differ = [
        i
        for i, (t, r) in enumerate(zip(compared, references, strict=True), 1)
        if not same(ours(t), r)
    ]
    return len(compared) - len(differ), len(compared), differ


def test_corpus_agrees_with_abc2midi(tmp_path):
    tunes = read_corpus([CORPUS]).tunes
    agree, total, differ = agreement([t.abc(i) for i, t in enumerate(tunes, 1)], tmp_path)
    print(f"\ndata/abc_tunes: {agree}/{total} tunes agree with abc2midi")
    assert len(tunes) - total <= 5  # the rules leave out a few tunes, not a swathe
    assert agree / total >= 0.99, f"{agree}/{total}; first that differ: {differ[:10]}"


def test_nottingham_agrees_with_abc2midi(tmp_path):
    files = nottingham_files()
    if not files:
        pytest.skip("music21's nottingham-dataset folder is not installed")
    tunes = read_corpus(files).tunes
    agree, total, differ = agreement([t.abc(i) for i, t in enumerate(tunes, 1)], tmp_path)
    print(f"\nnottingham-dataset: {agree}/{total} tunes agree with abc2midi")
    assert total == len(tunes) > 0
    assert agree / total >= 0.95, f"{agree}/{total}; first that differ: {differ[:10]}"


NO_MIDI = {"ONLY_RESTS", "TOO_HIGH", "NO_KEY"}  # fixtures of errors: nothing to compare
FIXTURES = sorted(
    name
    for name, value in vars(test_midi).items()
    if name.isupper() and isinstance(value, str) and value.startswith("X:")
    if name not in NO_MIDI and not excluded(value)
)


@pytest.mark.parametrize("name", FIXTURES)
def test_every_feature_fixture_agrees_with_abc2midi(name, tmp_path):
    text = getattr(test_midi, name)
    (reference,) = abc2midi_melodies([text], tmp_path)
    assert same(ours(text), reference), (ours(text), reference)


def test_the_comparison_can_fail(tmp_path):
    (reference,) = abc2midi_melodies([test_midi.TIE_ACROSS_BAR], tmp_path)
    assert same(ours(test_midi.TIE_ACROSS_BAR), reference)
    assert not same(ours(test_midi.BROKEN_RHYTHM), reference)
    shifted = [(p, s + 0.1, d) for p, s, d in reference]
    assert not same(shifted, reference)
    assert not same(reference, None)
