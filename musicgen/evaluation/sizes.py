"""A user's small collection: fine-tune a base model on it, or train from scratch?

Experiment (b) of ``docs/training.md``.  music21's ``airdsAirs`` (kept out of the base's
pretraining) is shuffled once with `seed`: 200 tunes are held out for scoring, and the
collections of 25, 100 and 400 tunes are nested prefixes of the rest.  For each size, one
model is trained from scratch (``musicgen train FILE``, the defaults) and one fine-tuned
from the base (``musicgen train FILE --init BASE``, its defaults), each under the same
wall-clock budget; both are scored on the held-out tunes that both can encode (a model
trained on 25 tunes has never seen some characters: those tunes are counted, not scored).

    python -m musicgen.evaluation.sizes --base checkpoints/folk-base --out runs/sizes

writes ``sizes.csv`` and ``sizes.png`` (bits/char against collection size) there.  The
runs are ordinary run dirs: an interrupted experiment resumes where it stopped.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np

SIZES = (25, 100, 400)
HELD_OUT = 200
COLLECTION = "music21:airdsAirs"
MODES = ("scratch", "fine-tuned")


def subsets(tunes: list, seed: int = 0, sizes=SIZES, held_out: int = HELD_OUT):
    """(held-out tunes, {size: the first `size` tunes of the rest}), shuffled by `seed`."""
    order = np.random.default_rng(seed).permutation(len(tunes))
    if len(tunes) < held_out + max(sizes):
        raise ValueError(f"{len(tunes)} tunes: too few for {held_out} + {max(sizes)}")
    test = [tunes[i] for i in order[:held_out]]
    rest = [tunes[i] for i in order[held_out:]]
    return test, {n: rest[:n] for n in sizes}


def write_tunes(path: Path, tunes: list) -> Path:
    path.write_text("\n".join(t.abc(i + 1) for i, t in enumerate(tunes)), encoding="utf-8")
    return path


def train_command(corpus: Path, run: Path, base: Path | None, minutes: float) -> list[str]:
    """The ``musicgen train`` command line of one run (resumable: no --force)."""
    command = [sys.executable, "-m", "musicgen", "train", str(corpus), "--run", str(run)]
    command += ["--max-minutes", f"{minutes:g}", "--quiet"]
    return command + (["--init", str(base)] if base is not None else [])


def score(runs: list[Path], tunes: list) -> tuple[list[float], int]:
    """Bits/char (music only) of each run on the tunes every run can encode, and how many."""
    from musicgen.evaluation.bits import evaluate
    from musicgen.run.rundir import load_run

    loaded = [load_run(run) for run in runs]
    common = [t for t in tunes if not any(r.vocab.unknown(t.text()) for r in loaded)]
    figures = [evaluate(r, common, constrained=False).music_bits_per_char for r in loaded]
    return figures, len(common)


def run_experiment(base: Path, out: Path, minutes: float, seed: int = 0) -> list[dict]:
    """Train (or resume) every run, score them, write ``sizes.csv`` and ``sizes.png``."""
    from musicgen.abc.corpus import read_corpus

    out.mkdir(parents=True, exist_ok=True)
    test, collections = subsets(list(read_corpus([COLLECTION]).tunes), seed)
    rows = []
    for size, tunes in collections.items():
        corpus = write_tunes(out / f"airds-{size}.abc", tunes)
        runs = [out / f"{mode}-{size}" for mode in MODES]
        for run, parent in zip(runs, (None, base), strict=True):
            subprocess.run(train_command(corpus, run, parent, minutes), check=True)
        figures, scored = score(runs, test)
        rows.append({"tunes": size, **dict(zip(MODES, figures, strict=True)), "scored": scored})
    write_table(out / "sizes.csv", rows)
    plot(out / "sizes.png", rows)
    return rows


def write_table(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 3.2), dpi=100)
    axes = figure.add_subplot()
    sizes = [row["tunes"] for row in rows]
    for mode, marker in zip(MODES, "os", strict=True):
        axes.plot(sizes, [row[mode] for row in rows], marker=marker, label=mode)
    axes.set_xscale("log")
    axes.minorticks_off()
    axes.set_xticks(sizes, [str(n) for n in sizes])
    axes.set_xlabel("airdsAirs tunes trained on")
    axes.set_ylabel("music bits/char, 200 held-out tunes")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m musicgen.evaluation.sizes")
    parser.add_argument("--base", type=Path, default=Path("checkpoints/folk-base"))
    parser.add_argument("--out", type=Path, default=Path("runs/sizes"))
    parser.add_argument("--minutes", type=float, default=8.0, help="budget of each run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for row in run_experiment(args.base, args.out, args.minutes, args.seed):
        figures = "  ".join(f"{mode} {row[mode]:.3f}" for mode in MODES)
        sys.stdout.write(f"{row['tunes']} tunes: {figures}  ({row['scored']} scored)\n")


if __name__ == "__main__":
    main()
