"""Commands that make and measure models: ``train``, ``lab-train``, ``evaluate``, ``bench``."""

from __future__ import annotations

import math
from pathlib import Path

import click

from musicgen.cli.common import (
    _M,
    _T,
    DEFAULT_RUN,
    _corpus_paths,
    _quiet_tensorflow,
    _report_skipped,
    handle_errors,
)
from musicgen.model import ModelConfig
from musicgen.train import TrainConfig


@click.command()
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Run directory to write (or resume) the model in.",
)
@click.option(
    "--epochs",
    type=click.IntRange(1),
    default=_T.epochs,
    show_default=True,
    help="Passes over the training tunes.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=_T.batch_size,
    show_default=True,
    help="Windows per training step.",
)
@click.option(
    "--seq-len",
    type=click.IntRange(2),
    default=_T.seq_len,
    show_default=True,
    help="Characters per training window.",
)
@click.option(
    "--layers",
    type=click.IntRange(1),
    default=_M.layers,
    show_default=True,
    help="Stacked LSTM layers.",
)
@click.option(
    "--units",
    type=click.IntRange(1),
    default=_M.units,
    show_default=True,
    help="LSTM units per layer.",
)
@click.option(
    "--embedding-dim",
    type=click.IntRange(1),
    default=_M.embedding_dim,
    show_default=True,
    help="Size of the character embedding.",
)
@click.option(
    "--dropout",
    type=click.FloatRange(0, 1, max_open=True),
    default=_M.dropout,
    show_default=True,
    help="Dropout between layers.",
)
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, min_open=True),
    default=_T.learning_rate,
    show_default=True,
    help="Adam learning rate.",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, max_open=True),
    default=_T.val_fraction,
    show_default=True,
    help="Fraction of tunes held out for validation.",
)
@click.option(
    "--seed",
    type=int,
    default=_T.seed,
    show_default=True,
    help="Seed for the split, initial weights and batch order.",
)
@click.option(
    "--max-minutes",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop cleanly after this many minutes, keeping the best model.",
)
@click.option(
    "--windows",
    type=click.Choice(["stream", "tunes"]),
    default=_T.windows,
    show_default=True,
    help="Training windows tile the corpus (stream), or also start at every tune (tunes).",
)
@click.option(
    "--transpose",
    type=click.IntRange(0, 4),
    default=_T.transpose,
    show_default=True,
    help="Also train on this many copies of each tune moved to other keys (0: none).",
)
@click.option(
    "--strategy",
    type=click.Choice(["default", "mirrored", "multi-worker"]),
    default="default",
    show_default=True,
    help="default: one device; mirrored: all local GPUs; multi-worker: the machines "
    "in TF_CONFIG.  --batch-size is the global batch in each.",
)
@click.option("--force", is_flag=True, help="Start the run directory over if it exists.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def train(corpus, run_dir, max_minutes, strategy, force, quiet, **options):
    """Train an LSTM on ABC files (default: the bundled Irish corpus).

    Running the same command again resumes after the last finished epoch.
    """
    _quiet_tensorflow()
    from musicgen.abc import read_corpus
    from musicgen.train import train as train_run

    corpus_data = read_corpus(_corpus_paths(corpus))
    _report_skipped(corpus_data)
    model_keys = {"layers", "units", "embedding_dim", "dropout"}
    model_config = ModelConfig(vocab_size=0, **{k: options[k] for k in model_keys})
    config = TrainConfig(**{k: v for k, v in options.items() if k not in model_keys})
    click.echo(f"training on {len(corpus_data.tunes)} tunes -> {run_dir}")

    def report(record):
        val = "" if math.isnan(record.val_loss) else f"  val_loss {record.val_loss:.3f}"
        mark = "  *" if record.best else ""
        click.echo(
            f"epoch {record.epoch}/{record.epochs}  loss {record.loss:.3f}{val} bits/char  "
            f"{record.seconds:.1f}s  {record.chars_per_s:,.0f} chars/s{mark}"
        )

    result = train_run(
        corpus_data.tunes,
        run_dir,
        model_config,
        config,
        max_minutes=max_minutes,
        force=force,
        progress=not quiet,
        report=report,
        strategy=strategy,
    )
    if result.stopped_by_budget:
        click.echo(f"stopped after {max_minutes:g} minutes (time budget)")
    if result.epochs_done >= config.epochs and not result.stopped_by_budget:
        replicas = f" on {result.replicas} replicas" if result.replicas > 1 else ""
        click.echo(f"done: {result.epochs_done} epochs{replicas}")
    best = "n/a" if math.isinf(result.best_val_loss) else f"{result.best_val_loss:.3f} bits/char"
    click.echo(f"best validation loss {best}; model in {Path(run_dir) / 'model.keras'}")


@click.command("lab-train")
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Run directory to write the baseline model to.",
)
@click.option(
    "--iterations",
    type=click.IntRange(1),
    default=3000,
    show_default=True,
    help="Training steps of batch 8 x 100 characters (the lab's 3000).",
)
@click.option(
    "--max-minutes",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop after this many minutes instead (for same-budget comparisons).",
)
@click.option("--force", is_flag=True, help="Replace the run directory's model if it exists.")
@handle_errors
def lab_train(corpus, run_dir, iterations, max_minutes, force):
    """Train the MIT 6.S191 lab's model the lab's way: the baseline to compare against.

    Uses the same held-out split as `musicgen train`, so `musicgen evaluate --held-out`
    scores both on the same unseen tunes.
    """
    _quiet_tensorflow()
    from musicgen.abc import read_corpus
    from musicgen.errors import OutputError
    from musicgen.lab import LabConfig
    from musicgen.lab import lab_train as run_lab

    if (Path(run_dir) / "model.keras").exists() and not force:
        raise OutputError(f"{run_dir}: already holds a model; use --force to replace it")
    tunes = read_corpus(_corpus_paths(corpus)).tunes
    summary = run_lab(tunes, run_dir, LabConfig(iterations=iterations), max_minutes=max_minutes)
    click.echo(
        f"{summary['iterations']} iterations in {summary['seconds'] / 60:.1f} min, "
        f"{summary['chars_per_s']:,.0f} chars/s, last batch loss "
        f"{summary['last_loss_bits']:.3f} bits/char; model in {run_dir}"
    )


