"""``loss.png`` in a run directory: training and validation bits/char per epoch."""

from __future__ import annotations

import math
from pathlib import Path

from musicgen.rundir import atomic_write

PLOT_FILE = "loss.png"


def write_loss_plot(run_dir: Path, rows: list[dict]) -> Path:
    """Draw the history rows (epoch, loss, val_loss in bits/char) to ``run_dir/loss.png``."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in rows]
    figure = Figure(figsize=(6, 3.6), dpi=100)
    axes = figure.add_subplot()
    axes.plot(epochs, [row["loss"] for row in rows], marker="o", ms=3, label="training")
    val = [row["val_loss"] for row in rows]
    if not all(math.isnan(v) for v in val):
        axes.plot(epochs, val, marker="o", ms=3, label="validation")
    axes.set_xlabel("epoch")
    axes.set_ylabel("bits per character")
    axes.set_title(f"{Path(run_dir).name}: loss per epoch")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = Path(run_dir) / PLOT_FILE
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"))
    return path
