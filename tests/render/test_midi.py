"""Tests for musicgen.render.midi: one small named ABC fixture per musical feature.

Every feature test goes the whole way: ABC -> MidiFile -> write_midi -> file -> read_notes,
so the assertions are about what a MIDI player would actually hear.  Each fixture is also
played by abc2midi in tests/render/test_fidelity.py, which must agree with these expectations.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from musicgen.abc.corpus import read_corpus
from musicgen.errors import MidiError, OutputError
from musicgen.render.midi import default_bpm, read_notes, tune_to_midi, write_midi

ROOT = Path(__file__).resolve().parents[2]


def tune(body: str, meter: str = "4/4", key: str = "C Major", extra: str = "") -> str:
    """A complete tune in the canonical form the rest of musicgen writes."""
    return f"X:1\nT:Fixture\nM:{meter}\nL:1/8\n{extra}K:{key}\n{body}\n"


# One feature each.  Pitches are MIDI numbers: C4 = 60, A4 = 69, c (C5) = 72.
JIG_WITH_ENDINGS = tune("GAB cde|1 dBG A3:|2 g3 G3|]", meter="6/8", key="G Major")
TWO_PARTS = tune("CD EF|G4:|\nAB c2|d4:|", meter="2/4")
LAST_ENDING_TO_DOUBLE_BAR = tune("C4|D4:|\nE4|[1 F4:|[2 G4|A4||\nB4|c4:|", meter="2/4")
THREE_PASSES = tune("|:C4|[1,3 D4:|[2 E4:|[4 F4|]", meter="2/4")
DOUBLE_BAR_AFTER_REPEAT = tune("C4|D4:|E4|F4||G4|A4:|", meter="2/4")
REEL_TRIPLET = tune("(3efe d2 A4|d8|", meter="C", key="D Major")
BROKEN_RHYTHM = tune("A>B A<B|c4|", meter="2/4")
TIE_ACROSS_BAR = tune("A2 A2-|A2 B2|", meter="2/4")
ACCIDENTAL_IN_BAR = tune("^F F F2|F4|", meter="2/4")
KEY_SIGNATURE = tune("FGAB|c4|", meter="2/4", key="G Major")
NATURAL_IN_KEY = tune("=F F F2|F4|", meter="2/4", key="G Major")
MODES = tune("FGAB|c4|", meter="2/4", key="D Mixolydian")
CHORD_AND_REST = tune("[DA]2 z B|c4|", meter="2/4")
GUITAR_CHORDS = tune('"G"GA "Am"Bc|"D7"d4|', meter="2/4", key="G Major")
INLINE_KEY = tune("FGAB|[K:C] FGAB|\nK:D Major\nF4|", meter="2/4", key="G Major")
INLINE_METER = tune("ABcd|[M:3/4]ABc|[L:1/4]A B c|", meter="2/4")
BARE_METER_LINE = tune("ABcd|\nM:3/4 ABc A2|\nM:4/4\nABcd|", meter="2/4")
OLD_LINE_END_MARKER = tune("ed|cAAB cBcd|!\nc2Ac B2Bc|d2de dBGB:|!", meter="C|", key="A Dorian")
DECORATIONS = tune("uA vB !p!c Hd +fermata+e2 Lf !>!g .a .b2|", meter="C")
ORNAMENTS = tune("~A2 TB2 !trill!c2 !roll!d2|", meter="C")
GRACE_NOTES = tune("{g}A2 {/f}B2 {ABc}c2 {e}d2|", meter="C")
# Decorations and ornaments, one each, as abc2midi performs them (see musicgen.playback.ornaments).
FERMATA = tune("HA2 !fermata!B2 Hz2 H[CE]2 +fermata+c2|", meter="C")
STACCATO = tune(".A2 !breath!B2 .[CE]2 [.Gc]2 .c.d !staccato!e2|", meter="C")
CUT = tune("~A2 ~B3 c ~d/e/ f2|", meter="C")
TRILL = tune("TA2 !trill!B2 TA4|", meter="C")
TIED_TRILL = tune("TA2-A2 B4|", meter="C")
ROLL = tune("RA2 RB3 c|", meter="C")
IGNORED_DECORATIONS = tune(
    "!roll!A2 !mordent!B2 !lowermordent!c2 !uppermordent!d2|"
    "!pralltriller!e2 !turn!f2 MA PB LA uB vc2|",
    meter="C",
)
GRACE_BEFORE_BAR_OR_SHORT_NOTE = tune("A2 B2 {g}|c2 {gag}d/ e3/|", meter="2/4")
GRACE_DIVIDER = tune("%%MIDI gracedivider 2\n{g}A2 B2|", meter="2/4")
INVISIBLE_REST = tune("x2 A2 x B|", meter="2/4")
ANNOTATIONS = tune('"^fine"A2 "_D.C."B2 "<(x)"c2 "Segno"d2|', meter="C")
TRANSPOSE = tune("%%MIDI transpose -2\nA2 B2 ^c2 d2|", meter="C")
HEADER_PARTS = tune("P:A\nA2B2:|\nP:B\nc2d2|", meter="2/4", extra="P:BA2\n")
PART_LABELS_WITHOUT_ORDER = tune("P:A\nA2B2|\nP:B\nc2d2|", meter="2/4")
STACCATO_CHORD_TIED = tune(".[DF]2-.[DF]2 [CE]2-[CE]2|", meter="C")
ACCIDENTAL_ACROSS_OCTAVES = tune("^F f F, =f|F f4 z2|", meter="C")
TUPLETS = tune("(5CDEFG (2CD|(3:2:4C2D2EF|", meter="6/8")
CHORD_LENGTHS = tune("[CE]2 [C2E] [CE2] [C/E/]2 [C2E2]/|", meter="C")
TIE_WITH_SPACE_AND_CHORD = tune('e2 -"Am"e2 A2-[Ac]2|', meter="C")
WITH_Q = tune("CDEF|G4|", meter="2/4", extra="Q:1/4=120\n")
JIG_Q_DOTTED = tune("CDE FGA|", meter="6/8", extra="Q:3/8=100\n")
PICKUP = tune("C|DE FG|A4|", meter="2/4")
ENDINGS_OUT_OF_ORDER = tune("C4:|[2 D4|[1 E4:|", meter="2/4")
ONLY_RESTS = tune("z4|z4|", meter="2/4")
UNCLOSED_CHORD = tune("A B c [", meter="2/4")
BAD_ACCIDENTAL = tune("A B ^ c|d4|", meter="2/4")  # a lone ^ is no accidental
TOO_HIGH = tune("c''''''''''''|", meter="2/4")
NO_KEY = "X:1\nT:Fixture\nM:2/4\nABcd|\n"


def roundtrip(abc: str, tmp_path: Path, **options) -> list[tuple[int, float, float]]:
    """Notes of the tune as written to disk and read back."""
    path = tmp_path / "tune.mid"
    write_midi(tune_to_midi(abc, **options), path)
    return read_notes(path)


def pitches(notes) -> list[int]:
    return [pitch for pitch, _, _ in notes]


def messages(midi: mido.MidiFile, kind: str) -> list:
    return [msg for track in midi.tracks for msg in track if msg.type == kind]


def test_jig_endings_play_first_then_second(tmp_path):
    notes = roundtrip(JIG_WITH_ENDINGS, tmp_path)
    bar = [67, 69, 71, 72, 74, 76]
    assert pitches(notes) == bar + [74, 71, 67, 69] + bar + [79, 67]
    assert [onset for _, onset, _ in notes[:6]] == pytest.approx([0, 0.5, 1, 1.5, 2, 2.5])
    last_pitch, last_onset, last_duration = notes[-1]
    assert (last_onset, last_duration) == pytest.approx((10.5, 1.5))
    assert last_onset + last_duration == pytest.approx(12.0)  # four bars of 6/8


def test_second_part_repeats_from_its_own_start(tmp_path):
    # No |: anywhere, as in most folk ABC: AABB, not AABAAB.
    notes = roundtrip(TWO_PARTS, tmp_path)
    part_a, part_b = [60, 62, 64, 65, 67], [69, 71, 72, 74]
    assert pitches(notes) == part_a * 2 + part_b * 2
    assert notes[-1][1] + notes[-1][2] == pytest.approx(16.0)


def test_repeat_after_endings_goes_back_past_them_as_abc2midi_does(tmp_path):
    # abc2midi adds no |: after a part with endings, so the last :| returns to E4, skips
    # both endings (their passes are over) and plays B4 c4 again: E B c, not B c.
    notes = roundtrip(LAST_ENDING_TO_DOUBLE_BAR, tmp_path)
    assert pitches(notes) == [60, 62, 60, 62] + [64, 65, 64, 67, 69] + [71, 72, 64, 71, 72]


def test_endings_for_several_passes(tmp_path):
    # [1,3 plays on passes 1 and 3, [2 on pass 2, [4 on the last.
    assert pitches(roundtrip(THREE_PASSES, tmp_path)) == [60, 62, 60, 64, 60, 62, 60, 65]


def test_double_bar_after_a_repeat_opens_a_section(tmp_path):
    notes = roundtrip(DOUBLE_BAR_AFTER_REPEAT, tmp_path)
    assert pitches(notes) == [60, 62, 60, 62, 64, 65, 67, 69, 67, 69]


def test_triplet_notes_are_a_third_of_a_quarter(tmp_path):
    notes = roundtrip(REEL_TRIPLET, tmp_path)
    assert notes == [
        (76, 0.0, pytest.approx(1 / 3)),
        (78, pytest.approx(1 / 3), pytest.approx(1 / 3)),
        (76, pytest.approx(2 / 3), pytest.approx(1 / 3)),
        (74, 1.0, 1.0),
        (69, 2.0, 2.0),
        (74, 4.0, 4.0),
    ]


def test_broken_rhythm_dots_one_note_and_halves_the_other(tmp_path):
    notes = roundtrip(BROKEN_RHYTHM, tmp_path)
    assert notes == [
        (69, 0.0, 0.75),
        (71, 0.75, 0.25),
        (69, 1.0, 0.25),
        (71, 1.25, 0.75),
        (72, 2.0, 2.0),
    ]


def test_tie_across_bar_line_is_one_note(tmp_path):
    notes = roundtrip(TIE_ACROSS_BAR, tmp_path)
    assert notes == [(69, 0.0, 1.0), (69, 1.0, 2.0), (71, 3.0, 1.0)]


def test_accidental_lasts_to_the_bar_line(tmp_path):
    assert pitches(roundtrip(ACCIDENTAL_IN_BAR, tmp_path)) == [66, 66, 66, 65]


def test_key_signature_sharpens_f_in_g_major(tmp_path):
    assert pitches(roundtrip(KEY_SIGNATURE, tmp_path)) == [66, 67, 69, 71, 72]


def test_natural_lasts_to_the_bar_line_then_key_returns(tmp_path):
    assert pitches(roundtrip(NATURAL_IN_KEY, tmp_path)) == [65, 65, 65, 66]


def test_mode_names_give_their_key_signature(tmp_path):
    # D Mixolydian: F sharp, C natural.
    assert pitches(roundtrip(MODES, tmp_path)) == [66, 67, 69, 71, 72]


def test_chord_notes_are_struck_a_strum_apart_and_rest_delays_later_notes(tmp_path):
    notes = roundtrip(CHORD_AND_REST, tmp_path)
    strum = 10 / 480  # abc2midi's note delay in a chord
    assert notes == [(62, 0.0, 1.0), (69, strum, 1 - strum), (71, 1.5, 0.5), (72, 2.0, 2.0)]


def test_guitar_chords_leave_the_melody_as_it_is_and_play_beside_it(tmp_path):
    midi = tune_to_midi(GUITAR_CHORDS)
    melody = [m.note for m in midi.tracks[1] if m.type == "note_on" and m.velocity]
    assert melody == [67, 69, 71, 72, 74]
    backing = [(m.channel, m.note) for m in midi.tracks[2] if m.type == "note_on"]
    assert backing[:4] == [(1, 43), (2, 57), (2, 60), (2, 64)]  # G bass, then Am


def test_inline_key_change_applies(tmp_path):
    notes = roundtrip(INLINE_KEY, tmp_path)
    assert pitches(notes) == [66, 67, 69, 71, 65, 67, 69, 71, 66]


def test_music_on_a_bare_meter_line_is_dropped_as_abc2midi_drops_it(tmp_path):
    notes = roundtrip(BARE_METER_LINE, tmp_path)
    assert pitches(notes) == [69, 71, 72, 74, 69, 71, 72, 74]


def test_badly_formed_repeats_play_as_abc2midi_plays_them(tmp_path):
    assert pitches(roundtrip(ENDINGS_OUT_OF_ORDER, tmp_path)) == [60, 60, 64, 62]


def test_inline_meter_and_unit_length_changes_apply(tmp_path):
    notes = roundtrip(INLINE_METER, tmp_path)
    assert pitches(notes) == [69, 71, 72, 74, 69, 71, 72, 69, 71, 72]
    assert [duration for _, _, duration in notes] == [0.5] * 7 + [1.0] * 3
    meters = messages(tune_to_midi(INLINE_METER), "time_signature")
    assert [(m.numerator, m.denominator) for m in meters] == [(2, 4), (3, 4)]
    assert [m.time for m in meters] == [0, 2 * 480]  # at the start of the second bar


def test_old_line_end_marker_keeps_the_notes_beside_it(tmp_path):
    notes = roundtrip(OLD_LINE_END_MARKER, tmp_path)
    once = [76, 74, 72, 69, 69, 71, 72, 71, 72, 74, 72, 69, 72, 71, 71, 72, 74, 74, 76, 74]
    assert pitches(notes) == (once + [71, 67, 71]) * 2  # the :| goes back to the pickup


def test_fermata_doubles_and_staccato_halves_other_decorations_keep_time(tmp_path):
    notes = roundtrip(DECORATIONS, tmp_path)
    assert pitches(notes) == [69, 71, 72, 74, 76, 77, 79, 81, 83]
    assert [onset for _, onset, _ in notes] == [0, 0.5, 1, 1.5, 2.5, 4.5, 5, 5.5, 6]
    assert notes[3][2] == 1 and notes[4][2] == 2  # Hd and +fermata+e2: twice as long
    assert notes[-2][2] == 0.25 and notes[-1][2] == 0.5  # .a and .b2: half their length


def test_cut_trill_and_roll_play_as_abc2midi_plays_them(tmp_path):
    notes = roundtrip(ORNAMENTS, tmp_path)
    cut = [(71, 0.0, 0.125), (69, 0.125, 0.875)]  # ~A2: a grace note above, then A
    trill = [(72 if i % 2 == 0 else 71, 1 + i / 8, 0.125) for i in range(8)]  # TB2, upper first
    bang_trill = [(74 if i % 2 == 0 else 72, 2 + i / 8, 0.125) for i in range(8)]
    assert notes == cut + trill + bang_trill + [(74, 3.0, 1.0)]  # !roll! is not played


def test_three_unit_cut_and_the_five_note_roll(tmp_path):
    cut = [n for n in roundtrip(CUT, tmp_path) if 0.9 < n[1] < 2.5]  # ~B3, after ~A2
    assert cut == [(71, 1.0, 0.5), (72, 1.5, 0.125), (71, 1.625, 0.375), (69, 2.0, 0.125),
                   (71, 2.125, 0.375)]  # fmt: skip
    roll = roundtrip(ROLL, tmp_path)[:5]
    assert roll == [(p, i / 5, 0.2) for i, p in enumerate((69, 71, 69, 67, 69))]


def test_tied_trill_trills_on_through_the_tie(tmp_path):
    notes = roundtrip(TIED_TRILL, tmp_path)
    assert len(notes) == 17 and notes[-1] == (71, 2.0, 2.0)
    assert {p for p, _, _ in notes[:-1]} == {69, 71}


def test_grace_notes_take_a_quarter_of_their_length_from_the_next_note(tmp_path):
    notes = roundtrip(GRACE_NOTES, tmp_path)
    assert notes == [
        (79, 0.0, 0.125), (69, 0.125, 0.875), (77, 1.0, 0.125), (71, 1.125, 0.875),
        (69, 2.0, 0.125), (71, 2.125, 0.125), (72, 2.25, 0.125), (72, 2.375, 0.625),
        (76, 3.0, 0.125), (74, 3.125, 0.875),
    ]  # fmt: skip


def test_grace_notes_before_a_bar_line_or_a_too_short_note_are_dropped(tmp_path):
    assert pitches(roundtrip(GRACE_BEFORE_BAR_OR_SHORT_NOTE, tmp_path)) == [69, 71, 72, 74, 76]


def test_parts_play_in_the_header_order(tmp_path):
    assert pitches(roundtrip(HEADER_PARTS, tmp_path)) == [72, 74, 69, 71, 69, 71] * 1 + [
        69, 71, 69, 71
    ]  # fmt: skip
    assert pitches(roundtrip(PART_LABELS_WITHOUT_ORDER, tmp_path)) == [69, 71, 72, 74]


def test_midi_transpose_and_invisible_rests(tmp_path):
    assert pitches(roundtrip(TRANSPOSE, tmp_path)) == [67, 69, 71, 72]
    assert roundtrip(INVISIBLE_REST, tmp_path) == [(69, 1.0, 1.0), (71, 2.5, 0.5)]


def test_accidental_holds_for_its_letter_in_every_octave(tmp_path):
    # As abc2midi plays it: ^F sharpens f and F, too, until the bar line.
    assert pitches(roundtrip(ACCIDENTAL_ACROSS_OCTAVES, tmp_path)) == [66, 78, 54, 77, 65, 77]


def test_tuplets_of_five_two_and_p_q_r(tmp_path):
    notes = roundtrip(TUPLETS, tmp_path)
    durations = [round(duration, 3) for _, _, duration in notes]
    assert durations == [0.3] * 5 + [0.75] * 2 + [0.667, 0.667, 0.333, 0.333]
    assert notes[-1][1] + notes[-1][2] == pytest.approx(5.0)


def test_chord_lasts_as_long_as_its_first_note_or_its_written_length(tmp_path):
    # abc2midi: a length after ] replaces the lengths inside, it does not multiply them.
    notes = roundtrip(CHORD_LENGTHS, tmp_path)
    assert [(onset, duration) for _, onset, duration in notes[::2]] == [
        (0.0, 1.0),
        (1.0, 1.0),
        (2.0, 0.5),
        (2.5, 1.0),
        (3.5, 0.25),
    ]
    assert pitches(notes) == [60, 64] * 5


def test_tie_after_a_space_or_into_a_chord():
    midi = tune_to_midi(TIE_WITH_SPACE_AND_CHORD)  # its "Am" plays on a third track
    notes = read_notes(mido.MidiFile(ticks_per_beat=midi.ticks_per_beat, tracks=midi.tracks[:2]))
    assert notes == [(76, 0.0, 2.0), (69, 2.0, 2.0), (72, 3.0, 1.0)]


def test_q_field_sets_tempo():
    (tempo,) = messages(tune_to_midi(WITH_Q), "set_tempo")
    assert tempo.tempo == 500_000
    (tempo,) = messages(tune_to_midi(JIG_Q_DOTTED), "set_tempo")
    assert tempo.tempo == mido.bpm2tempo(150)  # dotted quarter 100 = quarter 150


def test_default_tempo_follows_the_meter():
    (tempo,) = messages(tune_to_midi(REEL_TRIPLET), "set_tempo")
    assert tempo.tempo == mido.bpm2tempo(default_bpm(4, 4))
    (tempo,) = messages(tune_to_midi(JIG_WITH_ENDINGS), "set_tempo")
    assert tempo.tempo == mido.bpm2tempo(default_bpm(6, 8))
    assert default_bpm(6, 8) > default_bpm(4, 4)  # jigs are counted in dotted quarters


def test_tempo_bpm_overrides_q_field():
    (tempo,) = messages(tune_to_midi(WITH_Q, tempo_bpm=90), "set_tempo")
    assert tempo.tempo == mido.bpm2tempo(90)


def test_time_signature_and_file_layout():
    midi = tune_to_midi(JIG_WITH_ENDINGS)
    assert midi.ticks_per_beat == 480 and midi.type == 1
    (meter,) = messages(midi, "time_signature")
    assert (meter.numerator, meter.denominator) == (6, 8)
    assert all(track[-1].type == "end_of_track" for track in midi.tracks)
    (meter,) = messages(tune_to_midi(tune("A8|", meter="C|")), "time_signature")
    assert (meter.numerator, meter.denominator) == (2, 2)


def test_program_change_is_the_program_argument(tmp_path):
    path = tmp_path / "flute.mid"
    write_midi(tune_to_midi(KEY_SIGNATURE, program=73), path)
    (change,) = messages(mido.MidiFile(path), "program_change")
    assert change.program == 73


def test_program_out_of_range_is_refused():
    with pytest.raises(MidiError, match="program 128"):
        tune_to_midi(KEY_SIGNATURE, program=128)


def test_downbeats_are_accented_and_pickup_is_not():
    midi = tune_to_midi(PICKUP)
    velocities = [msg.velocity for msg in messages(midi, "note_on")]
    # C (pickup) | D E F G | A : the downbeats are D and A.
    assert velocities[1] == velocities[5] > velocities[0] == velocities[2] == velocities[3]


def test_unclosed_chord_is_played_as_far_as_it_goes(tmp_path):
    assert pitches(roundtrip(UNCLOSED_CHORD, tmp_path)) == [69, 71, 72]


def test_missing_key_field_is_a_one_line_midi_error():
    with pytest.raises(MidiError, match="tune 'Fixture': no K: field before the music") as caught:
        tune_to_midi(NO_KEY)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("abc", [ONLY_RESTS, "this is not an ABC tune"])
def test_tune_without_notes_is_a_midi_error(abc):
    with pytest.raises(MidiError) as caught:
        tune_to_midi(abc)
    assert "\n" not in str(caught.value)


def test_no_notes_message_names_the_tune():
    with pytest.raises(MidiError, match=r"tune 'Fixture': no notes to play"):
        tune_to_midi(ONLY_RESTS)


def test_tune_longer_than_midi_can_state_is_a_midi_error():
    with pytest.raises(MidiError, match="tune 'Fixture': 2000000001 beats is too long for MIDI"):
        tune_to_midi(tune("A Z500000000 B|"))


def test_note_outside_midi_range_is_a_midi_error():
    with pytest.raises(MidiError, match="outside MIDI's range"):
        tune_to_midi(TOO_HIGH)


def test_stray_characters_are_skipped_silently(capfd):
    assert pitches(read_notes(tune_to_midi(BAD_ACCIDENTAL))) == [69, 71, 72, 74]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_write_midi_into_missing_directory_is_an_output_error(tmp_path):
    target = tmp_path / "missing" / "tune.mid"
    with pytest.raises(OutputError, match="missing/tune.mid: cannot write") as caught:
        write_midi(tune_to_midi(KEY_SIGNATURE), target)
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_write_midi_into_read_only_directory_is_an_output_error(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="Permission denied"):
            write_midi(tune_to_midi(KEY_SIGNATURE), tmp_path / "tune.mid")
        assert list(tmp_path.iterdir()) == []
    finally:
        tmp_path.chmod(0o755)


def test_failed_write_leaves_no_temp_file_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "tune.mid"
    target.write_bytes(b"old")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        write_midi(tune_to_midi(KEY_SIGNATURE), target)
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"old"


def test_write_midi_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "tune.mid"
    target.write_bytes(b"old")
    write_midi(tune_to_midi(KEY_SIGNATURE), target)
    assert list(tmp_path.iterdir()) == [target]
    assert pitches(read_notes(target)) == [66, 67, 69, 71, 72]


def test_read_notes_takes_path_file_object_or_midifile(tmp_path):
    midi = tune_to_midi(CHORD_AND_REST)
    path = tmp_path / "tune.mid"
    write_midi(midi, path)
    buffer = io.BytesIO(path.read_bytes())
    assert read_notes(str(path)) == read_notes(buffer) == read_notes(midi) == read_notes(path)


def test_read_notes_skips_drums_and_sorts_by_onset_then_pitch():
    track = mido.MidiTrack(
        [
            mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
            mido.Message("note_on", channel=0, note=72, velocity=80, time=0),
            mido.Message("note_on", channel=1, note=60, velocity=80, time=0),
            mido.Message("note_off", channel=9, note=36, velocity=0, time=240),
            mido.Message("note_on", channel=0, note=72, velocity=0, time=0),  # velocity 0 = off
            mido.Message("note_off", channel=1, note=60, velocity=0, time=240),
        ]
    )
    midi = mido.MidiFile(type=0, ticks_per_beat=480, tracks=[track])
    assert read_notes(midi) == [(60, 0.0, 1.0), (72, 0.0, 0.5)]


def test_read_notes_of_a_non_midi_file_is_a_midi_error(tmp_path):
    path = tmp_path / "not.mid"
    path.write_text("not midi")
    with pytest.raises(MidiError, match="not.mid: cannot read MIDI file"):
        read_notes(path)


def test_importing_the_module_does_not_import_music21():
    code = "import sys, musicgen.render.midi; sys.exit('music21' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_first_twenty_corpus_tunes_convert():
    corpus = read_corpus([ROOT / "data" / "abc_tunes" / "irish.abc"])
    for number, item in enumerate(corpus.tunes[:20], start=1):
        midi = tune_to_midi(item.abc(number=number))
        notes = read_notes(midi)
        assert len(notes) > 50, item.title
        assert all(duration > 0 for _, _, duration in notes), item.title
