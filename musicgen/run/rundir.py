"""The run directory: everything needed to use a trained model, side by side.

    model.keras    Keras 3 native file, no optimizer state, loaded with safe_mode=True
    config.json    model and training config, musicgen version, format number, and for
                   a fine-tuned run its parent (path and sha256 of its model.keras)
    vocab.json     the ordered characters
    history.csv    one row per epoch: loss and validation loss in bits per character
                   (`musicgen.run.history`)
    resume/        the resume point of an unfinished run (`musicgen.run.resume`)

Every file is written atomically (`musicgen.files.atomic_write`), so a crash leaves either
the old file or the new one, never half of one; the temp files a kill leaves behind are
removed when training starts again.  Nothing here unpickles or imports anything from the
run directory: JSON, HDF5 weights and Keras' safe mode only.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from musicgen import __version__
from musicgen.abc.vocab import Vocab
from musicgen.errors import OutputError, RunDirError, VocabError
from musicgen.files import atomic_write, make_dir, reason, write_text
from musicgen.form.stats import FORM_FILE
from musicgen.models.registry import ModelConfig
from musicgen.run.config import Parent, TrainConfig
from musicgen.run.history import HISTORY_FILE
from musicgen.run.plot import PLOT_FILE
from musicgen.run.split import SPLIT_FILE

CONFIG_FORMAT = 1
MODEL_FILE, CONFIG_FILE, VOCAB_FILE = "model.keras", "config.json", "vocab.json"
RESUME_DIR = "resume"
RUN_FILES = (MODEL_FILE, CONFIG_FILE, VOCAB_FILE, HISTORY_FILE, PLOT_FILE, SPLIT_FILE, FORM_FILE)


@dataclass(frozen=True)
class Run:
    """A loaded run directory."""

    path: Path
    model: object  # keras.Model
    model_config: ModelConfig
    train_config: TrainConfig
    vocab: Vocab


def clear_run_dir(run_dir: Path) -> None:
    """Delete what a run wrote, for ``--force``; other files in the folder are kept.

    A file that cannot be deleted is an error: starting over on top of an old resume
    point would silently continue the old run.
    """
    run_dir = Path(run_dir)
    try:
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        if (run_dir / RESUME_DIR).exists():
            shutil.rmtree(run_dir / RESUME_DIR)
    except OSError as exc:
        raise OutputError(f"{exc.filename or run_dir}: cannot remove ({reason(exc)})") from None


def save_model(model, path: Path) -> None:
    """Save a Keras model atomically as a ``.keras`` file."""
    atomic_write(path, lambda tmp: model.save(tmp))


def config_dict(
    model_config: ModelConfig, train_config: TrainConfig | dict, parent: Parent | None = None
) -> dict:
    """config.json's content; `train_config` a dict only for recipes of their own (the lab).
    ``parent`` is there only for a fine-tuned run, so a run from scratch reads as before."""
    if isinstance(train_config, TrainConfig):
        train_config = train_config.to_dict()
    data = {
        "format": CONFIG_FORMAT,
        "musicgen_version": __version__,
        "model": model_config.to_dict(),
        "train": train_config,
    }
    if parent is not None:
        data["parent"] = parent.to_dict()
    return data


def write_run_files(
    run_dir: Path,
    model_config: ModelConfig,
    train_config: TrainConfig | dict,
    vocab: Vocab,
    parent: Parent | None = None,
) -> None:
    """Write config.json and vocab.json (the model comes later, from training)."""
    make_dir(run_dir)
    text = json.dumps(config_dict(model_config, train_config, parent), indent=2)
    write_text(run_dir / CONFIG_FILE, text)
    write_text(run_dir / VOCAB_FILE, vocab.to_json())


def read_config(run_dir: Path) -> tuple[ModelConfig, TrainConfig]:
    """Read config.json; errors say which file and what is wrong with it."""
    path, data = run_dir / CONFIG_FILE, _config_json(run_dir)
    try:
        model_config = ModelConfig.from_dict(data["model"])
        train_config = TrainConfig.from_dict(dict(data["train"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RunDirError(f"{path}: bad or missing model/train settings ({exc})") from None
    return model_config, train_config


def read_parent(run_dir: Path) -> Parent | None:
    """The run `run_dir` was fine-tuned from, from config.json (None: trained from scratch,
    or written before runs recorded their parent)."""
    data = _config_json(run_dir)
    if "parent" not in data:
        return None
    try:
        return Parent.from_dict(data["parent"])
    except ValueError as exc:
        raise RunDirError(f"{run_dir / CONFIG_FILE}: bad parent record ({exc})") from None


def model_sha256(run_dir: Path) -> str:
    """Hex sha256 of the run's model.keras: names the exact weights a fine-tuned run took."""
    digest = hashlib.sha256()
    path = Path(run_dir) / MODEL_FILE
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise RunDirError(f"{path}: unreadable ({reason(exc)})") from None
    return digest.hexdigest()


