"""`musicgen.form.phrases` (how parts end and rhyme), `musicgen.form.cadence` (what a plan
draws) and the phrase tables of `musicgen.form.stats` (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musicgen.errors import RunDirError
from musicgen.form.analysis import tune_form
from musicgen.form.cadence import (
    DEFAULT_ECHO,
    DEFAULT_RHYME,
    Phrasing,
    scale_letter,
)
from musicgen.form.phrases import phrase_counts, phrases_of
from musicgen.form.stats import form_distribution, read_phrasing, write_form_stats
from tests.conftest import CORPUS

# Two 8-bar parts in G: the A part's bar 5 opens as bar 1, both parts end on the same bar.
A_PART = "|:GABc dBAF|GABc d2B2|cBAG FGAB|cBAG A4|GABc dBAF|GABc d2B2|cBAG FGAF|G2B2 G4:|"
B_PART = "|:gfed cBAG|gfed c2A2|Bcde dcBA|Bcde d4|gfge dBAF|gfed c2A2|BcdB AGFA|G2B2 G4:|"
ON_DOMINANT = A_PART.replace("G2B2 G4:|", "D2F2 D4:|", 1)
WITH_PICKUP = "|:D2|GABc dBAF|GABc d2B2|cBAG FGAB|cBAG A4|GABc dBAF|GABc d2B2|cBAG FGAF|G6:|"


def phrases(body: str, key: str = "G"):
    return phrases_of(tune_form(body, "C", "1/8", key))


def test_a_part_on_the_tonic_and_parts_ending_alike():
    found = phrases(A_PART + "\n" + B_PART)
    assert found.endings == ("tonic", "tonic")
    assert found.a_ending == "tonic" and found.ends_alike is True


def test_an_a_part_on_the_dominant_does_not_end_as_its_b_part():
    found = phrases(ON_DOMINANT + "\n" + B_PART)
    assert found.endings == ("dominant", "tonic") and found.ends_alike is False


def test_a_tune_of_one_part_has_no_a_ending_to_compare():
    found = phrases(A_PART)
    assert found.ends_alike is None and found.a_ending is None
    assert found.endings == ("tonic",)


def test_bar_5_echoes_bar_1_by_full_bars_and_as_written():
    found = phrases(A_PART + "\n" + B_PART)
    assert (found.echoes, found.echo_parts) == (1, 2)  # A: GAB/GAB; B: gfe/gfg
    assert (found.written_echoes, found.written_echo_parts) == (1, 2)
    picked = phrases(WITH_PICKUP)
    assert (picked.echoes, picked.written_echoes) == (1, 0)  # the pickup shifts bar 1


def test_repeated_bars_count_notes_and_lengths():
    found = phrases(A_PART + "\n" + B_PART)
    # A: bars 5, 6 repeat 1, 2; B: bar 6 repeats bar 2, bar 8 repeats A's bar 8
    assert (found.repeated_bars, found.full_bars) == (4, 16)


def test_phrase_counts_give_numerators_and_denominators():
    forms = [tune_form(body, "C", "1/8", "G") for body in (A_PART + B_PART, ON_DOMINANT + B_PART)]
    counts = phrase_counts(forms)
    assert counts["with_b"] == 2 and counts["a_tonic"] == 1 and counts["a_dominant"] == 1
    assert counts["ends_alike"] == 1


@pytest.mark.parametrize(
    ("key", "semitones", "letter"),
    [("G", 0, "G"), ("G", 7, "D"), ("A Dorian", 10, "G"), ("D", 10, "C"), ("Bb", 7, "F")],
)
def test_scale_letter_spells_an_interval_in_the_key(key, semitones, letter):
    assert scale_letter(key, semitones) == letter  # D major's b7: its 7th, C(#)


def test_phrasing_draws_part_endings_rhymes_and_echoes():
    drawn = [Phrasing().draw("6/8", "D", 2, True, np.random.default_rng(i)) for i in range(300)]
    assert all(d.letters[1] == "D" for d in drawn)  # the last part: the tonic
    a_tonic = np.mean([d.letters[0] == "D" for d in drawn])
    assert 0.65 < a_tonic < 0.9  # the bundled corpus's 77%
    assert all(d.letters[0] == "D" for d in drawn if d.rhyme)  # a rhyme ends alike
    rhymes = np.mean([d.rhyme for d in drawn])
    assert 0.45 < rhymes < 0.7
    echoes = np.mean([e for d in drawn for e in d.echoes])
    assert abs(echoes - DEFAULT_ECHO[0] / DEFAULT_ECHO[1]) < 0.08


def test_rhyme_always_never_and_no_cadence():
    rng = np.random.default_rng(1)
    always = [Phrasing(rhyme="always").draw("C", "G", 3, True, rng) for _ in range(20)]
    assert all(d.rhyme and d.letters[0] == d.letters[1] and all(d.echoes) for d in always)
    never = Phrasing(rhyme="never").draw("C", "G", 2, True, rng)
    assert not never.rhyme and not any(never.echoes)
    assert Phrasing().draw("C", "G", 2, False, rng).letters == ("", "")
    with pytest.raises(ValueError, match="rhyme"):
        Phrasing(rhyme="sometimes")


def test_form_json_keeps_phrase_tables_and_an_old_one_falls_back(tmp_path):
    from musicgen.abc.corpus import read_corpus

    write_form_stats(tmp_path, read_corpus([CORPUS]).tunes)
    data = json.loads((tmp_path / "form.json").read_text())
    assert data["version"] == 2 and {"endings", "rhymes", "echoes"} <= set(data)
    phrasing = read_phrasing(tmp_path, "always")
    assert phrasing.rhyme == "always" and phrasing.endings
    del data["endings"], data["rhymes"], data["echoes"]
    (tmp_path / "form.json").write_text(json.dumps(data | {"version": 1}))
    old = read_phrasing(tmp_path)
    assert old == Phrasing()  # the bundled corpus's rates
    assert Phrasing().draw("C", "G", 2, True, None).letters == ("G", "G")
    (tmp_path / "form.json").write_text('{"rhymes": {"C": 3}}')
    with pytest.raises(RunDirError, match="form.json"):
        read_phrasing(tmp_path)


def test_the_default_rates_are_the_bundled_corpus_s():
    from musicgen.abc.corpus import read_corpus

    table = form_distribution(read_corpus(["data/abc_tunes"]).tunes)
    sums = [
        tuple(sum(row[i] for row in table[name].values()) for i in (0, 1))
        for name in ("rhymes", "echoes")
    ]
    assert sums == [DEFAULT_RHYME, DEFAULT_ECHO]
