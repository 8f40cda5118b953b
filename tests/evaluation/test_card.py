from pathlib import Path

from musicgen.evaluation.card import card

RESULT = {
    "bits_per_char": 1.25,
    "music_bits_per_char": 1.5,
    "constrained_bits_per_char": 1.125,
    "tunes": 7,
    "chars": 1234,
    "skipped": 1,
    "unreachable": 2,
}


def test_card_reports_config_history_and_the_three_figures(tiny_run):
    text = card(tiny_run, [Path("data/abc_tunes")], "validation", RESULT)
    assert "| every character (`bits_per_char`) | 1.2500 |" in text
    assert "`music_bits_per_char`) | 1.5000 |" in text
    assert "`constrained_bits_per_char`) | 1.1250 |" in text
    assert "2 epochs" in text and '"units": 32' in text
    assert "MIT License" in text  # the bundled corpus's licence file
    assert "also chose the saved epoch" in text


def test_a_test_split_is_reported_as_never_used(tiny_run):
    text = card(tiny_run, [Path("data/abc_tunes")], "test", RESULT)
    assert "never used for any choice" in text and "--split test" in text
