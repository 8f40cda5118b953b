"""The grammar's typed state, its refusals as values, shared masks, and issue 13's counters."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from musicgen.abc.theory import key_tonic
from musicgen.abc.vocab import EOS
from musicgen.grammar import STRICT, AbcGrammar, GrammarTables
from musicgen.grammar.state import START, BarLine, Between, Form, Length, State
from musicgen.grammar.syntax import Refusal, step
from musicgen.grammar.words import BarKind, length_suffixes

HEAD = "M:C\nL:1/8\nK:G\n"
CHARS = ("\x02", EOS, *sorted(set("\n !\"'(),-/123468:<=>ABCDEFGHKLMTZ[]^_abcdefgmsuvxz|~")))


def _fed(text: str, policy=STRICT) -> AbcGrammar:
    grammar = AbcGrammar(CHARS, policy=policy)
    grammar.feed_text(text)
    return grammar


def test_states_are_frozen_hashable_and_equal_for_equal_histories():
    one, two = _fed(HEAD + "GABc d"), _fed(HEAD + "GABc d")
    assert one.state == two.state and hash(one.state) == hash(two.state)
    assert one.state.lexeme == Length(octave_mark="'")  # d may take octave marks
    assert one.state.music.bar.ticks == 32 and one.state.music.bar.length == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.state.music.bar.ticks = 0  # type: ignore[misc]


def test_step_refuses_with_a_value_not_an_exception():
    tables = GrammarTables.get(CHARS)
    full = _fed(HEAD + "GABc dedB").state
    refused = step(tables.rules, full, "c")
    assert type(refused) is Refusal and "the bar is full" in refused.reason
    assert type(step(tables.rules, full, "|")) is State
    assert step(tables.rules, START, "K") == Refusal(
        "the header is M:, L:, K: in that order; expected M:"
    )


def test_shared_masks_equal_masks_computed_state_by_state():
    """Masks are shared between states that differ only in how full the bar is; on random
    walks every mask must equal the one found by trying each character on its own state."""
    tables = GrammarTables.get(CHARS)
    for seed in range(12):
        rng = random.Random(seed)
        grammar = AbcGrammar(tables)
        for _ in range(300):
            mask = grammar.allowed_mask()
            state = grammar.state
            fresh = [type(step(tables.rules, state, c)) is State for c in CHARS]
            assert np.array_equal(mask, fresh), state
            allowed = [CHARS[i] for i in np.flatnonzero(mask)]
            ends = [c for c in allowed if c in "|\n" + EOS]
            grammar.feed(rng.choice(ends if ends and rng.random() < 0.3 else allowed))
            if grammar.done:
                break


def test_bar_kinds_come_from_the_lexers_bar_tokens():
    close, both, double = BarKind.of(":|"), BarKind.of("::"), BarKind.of("|]")
    assert close.closes_section and close.closes_repeat and close.plain_repeat_close
    assert both.opens_repeat and both.closes_repeat and not both.plain_repeat_close
    assert double.double and double.closes_section and not double.closes_repeat
    assert BarKind.of("[|:").thick_thin and not BarKind.of("||:").double


def test_length_suffixes_take_theorys_note_lengths():
    suffixes = length_suffixes()  # in ticks of L/8
    assert (suffixes[""], suffixes["3/2"], suffixes["3/"], suffixes["//"]) == (8, 12, 12, 2)
    assert suffixes["12"] == 96 and "5/8" not in suffixes


def test_form_counters_stay_off_unless_the_policy_counts_form():
    tune = HEAD + "|:GABc dedB|dedB dedB:|\n|:gfed cBAG|ABcd efga|gfed cBAG:|\n"
    assert _fed(tune).state.music.form == Form()  # the sampler's memo does not grow
    counting = dataclasses.replace(STRICT, count_form=True)
    grammar = _fed(HEAD + "|:GABc dedB|dedB", counting)
    assert grammar.state.music.form == Form(bars_in_part=1, parts=0, tonic=key_tonic("G"))
    grammar = _fed(tune, counting)
    assert grammar.state.music.form.parts == 2 and grammar.state.music.form.bars_in_part == 0
    grammar.feed(EOS)
    assert grammar.done


def test_form_counts_a_pickup_and_its_closing_bar_as_one_bar():
    counting = dataclasses.replace(STRICT, count_form=True)
    form = _fed(HEAD + "AB|GABc dedB|dedB de", counting).state.music.form
    assert form.bars_in_part == 1  # the pickup AB is not a bar of its own
    tune = HEAD + "AB|GABc dedB|dedB dedB|GABc de:|\n"  # 3 bars: AB + GABc de make one
    before_close = _fed(tune[:-3], counting).state.music.form
    assert (before_close.bars_in_part, before_close.parts) == (2, 0)
    form = _fed(tune, counting).state.music.form  # a bar line counts once it has ended
    assert (form.bars_in_part, form.parts) == (0, 1)


def test_between_records_what_came_before():
    assert _fed(HEAD + "GA").state.lexeme == Length(octave_mark=",")
    assert _fed(HEAD + "GA ").state.lexeme == Between("space")
    assert _fed(HEAD + "GABc dedB|").state.lexeme == BarLine("|", at_line_start=False)
    assert _fed(HEAD + "GABc dedB|:").state.lexeme == BarLine("|:", at_line_start=False)
    assert _fed(HEAD + "GABc dedB|d").state.lexeme == Length(octave_mark="'")
    assert _fed(HEAD + "GABc dedB|\n").state.lexeme == Between("line start")
