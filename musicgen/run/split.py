"""Which tunes a run trained, chose and is judged on, and the corpus they came from.

The corpus is shuffled once with the run's seed: the first tunes of that order are the
validation set (they pick each epoch's ``model.keras`` and the defaults), the next ones the
test set (never used for any choice), the rest train.  Adding a test fraction leaves the
validation tunes as they were.  ``split.json`` in the run directory records a fingerprint
of the corpus (files, and a hash of every tune in order) and the tune ids (0-based corpus
positions) of each split, so a resume or ``evaluate --held-out`` on another corpus is
refused with a line that says what differs.  Run directories from before this file have
no record: their split is recomputed from the config, as it always was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musicgen.abc.tunes import Tune
from musicgen.errors import RunDirError, TrainError
from musicgen.files import write_text

SPLIT_FILE = "split.json"
SPLITS = ("train", "validation", "test")


def split_ids(n: int, val_fraction: float, test_fraction: float, seed: int) -> dict:
    """Tune ids of each split of `n` tunes: ``{"train": [...], "validation": [...], ...}``.

    At least one tune goes to validation (and to test) when its fraction is > 0, and at
    least one is left to train.
    """
    for name, value in (("validation", val_fraction), ("test", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise TrainError(f"{name} fraction must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise TrainError(
            f"validation and test fractions {val_fraction} + {test_fraction} leave no "
            "tunes to train on"
        )
    order = np.random.default_rng(seed).permutation(n)
    n_val = _count(n, val_fraction, n - 1)
    n_test = _count(n, test_fraction, n - 1 - n_val)
    return {
        "train": sorted(int(i) for i in order[n_val + n_test :]),
        "validation": sorted(int(i) for i in order[:n_val]),
        "test": sorted(int(i) for i in order[n_val : n_val + n_test]),
    }


def _count(n: int, fraction: float, most: int) -> int:
    if fraction <= 0 or n < 2 or most < 1:
        return 0
    return min(most, max(1, round(n * fraction)))


def fingerprint(tunes: Sequence[Tune]) -> dict:
    """The corpus's files in order, its tune count and a short hash of each tune's text."""
    files = list(dict.fromkeys(t.source for t in tunes))
    hashes = [hashlib.sha1(t.text().encode()).hexdigest()[:10] for t in tunes]
    return {"files": files, "tunes": len(tunes), "tune_hashes": hashes}


def record(tunes: Sequence[Tune], ids: dict) -> dict:
    """What ``split.json`` holds for a run trained on `tunes` split as `ids`."""
    return {"format": 1, "corpus": fingerprint(tunes), **{k: ids[k] for k in SPLITS}}


def difference(old: dict, new: dict) -> str | None:
    """How corpus fingerprint `new` differs from `old`, in a few words; None if equal."""
    if old["files"] != new["files"]:
        return f"files {', '.join(new['files'])} vs {', '.join(old['files'])} in the run"
    if old["tunes"] != new["tunes"]:
        return f"{new['tunes']} tunes vs {old['tunes']} in the run"
    for i, (a, b) in enumerate(zip(old["tune_hashes"], new["tune_hashes"], strict=True)):
        if a != b:
            return f"tune {i} (0-based, in corpus order) has other text"
    return None


def read(run_dir: str | Path) -> dict | None:
    """The run's split record, or None for a run directory from before it existed."""
    path = Path(run_dir) / SPLIT_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fp = data["corpus"]
        if (
            not all(isinstance(data[k], list) for k in SPLITS)
            or len(fp["tune_hashes"]) != (fp["tunes"])
        ):
            raise ValueError("malformed")
        fp["files"]  # noqa: B018 - must exist
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunDirError(f"{path}: unreadable split record ({exc})") from None
    return data


def check(run_dir: str | Path, tunes: Sequence[Tune], doing: str) -> dict | None:
    """The run's split record after checking `tunes` is its corpus; None if it has none.

    `doing` names the refused action in the message: ``"resume"``, ``"evaluate --held-out"``.
    """
    old = read(run_dir)
    if old is None:
        return None
    diff = difference(old["corpus"], fingerprint(tunes))
    if diff:
        raise TrainError(f"cannot {doing}: not the corpus {run_dir} was trained on ({diff})")
    return old


def write(run_dir: str | Path, data: dict) -> None:
    """Write ``split.json`` atomically (a kill leaves the old file or the new one)."""
    write_text(Path(run_dir) / SPLIT_FILE, json.dumps(data))


def clear(run_dir: str | Path) -> None:
    """Delete ``split.json`` (``--force`` starts the run over)."""
    path = Path(run_dir) / SPLIT_FILE
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise RunDirError(f"{path}: cannot remove ({exc.strerror})") from None
