"""Tests for musicgen.playback.gchords and accompany: chord symbols spelt and played."""

from __future__ import annotations

from fractions import Fraction

import pytest

from musicgen.playback.accompany import BASS, CHORD, accompany
from musicgen.playback.events import BAR
from musicgen.playback.gchords import (
    GuitarChord,
    bass_pitch,
    default_pattern,
    read_gchord,
    read_pattern,
    voicing,
)


def one(text: str) -> GuitarChord:
    (chord,) = read_gchord(text)
    return chord


@pytest.mark.parametrize(
    ("text", "pitches"),
    [
        ("G", (55, 59, 62)),
        ("Am", (57, 60, 64)),
        ("D7", (50, 54, 57, 60)),
        ("Em7", (52, 55, 59, 62)),
        ("Cmaj7", (48, 52, 55, 59)),
        ("Bdim", (59, 62, 65)),
        ("Eaug", (52, 56, 60)),
        ("Gm6", (55, 58, 62, 64)),
        ("D9", (50, 54, 57, 60, 64)),
        ("Dsus4", (50, 54, 57)),  # abc2midi 4.84 spells sus4 as a major triad
        ("Dsus", (50, 55, 57)),
        ("Bb", (58, 62, 65)),
        ("F#m", (54, 57, 61)),
        ("Cb", (47, 51, 54)),  # the root's pitch class from C: Cb sits below C3
        ("Bbb", (57, 61, 64)),  # a second sign doubles the first
        ("(G)", (55, 59, 62)),
        ("D.C.", (50, 54, 57)),  # an unknown type plays a major triad
    ],
)
def test_chord_voicing_from_c3(text, pitches):
    assert voicing(one(text)) == pitches


def test_a_bass_note_in_the_chord_lifts_the_notes_below_it_an_octave():
    chord = one("Am/C")
    assert voicing(chord) == (69, 60, 64)
    assert bass_pitch(chord) == 36  # C2
    assert voicing(one("G/B")) == (67, 59, 62)


def test_a_bass_note_outside_the_chord_only_changes_the_bass():
    chord = one("C/Bb")
    assert voicing(chord) == (48, 52, 55)
    assert bass_pitch(chord) == 46


def test_the_bass_plays_the_root_from_c2():
    assert bass_pitch(one("G")) == 43
    assert bass_pitch(one("D7")) == 38


def test_a_lower_case_root_is_a_bass_note_alone():
    chord = one("g")
    assert chord.intervals is None and voicing(chord) == () and bass_pitch(chord) == 43


def test_unknown_types_are_marked_and_semicolons_split():
    assert not one("D.C.").known and one("Am").known
    assert [c.root for c in read_gchord("G;D")] == [7, 2]


@pytest.mark.parametrize(
    "text", ["^fine", "_below", "<left", ">right", "@1,2 at", "1", "Segno", ""]
)
def test_annotations_fingerings_and_other_text_name_no_chord(text):
    assert read_gchord(text) == []


def test_default_patterns_per_meter():
    assert "".join(letter for letter, _ in default_pattern((4, 4))) == "fzczfzcz"
    assert "".join(letter for letter, _ in default_pattern((6, 8))) == "fzcfzc"
    assert "".join(letter for letter, _ in default_pattern((3, 4))) == "fzczcz"
    assert default_pattern((3, 2)) is None and default_pattern(None) is None


def test_read_pattern_lengths_and_bad_patterns():
    assert read_pattern("f2zc") == (("f", 2), ("z", 1), ("c", 1))
    assert read_pattern("hello") == (("h", 1),)  # abc2midi reads up to the first stranger
    assert read_pattern("nope") is None


def test_accompany_plays_bass_and_chord_on_the_pattern_slots():
    cues = [(Fraction(0), BAR), (Fraction(0), one("G")), (Fraction(2), one("D"))]
    backing = accompany(cues, Fraction(4), (4, 4))
    half = Fraction(1, 2)
    assert [(p, t, d, part) for p, t, d, _, part in backing.notes] == [
        (43, 0, half, BASS),
        *((p, 1, half, CHORD) for p in (55, 59, 62)),
        (38, 2, half, BASS),
        *((p, 3, half, CHORD) for p in (50, 54, 57)),
    ]
    assert {v for _, _, _, v, part in backing.notes if part == BASS} == {80}
    assert {v for _, _, _, v, part in backing.notes if part == CHORD} == {75}


def test_nothing_plays_before_the_first_chord():
    backing = accompany([(Fraction(2), one("G"))], Fraction(4), (4, 4))
    assert min(t for _, t, _, _, _ in backing.notes) == 2


def test_a_meter_without_a_pattern_plays_nothing():
    assert accompany([(Fraction(0), one("G"))], Fraction(6), (3, 2)).notes == []
