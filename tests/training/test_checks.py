"""Settings are refused when the configs are built, before anything is written or imported."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from musicgen.cli import main
from musicgen.errors import TrainError
from musicgen.models.registry import ModelConfig, default_config
from musicgen.run.config import TrainConfig
from musicgen.training.fit import train

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _error_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith("Error:")]
    return line


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"schedule": "cosin"}, "schedule 'cosin' is not one of cosine, constant"),
        ({"optimizer": "sgd"}, "optimizer 'sgd' is not one of adam, adamw"),
        ({"windows": "bars"}, "windows 'bars' is not one of stream, tunes, packed"),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0, got 0.0"),
        ({"val_fraction": 1.0}, r"val_fraction must be in \[0, 1\), got 1.0"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "leave no tunes to train on"),
        ({"transpose": 5}, "transpose must be 0..4, got 5"),
        ({"weight_decay": 0.1}, "weight_decay 0.1 needs optimizer 'adamw'"),
    ],
)
def test_a_bad_train_setting_is_refused_when_the_config_is_built(settings, message):
    with pytest.raises(TrainError, match=message):
        TrainConfig(**settings)


def test_a_bad_model_setting_is_refused_when_the_config_is_built():
    with pytest.raises(TrainError, match="units 30 must be a multiple of heads 4"):
        ModelConfig(vocab_size=0, arch="transformer", units=30, heads=4)
    with pytest.raises(TrainError, match=r"dropout must be in \[0, 1\), got 1.5"):
        ModelConfig(vocab_size=0, dropout=1.5)
    with pytest.raises(TrainError, match="unknown architecture 'gru' \\(lstm or transformer\\)"):
        ModelConfig(vocab_size=0, arch="gru")


def test_a_config_takes_its_own_architectures_defaults():
    transformer = ModelConfig(vocab_size=5, arch="transformer")
    assert (transformer.units, transformer.layers, transformer.dropout) == (192, 3, 0.15)
    assert transformer.positions == "alibi"
    assert transformer == default_config("transformer", 5)
    lstm = ModelConfig(vocab_size=5)  # no arch: an LSTM, as every run dir before the registry
    assert (lstm.arch, lstm.units, lstm.layers, lstm.dropout) == ("lstm", 512, 2, 0.4)


def test_old_config_files_load_as_they_did():
    data = json.loads((ROOT / "checkpoints" / "default" / "config.json").read_text())
    # Settings added since read back as what the run had: segments off, before packing;
    # learned positions, before ALiBi.
    before = {"segments": False, "positions": "learned", **data["model"]}
    assert ModelConfig.from_dict(data["model"]).to_dict() == before
    old_lstm = {"vocab_size": 60, "embedding_dim": 64, "units": 256, "layers": 2, "dropout": 0.3}
    config = ModelConfig.from_dict(old_lstm)
    assert (config.arch, config.heads, config.context) == ("lstm", 4, 384)
    with pytest.raises(ValueError, match="units 30 must be a multiple of heads 4"):
        ModelConfig.from_dict({**data["model"], "units": 30})
    with pytest.raises(ValueError, match="schedule 'x' is not one of"):
        TrainConfig.from_dict({**data["train"], "schedule": "x"})


def test_train_refuses_units_heads_before_writing_the_run_dir(tunes_file, tmp_path):
    run = tmp_path / "h"
    args = ["train", str(tunes_file), "--run", str(run), "--units", "30", "--heads", "4"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert _error_line(result.output) == (
        "Error: units 30 must be a multiple of heads 4 "
        "(each attention head takes an equal share of the width)"
    )
    assert not run.exists()


def test_a_window_longer_than_the_context_is_refused_before_writing(tunes_file, tmp_path):
    run = tmp_path / "h"
    args = ["train", str(tunes_file), "--run", str(run), "--context", "64", "--seq-len", "65"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1  # checked with the corpus: its memory need comes first
    assert _error_line(result.output) == (
        "Error: seq_len 65 is longer than context 64: the Transformer attends over at most "
        "its context"
    )
    assert not run.exists()


def test_the_library_checks_everything_before_it_writes(tiny_tunes, tmp_path):
    model = ModelConfig(vocab_size=0, arch="transformer", units=16, heads=2, context=16)
    with pytest.raises(TrainError, match="seq_len 32 is longer than context 16"):
        train(tiny_tunes, tmp_path / "run", model, TrainConfig(seq_len=32), progress=False)
    assert not (tmp_path / "run").exists()
    with pytest.raises(TrainError, match="not enough text for one window of 100000"):
        train(
            tiny_tunes[:2],
            tmp_path / "run",
            ModelConfig(vocab_size=0, embedding_dim=4, units=8, layers=1),
            TrainConfig(seq_len=100_000, batch_size=1, transpose=0),
            progress=False,
        )
    assert not (tmp_path / "run").exists()


def test_option_conflicts_are_reported_before_tensorflow_is_imported(tmp_path):
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from musicgen.cli import main\n"
        f"args = ['train', '--run', {str(tmp_path / 'r')!r}, '--units', '30', '--heads', '4']\n"
        "result = CliRunner().invoke(main, args)\n"
        "print(result.exit_code, 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["2", "False"], out.stderr


def test_max_minutes_with_several_workers_is_bad_usage(tmp_path, monkeypatch):
    cluster = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    args = ["train", "--run", str(tmp_path / "r"), "--strategy", "multi-worker"]
    result = CliRunner().invoke(main, [*args, "--max-minutes", "1"])
    assert result.exit_code == 2
    assert "--max-minutes cannot stop several workers" in _error_line(result.output)
    assert not (tmp_path / "r").exists()


def test_a_refused_resume_leaves_the_run_dir_untouched(tiny_run, tiny_tunes, tmp_path):
    import shutil

    from musicgen.run.rundir import read_config

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    model, config = read_config(run)
    for other in (model, ModelConfig(**{**model.to_dict(), "units": 24})):
        with pytest.raises(TrainError, match="other settings|not the corpus"):
            train(tiny_tunes[:-1] if other is model else tiny_tunes, run, other, config)
    assert {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()} == before
