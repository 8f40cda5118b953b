"""musicgen.playback.perform: repeats, endings and ties played as abc2midi plays them.

The expected orders below were read off abc2midi 4.84's MIDI for the same bodies.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from musicgen.errors import MidiError
from musicgen.playback.events import BOTH, DOUBLE, END, START
from musicgen.playback.perform import perform
from musicgen.playback.reader import read_tune
from musicgen.playback.repeats import MAX_PASSES, place_repeats

NAMES = {60: "C", 62: "D", 64: "E", 65: "F", 67: "G", 69: "A", 71: "B", 72: "c"}


def played(body: str, meter: str = "2/4") -> str:
    """Letters of the notes in playing order."""
    tune = read_tune(f"X:1\nT:t\nM:{meter}\nL:1/8\nK:C\n{body}\n")
    return " ".join(NAMES[pitch] for pitch, *_ in perform(tune).notes)


@pytest.mark.parametrize(
    ("body", "order"),
    [
        ("C4|D4:|E4|F4:|", "C D C D E F E F"),  # no |: at all: AABB
        ("C4|D4||E4|F4:|", "C D E F C D E F"),  # the first :| goes back to the start
        ("C4|D4:|E4|F4||G4|A4:|", "C D C D E F G A G A"),  # later ones to the last ||
        ("C4|D4:|E4|F4|]G4|A4:|", "C D C D E F G A G A"),  # |] counts as ||
        ("C4|D4:|E4|F4:|G4|A4:|", "C D C D E F E F G A G A"),
        ("C4|D4::E4|F4:|", "C D C D E F E F"),
        ("C4|D4|::E4|F4:|", "C D E F E F"),  # |:: is |: with a stray colon
        ("C4|D4||:E4|F4:|", "C D E F C D E F"),  # ||: is || with a stray colon
        ("|:C4|D4|1 E4:|2 F4|:G4|A4:|", "C D E C D F G A G A"),
        ("C4|D4|1 E4:|2 F4||G4|A4:|", "C D E C D F G A C D G A"),  # abc2midi's third pass
        ("C4|D4|1 E4:|2 F4|G4|A4:|", "C D E C D F G A C D"),
        ("|:C4|[1,3 D4:|[2 E4:|[4 F4|]", "C D C E C D C F"),
        ("|:C4|1-2 D4:|3 E4|]", "C D C D C E"),
        ("C4:|[2 D4|[1 E4:|", "C C E D"),  # endings out of order, as abc2midi plays them
    ],
)
def test_repeats_and_endings_as_abc2midi(body, order):
    assert played(body) == order


def test_place_repeats_marks_the_missing_starts():
    # || first (abc2midi's extra bar at the start), then |: because a :| comes first.
    assert place_repeats([END, DOUBLE, END]) == [DOUBLE, START, END, START, END]
    assert place_repeats([END, END]) == [DOUBLE, START, BOTH, END]
    assert place_repeats([START, END]) == [DOUBLE, START, END]


def test_tie_joins_the_next_note_of_the_same_pitch():
    notes = perform(read_tune("X:1\nT:t\nM:2/4\nL:1/8\nK:C\nA2 A2-|A2 B2|")).notes
    assert [(p, on, d) for p, on, d, _ in notes] == [(69, 0, 1), (69, 1, 2), (71, 3, 1)]


def test_tie_across_a_bar_keeps_the_accidental():
    notes = perform(read_tune("X:1\nT:t\nM:2/4\nL:1/8\nK:C\n^c4-|c2 c2|")).notes
    assert [(p, d) for p, _, d, _ in notes] == [(73, 3), (72, 1)]


def test_tie_to_another_pitch_or_a_rest_is_dropped():
    notes = perform(read_tune("X:1\nT:t\nM:C\nL:1/8\nK:C\nA2-B2 A2-z2 A2|")).notes
    assert [(p, d) for p, _, d, _ in notes] == [(69, 1), (71, 1), (69, 1), (69, 1)]


def test_downbeats_and_meter_changes():
    tune = read_tune("X:1\nT:t\nM:2/4\nL:1/8\nK:C\nC|DEFG|[M:3/4]ABcdef|\n")
    played_ = perform(tune)
    assert [down for *_, down in played_.notes] == [False, True, False, False, False] + [True] + [
        False
    ] * 5
    assert played_.meters == [(0, 2, 4), (Fraction(5, 2), 3, 4)]


def test_full_first_bar_is_accented():
    notes = perform(read_tune("X:1\nT:t\nM:2/4\nL:1/8\nK:C\nCDEF|G4|")).notes
    assert [down for *_, down in notes] == [True, False, False, False, True]


def test_endless_repeats_are_an_error(monkeypatch):
    monkeypatch.setattr("musicgen.playback.repeats.MAX_PASSES", 0)
    with pytest.raises(MidiError, match="tune 't': the repeats never end"):
        perform(read_tune("X:1\nT:t\nK:C\n|:A:|\n"))
    assert MAX_PASSES >= 4  # the real guard leaves room for abc2midi's four passes


def test_rests_advance_time_without_notes():
    notes = perform(read_tune("X:1\nT:t\nM:C\nL:1/8\nK:C\nz2 A z/ B/|")).notes
    assert [(p, on) for p, on, *_ in notes] == [(69, 1), (71, Fraction(7, 4))]
    assert all(isinstance(n[1], Fraction) for n in notes)


def test_performing_twice_gives_the_same_notes():
    written = read_tune("X:1\nT:t\nM:2/4\nL:1/8\nK:C\nA2 A2-|A2 [Bd]2-|[Bd]4:|\n")
    first = perform(written)
    assert perform(written) == first
    assert [s.length for s in written.events[1].sounds] == [1]  # the written tie is untouched
    assert first.title == "t" and first.tempo is None and first.sharps == 0
