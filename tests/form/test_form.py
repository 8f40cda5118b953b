"""`musicgen.form.analysis` and `musicgen.form.parts`: parts, bars, repeats, letters, cadence."""

from __future__ import annotations

from fractions import Fraction

import pytest

from musicgen.abc.corpus import read_corpus
from musicgen.abc.theory import key_tonic
from musicgen.form.analysis import form_counts, form_of, tune_form
from musicgen.form.parts import count_bars
from musicgen.playback.events import Strike
from musicgen.playback.reader import read_tune
from tests.conftest import CORPUS

# One feature each.  Bars of 4/4 in eighths unless the fixture says otherwise.
PICKUP = "AB|c2d2 e2f2|g2f2 e2d2|c2B2 A2G2|F2E2 D2:|"  # 2/8 + 3 bars + 6/8
ENDINGS = "|:c2d2 e2f2|g2f2 e2d2|c2B2 A2G2|F2E2 D2C2|1 E8|F8|G8|A8:|2 B8|c8|d8|e8|]"
ENDINGS_ON_NEW_LINE = "fg|afdg faa2|bged ceag|fgaf gfed|c2A2 A2|\n[1 fg|afdg faa2|bged ceag|\
fgaf bgec|d2dc d2:|\n[2 (3ABc|d2AF d2AF|dcdf ecAg|fgaf bgec|d2dc d2|]"
DOUBLE_COLON = "|:CDEF GABc|dcBA GFED|CDEF GABc|dcBA G4::cdef gabc'|c'bag fedc|cdef gabc'|\
c'bag f4:|"
A8 = "CDEF GABc|dcBA GFED|CEGc dBGE|FAcA GFED|CDEF GABc|dcBA GFED|CEGc BGdB|c8"
B8 = "cdef gabc'|bagf edcB|cege fdfa|gfed cBAG|cdef gabc'|bagf edcB|cege fdBd|c8"
WRITTEN_OUT = f"{A8}||\n{A8[:-2]}C8||\n{B8}||\n{B8[:-2]}c4 z4|]"
DOUBLE_PART = f"{A8[:-2]}C8|{A8}|]"  # 16 bars, no bar line of note between the passes
THIN_THICK = f"{A8}|]\n{B8}|]"
NO_BAR_LINES = "GABc dedB"


def test_a_pickup_and_its_completion_add_up_to_one_bar():
    form = tune_form(PICKUP, "C", "1/8", "D")
    assert [p.bars for p in form.parts] == [4]
    assert form.letters == "AA" and form.parts[0].repeated == "sign"


def test_a_part_with_endings_counts_its_first_ending_only():
    form = tune_form(ENDINGS, "4/4", "1/8", "C")
    (part,) = form.parts
    assert (part.bars, part.endings, part.repeated) == (8, 2, "sign")
    assert form.letters == "AA"


def test_an_ending_on_the_next_line_belongs_to_its_part_and_pickups_pool():
    # The corpus's own spelling: 4 common bars with a pickup, endings that open with one.
    form = tune_form(ENDINGS_ON_NEW_LINE, "C|", "1/8", "D")
    assert [p.bars for p in form.parts] == [8] and form.letters == "AA"


def test_double_colon_closes_a_repeated_part_and_opens_the_next():
    form = tune_form(DOUBLE_COLON, "4/4", "1/8", "C")
    assert form.letters == "AABB" and [p.bars for p in form.parts] == [4, 4]
    assert [p.repeated for p in form.parts] == ["sign", "sign"]


def test_a_part_written_out_twice_keeps_its_letter():
    form = tune_form(WRITTEN_OUT, "4/4", "1/8", "C")
    assert form.letters == "AABB" and [p.bars for p in form.parts] == [8, 8, 8, 8]
    assert [p.repeated for p in form.parts] == ["written", "", "written", ""]
    assert form.aabb_of_8 and form.parts_of_8


def test_an_unrepeated_double_part_with_alike_halves_is_two_passes():
    form = tune_form(DOUBLE_PART, "4/4", "1/8", "C")
    assert form.letters == "AA" and [p.bars for p in form.parts] == [8, 8]


def test_thin_thick_bars_close_parts_that_are_not_repeated():
    form = tune_form(THIN_THICK, "4/4", "1/8", "C")
    assert form.letters == "AB" and [p.repeated for p in form.parts] == ["", ""]
    assert form.parts_of_8 and not form.aabb_of_8


def test_a_tune_without_bar_lines_is_one_part_of_one_bar():
    form = tune_form(NO_BAR_LINES, "4/4", "1/8", "G")
    assert form.letters == "A" and [p.bars for p in form.parts] == [1]
    assert form.last_note_tonic is False  # ends on B in G


@pytest.mark.parametrize(
    ("key", "body", "tonic"),
    [
        ("A Dorian", "EAA ABd|eAA A3|]", True),
        ("E Minor", "EFG B2A|G6|]", False),
        ("E Minor", "EFG B2A|e6|]", True),  # octave-free
        ("D Mixolydian", "ABc d2c|[DFA]6|]", True),  # a chord holding the tonic
        ("F#m", "ABc d2c|f6|]", True),  # the key makes it f sharp: the tonic
        ("F#m", "ABc d2c|=f6|]", False),
        ("Bb", "ABc d2c|B6|]", True),
        ("none", "ABc d2c|B6|]", None),
    ],
)
def test_last_note_is_the_tonic_of_the_key_whatever_its_mode(key, body, tonic):
    assert tune_form(body, "6/8", "1/8", key).last_note_tonic is tonic


