"""history.csv: one row per finished epoch, in bits per character.

Values are written exactly (shortest round-trip ``repr``), so a resumed run compares its
earlier epochs with the values training saw, not with rounded ones.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from musicgen.errors import RunDirError
from musicgen.files import write_text

HISTORY_FILE = "history.csv"
HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "seconds", "chars_per_s")


def read_history(run_dir: Path) -> list[dict]:
    """Rows of history.csv as dicts of floats (epoch as int); [] if there is none."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    rows = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows.append(_parse(row, path))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RunDirError(f"{path}: unreadable ({str(exc).splitlines()[0]})") from None
    return rows


def epochs_since_best(rows: list[dict]) -> int:
    """Epochs at the end of `rows` with no better score than an earlier epoch's: what early
    stopping (`TrainConfig.patience`) counts.  The score is the validation loss, or the
    training loss of a run without validation tunes (as the best model is chosen)."""
    best, since = math.inf, 0
    for row in rows:
        score = row["loss"] if math.isnan(row["val_loss"]) else row["val_loss"]
        best, since = (score, 0) if score < best else (best, since + 1)
    return since


def _parse(row: dict, path: Path) -> dict:
    missing = [k for k in HISTORY_COLUMNS if k not in row]
    if missing:
        raise RunDirError(f"{path}: no {', '.join(missing)} column")
    try:
        return {
            k: (int(v) if k == "epoch" else float(v or "nan"))
            for k, v in row.items()
            if k in HISTORY_COLUMNS
        }
    except (TypeError, ValueError):
        raise RunDirError(f"{path}: malformed row {row}") from None


def write_history(run_dir: Path, rows: list[dict]) -> None:
    """Rewrite history.csv with `rows` (atomically, so a kill never truncates it)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row[k]) for k in HISTORY_COLUMNS})
    write_text(Path(run_dir) / HISTORY_FILE, buffer.getvalue())


def _fmt(value) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))
