"""``loss.png`` in a run directory: training and validation bits/char per epoch."""

from __future__ import annotations

import math
from pathlib import Path

from musicgen.files import atomic_write

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


def write_comparison_plot(
    path: Path,
    runs: dict[str, Path],
    title: str,
    held_out: dict[str, list[tuple[float, float]]] | None = None,
) -> Path:
    """Validation bits/char against training minutes, one line per run (label -> run dir).

    Minutes are the epochs' summed ``seconds`` from each run's history.csv, so runs with
    different budgets (5, 15, 30 minutes) share one time axis.  With `held_out` (label ->
    [(budget minutes, bits/char)], e.g. ``musicgen evaluate --held-out`` of one run per
    budget) a second panel draws those points: history's ``val_loss`` scores windows that
    tile the validation text, mostly starting mid-tune, and the per-tune figure is the one
    that compares architectures.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from musicgen.run.history import read_history

    panels = 2 if held_out else 1
    figure = Figure(figsize=(6.4 * panels, 3.8), dpi=100)
    axes = figure.add_subplot(1, panels, 1)
    for label, run_dir in runs.items():
        rows = read_history(Path(run_dir))
        minutes, elapsed = [], 0.0
        for row in rows:
            elapsed += row["seconds"]
            minutes.append(elapsed / 60)
        marker = "o" if "transformer" in label.lower() else "s"
        axes.plot(minutes, [row["val_loss"] for row in rows], marker=marker, ms=3, label=label)
    axes.set_xlabel("training minutes")
    axes.set_ylabel("validation bits/char (history.csv windows)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    if held_out:
        right = figure.add_subplot(1, 2, 2)
        for label, points in held_out.items():
            marker = "o" if "transformer" in label.lower() else "s"
            xs, ys = zip(*sorted(points), strict=True)
            right.plot(xs, ys, marker=marker, label=label)
        right.set_xlabel("training budget, minutes (--max-minutes)")
        right.set_ylabel("held-out bits/char, every tune from its start")
        right.set_title("per-tune held-out score at each budget")
        right.grid(alpha=0.3)
        right.legend(fontsize=8)
    figure.tight_layout()
    atomic_write(Path(path), lambda tmp: figure.savefig(tmp, format="png"))
    return Path(path)
