"""Keys and modes, meters, unit lengths, durations, tempos and endings (`musicgen.abc.theory`)."""

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicgen.abc import theory
from musicgen.abc.theory import (
    ending_passes,
    key_signature,
    note_length,
    parse_meter,
    parse_tempo,
    parse_unit,
    strip_comment,
)


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


def altered(value: str) -> dict[str, int]:
    """Only the letters the key changes: {"F": 1} for G major."""
    keymap, _ = key_signature(value)
    return {letter: shift for letter, shift in keymap.items() if shift}


@pytest.mark.parametrize(
    ("value", "expected", "sharps"),
    [
        ("C", {}, 0),
        ("G Major", {"F": 1}, 1),
        ("Gmaj", {"F": 1}, 1),
        ("Em", {"F": 1}, 1),
        ("E minor", {"F": 1}, 1),
        ("A Dorian", {"F": 1}, 1),
        ("Ador", {"F": 1}, 1),
        ("D Mixolydian", {"F": 1}, 1),
        ("Dmix", {"F": 1}, 1),
        ("F", {"B": -1}, -1),
        ("Bb", {"B": -1, "E": -1}, -2),
        ("F#m", {"F": 1, "C": 1, "G": 1}, 3),
        ("E Phrygian", {}, 0),
        ("F Lydian", {}, 0),
        ("B Locrian", {}, 0),
        ("none", {}, 0),
        ("HP", {}, 0),
        ("Hp", {"F": 1, "C": 1}, 2),
    ],
)
def test_key_signatures_and_modes(value, expected, sharps):
    assert altered(value) == expected
    assert key_signature(value)[1] == sharps


def test_explicit_accidentals_after_the_key():
    assert altered("D =c") == {"F": 1}
    assert altered("D ^g") == {"F": 1, "C": 1, "G": 1}
    assert altered("C exp ^f _b") == {"F": 1, "B": -1}
    assert altered("D exp _e") == {"E": -1}  # exp: only the accidentals written


def test_clef_words_and_garbage_do_not_change_the_key():
    assert altered("G clef=bass") == {"F": 1}
    assert altered("treble") == {}  # no tonic: C major
    assert altered("") == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6/8", (6, 8)),
        ("C", (4, 4)),
        ("C|", (2, 2)),
        ("2+3/8", (5, 8)),
        ("(2+2+3)/8", (7, 8)),
        (" 3/4 % waltz", (3, 4)),
        ("none", None),
        ("", None),
        ("0/4", None),
        ("6/8 ABc", None),
    ],
)
def test_meters(value, expected):
    assert parse_meter(value) == expected


def test_unit_lengths():
    assert parse_unit("1/8") == Fraction(1, 8)
    assert parse_unit(" 1/16 % sixteenths") == Fraction(1, 16)
    assert parse_unit("1") == Fraction(1)
    assert parse_unit("0/8") is None and parse_unit("1/0") is None and parse_unit("x") is None


@pytest.mark.parametrize(
    ("value", "bpm"),
    [
        ("1/4=120", 120.0),
        ("3/8=100", 150.0),
        ("1/2=60", 120.0),
        ("1/4 1/8=80", 120.0),
        ('"Allegro" 1/4=132', 132.0),
        ("96", 96.0),
        ('"Slowly"', None),
        ("1/4=0", None),
    ],
)
def test_tempos_in_quarter_notes_per_minute(value, bpm):
    assert parse_tempo(value) == bpm


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (("", "", ""), Fraction(1)),
        (("2", "", ""), Fraction(2)),
        (("3", "/", "2"), Fraction(3, 2)),
        (("", "/", ""), Fraction(1, 2)),
        (("", "//", ""), Fraction(1, 4)),
        (("", "/", "4"), Fraction(1, 4)),
        (("3", "/", ""), Fraction(3, 2)),
    ],
)
def test_note_lengths(written, expected):
    assert note_length(*written) == expected


def test_ending_passes():
    assert ending_passes("1") == {1}
    assert ending_passes("1,3") == {1, 3}
    assert ending_passes("1-3") == {1, 2, 3}
    assert ending_passes(" 2") == {2}


def test_strip_comment_keeps_an_escaped_percent():
    assert strip_comment("abc|def % a comment") == "abc|def "
    assert strip_comment(r'"50\% off" abc') == r'"50\% off" abc'
    assert strip_comment("%%MIDI program 1") == ""


@given(st.text(max_size=30))
def test_readers_never_raise(text):
    key_signature(text)
    parse_meter(text)
    parse_unit(text)
    parse_tempo(text)
    ending_passes(text)


@pytest.mark.parametrize(
    ("value", "key", "tonic"),
    [("G", (4, 0, "maj"), "G"), ("A Dorian", (5, 0, "dor"), "A"), ("Bbm", (6, -1, "m"), "Bb"),
     ("F#mix", (3, 1, "mix"), "F#"), ("Emin clef=treble", (2, 0, "min"), "E"),
     ("G clef=bass", (4, 0, "maj"), "G"), (" D % comment", (1, 0, "maj"), "D")],
)  # fmt: skip
def test_parse_key_reads_tonic_and_mode(value, key, tonic):
    parsed = theory.parse_key(value)
    assert (parsed.letter, parsed.alter, parsed.mode) == key and parsed.tonic() == tonic


@pytest.mark.parametrize(
    "value", ["G", "E Dorian", "Bbm", "Emin clef=treble", "D mix", "F#", "C Lydian", "B loc"]
)
def test_one_key_model_parse_key_agrees_with_key_signature(value):
    assert (theory.parse_key(value).keymap, theory.parse_key(value).sharps) == key_signature(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [("none", "K:none has no tonic"), ("HP", "K:HP has no tonic"),
     ("D ^c", "K:D ^c: explicit accidentals"), ("D exp _b", "K:D exp _b: explicit accidentals"),
     ("G foo", "K:G foo: unknown mode 'foo'")],
)  # fmt: skip
def test_parse_key_refuses_keys_it_cannot_spell(value, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        theory.parse_key(value)
