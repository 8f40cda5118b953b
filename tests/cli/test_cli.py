"""The command line as a user sees it: exit codes, one-line errors, no tracebacks."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from musicgen.cli import main


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_help_lists_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("train", "data"):
        assert command in result.output


def test_data_stats_reports_tunes_meters_keys(tunes_file):
    result = run("data", "stats", tunes_file)
    assert result.exit_code == 0, result.output
    assert "tunes       3" in result.output
    assert "6/8 1" in result.output and "G Major 1" in result.output
    assert "skipped     0" in result.output


def test_data_stats_lists_skipped_tunes_with_reasons(tmp_path, tunes_file):
    tunes_file.write_text(tunes_file.read_text() + "\nX:9\nT:Broken\nM:C\nABC|\n")
    result = run("data", "stats", tunes_file)
    assert result.exit_code == 0
    assert "skipped     1" in result.output
    assert f"{tunes_file}:24: no K: field before the music at line 27" in result.output


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file or directory"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff", "not UTF-8 text (byte 0x89 at offset 0)"),
        (b"", "file is empty"),
        (b"hello world\n", "no tunes found"),
    ],
    ids=["missing", "binary", "empty", "no-tunes"],
)
@pytest.mark.parametrize("command", [("train", "--run", "RUN"), ("data", "stats")])
def test_bad_corpus_is_one_line_error_exit_1(tmp_path, content, message, command):
    path = tmp_path / "in.abc"
    if content is not None:
        path.write_bytes(content)
    args = [a if a != "RUN" else tmp_path / "run" for a in command]
    result = run(*args, path)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: {message}")
    assert result.output.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_bad_option_is_usage_error_exit_2(tunes_file, tmp_path):
    result = run("train", tunes_file, "--run", tmp_path / "r", "--epochs", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--epochs'" in result.output


@pytest.mark.slow
def test_train_from_the_shell_then_resume(tmp_path):
    """A real process: prints per-epoch losses; a second run continues the history."""
    from tests.conftest import CORPUS

    args = [
        sys.executable,
        "-m",
        "musicgen",
        "train",
        str(CORPUS),
        "--run",
        str(tmp_path / "r"),
        "--units",
        "16",
        "--layers",
        "1",
        "--embedding-dim",
        "8",
        "--seq-len",
        "100",
        "--batch-size",
        "64",
        "--quiet",
    ]
    first = subprocess.run([*args, "--epochs", "1"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "epoch 1/1  loss" in first.stdout and "val_loss" in first.stdout
    assert "Traceback" not in first.stderr
    second = subprocess.run([*args, "--epochs", "2"], capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "epoch 2/2" in second.stdout and "epoch 1/2" not in second.stdout
    history = (tmp_path / "r" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history] == ["epoch", "1", "2"]


def test_help_is_fast_and_imports_no_tensorflow():
    code = "import sys, musicgen.cli; print('tensorflow' in sys.modules, 'music21' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False False"


def test_sample_from_the_bundled_model_writes_abc_and_midi(tmp_path):
    """The default run (checkpoints/default): complete tunes, numbered files, real MIDI."""
    from musicgen.abc.corpus import read_corpus
    from musicgen.render.midi import read_notes

    out = tmp_path / "out"
    result = run("sample", "-n", 3, "--seed", 1, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet: nothing on success
    abc_files = sorted(out.glob("0*.abc"))
    assert [p.name[:4] for p in abc_files] == ["001-", "002-", "003-"]
    for path in abc_files:
        (tune,) = read_corpus([path]).tunes
        assert tune.get("X") == str(int(path.name[:3])) and tune.get("T")
        notes = read_notes(path.with_suffix(".mid"))
        assert len(notes) >= 4 and all(20 < pitch < 110 for pitch, _, _ in notes)
    assert len(read_corpus([out / "all.abc"]).tunes) == 3


def _sample(tiny_run, out, *args):
    common = ("--run", tiny_run, "--format", "abc", "--max-chars", 300, "--seed", 2)
    return run("sample", *common, "--out", out, *args)


def test_sample_never_overwrites_without_force(tiny_run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "001-my-tune.abc").write_text("precious")
    kept = _sample(tiny_run, out, "-n", 2, "--quiet")
    assert kept.exit_code == 0, kept.output
    assert (out / "001-my-tune.abc").read_text() == "precious"
    assert sorted(p.name[:4] for p in out.glob("0*.abc")) == ["001-", "002-", "003-"]
    forced = _sample(tiny_run, out, "-n", 2, "--quiet", "--force")
    assert forced.exit_code == 0, forced.output
    assert not (out / "001-my-tune.abc").exists()


def test_a_second_sample_numbers_on_as_one_larger_sample(tiny_run, tmp_path):
    """001-002, then 003-004 (all.abc with all four): the files of one sample of -n 4."""
    twice, once = tmp_path / "twice", tmp_path / "once"
    assert _sample(tiny_run, twice, "-n", 2, "--quiet").exit_code == 0
    second = _sample(tiny_run, twice, "-n", 2)
    assert second.exit_code == 0, second.output
    assert "003-" in second.output and "001-" not in second.output  # lists what it wrote
    assert _sample(tiny_run, once, "-n", 4, "--quiet").exit_code == 0
    names = sorted(p.name for p in once.iterdir())
    assert names == sorted(p.name for p in twice.iterdir()) and len(names) >= 3
    for name in names:
        assert (twice / name).read_text() == (once / name).read_text(), name


def test_sample_quiet_prints_nothing(tiny_run, tmp_path):
    result = _sample(tiny_run, tmp_path / "o", "-n", 2, "--quiet")
    assert result.exit_code == 0 and result.output == ""
    loud = _sample(tiny_run, tmp_path / "o", "-n", 1)
    assert loud.stdout.splitlines()[-1].startswith("written 1 of 1 tunes to ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--key", "H Major", "--meter", "6/8"), "Invalid value for '--key': 'H Major' is not a"),
        (("--meter", "7/8"), "Invalid value for '--meter': '7/8'"),
        (("--meter", "12/8"), "Invalid value for '--meter': '12/8': the model in"),
        (("--meter", "13/8"), "Invalid value for '--meter': '13/8' is not one of 2/2"),
        (("--key", "G"), "Invalid value for '--key': needs a meter too"),
        (("--primer", "M:C", "--meter", "6/8"), "Invalid value for '--primer': give either"),
        (("--seed", "-1"), "Invalid value for '--seed'"),
    ],
)
def test_sample_bad_meter_and_key_exit_2_naming_the_option(tiny_run, tmp_path, args, message):
    result = _sample(tiny_run, tmp_path / "o", "-n", 1, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "o").exists()


def test_sample_key_in_any_spelling_is_written_as_the_corpus_writes_it(tiny_run, tmp_path):
    for key in ("G major", "Gmaj", "G"):
        out = tmp_path / key.replace(" ", "_")
        result = _sample(tiny_run, out, "-n", 1, "--meter", "6/8", "--key", key, "--quiet")
        assert result.exit_code == 0, result.output
        (tune,) = out.glob("001-*.abc")
        assert "\nM:6/8\nL:1/8\nK:G Major\n" in tune.read_text()


def test_sample_takes_a_primer_pasted_from_a_real_tune(tiny_run, tmp_path):
    primer = "X:1\nT:The Kesh\n% from a book\nR:jig\nM:6/8\nL:1/8\nK:G Major\n|:GAG GAB|"
    result = _sample(tiny_run, tmp_path / "o", "-n", 1, "--primer", primer, "--quiet")
    assert result.exit_code == 0, result.output
    (tune,) = (tmp_path / "o").glob("001-*.abc")
    assert tune.read_text().startswith("X:1\nT:Jig No. 1\nM:6/8\nL:1/8\nK:G Major\n|:GAG GAB|")


def test_sample_bad_primer_and_bad_format(tiny_run, tmp_path):
    result = run("sample", "--run", tiny_run, "--primer", "M:6/8\n€", "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert result.output == "Error: primer has characters the model never saw: '€'\n"
    result = run("sample", "--run", tiny_run, "--format", "abc,mp3", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "unknown format mp3" in result.output


def test_sample_from_a_missing_run_dir(tmp_path):
    result = run("sample", "--run", tmp_path / "nope", "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope'}: no such run directory\n"


def test_evaluate_json(tiny_run, tiny_tunes, tmp_path):
    import json

    # The tiny run's own corpus, as a file: --held-out scores the tunes its split.json held
    # out, whatever the corpus file is called.
    corpus = tmp_path / "tiny.abc"
    corpus.write_text("\n".join(t.abc(i) for i, t in enumerate(tiny_tunes, 1)), encoding="utf-8")
    result = run("evaluate", "--run", tiny_run, corpus, "--held-out", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # skipped blocks are reported on stderr
    held_out = json.loads((tiny_run / "split.json").read_text())["validation"]
    assert data["tunes"] + data["skipped"] == len(held_out) > 0
    assert data["chars"] > 100 and 0 < data["bits_per_char"] < 8


def test_train_help_shows_the_fine_tuning_defaults():
    result = run("train", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--init" in text and "--patience" in text
    assert "default: (40; --init: 10)" in text and "default: (0, off; --init: 3)" in text
    assert "--init: lstm 0.00133, transformer 0.001" in text


@pytest.mark.parametrize(
    "option, message",
    [
        (["--units", "64"], "--units cannot change with --init"),
        (["--arch", "transformer"], "--arch cannot change with --init"),
        (["--context", "32", "--layers", "2"], "--layers, --context cannot change with --init"),
    ],
)
def test_train_init_refuses_shape_options_exit_2(tiny_run, tunes_file, tmp_path, option, message):
    result = run("train", tunes_file, "--init", tiny_run, "--run", tmp_path / "r", *option)
    assert result.exit_code == 2, result.output
    assert message in result.output and "keeps its parent's shape (arch lstm" in result.output
    assert not (tmp_path / "r").exists()


def test_train_init_from_a_missing_or_damaged_run_exit_1(tunes_file, tmp_path):
    result = run("train", tunes_file, "--init", tmp_path / "nowhere", "--run", tmp_path / "r")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'nowhere'}: no such run directory (--init)"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{")
    result = run("train", tunes_file, "--init", tmp_path / "bad", "--run", tmp_path / "r")
    assert result.exit_code == 1 and "config.json: unreadable" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_train_on_a_music21_collection_then_fine_tune_on_a_file(tmp_path, tunes_file):
    """music21's miscFolk as a corpus, then a fine-tune of that model on three tunes."""
    tiny = ["--arch", "lstm", "--units", "16", "--layers", "1", "--embedding-dim", "8"]
    tiny += ["--seq-len", "64", "--batch-size", "32", "--transpose", "0", "--quiet"]
    first = run("train", "music21:miscFolk", "--run", tmp_path / "folk", "--epochs", 1, *tiny)
    assert first.exit_code == 0, first.output
    assert "epoch 1/1  loss" in first.output
    args = ["train", tunes_file, "--init", tmp_path / "folk", "--run", tmp_path / "mine"]
    args += ["--epochs", 1, "--batch-size", 4, "--seq-len", 32, "--val-fraction", 0.3, "--quiet"]
    tuned = run(*args)
    assert tuned.exit_code == 0, tuned.output
    assert "epoch 1/1  loss" in tuned.output and "done: 1 epochs" in tuned.output
    parent = json.loads((tmp_path / "mine" / "config.json").read_text())["parent"]
    assert parent["path"] == str(tmp_path / "folk") and len(parent["sha256"]) == 64
    sampled = run(
        "sample", "--run", tmp_path / "mine", "-n", 1, "--out", tmp_path / "out", "--quiet"
    )
    assert sampled.exit_code == 0, sampled.output
