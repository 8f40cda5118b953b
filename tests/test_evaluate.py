import math

import pytest

from musicgen.abc import parse_abc
from musicgen.evaluate import evaluate
from musicgen.rundir import load_run


@pytest.fixture(scope="module")
def run(tiny_run):
    return load_run(tiny_run)


def test_bits_per_char_counts_every_character_and_end_marker(run, tiny_tunes):
    result = evaluate(run, tiny_tunes[:5])
    assert result.tunes == 5 and result.skipped == 0
    assert result.chars == sum(len(t.text()) + 1 for t in tiny_tunes[:5])
    assert 0 < result.bits_per_char < math.log2(len(run.vocab)) + 1


def test_batching_does_not_change_the_score(run, tiny_tunes):
    a = evaluate(run, tiny_tunes[:6], batch_size=1)
    b = evaluate(run, tiny_tunes[:6], batch_size=4)
    assert a.bits_per_char == pytest.approx(b.bits_per_char, rel=1e-5)


def test_tunes_with_unknown_characters_are_skipped_and_named(run, tiny_tunes):
    (odd,), _ = parse_abc("X:1\nT:Odd\nM:C\nL:1/8\nK:G\nAB€c|\n", "odd.abc")
    result = evaluate(run, [tiny_tunes[0], odd])
    assert result.tunes == 1 and result.skipped == 1
    assert result.skipped_reasons == ("odd.abc:1: unknown characters '€'",)
