import math

import pytest

from musicgen.abc.tunes import parse_abc
from musicgen.evaluation.bits import evaluate
from musicgen.run.rundir import load_run


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


def test_music_figure_scores_only_the_body_and_end_marker(run, tiny_tunes):
    result = evaluate(run, tiny_tunes[:5], constrained=False)
    headers = sum(len(t.text()) - len(t.body) - 1 for t in tiny_tunes[:5])
    assert result.music_chars == result.chars - headers
    assert result.music_chars < result.chars
    assert math.isfinite(result.music_bits_per_char)
    assert math.isnan(result.constrained_bits_per_char)


def test_constrained_figure_is_never_above_the_raw_one_on_the_same_tunes(run, tiny_tunes):
    from musicgen.grammar import accepts

    reachable = [t for t in tiny_tunes if accepts(t.text())]
    assert reachable, "fixture needs tunes the strict grammar accepts"
    result = evaluate(run, reachable)
    assert result.unreachable == 0
    # masking only removes probability from characters that did not come: never worse
    assert result.constrained_bits_per_char <= result.bits_per_char
    assert result.constrained_bits_per_char > 0


def test_tunes_the_grammar_refuses_are_counted_unreachable(run, tiny_tunes):
    # a bar of 5 eighths in 4/4 (then a full one) is fine ABC but not what the sampler writes
    (short,), _ = parse_abc("X:1\nT:S\nM:4/4\nL:1/8\nK:G\nABcde|ABcdefga|\n", "s.abc")
    result = evaluate(run, [short])
    assert result.tunes == 1 and result.unreachable == 1
    assert math.isnan(result.constrained_bits_per_char)
    assert math.isfinite(result.bits_per_char)
