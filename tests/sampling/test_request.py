"""The one front end of ``musicgen sample`` and the studio: requests, keys, meters, primers."""

import pytest

from musicgen.form.plan import FormPlan
from musicgen.run.rundir import load_run
from musicgen.sampling.header import (
    OptionError,
    check_key,
    check_meter,
    clean_primer,
    spell_key,
)
from musicgen.sampling.request import SampleRequest, in_order, sample_config
from musicgen.sampling.sampler import SampleConfig, Sampled


@pytest.mark.parametrize(
    ("asked", "spelt"),
    [
        ("G major", "G Major"),
        ("Gmaj", "G Major"),
        ("Gmix", "G Mixolydian"),
        ("Edor", "E Dorian"),
        ("Ador", "A Dorian"),
        ("D", "D Major"),
        ("Em", "E Minor"),
        ("F# minor", "F# Minor"),
        ("Bb DORIAN", "Bb Dorian"),
        ("A aeolian", "A Minor"),
        ("any", "any"),
    ],
)
def test_keys_are_spelt_as_the_corpus_writes_them(asked, spelt):
    assert check_key(asked) == spelt


@pytest.mark.parametrize("bad", ["H Major", "G majestic", "g", "G#m7", ""])
def test_a_bad_key_names_the_option_and_what_a_key_is(bad):
    with pytest.raises(OptionError, match=r"^key: .* is not a key: give a tonic A-G") as info:
        check_key(bad)
    assert info.value.option == "key"


def test_meters_are_those_the_grammar_writes():
    assert check_meter("6 / 8") == "6/8" and check_meter("C|") == "C|"
    with pytest.raises(OptionError, match=r"^meter: '13/8' is not one of 2/2, .*12/8, C, C\|"):
        check_meter("13/8")


def test_a_key_is_spelt_in_what_the_vocabulary_can_write():
    assert spell_key("E Phrygian", "EPhrygian ") == "E Phrygian"
    assert spell_key("E Phrygian", "Ephr") == "Ephr"
    assert spell_key("G Major", "G") == "G"
    assert spell_key("E Phrygian", "E") is None


def test_a_primer_pasted_from_a_real_tune_loses_what_the_loader_drops():
    pasted = "X:1\nT:The Kesh\n% from a book\nR:jig\nM:6/8\nL:1/8\nK:G major\n"
    pasted += "|:GAG GAB|ABA ABd % a comment\n\ngab"
    assert clean_primer(pasted) == "M:6/8\nL:1/8\nK:G Major\n|:GAG GAB|ABA ABd\ngab"
    assert clean_primer("M:C\nK:D\n") == "M:C\nL:1/8\nK:D\n"  # L: as the loader fills it
    assert clean_primer("M:6/8\nL:1/8\nK:G\nGAB c2d|") == "M:6/8\nL:1/8\nK:G\nGAB c2d|"
    assert clean_primer("M:6/8\nL:1/") == "M:6/8\nL:1/"  # stops inside the header: kept


def test_the_default_request_is_the_cli_default_sample():
    config = sample_config(SampleRequest())
    assert config == SampleConfig(form=FormPlan(bars=8))  # form auto, 8 bars a part
    raw = sample_config(SampleRequest(constrain=False))
    assert raw.form is None and raw.wrap_up is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": 0}, "n: must be a whole number, 1 or more, not 0"),
        ({"n": "2"}, "n: must be a whole number, 1 or more, not '2'"),
        ({"temperature": float("nan")}, "temperature: must be a number above 0"),
        ({"seed": -1}, "seed: must be a whole number, 0 or more, not -1"),
        ({"key": "G"}, "key: needs a meter too"),
        ({"meter": "6/8", "primer": "M:C\n"}, "primer: give either a primer or a meter/key"),
        ({"form": "AAAB"}, "form: form pattern 'AAAB'"),
        ({"bars_per_part": 1}, "bars_per_part: bars per part must be 2..32, not 1"),
        ({"form": "AABB", "constrain": False}, "form: a form, bars per part or no cadence"),
        ({"cadence": "no"}, "cadence: must be true or false"),
    ],
)
def test_every_bad_value_is_an_option_error_naming_it(change, message):
    with pytest.raises(OptionError) as info:
        sample_config(SampleRequest(**change))
    assert str(info.value).startswith(message)


def test_the_model_refuses_meters_its_corpus_never_used(tiny_run):
    run = load_run(tiny_run)
    with pytest.raises(OptionError, match=r"^meter: '12/8': the model in .* writes .*6/8"):
        sample_config(SampleRequest(meter="12/8"), run)
    config = sample_config(SampleRequest(meter="6/8", key="g MAJ".replace("g", "G")), run)
    assert config.primer == "M:6/8\nL:1/8\nK:G Major\n"


def test_in_order_yields_each_tune_once_those_before_it_are_in():
    tunes = [Sampled(i, str(i), True) for i in (7, 5, 6, 8)]
    seen = []
    ordered = [t.index for t in in_order(tunes, first=5, progress=seen.append)]
    assert ordered == [5, 6, 7, 8] and seen == [1, 2, 3, 4]


def test_rhyme_is_a_request_field_with_the_cli_default_and_is_checked():
    from musicgen.errors import OptionError
    from musicgen.sampling.request import SampleRequest, sample_config

    assert SampleRequest().rhyme == "auto"
    plan = sample_config(SampleRequest(rhyme="never")).form
    assert plan.phrasing.rhyme == "never"
    with pytest.raises(OptionError, match="rhyme"):
        sample_config(SampleRequest(rhyme="sometimes"))
