import json

import pytest
from click.testing import CliRunner

from musicgen.abc.corpus import read_corpus
from musicgen.cli import main
from musicgen.errors import TrainError
from musicgen.run import split
from musicgen.training.dataset import split_tunes


def test_split_ids_partition_the_corpus_and_a_test_set_keeps_validation():
    plain = split.split_ids(40, 0.1, 0.0, seed=7)
    with_test = split.split_ids(40, 0.1, 0.2, seed=7)
    assert with_test["validation"] == plain["validation"]  # same tunes chose the model
    assert len(with_test["test"]) == 8 and not set(with_test["test"]) & set(plain["validation"])
    assert sorted(sum(with_test.values(), [])) == list(range(40))


def test_split_tunes_is_the_same_split(tiny_tunes):
    ids = split.split_ids(len(tiny_tunes), 0.25, 0.0, seed=1)
    assert split_tunes(tiny_tunes, 0.25, seed=1)[1] == [tiny_tunes[i] for i in ids["validation"]]


def test_fractions_that_leave_nothing_to_train_are_refused():
    with pytest.raises(TrainError, match="leave no tunes to train on"):
        split.split_ids(10, 0.5, 0.5, seed=0)


def test_difference_names_what_changed(tiny_tunes):
    old = split.fingerprint(tiny_tunes)
    assert split.difference(old, split.fingerprint(tiny_tunes)) is None
    assert split.difference(old, split.fingerprint(tiny_tunes[:-1])) == (
        f"{len(tiny_tunes) - 1} tunes vs {len(tiny_tunes)} in the run"
    )
    swapped = [tiny_tunes[1], tiny_tunes[0], *tiny_tunes[2:]]
    assert split.difference(old, split.fingerprint(swapped)) == (
        "tune 0 (0-based, in corpus order) has other text"
    )


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, tiny_tunes):
    from musicgen.models.registry import ModelConfig
    from musicgen.training.fit import TrainConfig, train

    root = tmp_path_factory.mktemp("split")
    corpus = root / "tunes.abc"
    corpus.write_text("\n".join(t.abc(i + 1) for i, t in enumerate(tiny_tunes[:12])))
    tunes = read_corpus([corpus]).tunes
    run = root / "run"
    config = TrainConfig(epochs=1, batch_size=8, seq_len=32, seed=3, test_fraction=0.25)
    model = ModelConfig(vocab_size=0, embedding_dim=8, units=16, layers=1, dropout=0.0)
    train(tunes, run, model, config, progress=False)
    return corpus, run, tunes, model, config


def test_run_dir_records_corpus_and_splits(corpus_run):
    corpus, run, tunes, _, _ = corpus_run
    data = json.loads((run / "split.json").read_text())
    assert data["corpus"]["files"] == [str(corpus)]
    assert data["corpus"]["tunes"] == 12
    assert len(data["test"]) == 3 and len(data["validation"]) == 1


def test_evaluate_scores_the_test_split(corpus_run):
    corpus, run, _, _, _ = corpus_run
    out = CliRunner().invoke(
        main,
        ["evaluate", "--run", str(run), str(corpus), "--held-out", "--split", "test", "--json"],
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output.splitlines()[-1])
    assert result["tunes"] + result["skipped"] == 3  # unseen characters: skipped, named
    assert {"music_bits_per_char", "constrained_bits_per_char", "unreachable"} <= set(result)


def test_held_out_on_another_corpus_is_refused_in_one_line(corpus_run, tmp_path):
    corpus, run, _, _, _ = corpus_run
    other = tmp_path / "tunes.abc"
    other.write_text(corpus.read_text().rsplit("X:", 1)[0])
    out = CliRunner().invoke(main, ["evaluate", "--run", str(run), str(other), "--held-out"])
    assert out.exit_code == 1
    assert "cannot evaluate --held-out: not the corpus" in out.output
    assert f"files {other} vs {corpus} in the run" in out.output


def test_resume_on_another_corpus_is_refused(corpus_run):
    from dataclasses import replace

    from musicgen.training.fit import train

    _, run, tunes, model, config = corpus_run
    with pytest.raises(TrainError, match=r"cannot resume: not the corpus .*\(11 tunes vs 12"):
        train(tunes[:-1], run, model, replace(config, epochs=2), progress=False)


def test_old_run_dirs_without_a_record_still_evaluate_held_out(tiny_run, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(tiny_run, old)
    (old / "split.json").unlink()
    out = CliRunner().invoke(main, ["evaluate", "--run", str(old), "--held-out", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.splitlines()[-1])["tunes"] >= 1