def test_b_part_higher_than_a_and_the_range():
    form = tune_form(f"{A8}:|\n{B8}:|", "4/4", "1/8", "C")
    assert form.letters == "AABB" and form.b_higher is True
    assert (form.lowest, form.highest, form.span) == (60, 84, 24)
    low = tune_form(f"{B8}:|\n{A8}:|", "4/4", "1/8", "C")
    assert low.b_higher is False
    assert tune_form(A8 + ":|", "4/4", "1/8", "C").b_higher is None


def test_key_signature_and_bar_accidentals_make_the_pitches():
    form = tune_form("F^Ff F|F", "4/4", "1/8", "G")
    assert form.pitches == (66, 66, 78, 66, 66)  # F# by the key; ^F holds for the bar only
    form = tune_form("^FF =F|F", "4/4", "1/8", "C")
    assert form.pitches == (66, 66, 65, 65)


def test_lengths_follow_unit_tuplets_broken_rhythm_and_skip_grace_notes():
    form = tune_form("(3ABc {g}d>e f/g/ z2 [CE]2|", "4/4", "1/8", "C")
    third = Fraction(1, 12)
    assert form.lengths == (third, third, third, Fraction(3, 16), Fraction(1, 16)) + (
        Fraction(1, 16),
        Fraction(1, 16),
        Fraction(1, 4),
    )
    assert [p.bars for p in form.parts] == [1]


def test_the_notes_are_the_playback_readers():
    body = "(3_BAG [K:D]F>G|[L:1/4]c<d [M:3/4]^c2|[Ac]>B [C2E2]<G,|"
    form = tune_form(body, "4/4", "1/8", "F")
    events = read_tune(f"X:1\nM:4/4\nL:1/8\nK:F\n{body}\n").events
    played = [e for e in events if isinstance(e, Strike) and e.sounds]
    assert form.pitches == tuple(s.pitch for strike in played for s in strike.sounds)
    assert form.lengths == tuple(strike.length / 4 for strike in played)  # quarters -> wholes


def test_broken_rhythm_after_a_chord_changes_both_notes_as_abc2midi_does():
    form = tune_form("[Ac]<a3 A2|", "2/4", "1/16", "C")
    assert form.lengths == (Fraction(1, 32), Fraction(9, 32), Fraction(1, 8))


def test_decorations_and_midi_lines_leave_the_written_notes_alone():
    form = tune_form("HA2 ~B2 .c>d|\n%%MIDI transpose 12\nE4|", "2/4", "1/8", "C")
    assert form.pitches == (69, 71, 72, 74, 64)
    assert form.lengths == (Fraction(1, 4),) * 2 + (
        Fraction(3, 16),
        Fraction(1, 16),
        Fraction(1, 2),
    )


def test_a_short_first_bar_and_a_meter_change_in_the_body():
    form = tune_form("A|B2c d2e|[M:2/4]A2 B2|c4|]", "6/8", "1/8", "G")
    assert [p.bars for p in form.parts] == [3]  # the pickup pools to nothing: 1/6 bar


def test_count_bars_pools_short_bars_and_counts_full_ones():
    third, half = Fraction(1, 3), Fraction(1, 2)
    assert count_bars([(third, True), (Fraction(1), True), (2 * third, True)]) == 2
    assert count_bars([(half, True)]) == 1  # a half rounds up; notes make at least one bar
    assert count_bars([(Fraction(1), True), (Fraction(1), False)]) == 1  # a later ending
    assert count_bars([(None, True), (None, True)]) == 2  # free meter: one per bar
    assert count_bars([(Fraction(11, 6), True)]) == 2  # a bar line left out
    assert count_bars([(Fraction(9, 8), True)]) == 1  # a bar a little too long
    assert count_bars([]) == 0


def test_json_summary_has_letters_bars_and_no_note_lists():
    summary = tune_form(PICKUP, "C", "1/8", "D").summary()
    assert summary["letters"] == "AA" and summary["bars"] == [4]
    assert summary["parts"][0]["repeated"] == "sign" and "pitches" not in summary


def test_the_bundled_corpus_is_mostly_aabb_in_8_bar_parts():
    forms = [form_of(tune) for tune in read_corpus([CORPUS]).tunes]
    counts = form_counts(forms)
    n = len(forms)
    assert 0.5 < counts["aabb_of_8"] / n < 0.8
    assert 0.65 < counts["parts_of_8"] / n < 0.9
    assert 0.65 < counts["last_note_tonic"] / n < 0.9
    assert counts["single_part"] / n < 0.05 and counts["five_parts"] / n < 0.06


def test_key_tonic_is_the_pitch_class_of_the_tonic_whatever_the_mode():
    assert [key_tonic(k) for k in ("A Dorian", "Bb", "F#m", "E minor", "Cb", "")] == [
        9,
        10,
        6,
        4,
        11,
        0,  # no key: ABC's default, C
    ]
    assert key_tonic("none") is key_tonic("HP") is key_tonic("x") is None
