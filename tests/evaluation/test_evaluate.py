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


def test_nothing_to_score_is_an_error_naming_why(run):
    from musicgen.errors import CorpusError, VocabError

    (odd,), _ = parse_abc("X:1\nT:Odd\nM:C\nL:1/8\nK:G\nAB€c|\n", "odd.abc")
    with pytest.raises(VocabError, match=r"nothing to score: 1 tune skipped: odd.abc:1: unknown"):
        evaluate(run, [odd])
    with pytest.raises(CorpusError, match="nothing to score: no tunes given"):
        evaluate(run, [])


def _evaluate_cli(tiny_run, path):
    from click.testing import CliRunner

    from musicgen.cli import main

    return CliRunner().invoke(main, ["evaluate", "--run", str(tiny_run), str(path)])


def test_cli_exits_1_when_no_tune_can_be_scored(tiny_run, tmp_path):
    odd = tmp_path / "odd.abc"
    odd.write_text("X:1\nT:Odd\nM:C\nL:1/8\nK:G\nAB€c|\n", encoding="utf-8")
    out = _evaluate_cli(tiny_run, odd)
    assert out.exit_code == 1 and "nan" not in out.output
    assert out.output.strip() == f"Error: nothing to score: 1 tune skipped: {odd}:1: " + (
        "unknown characters '€'"
    )


def test_cli_counts_every_skipped_tune_once(tiny_run, tmp_path, tiny_tunes):
    path = tmp_path / "mixed.abc"
    # a block that is no tune (read_corpus skips it), a tune the vocabulary cannot encode
    text = "Notes about the tunes\n\n" + tiny_tunes[0].abc(1) + "\nX:2\nT:Odd\nK:G\nAB€c|\n"
    path.write_text(text, encoding="utf-8")
    out = _evaluate_cli(tiny_run, path)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    at = lines.index("skipped    2")
    assert lines[at + 1] == f"  {path}:1: no header: a block of text without X:/K: fields " + (
        "(not a tune)"
    )
    odd_line = text.count("\n", 0, text.index("X:2")) + 1
    assert lines[at + 2] == f"  {path}:{odd_line}: unknown characters '€'"
    assert not any("tunes:" in line for line in lines)  # no second, disagreeing count
