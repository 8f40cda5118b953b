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


def test_held_out_tunes_come_from_split_json_and_a_run_without_it_is_refused(
    tiny_run, tiny_tunes, tmp_path
):
    import json
    import shutil

    import pytest

    from musicgen.errors import RunDirError
    from musicgen.evaluation.card import held_out

    ids = json.loads((tiny_run / "split.json").read_text())["validation"]
    assert held_out(tiny_run, list(tiny_tunes)) == ("validation", [tiny_tunes[i] for i in ids])
    old = tmp_path / "old"
    shutil.copytree(tiny_run, old)
    (old / "split.json").unlink()
    with pytest.raises(RunDirError, match=f"cannot write a model card: {old} has no split.json"):
        held_out(old, list(tiny_tunes))


def test_card_functions_stay_short():
    import ast
    import inspect

    import musicgen.evaluation.card as module

    tree = ast.parse(inspect.getsource(module))
    functions = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]
    lengths = {f.name: f.end_lineno - f.lineno + 1 for f in functions}
    assert max(lengths.values()) <= 60, lengths


def test_card_shows_the_lineage_of_a_fine_tuned_run(tiny_run, tmp_path):
    import json
    import shutil

    assert "- Trained from scratch" in card(tiny_run, [Path("x.abc")], "validation", RESULT)
    child = tmp_path / "child"
    shutil.copytree(tiny_run, child)
    config = json.loads((child / "config.json").read_text())
    config["parent"] = {"path": "checkpoints/default", "sha256": "ab" * 32}
    (child / "config.json").write_text(json.dumps(config))
    text = card(child, [Path("x.abc")], "validation", RESULT)
    assert f"- Fine-tuned from `checkpoints/default` (sha256 `{'ab' * 32}`" in text
    assert "Trained from scratch" not in text
