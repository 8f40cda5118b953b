"""The run directory: everything needed to use a trained model, side by side.

    model.keras    Keras 3 native file, no optimizer state, loaded with safe_mode=True
    config.json    model and training config, musicgen version, format number
    vocab.json     the ordered characters
    history.csv    one row per epoch: loss and validation loss in bits per character
    resume/        weights + optimizer state of the last finished epoch (for resuming)

Every file is written atomically (temp file in the same directory, then ``os.replace``),
so a crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musicgen import __version__
from musicgen.errors import OutputError, RunDirError, VocabError
from musicgen.model import ModelConfig
from musicgen.vocab import Vocab

CONFIG_FORMAT = 1
MODEL_FILE, CONFIG_FILE, VOCAB_FILE, HISTORY_FILE = (
    "model.keras",
    "config.json",
    "vocab.json",
    "history.csv",
)
RESUME_DIR = "resume"
RESUME_WEIGHTS, RESUME_STATE = "state.weights.h5", "state.json"
HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "seconds", "chars_per_s")


@dataclass(frozen=True)
class Run:
    """A loaded run directory."""

    path: Path
    model: object  # keras.Model
    model_config: ModelConfig
    train_config: dict
    vocab: Vocab


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` then move the temp file over `path` in one step.

    The temp file keeps `path`'s suffix (Keras insists on ``.keras``).  On any failure the
    temp file is removed and the old `path`, if any, is left untouched.
    """
    path = Path(path)
    suffix = "".join(path.suffixes)  # ".weights.h5" must survive whole
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name[: -len(suffix) or None]}.", suffix=suffix, dir=path.parent
        )
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    """Write text atomically, UTF-8."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_model(model, path: Path) -> None:
    """Save a Keras model atomically as a ``.keras`` file."""
    atomic_write(path, lambda tmp: model.save(tmp))


def config_dict(model_config: ModelConfig, train_config: dict) -> dict:
    return {
        "format": CONFIG_FORMAT,
        "musicgen_version": __version__,
        "model": model_config.to_dict(),
        "train": train_config,
    }


def write_run_files(run_dir: Path, model_config: ModelConfig, train_config: dict, vocab: Vocab):
    """Write config.json and vocab.json (the model comes later, from training)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / CONFIG_FILE, json.dumps(config_dict(model_config, train_config), indent=2))
    write_text(run_dir / VOCAB_FILE, vocab.to_json())


def read_config(run_dir: Path) -> tuple[ModelConfig, dict]:
    """Read config.json; errors say which file and what is wrong with it."""
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
    try:
        model_config = ModelConfig.from_dict(data["model"])
        train_config = dict(data["train"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunDirError(f"{path}: bad or missing model/train settings ({exc})") from None
    return model_config, train_config


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
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same here
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunDirError(f"{path}: cannot load model ({reason[:200]})") from None
    outputs = model.outputs[0].shape[-1]
    if outputs != len(vocab):
        raise RunDirError(
            f"{path}: model predicts {outputs} characters but {VOCAB_FILE} has {len(vocab)}"
        )
    return Run(run_dir, model, model_config, train_config, vocab)


def read_history(run_dir: Path) -> list[dict]:
    """Rows of history.csv as dicts of floats (epoch as int); [] if there is none."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                rows.append(
                    {k: (int(v) if k == "epoch" else float(v or "nan")) for k, v in row.items()}
                )
            except (TypeError, ValueError):
                raise RunDirError(f"{path}: malformed row {row}") from None
    return rows


def write_history(run_dir: Path, rows: list[dict]) -> None:
    """Rewrite history.csv with `rows` (atomically, so a kill never truncates it)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row[k]) for k in HISTORY_COLUMNS})
    write_text(Path(run_dir) / HISTORY_FILE, buffer.getvalue())


def _fmt(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"
