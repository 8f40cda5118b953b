import numpy as np
import pytest

from musicgen.errors import SampleError
from musicgen.run.rundir import load_run
from musicgen.sampling.header import build_primer
from musicgen.sampling.sampler import SampleConfig, Sampled, Sampler


@pytest.fixture(scope="module")
def sampler(tiny_run):
    return Sampler(load_run(tiny_run))


def free(**kwargs):
    """Unconstrained config: the tiny model's raw distribution."""
    return SampleConfig(**{"constrain": False, "max_chars": 200, **kwargs})


def test_same_seed_same_tunes_byte_for_byte(sampler):
    a = sorted(sampler.generate(free(n=4, seed=7)), key=lambda t: t.index)
    b = sorted(sampler.generate(free(n=4, seed=7)), key=lambda t: t.index)
    c = sorted(sampler.generate(free(n=4, seed=8)), key=lambda t: t.index)
    assert [t.text for t in a] == [t.text for t in b]
    assert [t.text for t in a] != [t.text for t in c]
    assert [t.index for t in a] == [0, 1, 2, 3]


def test_every_tune_ends_or_is_marked_truncated(sampler):
    tunes = list(sampler.generate(free(n=6, seed=1, max_chars=50)))
    assert len(tunes) == 6
    for tune in tunes:
        assert "\x02" not in tune.text and "\x03" not in tune.text
        assert tune.complete or len(tune.text) == 50


def test_batched_and_single_sampling_agree_per_tune(sampler):
    """Each tune has its own random stream, so batch size changes nothing but speed."""
    batched = {t.index: t.text for t in sampler.generate(free(n=3, seed=2, batch_size=3))}
    single = {t.index: t.text for t in sampler.generate(free(n=3, seed=2, batch_size=1))}
    assert batched == single


def test_primer_starts_every_tune(sampler):
    primer = "M:6/8\nL:1/8\nK:G Major\n"
    for tune in sampler.generate(free(n=3, seed=0, primer=primer)):
        assert tune.text.startswith(primer)
        assert tune.meter == "6/8" and tune.title().startswith("Jig No.")


def test_primer_with_unknown_characters_lists_them(sampler):
    with pytest.raises(SampleError, match=r"primer has characters the model never saw: '\$', '€'"):
        list(sampler.generate(free(primer="M:6/8\n$€$")))


def test_low_temperature_and_top_k_narrow_the_choice(sampler):
    greedy = {t.text for t in sampler.generate(free(n=3, seed=0, top_k=1))}
    assert len(greedy) == 1  # top-1 is deterministic whatever the random stream
    with pytest.raises(SampleError, match="temperature"):
        list(sampler.generate(free(temperature=0)))


def test_build_primer_from_meter_and_key():
    assert build_primer(meter="6/8", key="G") == "M:6/8\nL:1/8\nK:G\n"
    assert build_primer(meter="2/4") == "M:2/4\nL:1/16\n"
    assert build_primer("M:C\\nK:D\\n") == "M:C\nK:D\n"
    with pytest.raises(SampleError, match="key: needs a meter"):
        build_primer(key="G")
    with pytest.raises(SampleError, match="not both"):
        build_primer("M:C\n", meter="6/8")


def test_sampled_abc_has_number_and_title():
    tune = Sampled(2, "M:9/8\nL:1/8\nK:D\nABc|\n", True)
    assert tune.abc().startswith("X:3\nT:Slip Jig No. 3\nM:9/8\n")
    assert tune.abc("Mine").startswith("X:3\nT:Mine\nM:9/8\n")


def test_first_numbers_on_with_the_tunes_a_larger_n_gives(sampler):
    """Tune i draws from (seed, i): tunes 3..4 after tunes 1..2 are tunes 3..4 of -n 4."""
    four = {t.index: t.text for t in sampler.generate(free(n=4, seed=5))}
    later = {t.index: t.text for t in sampler.generate(free(n=2, seed=5, first=2))}
    assert later == {2: four[2], 3: four[3]}


def test_sampling_rows_follow_the_distribution(sampler):
    """The vectorized inverse-CDF draw matches the softmax probabilities."""
    rng_logits = np.log(np.array([[0.7, 0.2, 0.1]]))
    slots = []

    class Slot:
        pending = []
        chars = []
        grammar = None
        rng = np.random.default_rng(0)

    slots = [Slot()]
    counts = np.zeros(3)
    vocab_bos = sampler.vocab.bos
    assert vocab_bos == 0  # column 0 is BOS and gets masked: use columns 1..3
    logits = np.full((1, 4), -50.0)
    logits[0, 1:] = rng_logits
    for _ in range(3000):
        counts[sampler._choose(logits, slots, SampleConfig(temperature=1.0))[0] - 1] += 1
    np.testing.assert_allclose(counts / counts.sum(), [0.7, 0.2, 0.1], atol=0.03)


def test_constrained_sampling_only_writes_what_the_grammar_allows(tiny_run):
    """Even a barely trained model writes well-formed ABC when the grammar masks it."""
    from musicgen.grammar import AbcGrammar, accepts

    sampler = Sampler(load_run(tiny_run), AbcGrammar)
    tunes = list(sampler.generate(SampleConfig(n=4, seed=3, max_chars=300)))
    assert len(tunes) == 4
    for tune in tunes:
        grammar = AbcGrammar(sampler.vocab.chars)
        grammar.feed_text(tune.text)  # raises if any character was not allowed
        assert tune.text.startswith("M:")
        if tune.complete:
            assert accepts(tune.text)


def test_meter_primer_is_checked_by_the_grammar(tiny_run):
    from musicgen.grammar import AbcGrammar

    sampler = Sampler(load_run(tiny_run), AbcGrammar)
    with pytest.raises(SampleError, match="primer is not valid ABC here"):
        list(sampler.generate(SampleConfig(n=1, primer="K:G\n")))  # K: before M:


def test_sampler_honours_config_constrain_without_a_factory(tiny_run):
    from musicgen.grammar import AbcGrammar

    sampler = Sampler(load_run(tiny_run))  # no factory given: the default grammar
    masked = list(sampler.generate(SampleConfig(n=3, seed=3, max_chars=200)))
    for tune in masked:
        AbcGrammar(sampler.vocab.chars).feed_text(tune.text)  # raises if not allowed
    slot = sampler._new_slot(0, SampleConfig(constrain=False), [])
    assert slot.grammar is None
    assert sampler._new_slot(0, SampleConfig(), []).grammar is not None


def _eos_probability(sampler, wrap_up: bool) -> float:
    class Slot:
        pending = []
        chars = ["a"] * 90  # past 3/4 of max_chars=100
        grammar = None
        rng = np.random.default_rng(0)

    config = SampleConfig(temperature=1.0, max_chars=100, constrain=False, wrap_up=wrap_up)
    eos = sampler.vocab.eos
    hits = 0
    for _ in range(2000):
        logits = np.zeros((1, len(sampler.vocab)))
        hits += int(sampler._choose(logits, [Slot()], config)[0] == eos)
    return hits / 2000


def test_wrap_up_bias_is_its_own_switch(sampler):
    n = len(sampler.vocab) - 1  # BOS is never drawn
    assert _eos_probability(sampler, wrap_up=False) == pytest.approx(1 / n, abs=0.02)
    assert _eos_probability(sampler, wrap_up=True) == pytest.approx(
        np.e**4 / (n - 1 + np.e**4), abs=0.05
    )
