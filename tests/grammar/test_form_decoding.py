"""Issue 13: the decoder enforces a planned form (parts, bars per part, cadence).

Random walks of the grammar alone (every allowed character equally likely) must always
finish, never meet an empty mask, and give exactly the planned form by `musicgen.form.analysis`'s
own analysis; then the same through the sampler with a tiny model and the CLI."""

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from musicgen.abc.tunes import parse_abc
from musicgen.abc.vocab import BOS, EOS
from musicgen.cli import main
from musicgen.errors import GrammarError, RunDirError, SampleError
from musicgen.form.analysis import tune_form
from musicgen.form.cadence import Phrasing
from musicgen.form.phrases import phrases_of
from musicgen.form.plan import FormPlan, Target, parse_pattern
from musicgen.form.stats import form_distribution, read_form_stats, write_form_stats
from musicgen.grammar import STRICT, AbcGrammar
from musicgen.run.rundir import load_run
from musicgen.sampling.sampler import SampleConfig, Sampler

CHARS = (BOS, EOS, *sorted(set("\n '(),-/0123456789:<=>ABCDEFGKLMT[]^_abcdefgmnorsuvxz|~")))
HEADS = ("M:6/8\nL:1/8\nK:D\n", "M:C\nL:1/8\nK:Ador\n", "M:3/4\nL:1/8\nK:Bb\n")


def walk(plan: FormPlan, seed: int, head: str = "", chars=CHARS) -> str:
    """A uniform random walk of the planned grammar: the tune text (EOS dropped)."""
    rng = np.random.default_rng(seed)
    grammar = AbcGrammar(chars, policy=dataclasses.replace(STRICT, plan=plan), rng=rng)
    head = head or HEADS[seed % len(HEADS)]
    grammar.feed_text(head)
    out = [head]
    while not grammar.done:
        allowed = np.flatnonzero(grammar.allowed_mask())
        assert allowed.size, f"dead end after {''.join(out)!r}"
        ch = chars[int(rng.choice(allowed))]
        grammar.feed(ch)
        out.append("" if ch == EOS else ch)
        assert len(out) < 20_000
    form = grammar.state.music.form  # the end came only after the last part
    assert form.parts == len(form.target.repeats) and form.bars_in_part == 0
    return "".join(out)


def analysed(text: str):
    """`musicgen.form.analysis`'s form of a canonical tune text (M:, L:, K:, body)."""
    meter, unit, key, body = text.split("\n", 3)
    return tune_form(body, meter[2:], unit[2:], key[2:])


@pytest.mark.parametrize(
    ("pattern", "bars", "letters"),
    [("AABB", 8, "AABB"), ("AABB", 4, "AABB"), ("AABBCC", 8, "AABBCC"), ("A", 8, "A")],
)
def test_random_walks_give_exactly_the_planned_form(pattern, bars, letters):
    for seed in range(12):
        form = analysed(walk(FormPlan(pattern, bars), seed))
        assert form.letters == letters, seed
        assert [p.bars for p in form.parts] == [bars] * len(parts_of(pattern)), seed
        assert form.last_note_tonic, seed


def parts_of(pattern):
    return parse_pattern(pattern)


def test_abac_gives_four_parts_each_played_once():
    for seed in range(12):
        form = analysed(walk(FormPlan("ABAC", 8), seed))
        assert [(p.bars, p.repeated) for p in form.parts] == [(8, "")] * 4, seed


def test_repeated_parts_close_with_a_repeat_and_pickups_count_once():
    texts = [walk(FormPlan("AABB", 4), seed) for seed in range(30)]
    assert all(text.count(":|") + text.count("::") >= 2 for text in texts)
    assert not any("|1" in text or "|2" in text for text in texts)  # no endings
    with_pickup = [
        t for t in texts if analysed(t).parts[0].bars == 4 and "|" in t.split("\n")[3][:6]
    ]
    assert with_pickup  # some walks open with a pickup, and it still makes 4 bars


def test_no_cadence_lets_the_tune_end_off_the_tonic():
    ends = {
        analysed(walk(FormPlan("AB", 2, cadence=False), seed)).last_note_tonic for seed in range(40)
    }
    assert ends == {True, False}


