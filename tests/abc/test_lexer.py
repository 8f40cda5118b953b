"""The ABC lexer: one named fixture per token kind, round trips on text and real corpora."""

from __future__ import annotations

import pathlib
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.abc.lexer import join, lex, lex_body

# One fixture per token kind: (text, kind, fields the token must have).
FIXTURES = {
    "note": ("^c'3/2", "note", {"accidental": "^", "letter": "c", "octave": 2,
                                "length": Fraction(3, 2)}),
    "note_low": ("_B,,//", "note", {"accidental": "_", "octave": -2, "length": Fraction(1, 4)}),
    "rest": ("z4", "rest", {"letter": "z", "length": Fraction(4)}),
    "invisible_rest": ("x/", "rest", {"letter": "x", "length": Fraction(1, 2)}),
    "chord": ("[CEg]2", "chord", {"length": Fraction(2)}),
    "bar": ("|", "bar", {"style": "|"}),
    "double_bar": ("||", "bar", {"style": "||"}),
    "final_bar": ("|]", "bar", {"style": "|]"}),
    "repeat_start": ("|:", "bar", {"style": "|", "repeat_start": 1}),
    "repeat_end_ending": (":|2", "bar", {"style": "|", "repeat_end": 1, "ending": "2"}),
    "repeat_both": ("::", "bar", {"style": "", "repeat_end": 1, "repeat_start": 1}),
    "bar_ending": ("|[1,3", "bar", {"ending": "1,3"}),
    "ending": ("[2", "ending", {"ending": "2"}),
    "tuplet": ("(3", "tuplet", {"tuplet": (3, None, 3)}),
    "tuplet_full": ("(3:2:4", "tuplet", {"tuplet": (3, 2, 4)}),
    "broken": (">>", "broken", {"broken": 2}),
    "broken_back": ("<", "broken", {"broken": -1}),
    "tie": ("-", "tie", {}),
    "slur_start": ("(", "slur_start", {}),
    "slur_end": (")", "slur_end", {}),
    "grace_start": ("{/", "grace_start", {}),
    "grace_end": ("}", "grace_end", {}),
    "decoration": ("!fermata!", "decoration", {"name": "fermata"}),
    "decoration_plus": ("+trill+", "decoration", {"name": "trill"}),
    "decoration_roll": ("~", "decoration", {"name": "roll"}),
    "decoration_trill": ("T", "decoration", {"name": "trill"}),
    "gchord": ('"Am7"', "gchord", {"value": "Am7"}),
    "annotation": ('"^fine"', "annotation", {"value": "^fine"}),
    "inline_field": ("[K:A Dorian]", "inline_field", {"name": "K", "value": "A Dorian"}),
    "field": ("M:6/8", "field", {"name": "M", "value": "6/8"}),
    "directive": ("%%MIDI program 1", "directive", {"value": "MIDI program 1"}),
    "comment": ("% a note", "comment", {"value": " a note"}),
    "newline": ("\r\n", "newline", {}),
    "space": (" \t", "space", {}),
    "spacer": ("y2", "spacer", {"length": Fraction(2)}),
    "linebreak": ("!", "linebreak", {}),
    "continuation": ("\\", "continuation", {}),
    "overlay": ("&", "overlay", {}),
    "error": ("#", "error", {}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_kind_has_a_fixture(name):
    text, kind, fields = FIXTURES[name]
    (token,) = lex(text)
    assert (token.kind, token.text, token.start) == (kind, text, 0)
    for field, value in fields.items():
        assert getattr(token, field) == value, field


def test_chord_holds_its_notes():
    (chord,) = lex("[^F,A-c]3")
    assert [(n.accidental, n.letter, n.octave) for n in chord.notes] == [
        ("^", "F", -1),
        ("", "A", 0),
        ("", "c", 1),
    ]
    assert chord.length == 3 and chord.notes[2].start == 6


def test_positions_count_lines_and_columns():
    tokens = lex("X:1\nK:G\nab |c\n")
    c = next(t for t in tokens if t.text == "c")
    assert (c.line, c.column, c.start, c.end) == (3, 4, 12, 13)


def test_field_only_at_line_start_and_not_in_body_mode():
    assert [t.kind for t in lex("A:b")] == ["field"]
    assert [t.kind for t in lex_body("A:b")][:1] == ["note"]
    assert [t.kind for t in lex("a A:")][2] == "note"


def test_unclosed_quote_and_decoration_are_errors_not_exceptions():
    tokens = lex('"Am A !tri')
    assert tokens[0].kind == "error" and join(tokens) == '"Am A !tri'


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_on_any_text(text):
    assert join(lex(text)) == text
    assert join(lex_body(text)) == text


ABC_CHARS = "ABCDEFGabcdefgzxy^_=',/0123456789|:[]()<>-{}!+\"~.HTK%\n \\&"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ABC_CHARS, max_size=200))
def test_round_trip_on_abc_like_text(text):
    tokens = lex(text)
    assert join(tokens) == text
    assert all(t.text for t in tokens)
    assert [t.start for t in tokens] == sorted(t.start for t in tokens)


def _corpus() -> dict[str, list[pathlib.Path]]:
    music21 = pytest.importorskip("music21")
    root = pathlib.Path(music21.__file__).parent / "corpus"
    names = ("ryansMammoth", "essenFolksong", "airdsAirs", "miscFolk", "nottingham-dataset")
    found = {
        n: sorted(p for p in (root / n).rglob("*") if p.suffix.lower() == ".abc") for n in names
    }
    found["data/abc_tunes"] = sorted(pathlib.Path("data/abc_tunes").glob("*.abc"))
    return found


def _round_trips(paths) -> tuple[int, int]:
    tunes = same = 0
    for path in paths:
        for tune in path.read_text(encoding="utf-8", errors="replace").split("\nX:"):
            tunes += 1
            same += join(lex(tune)) == tune
    return tunes, same


def test_round_trip_on_a_sample_of_every_collection():
    for name, paths in _corpus().items():
        assert paths, name
        sample = paths[:: max(1, len(paths) // 40)] if len(paths) > 40 else paths[:1]
        tunes, same = _round_trips(sample)
        assert tunes > 0 and same == tunes, name


@pytest.mark.slow
def test_round_trip_on_every_collection():
    for name, paths in _corpus().items():
        started = time.perf_counter()
        tunes, same = _round_trips(paths)
        assert same == tunes, f"{name}: {same}/{tunes} ({time.perf_counter() - started:.1f} s)"
