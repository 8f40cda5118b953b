"""musicgen.playback.ornaments: the decoration table, trill and roll shapes, grace-note timing."""

from __future__ import annotations

from fractions import Fraction

from musicgen.abc.theory import key_signature
from musicgen.playback import ornaments
from musicgen.playback.events import BAR, Ornament, Sound, Strike


def test_one_table_names_every_decoration_that_changes_the_notes():
    assert ornaments.effect("~", "roll") == ornaments.CUT  # abc2midi's ~ is no roll
    assert ornaments.effect("R", "R") == ornaments.ROLL
    assert ornaments.effect("!trill!", "trill") == ornaments.effect("T", "trill") == "trill"
    assert ornaments.effect("+fermata+", "fermata") == ornaments.FERMATA
    assert ornaments.effect("!breath!", "breath") == ornaments.STACCATO
    for ignored in ("!roll!", "!mordent!", "!turn!", "!staccato!", "M", "P", "u"):
        assert ornaments.effect(ignored, ignored.strip("!")) is None


def test_neighbours_follow_the_key_signature_and_cross_octaves():
    keymap, _ = key_signature("D")
    assert ornaments.neighbours("B", 0, keymap) == (73, 69)  # c sharp above, A below
    assert ornaments.neighbours("c", 1, keymap) == (74, 71)
    assert ornaments.neighbours("C", 0, keymap, shift=2) == (64, 61)


def test_trill_notes_halve_until_none_is_longer_than_100_ms():
    trill = Ornament("trill", 72, 67)
    slow = ornaments.play_ornament(trill, 69, Fraction(1), Fraction(1, 8), 120)
    assert [p for p, _, _ in slow] == [72, 69] * 4 and slow[1] == (
        69,
        Fraction(1, 8),
        Fraction(1, 8),
    )
    fast = ornaments.play_ornament(trill, 69, Fraction(1), Fraction(1, 8), 300)
    assert len(fast) == 2  # a quarter at 300 bpm is 200 ms: two notes of exactly 100 ms


def test_roll_is_five_equal_notes():
    roll = ornaments.play_ornament(Ornament("roll", 71, 67), 69, Fraction(1), Fraction(1, 8), None)
    assert roll == [(p, Fraction(i, 5), Fraction(1, 5)) for i, p in enumerate((69, 71, 69, 67, 69))]


def test_grace_notes_take_their_time_from_the_next_strike_unless_a_bar_comes_first():
    def grace() -> Strike:
        return ornaments.grace_sound(79, Fraction(1, 2), 67)

    host = Strike([Sound(69, Fraction(1), 69)], Fraction(1))
    out = ornaments.apply_graces([grace(), host])
    assert [e.length for e in out] == [Fraction(1, 8), Fraction(7, 8)]
    assert out[1].sounds[0].length == Fraction(7, 8)
    assert ornaments.apply_graces([grace(), BAR, host]) == [BAR, host]
    short = Strike([Sound(69, Fraction(1, 8), 69)], Fraction(1, 8))
    assert ornaments.apply_graces([grace(), short]) == [short]  # too short to give the time
