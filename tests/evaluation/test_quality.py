import pytest

from musicgen.abc.tunes import parse_abc
from musicgen.evaluation.abc2midi import have_abc2midi, run_abc2midi
from musicgen.evaluation.check import (
    NoveltyIndex,
    bars_of,
    check_tunes,
    compare_with,
    count_notes,
    judge_name,
    key_problem,
    summarize,
)
from tests.conftest import JIG, REEL

needs_abc2midi = pytest.mark.skipif(not have_abc2midi(), reason="abc2midi not installed")


def test_bars_of_ignores_spacing_repeats_endings_and_chords():
    assert bars_of('|:GAB "G"c2d|e3 d2B|1 cBA G3:|2 cBA G2z|]') == [
        "GABc2d",
        "e3d2B",
        "cBAG3",
        "cBAG2z",
    ]
    assert bars_of("(3ABc|dAFA DFAd::fdcd FAdf||\n[1 gfge fefd]") == [
        "(3ABc",
        "dAFADFAd",
        "fdcdFAdf",
        "gfgefefd",
    ]


def test_novelty_index_finds_borrowed_phrases_and_copies():
    reference = NoveltyIndex(parse_abc(REEL)[0])
    (reel,), _ = parse_abc(REEL)
    assert reference.copy(reel.body) and not reference.novel(reel.body)
    # The same four bars inside a longer, different tune are still a borrowed phrase.
    borrowed = "GGGG GGGG|" + reel.body
    assert not reference.copy(borrowed) and not reference.novel(borrowed)
    fresh = "ABcd efga|bagf edcB|AGFE DCB,A,|G,4 z4|]"
    assert reference.novel(fresh) and not reference.copy(fresh)


@needs_abc2midi
def test_abc2midi_verdicts():
    (jig,), _ = parse_abc(JIG)
    good = run_abc2midi(jig.abc())
    assert good.converts and good.errors == () and good.bar_warnings == ()
    short_bar = run_abc2midi("X:1\nT:t\nM:6/8\nL:1/8\nK:G\nGAB c2d|e3 d2|cBA G3|]\n")
    assert short_bar.converts and short_bar.bar_warnings
    assert "Bar 1 has 5 time units" in short_bar.bar_warnings[0]


@needs_abc2midi
def test_check_tunes_summary():
    tunes = parse_abc(JIG + "\n" + REEL + "\nX:3\nT:Bad\nM:C\nL:1/8\nK:G\nABc|defg|\n")[0]
    reports = check_tunes(tunes, NoveltyIndex(tunes[:1]))
    summary = summarize(reports)
    assert summary["tunes"] == 3 and summary["abc2midi_converts"] == 3
    assert [r.bars_ok for r in reports] == [True, True, False]
    assert [r.copy for r in reports] == [True, False, False]
    assert reports[2].grammar_error is not None


def test_check_tunes_without_abc2midi_uses_the_grammar():
    tunes = parse_abc(JIG + "\nX:3\nT:Bad\nM:C\nL:1/8\nK:G\nABc|defg|\n")[0]
    reports = check_tunes(tunes, use_abc2midi=False)
    assert [r.valid for r in reports] == [True, False]
    assert reports[0].abc2midi is None and reports[0].novel is None


def test_without_abc2midi_the_lenient_grammar_judges_and_is_named():
    # Ties, slurs and chord symbols: people write them, the strict (sampler's) grammar not.
    text = 'X:1\nT:Tied\nM:6/8\nL:1/8\nK:G\n|:"G"GAB (cBA)|d3- d2B:|\n'
    (report,) = check_tunes(parse_abc(text)[0], use_abc2midi=False)
    assert report.grammar_error is None and report.parses and report.valid
    assert judge_name(use_abc2midi=False) == "musicgen grammar (lenient)"


def test_reports_count_notes_and_flag_missing_headers():
    text = JIG + "\nT:No Number\nM:C\nL:1/8\nK:D\nABcd [DFA]4|]\n"
    reports = check_tunes(parse_abc(text)[0], use_abc2midi=False)
    assert [r.notes for r in reports] == [16, 7]  # a chord's notes each count
    assert [r.missing_headers for r in reports] == [(), ("X",)]
    assert [r.valid for r in reports] == [True, False]
    assert reports[1].problems[0] == "no X: header"  # then the grammar's complaint
    assert summarize(reports)["headers_ok"] == 1


def test_count_notes_reports_why_a_tune_cannot_play():
    assert count_notes("X:1\nT:t\nK:C\nz4|\n") == (0, "no notes to play")
    assert count_notes("X:1\nT:Reel\nABcd|\n") == (0, "tune 'Reel': no K: field before the music")


@needs_abc2midi
def test_bar_warnings_become_problems_naming_the_bar():
    (tune,), _ = parse_abc("X:1\nT:t\nM:6/8\nL:1/8\nK:G\nGAB c2d|e3 d2|cBA G3|]\n")
    (report,) = check_tunes([tune])
    assert report.valid and not report.bars_ok
    # abc2midi's "Bar 1" counts from 0; a tune made in memory has no file line to name
    assert report.problems == [
        "body line 1, column 14: bar 2 has 5 time units while the time signature has 6"
    ]


def test_a_key_that_names_no_key_is_its_own_problem_not_bad_bars():
    (tune,), _ = parse_abc("X:1\nT:t\nM:4/4\nL:1/8\nK:H Major\nGABc dedB|dedB d4|\n")
    for use_abc2midi in (False, True) if have_abc2midi() else (False,):
        (report,) = check_tunes([tune], use_abc2midi=use_abc2midi)
        assert report.bars_ok and not report.valid
        assert report.problems == [
            "the K: line, column 3: K:H Major: H is not a key (a tonic A-G with # or b, HP, "
            "Hp or none)"
        ]
    assert summarize([report])["keys_ok"] == 0


@pytest.mark.parametrize("key", ["G", "Gm", "A Dorian", "Amix", "Bb Major", "HP", "none", "D =c"])
def test_keys_abc_allows_are_no_problem(key):
    assert key_problem(key) is None


def test_a_misspelt_mode_is_named():
    assert key_problem("G Jazz") == "K:G Jazz: 'Jazz' is not a mode (Major, Minor, Dorian, " + (
        "Mixolydian ...)"
    )


def test_reports_carry_the_form_and_the_summary_counts_its_rates():
    text = JIG + "\n" + REEL + "\nX:3\nT:One\nM:C\nL:1/8\nK:G\nGABc dedB|]\n"
    reports = check_tunes(parse_abc(text)[0], use_abc2midi=False)
    assert [r.form.letters for r in reports] == ["AA", "AA", "A"]
    assert [[p.bars for p in r.form.parts] for r in reports] == [[3], [4], [1]]
    form = summarize(reports)["form"]
    assert form["single_part"] == 3 and form["last_note_tonic"] == 2 and form["aabb_of_8"] == 0
    as_json = reports[0].to_dict()["form"]
    assert as_json["letters"] == "AA" and as_json["bars"] == [3] and "pitches" not in as_json


def test_compare_with_gives_the_reference_rates_and_three_overlaps():
    tunes = parse_abc(JIG + "\n" + REEL)[0]
    reports = check_tunes(tunes, use_abc2midi=False)
    compared = compare_with(reports, tunes)
    assert compared["tunes"] == 2 and compared["form"]["single_part"] == 2
    overlaps = {o["histogram"]: o for o in compared["overlaps"]}
    assert list(overlaps) == ["pitch class", "interval", "note length"]
    assert all(o["pooled"] == pytest.approx(1.0) for o in overlaps.values())