def test_the_final_bar_refuses_an_ending_off_the_tonic():
    plan = dataclasses.replace(STRICT, plan=FormPlan("A", 2))
    grammar = AbcGrammar(CHARS, policy=plan)
    grammar.feed_text("M:C\nL:1/8\nK:G\nABcd efga|GABc def")  # one unit left: the tonic's
    allowed = {CHARS[i] for i in np.flatnonzero(grammar.allowed_mask())}
    assert {"G", "g", "/"} <= allowed and not allowed & set("ABCDEFabcdef^_=z(|")
    with pytest.raises(GrammarError, match="tonic"):
        grammar.copy().feed("a")
    grammar.feed_text("g|]")
    assert not grammar.allowed_mask()[CHARS.index("A")]  # the form is complete
    grammar.feed("\n")
    grammar.feed(EOS)
    assert grammar.done


def test_a_part_closes_at_its_last_bar_and_not_before():
    grammar = AbcGrammar(CHARS, policy=dataclasses.replace(STRICT, plan=FormPlan("AABB", 2)))
    grammar.feed_text("M:C\nL:1/8\nK:G\nABcd efga")
    with pytest.raises(GrammarError):
        grammar.copy().feed_text(":|")  # one bar of two
    grammar.feed_text("|GABc defg")
    with pytest.raises(GrammarError):
        grammar.copy().feed_text("|A")  # the part must close here
    with pytest.raises(GrammarError):
        grammar.copy().feed(EOS)
    grammar.feed_text(":|\n")
    assert grammar.state.music.form.parts == 1


def test_auto_draws_per_meter_and_is_deterministic_per_seed():
    choices = (("6/8", (("AABB", 8, 3), ("AABBCC", 8, 1))), ("3/4", (("AB", 16, 1),)))
    plan = FormPlan(choices=choices)
    drawn = plan.resolve("3/4", "D", np.random.default_rng(0))
    assert drawn.repeats == (False, False) and drawn.bars == 16 and drawn.letters == "AB"
    drawn = [plan.resolve("6/8", "G", np.random.default_rng([5, i])).repeats for i in range(40)]
    again = [plan.resolve("6/8", "G", np.random.default_rng([5, i])).repeats for i in range(40)]
    assert drawn == again and set(drawn) == {(True, True), (True, True, True)}
    assert plan.resolve("2/4", "G", None).repeats == (True, True)  # an unseen meter: all meters
    drawn = FormPlan().resolve("6/8", "Em", np.random.default_rng(0))
    assert dataclasses.replace(drawn, ends=(), rhyme=False, echoes=()) == Target(
        (True, True), 8, True, "E", "AABB"
    )
    assert drawn.ends[-1] == "E" and len(drawn.echoes) == 2  # the last part: the tonic
    assert FormPlan(choices=choices, bars=4).resolve("3/4", "D").bars == 4


@pytest.mark.parametrize("pattern", ["AAAB", "aabb", "A-B", ""])
def test_bad_patterns_are_refused_by_name(pattern):
    with pytest.raises(ValueError, match="form pattern"):
        FormPlan(pattern)
    with pytest.raises(ValueError, match="bars per part"):
        FormPlan("AABB", bars=1)


def test_form_stats_count_the_corpus_forms_per_meter(tmp_path, tiny_tunes):
    tunes = parse_abc(
        "X:1\nM:6/8\nL:1/8\nK:G\n|:GAB cde|GAB cde|GAB cde|GAB cd2:|\n"
        "|:gab c'd'e'|gab c'd'e'|gab c'd'e'|gab c'd'2:|\n",
        "t.abc",
    )[0]
    stats = form_distribution(tunes)
    assert stats["meters"] == {"6/8": {"AABB 4": 1}} and stats["tunes"] == 1
    write_form_stats(tmp_path, tiny_tunes)
    choices = dict(read_form_stats(tmp_path))
    assert json.loads((tmp_path / "form.json").read_text())["tunes"] == len(tiny_tunes)
    assert all(count > 0 and bars >= 2 for opts in choices.values() for _, bars, count in opts)
    assert read_form_stats(tmp_path / "nowhere") == ()
    (tmp_path / "form.json").write_text("{]")
    with pytest.raises(RunDirError, match="form.json"):
        read_form_stats(tmp_path)


