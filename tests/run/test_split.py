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
    from musicgen.run.config import TrainConfig
    from musicgen.training.fit import train

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
    assert "files" not in data["corpus"]  # the tunes' text, never the paths they came from
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


def _held_out(run, *corpus):
    args = ["evaluate", "--run", str(run), *map(str, corpus), "--held-out", "--json"]
    return CliRunner().invoke(main, [*args, "--split", "test"])


def test_held_out_accepts_the_corpus_by_any_path_or_copy(corpus_run, tmp_path, monkeypatch):
    corpus, run, _, _, _ = corpus_run
    copy = tmp_path / "copy.abc"
    copy.write_text("% a copy, another name\n" + corpus.read_text())
    monkeypatch.chdir(corpus.parent)
    for named in (corpus.name, f"./{corpus.name}", corpus, copy):
        out = _held_out(run, named)
        assert out.exit_code == 0, (named, out.output)
        result = json.loads(out.output.splitlines()[-1])
        assert result["tunes"] + result["skipped"] == 3


def test_held_out_accepts_just_the_held_out_tunes_and_refuses_a_trained_one(corpus_run, tmp_path):
    _, run, tunes, _, _ = corpus_run
    data = json.loads((run / "split.json").read_text())
    test_only = tmp_path / "test_tunes.abc"
    test_only.write_text("\n".join(tunes[i].abc(n) for n, i in enumerate(data["test"], 1)))
    out = _held_out(run, test_only)
    assert out.exit_code == 0, out.output
    trained = tmp_path / "trained.abc"
    trained.write_text(tunes[data["train"][0]].abc(7))
    out = _held_out(run, trained)
    assert out.exit_code == 1 and len(out.output.splitlines()) == 1
    assert f"cannot evaluate --held-out: {trained}:1 is a tune {run} trained on" in out.output
    validation = tmp_path / "validation.abc"
    validation.write_text(tunes[data["validation"][0]].abc(1))
    assert f"is one of {run}'s validation tunes, not one of its test tunes" in (
        _held_out(run, validation).output
    )


def test_held_out_on_tunes_not_in_the_corpus_is_refused_in_one_line(corpus_run, tunes_file):
    _, run, _, _, _ = corpus_run
    out = _held_out(run, tunes_file)
    assert out.exit_code == 1 and len(out.output.splitlines()) == 1
    assert f"{tunes_file}:1 is not in the corpus {run} was trained on" in out.output


def test_resume_accepts_the_same_tunes_read_from_a_copy(corpus_run, tmp_path):
    from musicgen.training.fit import train

    corpus, run, _, model, config = corpus_run
    copy = tmp_path / "elsewhere.abc"
    copy.write_text(corpus.read_text())
    result = train(read_corpus([copy]).tunes, run, model, config, progress=False)
    assert result.epochs_done == config.epochs  # nothing to do, and no refusal


def test_old_records_with_file_names_still_read(corpus_run, tmp_path):
    import shutil

    _, run, tunes, _, _ = corpus_run
    old = tmp_path / "old"
    shutil.copytree(run, old)
    data = json.loads((old / "split.json").read_text())
    data["corpus"]["files"] = ["data/abc_tunes/irish.abc"]  # as split.json had them
    (old / "split.json").write_text(json.dumps(data))
    assert split.check(old, tunes, "resume")["test"] == data["test"]


def test_resume_on_another_corpus_is_refused(corpus_run):
    from dataclasses import replace

    from musicgen.training.fit import train

    _, run, tunes, model, config = corpus_run
    with pytest.raises(TrainError, match=r"cannot resume: not the corpus .*\(11 tunes vs 12"):
        train(tunes[:-1], run, model, replace(config, epochs=2), progress=False)


def test_a_run_without_a_record_refuses_held_out(tiny_run, tmp_path):
    # tiny_run trained on every 30th tune: the recomputed split of the whole corpus would
    # have scored tunes it trained on as held out
    import shutil

    old = tmp_path / "old"
    shutil.copytree(tiny_run, old)
    (old / "split.json").unlink()
    out = CliRunner().invoke(main, ["evaluate", "--run", str(old), "--held-out", "--json"])
    assert out.exit_code == 1 and len(out.output.splitlines()) == 1
    assert f"cannot evaluate --held-out: {old} has no split.json" in out.output
    assert f"python -m musicgen.evaluation.resplit {old} CORPUS" in out.output


def test_restore_rebuilds_the_record_training_wrote(corpus_run, tmp_path):
    import shutil

    from musicgen.evaluation import resplit

    corpus, run, tunes, _, _ = corpus_run
    old = tmp_path / "old"
    shutil.copytree(run, old)
    (old / "split.json").unlink()
    with pytest.raises(TrainError, match="not the ones .*form.json counted"):
        resplit.restore(old, [*tunes[1:], tunes[0]])  # another order: another split
    assert not (old / "split.json").exists()
    assert resplit.main([str(old), str(corpus)]) == 0
    assert json.loads((old / "split.json").read_text()) == split.read(run)


def test_leave_out_drops_held_out_tunes_and_other_versions_by_title(corpus_run, tmp_path):
    corpus, run, tunes, _, _ = corpus_run
    data = json.loads((run / "split.json").read_text())
    held = [tunes[i] for k in ("validation", "test") for i in data[k]]
    version = held[0].abc(1, title=f"The {held[0].title.upper()}!").replace("K:", "N:x\nK:", 1)
    other = tmp_path / "other.abc"
    other.write_text(version + "\n" + tunes[data["train"][0]].abc(2, title="Something Else"))
    mixed = [*read_corpus([other]).tunes, *tunes]
    kept, gone = split.leave_out(mixed, run)
    assert gone == len(held) + 1  # the held-out tunes, and the other version of one
    assert not {split.tune_hash(t) for t in held} & {split.tune_hash(t) for t in kept}
    assert len(kept) == len(mixed) - gone


def test_train_leave_out_says_how_many_went(corpus_run, tmp_path):
    corpus, run, _, _, _ = corpus_run
    args = ["train", str(corpus), "--run", str(tmp_path / "r"), "--leave-out", str(run)]
    args += ["--arch", "lstm", "--units", "8", "--embedding-dim", "4", "--layers", "1"]
    out = CliRunner().invoke(main, [*args, "--epochs", "1", "--seq-len", "16", "--quiet"])
    assert out.exit_code == 0, out.output
    assert "left out 4 tunes held out by" in out.output
    assert "training on 8 tunes" in out.output
    bad = CliRunner().invoke(main, [*args[:4], "--leave-out", str(tmp_path), "--quiet"])
    assert bad.exit_code == 1 and "has no split.json" in bad.output
