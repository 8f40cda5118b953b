"""Keys and modes, meters, unit lengths and durations from `musicgen.theory`."""

from fractions import Fraction

import pytest

from musicgen import theory


@pytest.mark.parametrize(
    ("value", "sharps"),
    [("G", 1), ("E Dorian", 2), ("Bbm", -5), ("Emin clef=treble", 1), ("D mix", 1),
     ("F#", 6), ("C Lydian", 1), ("E Phrygian", 0), ("B loc", 0), ("none", 0), ("Hp", 2)],
)  # fmt: skip
def test_key_signature_counts_sharps_of_every_mode(value, sharps):
    assert theory.key_signature(value)[1] == sharps


def test_key_signature_reads_explicit_accidentals_and_comments():
    keymap, _ = theory.key_signature("D =c % not ^g")
    assert keymap["F"] == 1 and keymap["C"] == 0 and keymap["G"] == 0
    assert theory.key_signature("C exp ^f")[0] == {**dict.fromkeys("FCGDAEB", 0), "F": 1}


def test_mode_table_is_one_table_for_names_and_abbreviations():
    for name in theory.MODE_NAMES:
        assert theory.mode_sharps(name) == theory.MODES[name[:3].lower()]
    assert theory.mode_sharps("m") == -3 and theory.mode_sharps("") == 0
    assert theory.mode_sharps("clef") is None


@pytest.mark.parametrize(
    ("value", "meter"),
    [("6/8", (6, 8)), (" 6 / 8 ", (6, 8)), ("C", (4, 4)), ("C|", (2, 2)),
     ("2+3/8", (5, 8)), ("(2 + 3)/8", (5, 8)), ("3/4 % waltz", (3, 4)),
     ("none", None), ("", None), ("0/4", None), ("x/4", None)],
)  # fmt: skip
def test_parse_meter_tolerates_spaces_and_reads_common_time(value, meter):
    assert theory.parse_meter(value) == meter


def test_default_unit_follows_the_meter():
    assert theory.default_unit((2, 4)) == Fraction(1, 16)
    assert theory.default_unit((3, 4)) == Fraction(1, 8)
    assert theory.default_unit(None) == Fraction(1, 8)
    assert theory.default_unit_length("2/4") == "1/16"
    assert theory.default_unit_length("C|") == "1/8"
    assert theory.meter_fraction("6/8") == Fraction(3, 4)


def test_units_lengths_and_tempo():
    assert theory.parse_unit("1/8") == Fraction(1, 8) and theory.parse_unit("1/0") is None
    assert theory.note_length("3", "/", "2") == Fraction(3, 2)
    assert theory.note_length("", "//", "") == Fraction(1, 4)
    assert theory.note_length("", "/", "4") == Fraction(1, 4)
    assert theory.parse_tempo("3/8=100") == 150.0
    assert theory.ending_passes("1-3,5") == frozenset({1, 2, 3, 5})


def test_tuplets_and_pitches():
    assert [theory.tuplet_q(p, False) for p in (2, 3, 4, 5)] == [3, 2, 3, 2]
    assert theory.tuplet_q(5, True) == 3
    assert theory.midi_pitch("C", 0, 0) == 60 and theory.midi_pitch("c", 1, 1) == 73
    assert theory.strip_comment("abc \\% d % e") == "abc \\% d "
