"""Loading a run directory: every way it can be broken gives one error naming the file,
and nothing in it is ever executed (Keras safe mode, JSON, no pickle)."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.cli import main
from musicgen.errors import RunDirError
from musicgen.run import resume, rundir

PACKAGE = Path(__file__).resolve().parents[2] / "musicgen"


@pytest.fixture
def run(tmp_path, tiny_run) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    return copy


def sample_error(run: Path, tmp_path: Path) -> str:
    """What `musicgen sample` says about the run dir: exactly one line, exit 1."""
    result = CliRunner().invoke(main, ["sample", "--run", str(run), "--out", str(tmp_path / "o")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    return result.output.rstrip("\n")


def rewrite_member(path: Path, name: str, edit) -> None:
    """Rewrite one member of a .keras zip with `edit(bytes) -> bytes` (CRCs stay valid)."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[name] = edit(members[name])
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def test_truncated_model_file(run, tmp_path):
    data = (run / "model.keras").read_bytes()
    (run / "model.keras").write_bytes(data[: len(data) // 2])
    assert sample_error(run, tmp_path) == (
        f"Error: {run}/model.keras: cannot load model (not a .keras file: File is not a zip file)"
    )


def test_corrupted_weights_inside_the_model_file(run, tmp_path):
    path = run / "model.keras"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("model.weights.h5")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    assert re.fullmatch(
        rf"Error: {re.escape(str(path))}: cannot load model \(corrupted: .*\)",
        sample_error(run, tmp_path),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_damage_to_the_model_file_is_a_clear_error(tiny_run, tmp_path_factory, data):
    run = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(tiny_run, run)
    path = run / "model.keras"
    blob = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(blob) - 1))
        if data.draw(st.booleans()):
            blob[at] = data.draw(st.integers(0, 255))
        else:
            del blob[at : at + data.draw(st.integers(1, 4096))]
    path.write_bytes(bytes(blob))
    try:
        rundir.load_run(run)  # a flip in a timestamp or padding changes nothing: fine
    except RunDirError as exc:
        assert str(exc).startswith(f"{path}: cannot load model (")
        assert "\n" not in str(exc)


def test_vocab_disagrees_with_the_model_output(run, tmp_path):
    vocab = json.loads((run / "vocab.json").read_text())
    size = len(vocab["chars"])
    vocab["chars"].append("\u00e9")
    (run / "vocab.json").write_text(json.dumps(vocab))
    config = json.loads((run / "config.json").read_text())
    config["model"]["vocab_size"] = size + 1  # config agrees with vocab; the model does not
    (run / "config.json").write_text(json.dumps(config))
    assert sample_error(run, tmp_path) == (
        f"Error: {run}/model.keras: model predicts {size} characters but vocab.json has {size + 1}"
    )


def test_config_from_an_unknown_version(run, tmp_path):
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "format": 7, "musicgen_version": "9"}))
    assert sample_error(run, tmp_path) == (
        f"Error: {run}/config.json: config format 7 is not 1 (written by musicgen 9, "
        f"this is {__import__('musicgen').__version__})"
    )
    config["model"]["attention_heads"] = 4  # a setting from a future version
    (run / "config.json").write_text(json.dumps(config))
    assert sample_error(run, tmp_path).startswith(
        f"Error: {run}/config.json: bad or missing model/train settings ("
    )


def test_model_of_another_shape(run, tmp_path):
    config = json.loads((run / "config.json").read_text())
    config["model"]["units"] = 48  # the model file has 32
    (run / "config.json").write_text(json.dumps(config))
    assert sample_error(run, tmp_path) == (
        f"Error: {run}/model.keras: layer 'lstm_0' has units 32, but config.json says 48"
    )


def test_a_keras_model_that_is_not_ours(run, tmp_path):
    import keras

    config = rundir.read_config(run)[0]
    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(ids)
    model = keras.Model(ids, keras.layers.Dense(config.vocab_size, name="logits")(x))
    model.save(run / "model.keras")
    assert sample_error(run, tmp_path).startswith(
        f"Error: {run}/model.keras: not a musicgen model (no layer "
    )


def test_a_lambda_layer_is_refused_and_never_run(run, tmp_path):
    import keras

    sentinel = str(tmp_path / "pwned")
    config = rundir.read_config(run)[0]
    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(config.vocab_size, 4)(ids)
    x = keras.layers.Lambda(lambda t: (open(sentinel, "w").write("ran"), t)[1], name="pay")(x)
    keras.Model(ids, keras.layers.Dense(config.vocab_size)(x)).save(run / "model.keras")
    Path(sentinel).unlink(missing_ok=True)  # building the model above ran the lambda once
    error = sample_error(run, tmp_path)
    assert error.startswith(f"Error: {run}/model.keras: cannot load model (")
    assert "Lambda" in error
    assert not Path(sentinel).exists()


def test_a_class_from_the_run_dir_is_never_imported(run, tmp_path, monkeypatch):
    sentinel = tmp_path / "pwned"
    (run / "evil_layer.py").write_text(f"open({str(sentinel)!r}, 'w').write('ran')\n")
    monkeypatch.syspath_prepend(str(run))  # as if the user ran musicgen from the run dir

    def point_at_evil(data: bytes) -> bytes:
        text = data.decode()
        text = text.replace('"module": "keras.layers"', '"module": "evil_layer"', 1)
        return text.replace('"registered_name": null', '"registered_name": "Evil"', 1).encode()

    rewrite_member(run / "model.keras", "config.json", point_at_evil)
    error = sample_error(run, tmp_path)
    assert error.startswith(f"Error: {run}/model.keras: cannot load model (")
    assert not sentinel.exists()


