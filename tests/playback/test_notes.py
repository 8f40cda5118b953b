"""musicgen.playback.reader: ABC text -> written events, one small fixture per rule."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicgen.errors import MidiError
from musicgen.playback.events import (
    BAR,
    BOTH,
    DOUBLE,
    END,
    START,
    Ending,
    Meter,
    Ornament,
    Part,
    Strike,
)
from musicgen.playback.reader import read_tune


def events(body: str, meter: str = "4/4", key: str = "C", unit: str = "1/8") -> list:
    return read_tune(f"X:1\nT:t\nM:{meter}\nL:{unit}\nK:{key}\n{body}\n").events


def strikes(body: str, **header) -> list[tuple[list[int], Fraction]]:
    """(pitches, length in quarter notes) of each note, chord and rest."""
    return [
        ([s.pitch for s in e.sounds], e.length)
        for e in events(body, **header)
        if isinstance(e, Strike)
    ]


def test_header_values():
    written = read_tune("X:1\nT:Jig\nT:Second title\nM:6/8\nQ:3/8=100\nK:D\nABc|\n")
    assert (written.title, written.meter, written.sharps, written.tempo) == ("Jig", (6, 8), 2, 150)


def test_pitches_octaves_and_key():
    assert strikes("C c c' C, F", key="G") == [
        ([60], Fraction(1, 2)),
        ([72], Fraction(1, 2)),
        ([84], Fraction(1, 2)),
        ([48], Fraction(1, 2)),
        ([66], Fraction(1, 2)),
    ]


def test_lengths_follow_the_unit_and_default_from_the_meter():
    assert [length for _, length in strikes("A2 A/ A3/2 A//")] == [1, 0.25, 0.75, 0.125]
    no_unit = read_tune("X:1\nT:t\nM:2/4\nK:C\nA|\n").events
    assert no_unit[0].length == Fraction(1, 4)  # L: defaults to 1/16 below 3/4


def test_accidentals_last_to_the_bar_line_in_every_octave():
    assert [p for (p,), _ in strikes("^F f | F =F F")] == [66, 78, 65, 65, 65]


def test_bar_line_kinds_and_endings():
    kinds = [e for e in events("A|B||c|]d[|e|:f:|g::a|1 b:|2 c'[3 d'") if not isinstance(e, Strike)]
    assert kinds == [
        BAR,
        DOUBLE,
        DOUBLE,
        DOUBLE,
        START,
        END,
        BOTH,
        BAR,
        Ending(frozenset({1})),
        END,
        Ending(frozenset({2})),
        Ending(frozenset({3})),
    ]


def test_stray_colons_after_a_double_bar_are_ignored():
    # abc2midi reads ||: as || (no repeat start) and :|: as :|.
    assert [e for e in events("A||:B:|:c") if isinstance(e, str)] == [DOUBLE, END]


def test_chord_takes_its_first_note_length_or_the_one_after_the_bracket():
    assert strikes("[C2E] [CE]3/2") == [([60, 64], 1), ([60, 64], Fraction(3, 4))]


def test_broken_rhythm_only_between_equal_notes():
    assert [length for _, length in strikes("A>B A2>B A<<B")] == [
        Fraction(3, 4),
        Fraction(1, 4),
        1,
        Fraction(1, 2),
        Fraction(1, 8),
        Fraction(7, 8),
    ]


def test_staccato_sounds_half_and_blocks_broken_rhythm_with_a_plain_note():
    written = [e for e in events(".A>B .c>.d") if isinstance(e, Strike)]
    assert [(e.length, e.sounds[0].length) for e in written] == [
        (Fraction(1, 2), Fraction(1, 4)),
        (Fraction(1, 2), Fraction(1, 2)),
        (Fraction(3, 4), Fraction(3, 8)),
        (Fraction(1, 4), Fraction(1, 8)),
    ]


def test_dotted_slur_and_dotted_tie_are_not_staccato():
    written = [e for e in events("A .(B) c.-c") if isinstance(e, Strike)]
    assert [e.sounds[0].length for e in written] == [Fraction(1, 2)] * 4
    assert written[2].sounds[0].tie


@pytest.mark.parametrize(
    ("body", "meter", "lengths"),
    [
        ("(3ABc", "4/4", [Fraction(1, 3)] * 3),
        ("(2AB", "6/8", [Fraction(3, 4)] * 2),
        ("(5ABcde", "3/4", [Fraction(3, 10)] * 5),  # numerator divisible by 3: 5 in 3
        ("(5ABcde", "4/4", [Fraction(1, 5)] * 5),
        ("(3:2:4A2B2cd", "4/4", [Fraction(2, 3)] * 2 + [Fraction(1, 3)] * 2),
        ("(3A2Bz", "4/4", [Fraction(2, 3), Fraction(1, 3), Fraction(1, 3)]),
    ],
)
def test_tuplets(body, meter, lengths):
    assert [length for _, length in strikes(body, meter=meter)] == lengths


def test_ties_are_marked_on_notes_and_chords():
    written = [e for e in events("A-B [ce]- [c-e] d") if isinstance(e, Strike)]
    assert [[s.tie for s in e.sounds] for e in written] == [
        [True],
        [False],
        [True, True],
        [True, False],
        [False],
    ]


def test_guitar_chords_take_no_time_and_grace_notes_lean_on_the_next_note():
    written = [e for e in events('"G"A {gab}B "^fine"c') if isinstance(e, Strike)]
    assert [(e.sounds[0].pitch, e.length, e.grace) for e in written] == [
        (69, Fraction(1, 2), False),
        (79, Fraction(1, 8), True),
        (81, Fraction(1, 8), True),
        (83, Fraction(1, 8), True),
        (71, Fraction(1, 8), False),  # B gives the three grace notes their time
        (72, Fraction(1, 2), False),
    ]


def test_decorations_take_their_effect_from_the_ornaments_table():
    written = [
        e for e in events("!trill!c +fermata+d ~e uf Tg Hz !roll!a") if isinstance(e, Strike)
    ]
    trill, fermata, cut_grace, cut, plain, t_trill, rest, roll = written
    assert trill.sounds[0].ornament == Ornament("trill", 74, 71)
    assert fermata.length == 1 and cut_grace.grace and cut_grace.sounds[0].pitch == 77
    assert cut.length == Fraction(3, 8) and plain.sounds[0].ornament is None
    assert t_trill.sounds[0].ornament == Ornament("trill", 81, 77)
    assert rest.length == 1 and not rest.sounds  # a fermata holds a rest, too
    assert roll.sounds[0].ornament is None  # abc2midi ignores !roll!


def test_one_letter_decorations_act_only_right_before_their_note():
    written = [e for e in events("H A .(B) .kc") if isinstance(e, Strike)]
    assert [e.length for e in written] == [Fraction(1, 2)] * 3
    assert [e.sounds[0].length for e in written] == [Fraction(1, 2)] * 3


def test_header_part_order_and_body_labels():
    written = read_tune("X:1\nT:t\nM:2/4\nL:1/8\nP:A2B\nK:C\nP:A\nAB|\nP:B\ncd|\n")
    assert written.parts == "AAB"
    assert [e for e in written.events if isinstance(e, Part)] == [Part("A"), Part("B"), Part("")]


def test_midi_directives_transpose_and_set_the_grace_divider():
    written = events("%%MIDI transpose 12\nA\n%%MIDI gracedivider 2\n{g}B2|")
    pitches = [(e.sounds[0].pitch, e.length) for e in written if isinstance(e, Strike)]
    assert pitches == [(81, Fraction(1, 2)), (91, Fraction(1, 4)), (83, Fraction(3, 4))]
    assert len(events("A %%MIDI transpose 12")) == 1  # mid-line, %% is a comment


def test_rests_and_measure_rests():
    assert strikes("z2 x Z2", meter="3/4") == [([], 1), ([], Fraction(1, 2)), ([], 6)]


def test_inline_and_line_fields():
    written = events("A[K:F]B[L:1/4]c|\nM:3/4\nP:B\nd|")
    # A body P: without a header P: order is no label (abc2midi ignores it).
    assert [e for e in written if isinstance(e, (Meter, Part, str))] == [BAR, Meter(3, 4), BAR]
    assert [(s.sounds[0].pitch, s.length) for s in written if isinstance(s, Strike)] == [
        (69, Fraction(1, 2)),
        (70, Fraction(1, 2)),
        (72, 1),
        (74, 1),
    ]


def test_music_on_a_meter_line_is_dropped_as_abc2midi_drops_it():
    written = events("A|\nM:3/4 B c|\nd|")
    assert Meter(3, 4) in written
    assert [e.sounds[0].pitch for e in written if isinstance(e, Strike)] == [69, 74]


def test_only_the_first_voice_and_no_overlay():
    assert [p for (p,), _ in strikes("V:1\nAB|\nV:2\ncd|\nV:1\nef|")] == [69, 71, 76, 77]
    assert [p for (p,), _ in strikes("AB & cd|ef|")] == [69, 71, 76, 77]


def test_old_line_end_marker_and_comments_are_skipped():
    assert [p for (p,), _ in strikes("AB|!\ncd|% comment\n%%MIDI program 1\nef|")] == [
        69,
        71,
        72,
        74,
        76,
        77,
    ]


def test_the_tune_ends_at_a_blank_line_or_the_next_x():
    assert len(strikes("AB|\n\ncd|")) == 2
    assert len(read_tune("X:1\nT:t\nK:C\n\nAB|\nX:2\nT:u\nK:C\ncd|\n").events) == 3


def test_missing_key_is_an_error_naming_the_tune():
    with pytest.raises(MidiError, match="tune 'Reel': no K: field before the music"):
        read_tune("X:1\nT:Reel\nM:C\nABcd|\n")
    with pytest.raises(MidiError, match="tune 'Untitled': no K: field"):
        read_tune("X:1\n")


@given(st.text(alphabet="ABCabcz|:[]()<>-^_=,'/23 {}\"!.~&\nMK", max_size=60))
def test_any_body_reads_without_crashing(body):
    for event in read_tune(f"X:1\nT:t\nM:6/8\nL:1/8\nK:G\n{body}").events:
        if isinstance(event, Strike):
            assert event.length >= 0 and all(s.length >= 0 for s in event.sounds)