def _config_json(run_dir: Path) -> dict:
    """config.json parsed and of this format; errors name the file."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise RunDirError(f"{path}: missing (is {run_dir} a musicgen run directory?)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != CONFIG_FORMAT:
        data = data if isinstance(data, dict) else {}
        raise RunDirError(
            f"{path}: config format {data.get('format')!r} is not {CONFIG_FORMAT} (written by "
            f"musicgen {data.get('musicgen_version', '?')}, this is {__version__})"
        )
    return data


def read_vocab(run_dir: Path) -> Vocab:
    path = run_dir / VOCAB_FILE
    if not path.is_file():
        raise RunDirError(f"{path}: missing")
    try:
        return Vocab.load(path)
    except VocabError as exc:
        raise RunDirError(str(exc)) from None


def load_run(run_dir: str | Path) -> Run:
    """Load and cross-check a run directory.  Never executes code from it (safe_mode)."""
    import keras

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory")
    model_config, train_config = read_config(run_dir)
    vocab = read_vocab(run_dir)
    if len(vocab) != model_config.vocab_size:
        raise RunDirError(
            f"{run_dir / VOCAB_FILE}: {len(vocab)} characters, but config.json says "
            f"vocab_size {model_config.vocab_size}"
        )
    path = run_dir / MODEL_FILE
    if not path.is_file():
        raise RunDirError(f"{path}: missing (training has not finished an epoch yet?)")
    check_archive(path)
    import musicgen.models.layers  # noqa: F401  (register their layers for safe loading)
    import musicgen.models.mlp  # noqa: F401

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same here
        raise RunDirError(f"{path}: cannot load model ({reason(exc)})") from None
    outputs = model.outputs[0].shape[-1]
    if outputs != len(vocab):
        raise RunDirError(
            f"{path}: model predicts {outputs} characters but {VOCAB_FILE} has {len(vocab)}"
        )
    _check_layers(model, model_config, path)
    return Run(run_dir, model, model_config, train_config, vocab)


def check_archive(path: Path) -> None:
    """Raise RunDirError unless `path` is a whole zip archive whose members pass their CRCs.

    Keras reads the weights inside a ``.keras`` file by seeking, which skips the zip
    checksums, so a flipped byte would otherwise reach the HDF5 reader unannounced.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise RunDirError(f"{path}: cannot load model (not a .keras file: {reason(exc)})") from None
    if bad is not None:
        raise RunDirError(f"{path}: cannot load model (corrupted: {bad} fails its checksum)")


def _check_layers(model, config: ModelConfig, path: Path) -> None:
    """The sampler addresses layers by name and shape: check they are what config.json says.

    Which layers, the architecture says (`musicgen.models.registry.ARCHITECTURES`).
    """
    from musicgen.models.registry import ARCHITECTURES

    if config.arch not in ARCHITECTURES:
        raise RunDirError(
            f"{path.parent / CONFIG_FILE}: unknown architecture {config.arch!r} "
            f"({' or '.join(ARCHITECTURES)})"
        )
    expected = ARCHITECTURES[config.arch].layer_checks(model, config)
    for name, attribute, value in expected:
        try:
            found = getattr(model.get_layer(name), attribute, None)
        except ValueError:
            raise RunDirError(f"{path}: not a musicgen model (no layer {name!r})") from None
        if found != value:
            raise RunDirError(
                f"{path}: layer {name!r} has {attribute} {found}, but config.json says {value}"
            )
