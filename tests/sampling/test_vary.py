import pytest
from click.testing import CliRunner

from musicgen.abc import bars
from musicgen.abc.tunes import parse_abc
from musicgen.cli import main
from musicgen.errors import TuneError
from musicgen.evaluation.check import check_tunes
from musicgen.sampling.gap import gap, read_tune
from musicgen.sampling.vary import vary

REEL = """X:7
T:The Test Reel
% a comment the variation must keep
R:reel
M:C|
L:1/8
K:D
|:d2fd Adfd|d2fd gfed|c2ec Acec|c2ec gece|   % bar 4
d2fd Adfd|d2fd gfeg|fdec dBAF|GEFD D4:|
"""


@pytest.fixture(scope="module")
def fim_run(tmp_path_factory, tiny_tunes):
    """A tiny Transformer trained with half its texts in fill-in-the-middle order."""
    from musicgen.models.registry import ModelConfig
    from musicgen.run.config import TrainConfig
    from musicgen.training.fit import train

    run = tmp_path_factory.mktemp("fim") / "run"
    model = ModelConfig(
        vocab_size=0,
        units=16,
        layers=1,
        dropout=0.0,
        arch="transformer",
        heads=2,
        context=128,
        embedding_dim=16,
    )
    config = TrainConfig(
        epochs=1,
        batch_size=8,
        seq_len=128,
        seed=1,
        fim=0.5,
        transpose=1,
        optimizer="adamw",
        warmup_steps=2,
    )
    train(tiny_tunes, run, model, config, progress=False)
    return run


def _sampler(run):
    from musicgen.run.rundir import load_run
    from musicgen.sampling.sampler import Sampler

    return Sampler(load_run(run))


def _outside_kept(raw: str, new: str, first: int, last: int) -> bool:
    old = bars.layout(raw)
    start, close = old.bars[first - 1].start, old.bars[last - 1].close
    tail = len(raw) - close
    return new[:start] == raw[:start] and new[len(new) - tail :] == raw[close:]


@pytest.mark.parametrize("which", ["tiny_run", "fim_run"])
def test_variations_keep_every_other_character_and_are_valid(which, request):
    sampler = _sampler(request.getfixturevalue(which))
    assert ("\x1c" in sampler.vocab.chars) == (which == "fim_run")
    found = vary(sampler, REEL, 3, 4, 6, seed=2, accept=lambda t: check_tunes([t])[0].valid)
    assert [v.index for v in found] == list(range(6))
    for v in found:
        assert v.abc is not None, v
        assert _outside_kept(REEL, v.abc, 3, 4)
        assert "% a comment the variation must keep" in v.abc
        tunes, _ = parse_abc(v.abc)
        assert check_tunes(tunes)[0].valid
        assert bars.layout(v.abc).parts() == bars.layout(REEL).parts()
    again = vary(sampler, REEL, 3, 4, 6, seed=2, accept=lambda t: check_tunes([t])[0].valid)
    assert [v.abc for v in again] == [v.abc for v in found]


def test_gap_reads_the_tune_as_written_and_refuses_bars_it_has_not():
    where = gap(REEL, 8, 8)
    assert where.middle == "GEFD D4" and where.bars == 1
    assert REEL[where.raw_cut[0] : where.raw_cut[1]] == "GEFD D4"
    with pytest.raises(TuneError, match="not within the tune's 1-8"):
        gap(REEL, 8, 9)


def test_read_tune_gives_the_tune_as_written(tmp_path):
    path = tmp_path / "two.abc"
    path.write_text("X:1\nT:one\nK:G\nGABc|\n\n" + REEL + "\n% trailing note\n\n")
    assert read_tune(str(path), 2) == REEL
    with pytest.raises(TuneError, match="no tune 3; it has 2"):
        read_tune(str(path), 3)


def test_vary_command_writes_variations_and_refuses_bad_bars_in_one_line(tiny_run, tmp_path):
    path = tmp_path / "reel.abc"
    path.write_text(REEL)
    out = tmp_path / "out"
    args = ["vary", str(path), "--bars", "5-6", "-n", "3", "--run", str(tiny_run)]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--format", "abc"])
    assert result.exit_code == 0, result.output
    assert "written 3 of 3 variations of bars 5-6" in result.output
    written = sorted(out.glob("*.abc"))
    assert [p.name[:3] for p in written] == ["001", "002", "003"]
    assert all(_outside_kept(REEL, p.read_text(), 5, 6) for p in written)
    again = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    bad = CliRunner().invoke(main, ["vary", str(path), "--bars", "7-9", "--out", str(out)])
    assert bad.exit_code == 1
    assert bad.output.strip() == f"Error: {path}: tune 1: bars 7-9 are not within the tune's 1-8"
    usage = CliRunner().invoke(main, ["vary", str(path), "--bars", "6-5"])
    assert usage.exit_code == 2 and "the first before the last" in usage.output
