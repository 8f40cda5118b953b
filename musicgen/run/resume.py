"""The resume point of a run directory, and cleaning up after a kill.

    resume/state.json         {"epoch": N, "weights": "state-NNNN.keras"}
    resume/state-NNNN.keras   weights and optimizer state after epoch N

`prepare_run_dir` checks that a rerun asks for the same run.  Training resumes at an epoch
boundary: all else it needs is a function of the config and the epoch (batch order and
dropout masks, see `musicgen.training.fit`) or is stored here (the optimizer's step count, which
the learning-rate schedule follows).
"""

from __future__ import annotations

import glob
import json
import re
from dataclasses import fields, replace
from pathlib import Path

from musicgen.abc.vocab import Vocab
from musicgen.errors import RunDirError, TrainError
from musicgen.files import atomic_write, make_dir, reason, remove, temp_affixes, write_text
from musicgen.models.registry import ModelConfig
from musicgen.run import rundir
from musicgen.run.config import Parent, TrainConfig
from musicgen.run.rundir import RESUME_DIR, RUN_FILES, check_archive

RESUME_STATE = "state.json"
# Resume weights are a .keras zip, not a bare .weights.h5: zipfile writes through Python, so
# a full disk is an OSError, whereas HDF5 writing a file itself segfaults when a write fails.
# One file per epoch, named in state.json: see `save_resume_point`.
_WEIGHTS_RE = re.compile(r"state(-\d{4,})?\.keras")
_START_OVER = "use --force to start the run over"


def prepare_run_dir(
    run_dir: Path,
    model_config: ModelConfig,
    config: TrainConfig,
    vocab: Vocab,
    force: bool,
    parent: Parent | None = None,
) -> int:
    """Check or create `run_dir`; return the number of epochs already done there.

    A fine-tuned run (`parent`) resumes only as one, and keeps the parent it recorded when
    it started: its weights came from that one, whatever the parent holds now."""
    if force and run_dir.exists():
        rundir.clear_run_dir(run_dir)
    if (run_dir / rundir.CONFIG_FILE).exists():
        parent = _same_parent(run_dir, parent)
        old_model, old = rundir.read_config(run_dir)
        if old_model != model_config or _replace_epochs(old) != _replace_epochs(config):
            diff = _diff(old_model, model_config, old, config)
            raise TrainError(
                f"{run_dir} holds a run with other settings ({diff}); "
                "use another --run directory, or --force to start it over"
            )
        if rundir.read_vocab(run_dir) != vocab:
            raise TrainError(
                f"{run_dir}/vocab.json differs from this corpus's characters; "
                "use another --run directory, or --force to start it over"
            )
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise TrainError(
            f"{run_dir}: exists and is not a musicgen run directory; choose another --run"
        )
    make_dir(run_dir)
    remove_stale_temps(run_dir)  # what a kill cut short
    rundir.write_run_files(run_dir, model_config, config, vocab, parent)
    return read_resume_epoch(run_dir)


def _same_parent(run_dir: Path, parent: Parent | None) -> Parent | None:
    """The parent recorded in `run_dir`, if a run asking for `parent` may resume there."""
    old = rundir.read_parent(run_dir)
    if (old is None) != (parent is None):
        held = "trained from scratch" if old is None else f"fine-tuned from {old.path}"
        asked = "trained from scratch" if parent is None else f"fine-tuned from {parent.path}"
        raise TrainError(
            f"{run_dir} holds a run {held}, not one {asked}; "
            "use another --run directory, or --force to start it over"
        )
    return old


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
    remove(_unnamed_weights(folder, folder / name))


def read_resume_epoch(run_dir: Path) -> int:
    """Epochs finished according to the resume point (0 if there is none)."""
    return _read_state(run_dir)[0]


def load_resume_weights(model, run_dir: Path) -> None:
    """Load the resume point's weights and optimizer state into a built, compiled model.

    ``load_weights`` reads only the weights of the file, never its model config.
    """
    _, path = _read_state(run_dir)
    if path is None:
        raise RunDirError(f"{Path(run_dir) / RESUME_DIR / RESUME_STATE}: missing")
    try:
        check_archive(path)
    except RunDirError as exc:
        raise RunDirError(f"{exc}; {_START_OVER}") from None
    try:
        model.load_weights(path)
    except Exception as exc:  # h5py and Keras raise many types for a bad file
        raise RunDirError(f"{path}: cannot load ({reason(exc)}); {_START_OVER}") from None


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Delete what writes cut short by a kill left behind; return what was deleted.

    That is the temp files of `atomic_write` for the run's own files, and resume weights
    that state.json does not name (a kill came between writing them and naming them).
    """
    run_dir, folder = Path(run_dir), Path(run_dir) / RESUME_DIR
    stale = []
    for name in RUN_FILES:
        prefix, suffix = temp_affixes(run_dir / name)
        stale += run_dir.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}")
    stale += folder.glob(".state*.keras")
    stale += folder.glob(".state.*.json")
    if not (folder / RESUME_STATE).exists():
        stale += [p for p in folder.glob("state*.keras") if _WEIGHTS_RE.fullmatch(p.name)]
    elif _readable(run_dir):
        stale += _unnamed_weights(folder, _read_state(run_dir)[1])
    remove(stale)
    return stale


def _unnamed_weights(folder: Path, named: Path | None) -> list[Path]:
    return [p for p in folder.glob("state*.keras") if _WEIGHTS_RE.fullmatch(p.name) and p != named]


def _read_state(run_dir: Path) -> tuple[int, Path | None]:
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
            f"{path}: unreadable resume point ({reason(exc)}); {_START_OVER}"
        ) from None
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise RunDirError(f"{path}: bad epoch {epoch!r}; {_START_OVER}")
    if not isinstance(name, str) or not _WEIGHTS_RE.fullmatch(name):
        # Only a plain name of ours: state.json must not point anywhere else on disk.
        raise RunDirError(f"{path}: bad weights file name {name!r}; {_START_OVER}")
    weights = folder / name
    if epoch and not weights.is_file():
        raise RunDirError(f"{weights}: missing; {_START_OVER}")
    return epoch, weights


def _readable(run_dir: Path) -> bool:
    try:
        _read_state(run_dir)
    except RunDirError:
        return False  # reported when training reads it, with the reason
    return True


def _replace_epochs(config: TrainConfig) -> TrainConfig:
    return replace(config, epochs=0)


def _diff(old_model, new_model, old_train, new_train) -> str:
    parts = []
    for old, new in ((old_model, new_model), (old_train, new_train)):
        for f in fields(old):
            if f.name != "epochs" and getattr(old, f.name) != getattr(new, f.name):
                parts.append(f"{f.name} {getattr(old, f.name)} there, {getattr(new, f.name)} here")
    return "; ".join(parts)