def test_a_tiny_model_samples_the_planned_form(tiny_run):
    sampler = Sampler(load_run(tiny_run))
    config = SampleConfig(n=3, seed=4, max_chars=6000, form=FormPlan("AABB", 4))
    tunes = sorted(sampler.generate(config), key=lambda t: t.index)
    again = sorted(sampler.generate(config), key=lambda t: t.index)
    assert [t.text for t in tunes] == [t.text for t in again]
    for tune in tunes:
        assert tune.complete
        form = analysed(tune.text)
        assert form.letters == "AABB" and [p.bars for p in form.parts] == [4, 4]
        assert form.last_note_tonic
    with pytest.raises(SampleError, match="needs the grammar"):
        list(sampler.generate(SampleConfig(constrain=False, form=FormPlan("AB"))))


def test_cli_samples_aabb_on_the_default_model(tmp_path):
    out = tmp_path / "out"
    args = ["sample", "-n", "2", "--seed", "3", "--form", "AABB", "--format", "abc"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    tunes, _ = parse_abc((out / "all.abc").read_text(), "all.abc")
    assert len(tunes) == 2
    for tune in tunes:
        form = tune_form(tune.body, tune.meter, tune.unit_length, tune.key)
        assert form.letters == "AABB" and [p.bars for p in form.parts] == [8, 8]
        assert form.last_note_tonic
    bad = CliRunner().invoke(main, ["sample", "--form", "AAAB", "--out", str(out)])
    assert bad.exit_code == 2 and "--form" in bad.output


def test_auto_plays_every_part_twice_as_the_tradition_does(tmp_path):
    from musicgen.form.stats import played

    assert played("AB") == played("AAB") == played("AABB") == "AABB"
    assert played("ABC") == "AABBCC" and played("AABBCCBB") == "AABBCC" and played("A") == "AA"
    (tmp_path / "form.json").write_text(
        '{"version": 1, "tunes": 9, "skipped": 0, "meters": {"C": {"AABB 8": 5, "AB 8": 3,'
        ' "ABC 16": 1}}}'
    )
    assert read_form_stats(tmp_path) == (("C", (("AABB", 8, 8), ("AABBCC", 16, 1))),)


def test_form_stats_record_each_meters_keys_and_old_tables_have_none(tmp_path):
    from musicgen.form.stats import read_key_stats

    text = "".join(
        f"X:{i}\nM:{m}\nL:1/8\nK:{k}\n|:GABc dedB:|\n"
        for i, (m, k) in enumerate([("6/8", "G"), ("6/8", "G"), ("6/8", "Ador"), ("C", "D")])
    )
    tunes = parse_abc(text, "keys.abc")[0]
    write_form_stats(tmp_path, tunes)
    keys = dict(read_key_stats(tmp_path))
    assert keys == {"6/8": (("G", 2), ("Ador", 1)), "C": (("D", 1),)}  # as written
    (tmp_path / "form.json").write_text('{"version": 1, "meters": {}}')  # written before keys
    assert read_key_stats(tmp_path) == () and read_key_stats(tmp_path / "nowhere") == ()
    (tmp_path / "form.json").write_text('{"keys": {"C": {"G Major": "many"}}}')
    with pytest.raises(RunDirError, match="form.json"):
        read_key_stats(tmp_path)


def key_line(plan: FormPlan, seed: int, head: str = "M:6/8\nL:1/8\n") -> str:
    """The K: value a planned grammar lets through after `head`, drawn with `seed`."""
    grammar = AbcGrammar(
        CHARS, policy=dataclasses.replace(STRICT, plan=plan), rng=np.random.default_rng(seed)
    )
    grammar.feed_text(head + "K:")
    value = ""
    while True:
        allowed = [CHARS[i] for i in np.flatnonzero(grammar.allowed_mask())]
        if allowed == ["\n"]:
            return value
        assert len(allowed) == 1, f"K:{value} may go on with {allowed}: not one drawn key"
        grammar.feed(allowed[0])
        value += allowed[0]


def test_the_key_is_drawn_from_the_corpus_keys_of_the_meter():
    keys = (("6/8", (("G", 3), ("Em", 1))), ("C", (("Ador", 1),)))
    plan = FormPlan("AABB", 8, keys=keys)
    drawn = [key_line(plan, seed) for seed in range(40)]
    assert drawn == [key_line(plan, seed) for seed in range(40)]  # seeded: the same keys
    assert set(drawn) == {"G", "Em"} and drawn.count("G") > 20
    assert key_line(plan, 0, "M:C\nL:1/8\n") == "Ador"
    assert key_line(plan, 0, "M:2/4\nL:1/8\n") in {"G", "Em", "Ador"}  # unseen: all meters
    # A key this vocabulary cannot spell (no "j") is not drawn: the model chooses.
    unspellable = FormPlan(keys=(("6/8", (("G Major", 1),)),))
    grammar = AbcGrammar(CHARS, policy=dataclasses.replace(STRICT, plan=unspellable))
    grammar.feed_text("M:6/8\nL:1/8\nK:")
    assert set("ABCDEFG") <= {CHARS[i] for i in np.flatnonzero(grammar.allowed_mask())}
    # A drawn key refuses any other, naming the drawn one; no table: any key.
    grammar = AbcGrammar(CHARS, policy=dataclasses.replace(STRICT, plan=FormPlan(keys=keys[1:])))
    grammar.feed_text("M:C\nL:1/8\nK:")
    with pytest.raises(GrammarError, match="K:Ador"):
        grammar.feed("G")
    free = AbcGrammar(CHARS, policy=dataclasses.replace(STRICT, plan=FormPlan("AABB", 8)))
    free.feed_text("M:C\nL:1/8\nK:Bb\n")  # no keys in the plan: the model's choice


def test_the_sampler_draws_keys_unless_the_primer_or_the_user_sets_one(tiny_run):
    sampler = Sampler(load_run(tiny_run))
    keys = dict(__import__("musicgen.form.stats").form.stats.read_key_stats(tiny_run))
    corpus_keys = {k for options in keys.values() for k, _ in options}
    config = SampleConfig(n=4, seed=2, max_chars=6000, form=FormPlan("AABB", 4))
    for tune in sampler.generate(config):
        assert tune.text.split("\n")[2][2:] in corpus_keys
    primed = dataclasses.replace(config, n=2, primer="M:C\nL:1/8\nK:Bb\n")
    assert all("\nK:Bb\n" in t.text for t in sampler.generate(primed))
    assert sampler._with_choices(primed).form.keys == ()
    free = dataclasses.replace(config, form=FormPlan("AABB", 4, draw_keys=False))
    assert sampler._with_choices(free).form.keys == ()


def test_cli_bars_per_part_defaults_to_8_takes_auto_and_refuses_nonsense(tmp_path):
    from musicgen.cli.form_options import form_plan

    assert form_plan("auto", None, False, False).bars == 8
    assert form_plan("auto", "auto", False, False).bars is None
    assert form_plan("auto", None, False, False, any_key=True).draw_keys is False
    for bad in ("1", "33", "eight"):
        result = CliRunner().invoke(main, ["sample", "--bars-per-part", bad, "--out", "x"])
        assert result.exit_code == 2 and "--bars-per-part" in result.output, result.output
        assert "2..32" in result.output


A_PART = "|:G3F ABdf|e2cA GEE2|G3F ABdf|e2cA GEE2:|\n"
B_PART = "|:c2ec B2dB|c2ec B2dB|A2cA G2BG|A2cA GEE2:|\n"


def _finished_slot(body: str, pattern: str):
    """A sampler slot that wrote `body` in E dorian under `pattern` (4-bar parts), then ended."""
    from musicgen.sampling.sampler import _Slot

    grammar = AbcGrammar(
        CHARS,
        policy=dataclasses.replace(STRICT, plan=FormPlan(pattern, 4)),
        rng=np.random.default_rng(0),
    )
    slot = _Slot(0, np.random.default_rng(0), [], grammar)
    for ch in ["M:C\nL:1/8\nK:Edor\n", body, EOS]:
        for c in ch if ch != EOS else [EOS]:
            slot.append(CHARS.index(c), c, 10_000)  # feeds the grammar too
    assert slot.complete
    return slot


def test_a_b_part_that_copies_the_a_part_is_seen_as_a_copy():
    from musicgen.sampling.sampler import _copied_a_part

    copied = _finished_slot(A_PART + A_PART, "AABB")
    assert analysed(copied.text()).letters == "AAAA" and _copied_a_part(copied)
    tune = _finished_slot(A_PART + B_PART, "AABB")
    assert analysed(tune.text()).letters == "AABB" and not _copied_a_part(tune)
    assert not _copied_a_part(_finished_slot(A_PART, "AA"))  # one part asked for


def test_the_sampler_draws_a_copied_tune_again_a_bounded_number_of_times(tiny_run, monkeypatch):
    import musicgen.sampling.sampler as sample

    sampler = Sampler(load_run(tiny_run))
    config = SampleConfig(n=3, seed=4, max_chars=6000, form=FormPlan("AABB", 4))
    first = {t.index: t.text for t in sampler.generate(config)}
    draws = []
    monkeypatch.setattr(sample, "_copied_a_part", lambda slot: draws.append(slot.index) or True)
    redrawn = {t.index: t.text for t in sampler.generate(config)}
    assert sorted(draws) == sorted([0, 1, 2] * (sample.MAX_TRIES - 1))  # then the last is kept
    assert redrawn == {t.index: t.text for t in sampler.generate(config)}  # still seeded
    assert redrawn.keys() == first.keys() and all(redrawn[i] != first[i] for i in first)


def test_random_walks_under_drawn_part_endings_rhymes_and_echoes_never_dead_end():
    """Issue 14: each part ends on its drawn letter; motifs never leave an empty mask."""
    for rhyme in ("auto", "always"):
        for seed in range(16):
            pattern = "AABB" if seed % 2 else "AABBCC"
            plan = FormPlan(pattern, 8, phrasing=Phrasing(rhyme=rhyme))
            form = analysed(walk(plan, seed))
            assert [p.bars for p in form.parts] == [8] * len(set(pattern)), (rhyme, seed)
            assert form.last_note_tonic, (rhyme, seed)


def test_a_part_ends_on_its_drawn_letter():
    plan = FormPlan("AABB", 2, phrasing=Phrasing(rhyme="never"))
    policy = dataclasses.replace(STRICT, plan=plan)
    grammar = AbcGrammar(CHARS, policy=policy)
    grammar.feed_text("M:C\nL:1/8\nK:G\n")
    target = dataclasses.replace(grammar.state.music.form.target, ends=("D", "G"))
    music = dataclasses.replace(
        grammar.state.music, form=dataclasses.replace(grammar.state.music.form, target=target)
    )
    grammar._node = grammar._t.node(dataclasses.replace(grammar.state, music=music))
    grammar.feed_text("ABcd efga|GABc def")  # the A part's last bar: one unit left, for D
    allowed = {CHARS[i] for i in np.flatnonzero(grammar.allowed_mask())}
    assert {"D", "d"} <= allowed and not allowed & set("ABCEFGabcefg^_=z(|")
    with pytest.raises(GrammarError):
        grammar.copy().feed("g")
    grammar.feed_text("d:|")


def _walk_texts(rhyme: str, seeds=range(24)):
    plan = FormPlan("AABB", 8, phrasing=Phrasing(rhyme=rhyme))
    return [analysed(walk(plan, seed, HEADS[0])) for seed in seeds]


def test_rhyme_always_makes_the_b_part_end_as_the_a_part_where_the_bars_allow():
    forms = _walk_texts("always")
    alike = [phrases_of(f).ends_alike for f in forms]
    assert sum(alike) >= len(alike) // 2  # a B pickup longer than A's leaves no room
    echoes = sum(phrases_of(f).echoes for f in forms)
    assert echoes >= len(forms) // 2
    never = _walk_texts("never")
    assert sum(phrases_of(f).ends_alike for f in never) <= 2  # chance alone, in random walks


def test_a_motif_only_narrows_the_mask_and_is_dropped_when_fed_otherwise():
    plan = FormPlan("AABB", 8, phrasing=Phrasing(rhyme="always"))
    grammar = AbcGrammar(CHARS, policy=dataclasses.replace(STRICT, plan=plan))
    grammar.feed_text("M:C\nL:1/8\nK:G\nGABc dBAF|GABc d2B2|cBAG FGAB|cBAG A4|")
    assert np.flatnonzero(grammar.allowed_mask()).tolist() == [CHARS.index("G")]  # bar 5
    free = grammar.copy()
    free.feed("B")  # a character the motif did not ask for: the motif is dropped
    assert np.flatnonzero(free.allowed_mask()).size > 1
    grammar.feed_text("GAB")
    assert np.flatnonzero(grammar.allowed_mask()).size > 1  # three notes, then free
