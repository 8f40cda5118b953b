"""The run directory: everything needed to use a trained model, side by side.

    model.keras    Keras 3 native file, no optimizer state, loaded with safe_mode=True
    config.json    model and training config, musicgen version, format number
    vocab.json     the ordered characters
    history.csv    one row per epoch: loss and validation loss in bits per character
    resume/        state.json (the last finished epoch) and the state-NNNN.keras it names
                   (weights + optimizer state after that epoch), for resuming

Every file is written atomically (temp file in the same directory, then ``os.replace``),
so a crash leaves either the old file or the new one, never half of one; the temp files a
kill leaves behind are removed when training starts again.  Nothing here unpickles or
imports anything from the run directory: JSON, HDF5 weights and Keras' safe mode only.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
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
RESUME_DIR, RESUME_STATE = "resume", "state.json"
# Resume weights are a .keras zip, not a bare .weights.h5: zipfile writes through Python, so
# a full disk is an OSError, whereas HDF5 writing a file itself segfaults when a write fails.
# One file per epoch, named in state.json: see `save_resume_point`.
_RESUME_WEIGHTS_RE = re.compile(r"state(-\d{4,})?\.keras")
PLOT_FILE = "loss.png"  # drawn by musicgen.plot
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
    prefix, suffix = _temp_affixes(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({_reason(exc)})") from None
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({_reason(exc)})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _temp_affixes(path: Path) -> tuple[str, str]:
    """``model.keras`` -> (``.model.``, ``.keras``): the temp name keeps the suffix whole
    (Keras insists on ``.keras``; ``.weights.h5`` must survive) and starts with a dot."""
    suffix = "".join(path.suffixes)
    return f".{path.name[: -len(suffix) or None]}.", suffix


def _reason(exc: Exception) -> str:
    """An error's reason in one line of at most 200 characters, whole sentences if it can.

    Keras wraps the real cause of a failed load at the end of a long message
    ("... Exception encountered: Could not locate class ..."): that cause is kept.
    """
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    text = text.rsplit("Exception encountered: ", 1)[-1].strip().splitlines()[0]
    if len(text) > 200:
        cut = text.rfind(". ", 0, 200)
        text = text[: cut + 1] if cut > 40 else text[:197] + "..."
    return text


def make_dir(path: Path) -> None:
    """Create a directory (and parents); a failure names it, in one line."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create directory ({_reason(exc)})") from None


