"""Which tunes a run trained, chose and is judged on, and the corpus they came from.

The corpus is shuffled once with the run's seed: the first tunes of that order are the
validation set (they pick each epoch's ``model.keras`` and the defaults), the next ones the
test set (never used for any choice), the rest train.  Adding a test fraction leaves the
validation tunes as they were.  ``split.json`` in the run directory records a fingerprint
of the corpus (its tune count and a hash of every tune's canonical text, in order: the
tunes, never the paths they were read from, so a copy of the file or another spelling of
its path is the same corpus) and the tune ids (0-based corpus positions) of each split.
A resume on another corpus is refused with a line that says what differs; ``evaluate
--held-out`` accepts the corpus or any tunes of the split asked for, and refuses a tune the
run trained on.  A run directory without ``split.json`` (from before it existed) cannot
say which tunes it held out: ``python -m musicgen.evaluation.resplit RUN CORPUS...``
rebuilds the record where the run's ``form.json`` proves the split.
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


def tune_hash(tune: Tune) -> str:
    """A short hash of the tune's canonical text (``Tune.text()``): what the model learns."""
    return hashlib.sha1(tune.text().encode()).hexdigest()[:10]


def fingerprint(tunes: Sequence[Tune]) -> dict:
    """The corpus's tune count and a hash of each tune's text, in order (no paths)."""
    return {"tunes": len(tunes), "tune_hashes": [tune_hash(t) for t in tunes]}


def record(tunes: Sequence[Tune], ids: dict) -> dict:
    """What ``split.json`` holds for a run trained on `tunes` split as `ids`."""
    return {"format": 1, "corpus": fingerprint(tunes), **{k: ids[k] for k in SPLITS}}


def difference(old: dict, new: dict) -> str | None:
    """How corpus fingerprint `new` differs from `old`, in a few words; None if equal.

    Only the tunes count: a ``files`` entry (written before) is ignored.
    """
    if old["tunes"] != new["tunes"]:
        return f"{_tunes(new['tunes'])} vs {old['tunes']} in the run"
    for i, (a, b) in enumerate(zip(old["tune_hashes"], new["tune_hashes"], strict=True)):
        if a != b:
            return f"tune {i} (0-based, in corpus order) has other text"
    return None


def _tunes(n: int) -> str:
    return f"{n} tune{'s' * (n != 1)}"


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
            or not isinstance(fp["tune_hashes"], list)
            or len(fp["tune_hashes"]) != fp["tunes"]
        ):
            raise ValueError("malformed")
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


def require(run_dir: str | Path, doing: str) -> dict:
    """The run's split record; `RunDirError` if it has none (which tunes it held out is
    then unknown, and a figure on tunes it may have trained on would look held out)."""
    data = read(run_dir)
    if data is None:
        raise RunDirError(
            f"cannot {doing}: {run_dir} has no {SPLIT_FILE}, so which tunes it held out is "
            "unknown (for a run trained on CORPUS: python -m musicgen.evaluation.resplit "
            f"{run_dir} CORPUS...)"
        )
    return data


def held_out(run_dir: str | Path, tunes: Sequence[Tune], name: str, doing: str) -> list[Tune]:
    """The run's `name` split ("validation" or "test") of `tunes`.

    `tunes` is either the run's corpus (its `name` tunes are picked out) or tunes of that
    split only (any order, any file: each is found by its text).  A tune the run trained
    on, one of another split, or one not in its corpus is refused (`TrainError`), as is a
    run without a record (`RunDirError`).
    """
    data = require(run_dir, doing)
    if not data[name]:
        hint = " (train it with --test-fraction)" if name == "test" else ""
        raise TrainError(f"cannot {doing}: {run_dir} has no {name} tunes{hint}")
    if difference(data["corpus"], fingerprint(tunes)) is None:
        return [tunes[i] for i in data[name]]
    hashes = data["corpus"]["tune_hashes"]
    splits = {k: {hashes[i] for i in data[k]} for k in SPLITS}
    for tune in tunes:
        h = tune_hash(tune)
        # train first: a tune in the corpus twice, once trained on, is not held out
        found = next((k for k in SPLITS if h in splits[k]), None)
        if found == name:
            continue
        what = {
            None: f"is not in the corpus {run_dir} was trained on",
            "train": f"is a tune {run_dir} trained on",
        }.get(found, f"is one of {run_dir}'s {found} tunes")
        raise TrainError(f"cannot {doing}: {tune.where} {what}, not one of its {name} tunes")
    return list(tunes)


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


def leave_out(tunes: Sequence[Tune], run_dir: str | Path) -> tuple[list[Tune], int]:
    """`tunes` without the tunes `run_dir` held out (validation and test), and how many
    went: so a model trained on them (a base to fine-tune) can still be scored on those.

    A held-out tune is found by its text and, where it is among `tunes`, by its title
    too, so another collection's version of the same tune goes with it.  A run without a
    record of its split is refused (`RunDirError`).
    """
    data = require(run_dir, "leave out its held-out tunes")
    hashes = data["corpus"]["tune_hashes"]
    gone = {hashes[i] for k in ("validation", "test") for i in data[k]}
    titles = {_title_key(t) for t in tunes if tune_hash(t) in gone} - {""}
    kept = [t for t in tunes if tune_hash(t) not in gone and _title_key(t) not in titles]
    return kept, len(tunes) - len(kept)


def _title_key(tune: Tune) -> str:
    """The tune's title as versions in other collections spell it: lower case, letters
    and digits only, without a leading "the" ("" for an untitled tune)."""
    words = "".join(c if c.isalnum() else " " for c in (tune.get("T") or "").lower()).split()
    if words[:1] == ["the"]:
        words = words[1:]
    return "".join(words)
