"""Rebuild ``split.json`` for a run directory trained before runs recorded their split.

Without the record, which tunes a run held out is unknown and ``evaluate --held-out``
refuses it (`musicgen.run.split.require`).  The split itself was always drawn from the
config's seed and fractions over the corpus in order, so it can be drawn again, but only
the right corpus gives the right tunes: `restore` writes the record only when the training
tunes it draws have exactly the forms and keys the run's ``form.json`` counted when it
trained (`musicgen.form.stats`).  ``python -m musicgen.evaluation.resplit RUN CORPUS...``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from musicgen.abc.tunes import Tune
from musicgen.errors import RunDirError, TrainError
from musicgen.form.stats import FORM_FILE, form_distribution
from musicgen.run import split
from musicgen.run.rundir import read_config


def restore(run_dir: str | Path, tunes: Sequence[Tune]) -> dict:
    """Write the ``split.json`` a run from before it would have written, and return it.

    The split is drawn again from config.json's seed and fractions; it is written only if
    the training tunes it gives have exactly the forms and keys the run's ``form.json``
    counted when it trained (so `tunes` is its corpus, in its order).  A run that already
    has a record is checked against `tunes` instead.
    """
    existing = split.check(run_dir, tunes, "restore its split")
    if existing is not None:
        return existing
    config = read_config(Path(run_dir))[1]
    ids = split.split_ids(len(tunes), config.val_fraction, config.test_fraction, config.seed)
    path = Path(run_dir) / FORM_FILE
    try:
        counted = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: cannot check the split against it ({exc})") from None
    if form_distribution([tunes[i] for i in ids["train"]]) != counted:
        raise TrainError(
            f"cannot restore the split of {run_dir}: its training tunes drawn from these "
            f"{len(tunes)} tunes are not the ones {path} counted (another corpus?)"
        )
    data = split.record(tunes, ids)
    split.write(run_dir, data)
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m musicgen.evaluation.resplit RUN CORPUS...``: write RUN/split.json (`restore`)."""
    from musicgen.abc.corpus import read_corpus
    from musicgen.errors import MusicgenError

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        sys.stderr.write("usage: python -m musicgen.evaluation.resplit RUN CORPUS...\n")
        return 2
    try:
        data = restore(args[0], read_corpus(args[1:]).tunes)
    except MusicgenError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sizes = ", ".join(f"{len(data[k])} {k}" for k in split.SPLITS)
    sys.stdout.write(f"{Path(args[0]) / split.SPLIT_FILE}: {sizes}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