def test_no_code_loading_anywhere_in_the_package():
    """No pickle, no unsafe Keras loading, no eval: a static check of the sources."""
    forbidden = re.compile(
        r"\bimport pickle|\bpickle\.|allow_pickle\s*=\s*True|safe_mode\s*=\s*False|"
        r"enable_unsafe_deserialization|\bmarshal\b|\beval\(|\bexec\(|torch\.load|dill\b"
    )
    for source in PACKAGE.rglob("*.py"):
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            assert not forbidden.search(line), f"{source.name}:{number}: {line.strip()}"
    loads = [
        line
        for source in PACKAGE.rglob("*.py")
        for line in source.read_text().splitlines()
        if "load_model(" in line
    ]
    assert loads and all("safe_mode=True" in line for line in loads), loads


# --- the resume point -------------------------------------------------------------------


def test_damaged_resume_point_is_named(run):
    state = run / "resume" / "state.json"
    assert json.loads(state.read_text()) == {"epoch": 2, "weights": "state-0002.keras"}
    state.write_text("{not json")
    with pytest.raises(RunDirError, match=r"resume/state\.json: unreadable resume point .*--force"):
        resume.read_resume_epoch(run)
    state.write_text(json.dumps({"epoch": 2, "weights": "../../elsewhere.keras"}))
    with pytest.raises(RunDirError, match=r"state\.json: bad weights file name '\.\./\.\./"):
        resume.read_resume_epoch(run)
    state.write_text(json.dumps({"epoch": 2, "weights": "state-0002.keras"}))
    assert resume.read_resume_epoch(run) == 2
    (run / "resume" / "state-0002.keras").unlink()
    with pytest.raises(RunDirError, match=r"resume/state-0002\.keras: missing; use --force"):
        resume.read_resume_epoch(run)


def test_truncated_resume_weights(run):
    from musicgen.models.registry import build_model

    path = run / "resume" / "state-0002.keras"
    path.write_bytes(path.read_bytes()[:100])
    model = build_model(rundir.read_config(run)[0])
    with pytest.raises(
        RunDirError,
        match=r"state-0002\.keras: cannot load model \(not a \.keras file: .*\); use --force",
    ):
        resume.load_resume_weights(model, run)


class Killed(Exception):
    pass


def test_a_kill_between_weights_and_state_never_pairs_an_epoch_with_newer_weights(run, monkeypatch):
    """Weights of epoch 3 written, then killed before state.json says so: resuming must
    load epoch 2's weights with epoch 2, not train epoch 3 on top of epoch 3."""
    from musicgen.models.registry import build_model

    model = build_model(rundir.read_config(run)[0])
    real = resume.write_text

    def killed_at_state(path, text):
        if path.name == "state.json":
            raise Killed
        real(path, text)

    monkeypatch.setattr(resume, "write_text", killed_at_state)
    with pytest.raises(Killed):
        resume.save_resume_point(model, run, 3)
    monkeypatch.undo()
    assert (run / "resume" / "state-0003.keras").exists()
    assert resume.read_resume_epoch(run) == 2
    assert resume.remove_stale_temps(run) == [run / "resume" / "state-0003.keras"]
    resume.save_resume_point(model, run, 3)  # the epoch done again: now named, old one gone
    assert sorted(p.name for p in (run / "resume").iterdir()) == ["state-0003.keras", "state.json"]
    assert resume.read_resume_epoch(run) == 3


def test_stale_temp_files_of_killed_writes_are_removed(run):
    stale = [
        run / ".model.k2j4_9xq.keras",
        run / ".history.abcd1234.csv",
        run / "resume" / ".state-0003.zz8a1b2c.keras",
        run / "resume" / ".state.q1w2e3r4.json",
    ]
    for path in stale:
        path.write_bytes(b"half")
    keep = [run / ".gitignore", run / "notes.txt", run / "resume" / "state-0002.keras"]
    (run / ".gitignore").write_text("mine")
    (run / "notes.txt").write_text("mine")
    removed = resume.remove_stale_temps(run)
    assert sorted(removed) == sorted(stale)
    assert all(path.exists() for path in keep)
    rundir.load_run(run)


def test_a_config_from_before_fine_tuning_and_early_stopping_still_loads(run):
    """config.json without ``patience`` or ``parent``: a run from scratch that never
    stopped early, as it was."""
    path = run / "config.json"
    data = json.loads(path.read_text())
    del data["train"]["patience"]
    assert "parent" not in data
    path.write_text(json.dumps(data))
    assert rundir.read_config(run)[1].patience == 0
    assert rundir.read_parent(run) is None
    data["parent"] = {"path": "p"}
    path.write_text(json.dumps(data))
    with pytest.raises(RunDirError, match="config.json: bad parent record"):
        rundir.read_parent(run)


def test_epochs_since_best_counts_the_epochs_after_the_best():
    from musicgen.run.history import epochs_since_best

    nan = float("nan")
    rows = [{"loss": 3.0, "val_loss": v} for v in (2.0, 1.5, 1.6, 1.5)]
    assert epochs_since_best(rows) == 2 and epochs_since_best(rows[:2]) == 0
    assert epochs_since_best([]) == 0
    no_val = [{"loss": loss, "val_loss": nan} for loss in (2.0, 1.0, 1.2)]
    assert epochs_since_best(no_val) == 1  # the training loss, without validation tunes
