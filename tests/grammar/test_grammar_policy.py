"""The strict/lenient difference is one `Policy`: each field, flipped alone, admits its case."""

from __future__ import annotations

import dataclasses

import pytest

from musicgen.grammar import LENIENT, STRICT, AbcGrammar, Policy, accepts, first_error

HEAD = "M:C\nL:1/8\nK:G\n"

# One fixture per field on which the modes differ: strict refuses it, and strict with only
# that field taken from LENIENT accepts it.
CASES = {
    "chords": HEAD + "[CEG]2 A6|\n",
    "grace_notes": HEAD + "{g}GABc {/e}dedB|\n",
    "ties": HEAD + "A2-A2 B4|\n",
    "slurs": HEAD + "(AB) cdef g2|\n",
    "quoted_text": HEAD + '"Am"A2 B2 c4|\n',
    "inline_fields": HEAD + "GABc dedB|[K:D] AB cd ef g2|\n",
    "thick_thin_bar": HEAD + "GABc dedB[|dedB dedB|\n",
    "meter_text": HEAD + "GABc dedB|\nM:3/4 waltz time\nABc def|\n",
    "decorations": HEAD + "GABc sdedB|\n",  # the stray "s" of "fsedf", which abc2midi skips
    "abc2midi_decorations": HEAD + "GABc !Segno!dedB|\n",  # a name not in ABC 2.1
    "late_pickups": HEAD + "GABc dedB|dedB dedB||\nAB|GABc dedB|\n",
    "short_repeat_after_double_bar": HEAD + "GABc dedB||dedB dedB|dedB:|\n",
    "endings_as_abc2midi_reads": HEAD + "GABc dedB:|dedB dedB|[1 GABc dedB:|[2 GABc dedB|]\n",
    "short_bar_ends_tune": HEAD + "ABcd efga|ABc|]\nde fga|\n",
    "turn_after_repeat_close": HEAD + "GABc dedB|[1 dedB dedB:|[2 GABc dedB::\ndedB dedB:|\n",
    "octave_marks": HEAD + "b'''BAG dedB|\n",  # MIDI 119: strict stops at b'' (107)
}


@pytest.mark.parametrize("field", sorted(CASES))
def test_each_policy_field_alone_admits_its_case(field):
    text = CASES[field]
    assert first_error(text) is not None  # strict refuses it
    assert accepts(text, lenient=True)
    one = dataclasses.replace(STRICT, **{field: getattr(LENIENT, field)})
    assert accepts(text, policy=one), first_error(text, policy=one)


def test_every_difference_between_the_modes_has_a_case():
    differ = {
        f.name
        for f in dataclasses.fields(Policy)
        if getattr(STRICT, f.name) != getattr(LENIENT, f.name)
    }
    assert differ == set(CASES) | {"name"}


def test_policy_is_frozen_and_chosen_by_lenient():
    with pytest.raises(dataclasses.FrozenInstanceError):
        STRICT.chords = True  # type: ignore[misc]
    chars = ("\x02", "\x03", *sorted(set(CASES["chords"])))
    strict, lenient = AbcGrammar(chars), AbcGrammar(chars, lenient=True)
    custom = AbcGrammar(chars, policy=dataclasses.replace(STRICT, chords=True))
    for grammar in (strict, lenient, custom):
        grammar.feed_text(HEAD)
    bracket = chars.index("[")
    assert not strict.allowed_mask()[bracket]  # no chord, no ending at a bar's start
    assert lenient.allowed_mask()[bracket] and custom.allowed_mask()[bracket]


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ("GABc dedB:|\ndedB dedB::GABc dedB:|", False),  # abc2midi: "found :: before |:"
        ("GABc dedB|[1 dedB dedB:|[2 GABc dedB::\ndedB dedB:|", False),  # after [2, too
        ("GABc dedB:|\n|:dedB dedB::GABc dedB:|", True),  # a |: in between
        ("GABc dedB::dedB dedB::GABc dedB:|", True),  # each :: opens the next repeat
    ],
)
def test_strict_writes_no_turn_after_a_repeat_close(body, ok):
    error = first_error(f"{HEAD}{body}\n")
    assert (error is None) is ok, error
    if not ok:
        assert "a :: after a :| needs a |: between" in error
