"""Guitar chords against abc2midi: melody, bass and chord channels, note for note.

One small named fixture per rule of `musicgen.playback.accompany` and
`musicgen.playback.gchords`; each is played by plain abc2midi and compared with our MIDI
(melody as tests/render/test_fidelity.py compares it, then the accompaniment track).
"""

from __future__ import annotations

import shutil

import pytest

from musicgen.render.midi import tune_to_midi
from tests.render.test_fidelity import abc2midi_one, melody_and_backing, same, same_backing
from tests.render.test_midi import tune

REEL = tune('"G"GABc "D7"d2 "Am/C"e2|"Em"e8|', meter="4/4")
JIG_PICKUP_REPEAT = tune(
    '"G"D|"G"GAB "D"AFD|"C"E2G "D7"FED|"Em"EFG "Am/C"ABc|"D"d3-"G"d2:|', meter="6/8"
)
WALTZ = tune('"G"G2 A2 "Em"B2|"C"c4 "D"d2|"G/B"B6|]', meter="3/4")
POLKA = tune('"G"GA "D"Bc|"Em"d2 "C"e2|"D"f4|', meter="2/4")
CHANGE_MID_SLOT = tune('"G"G>A "D"Bc "Em"d/e/"C"f/g/ "D"a2|"G"g8|', meter="4/4")
CHORD_NAMES = tune(
    '"(G)"GABc "g"dcBA|"G;D"GABc "Bb"dcBA|"F#m"GABc "Cb"dcBA|"Dsus4"GABc "D9"dcBA|'
    '"Am7"GABc "Bdim"dcBA|"Eaug"G2"Gm6"c2 "C#7"d2"Ebmaj7"e2|',
    meter="4/4",
)
UNKNOWN_WITH_KNOWN = tune('"D.C."GABc "Fine"dcBA|"G"GABc dcBA|', meter="4/4")
ONLY_UNKNOWN = tune('"D.C."GABc "Fine"dcBA|"Hmm"GABc dcBA|', meter="4/4")
NO_PATTERN_METER = tune('"G"GABc dcBA "D"AB|', meter="3/2")
ENDINGS = tune('|:"G"GABc "D"dcBA|1"C"c8:|2"D7"d8|]', meter="4/4")
REPEAT_MID_BAR = tune('"G"GABc "D"dc:|"Em"BA|"C"c8|', meter="4/4")
DOUBLE_REPEAT_MID_BAR = tune('|:"G"GABc "D"dc::"Em"BA "G"GA:|"C"c8|', meter="4/4")
OVERLONG_BAR = tune('"G"GABc dcBA GABc|"D"d8|', meter="4/4")
SHORT_PICKUP = tune('"G"G/|"D"dcBA GABc|"G"g8|', meter="4/4")
METER_CHANGE = tune('"G"GABc dcBA|[M:3/4]"D"d2 e2 f2|"G"g6|', meter="4/4")
DIRECTIVES = tune(
    '"G"GABc "D"dcBA|\n%%MIDI gchordoff\n"Em"e8|\n%%MIDI gchordon\n"C"c8|',
    meter="4/4",
    extra="%%MIDI gchord fzczfzcz\n%%MIDI chordprog 24\n%%MIDI bassvol 100\n",
)
TRANSPOSED = tune('"G"GABc "D/F#"dcBA|', meter="4/4", extra="%%MIDI transpose 2\n")
BEFORE_GRACE_NOTES = tune('"G"{a}GABc "D"{g}dcBA|', meter="4/4")

FIXTURES = sorted(n for n, v in dict(globals()).items() if n.isupper() and isinstance(v, str))


def test_guitar_chords_get_a_track_of_their_own():
    midi = tune_to_midi(REEL)
    assert len(midi.tracks) == 3
    channels = {m.channel for m in midi.tracks[2] if m.type == "note_on"}
    assert channels == {1, 2}
    assert len(tune_to_midi(ONLY_UNKNOWN).tracks) == 2  # abc2midi: no known chord, no track


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi missing")
@pytest.mark.parametrize("name", FIXTURES)
def test_every_guitar_chord_fixture_agrees_with_abc2midi(name, tmp_path):
    text = globals()[name]
    reference = abc2midi_one(text, tmp_path, read=melody_and_backing)
    tune_notes, chords = melody_and_backing(tune_to_midi(text))
    assert same(tune_notes, reference[0])
    assert same_backing(chords, reference[1]), (chords, reference[1])
    if name not in ("ONLY_UNKNOWN", "NO_PATTERN_METER"):
        assert chords  # the comparison is not of two empty tracks


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi missing")
def test_the_backing_comparison_can_fail(tmp_path):
    reference = abc2midi_one(REEL, tmp_path, read=melody_and_backing)[1]
    assert not same_backing(melody_and_backing(tune_to_midi(POLKA))[1], reference)
    shifted = [(c, p, t + 0.1, d) for c, p, t, d in reference]
    assert not same_backing(shifted, reference)