@click.command()
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_RUN),
    show_default="checkpoints/default",
    help="Run directory of a trained model.",
)
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option(
    "--held-out",
    is_flag=True,
    help="Score only the tunes the run held out for validation (give it the "
    "corpus it was trained on).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def evaluate(run_dir, corpus, held_out, as_json):
    """Held-out cross-entropy of a model on ABC tunes, in bits per character."""
    _quiet_tensorflow()
    import json

    from musicgen.abc import read_corpus
    from musicgen.dataset import split_tunes
    from musicgen.evaluate import evaluate as evaluate_run
    from musicgen.rundir import load_run

    run = load_run(run_dir)
    corpus_data = read_corpus(_corpus_paths(corpus))
    _report_skipped(corpus_data)
    tunes = corpus_data.tunes
    if held_out:
        config = TrainConfig.from_dict(run.train_config)
        tunes = split_tunes(tunes, config.val_fraction, config.seed)[1]
    result = evaluate_run(run, tunes)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"bits/char  {result.bits_per_char:.4f}")
    click.echo(f"tunes      {result.tunes}")
    click.echo(f"chars      {result.chars:,}")
    click.echo(f"skipped    {result.skipped}")
    for reason in result.skipped_reasons:
        click.echo(f"  {reason}")


@click.command()
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_RUN),
    show_default="checkpoints/default",
    help="Model to sample from.",
)
@click.option(
    "--sections",
    default="sampling,training,midi",
    show_default=True,
    help="Comma-separated: sampling, training, midi.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(1),
    default=8.0,
    show_default=True,
    help="Time per sampling measurement (training uses 2.5x).",
)
@handle_errors
def bench(run_dir, sections, seconds):
    """Speed beside a lab-style reference loop, measured in the same run (ratios)."""
    _quiet_tensorflow()
    from musicgen import bench as benchmarks

    wanted = {s.strip() for s in sections.split(",")}
    click.echo(f"{'section':9} {'what':44} {'value':>12} {'unit':9} {'vs ref':>9}")
    parts = []
    if "sampling" in wanted:
        parts.append(benchmarks.bench_sampling(Path(run_dir), seconds))
    if "training" in wanted:
        parts.append(benchmarks.bench_training(seconds * 2.5))
    if "midi" in wanted:
        parts.append(benchmarks.bench_midi())
    for part in parts:
        for row in part:
            click.echo(benchmarks.format_row(row))