def clear_run_dir(run_dir: Path) -> None:
    """Delete what a run wrote, for ``--force``; other files in the folder are kept.

    A file that cannot be deleted is an error: starting over on top of an old resume
    point would silently continue the old run.
    """
    run_dir = Path(run_dir)
    try:
        for name in (MODEL_FILE, CONFIG_FILE, VOCAB_FILE, HISTORY_FILE, PLOT_FILE):
            (run_dir / name).unlink(missing_ok=True)
        if (run_dir / RESUME_DIR).exists():
            shutil.rmtree(run_dir / RESUME_DIR)
    except OSError as exc:
        raise OutputError(f"{exc.filename or run_dir}: cannot remove ({_reason(exc)})") from None


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Delete what writes cut short by a kill left behind; return what was deleted.

    That is the temp files of `atomic_write` for the run's own files, and resume weights
    that state.json does not name (a kill came between writing them and naming them).
    """
    run_dir, resume = Path(run_dir), Path(run_dir) / RESUME_DIR
    stale = []
    for name in (MODEL_FILE, CONFIG_FILE, VOCAB_FILE, HISTORY_FILE, PLOT_FILE):
        prefix, suffix = _temp_affixes(run_dir / name)
        stale += run_dir.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}")
    stale += resume.glob(".state*.keras")
    stale += resume.glob(".state.*.json")
    if not (resume / RESUME_STATE).exists():
        stale += [p for p in resume.glob("state*.keras") if _RESUME_WEIGHTS_RE.fullmatch(p.name)]
    elif _readable_resume_state(run_dir):
        stale += _unnamed_weights(resume, _read_resume_state(run_dir)[1])
    for path in stale:
        try:
            path.unlink()
        except OSError as exc:
            raise OutputError(f"{path}: cannot remove ({_reason(exc)})") from None
    return stale


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
    """Write config.json and vocab.json (the model comes later, from training).

    Also clears the temp files of an earlier run that was killed mid-write.
    """
    make_dir(run_dir)
    remove_stale_temps(run_dir)
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
    check_archive(path)
    import musicgen.transformer  # noqa: F401  (registers its layer for safe loading)

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same here
        raise RunDirError(f"{path}: cannot load model ({_reason(exc)})") from None
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
        raise RunDirError(
            f"{path}: cannot load model (not a .keras file: {_reason(exc)})"
        ) from None
    if bad is not None:
        raise RunDirError(f"{path}: cannot load model (corrupted: {bad} fails its checksum)")


def _check_layers(model, config: ModelConfig, path: Path) -> None:
    """The sampler addresses layers by name and shape: check they are what config.json says.

    Which layers, the architecture says (`musicgen.model.ARCHITECTURES`).
    """
    from musicgen.model import ARCHITECTURES

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


def save_resume_point(model, run_dir: Path, epochs_done: int) -> None:
    """Weights and optimizer state of the training model, then state.json naming them.

    The weights go to a new file each epoch, and state.json is replaced only once they are
    whole, so whenever a kill comes, state.json names an epoch and the weights of that
    epoch (never newer ones: resuming would then train an epoch twice).
    """
    folder = Path(run_dir) / RESUME_DIR
    make_dir(folder)
    name = f"state-{epochs_done:04d}.keras"
    atomic_write(folder / name, model.save)
    write_text(folder / RESUME_STATE, json.dumps({"epoch": epochs_done, "weights": name}))
    for old in _unnamed_weights(folder, folder / name):
        try:
            old.unlink()
        except OSError as exc:
            raise OutputError(f"{old}: cannot remove ({_reason(exc)})") from None


def _unnamed_weights(folder: Path, named: Path | None) -> list[Path]:
    return [
        p
        for p in folder.glob("state*.keras")
        if _RESUME_WEIGHTS_RE.fullmatch(p.name) and p != named
    ]


def _read_resume_state(run_dir: Path) -> tuple[int, Path | None]:
    """(epochs done, their weights file) from state.json; (0, None) without one."""
    folder = Path(run_dir) / RESUME_DIR
    path = folder / RESUME_STATE
    if not path.is_file():
        return 0, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        epoch, name = data["epoch"], data.get("weights", "state.keras")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RunDirError(
            f"{path}: unreadable resume point ({_reason(exc)}); {_START_OVER}"
        ) from None
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise RunDirError(f"{path}: bad epoch {epoch!r}; {_START_OVER}")
    if not isinstance(name, str) or not _RESUME_WEIGHTS_RE.fullmatch(name):
        # Only a plain name of ours: state.json must not point anywhere else on disk.
        raise RunDirError(f"{path}: bad weights file name {name!r}; {_START_OVER}")
    weights = folder / name
    if epoch and not weights.is_file():
        raise RunDirError(f"{weights}: missing; {_START_OVER}")
    return epoch, weights


def _readable_resume_state(run_dir: Path) -> bool:
    try:
        _read_resume_state(run_dir)
    except RunDirError:
        return False  # reported when training reads it, with the reason
    return True


def read_resume_epoch(run_dir: Path) -> int:
    """Epochs finished according to the resume point (0 if there is none)."""
    return _read_resume_state(run_dir)[0]


def load_resume_weights(model, run_dir: Path) -> None:
    """Load the resume point's weights and optimizer state into a built, compiled model.

    ``load_weights`` reads only the weights of the file, never its model config.
    """
    epoch, path = _read_resume_state(run_dir)
    if path is None:
        raise RunDirError(f"{Path(run_dir) / RESUME_DIR / RESUME_STATE}: missing")
    try:
        check_archive(path)
    except RunDirError as exc:
        raise RunDirError(f"{exc}; {_START_OVER}") from None
    try:
        model.load_weights(path)
    except Exception as exc:  # h5py and Keras raise many types for a bad file
        raise RunDirError(f"{path}: cannot load ({_reason(exc)}); {_START_OVER}") from None


_START_OVER = "use --force to start the run over"


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
