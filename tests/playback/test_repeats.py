"""musicgen.playback.repeats: part orders and the play order of parts and repeats."""

from __future__ import annotations

import pytest

from musicgen.playback.events import BAR, END, START, Part
from musicgen.playback.repeats import part_order, place_repeats, play_order


@pytest.mark.parametrize(
    ("value", "order"),
    [("AABB", "AABB"), ("A2B", "AAB"), ("(AB)2C", "ABABC"), ("A.B.A", "ABA"), ("", ""),
     ("ABA % da capo", None), ("a", None)],
)  # fmt: skip
def test_part_order_expands_repeats_as_abc2midi_reads_them(value, order):
    assert part_order(value) == order


def test_parts_play_in_order_and_undefined_parts_are_skipped():
    events = ["x", Part("A"), "a", Part("B"), "b", Part("")]
    assert [e for e in play_order(events, "t", "BCA") if isinstance(e, str)] == ["x", "b", "a"]


def test_in_parts_only_the_first_unopened_repeat_gets_its_start():
    events = [Part("A"), "a", END, "b", END, Part("B"), "c", END]
    marked = place_repeats(events, fix=False)
    assert marked[:4] == ["||", Part("A"), START, "a"]
    assert marked.count(START) == 2 and marked[-3:] == [START, "c", END]
    assert BAR not in marked
