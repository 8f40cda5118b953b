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
    run_option,
)
from musicgen.model import ARCHITECTURES, ModelConfig, default_config
from musicgen.train import TrainConfig

_MODEL_KEYS = ("layers", "units", "embedding_dim", "dropout", "heads", "context")


def _by_arch(key: str) -> str:
    """``--help`` text for a default that depends on --arch: ``lstm 512, transformer 128``."""
    shown = ["transformer"] if key in ("heads", "context") else list(ARCHITECTURES)
    return ", ".join(f"{name} {_arch_default(ARCHITECTURES[name], key)}" for name in shown)


def _arch_default(arch, key: str):
    if key in _MODEL_KEYS:
        return arch.model_defaults.get(key, getattr(_M, key))
    return arch.train_defaults.get(key, getattr(_T, key))


def _configs(arch: str, options: dict) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs: --arch's defaults, then the options given."""
    from dataclasses import replace

    spec = ARCHITECTURES[arch]
    given = {k: v for k, v in options.items() if v is not None}
    if arch == "transformer" and "seq_len" not in given:
        given["seq_len"] = given.get("context", spec.model_defaults["context"])
    model = replace(default_config(arch), **{k: v for k, v in given.items() if k in _MODEL_KEYS})
    train = TrainConfig(
        **{**spec.train_defaults, **{k: v for k, v in given.items() if k not in _MODEL_KEYS}}
    )
    if train.weight_decay and train.optimizer == "adam":  # decay asked of the LSTM too
        train = replace(train, optimizer="adamw")
    return model, train


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
    default=None,
    show_default=_by_arch("batch_size"),
    help="Windows per training step.",
)
@click.option(
    "--seq-len",
    type=click.IntRange(2),
    default=None,
    show_default=_by_arch("seq_len"),
    help="Characters per training window (Transformer: --context).",
)
@click.option(
    "--arch",
    type=click.Choice(list(ARCHITECTURES)),
    default="lstm",
    show_default=True,
    help="Network: a recurrent LSTM, or a causal self-attention Transformer.",
)
@click.option(
    "--heads",
    type=click.IntRange(1),
    default=None,
    show_default=_by_arch("heads"),
    help="Transformer: attention heads per block (must divide --units).",
)
@click.option(
    "--context",
    type=click.IntRange(2),
    default=None,
    show_default=_by_arch("context"),
    help="Transformer: longest window it attends over; longer tunes slide.",
)
@click.option(
    "--warmup-steps",
    type=click.IntRange(0),
    default=None,
    show_default=_by_arch("warmup_steps"),
    help="Steps of linear learning-rate warm-up before the cosine decay.",
)
@click.option(
    "--weight-decay",
    type=click.FloatRange(0),
    default=None,
    show_default=_by_arch("weight_decay"),
    help="AdamW weight decay (the Transformer's optimizer).",
)
@click.option(
    "--layers",
    type=click.IntRange(1),
    default=None,
    show_default=_by_arch("layers"),
    help="Stacked LSTM layers or Transformer blocks.",
)
@click.option(
    "--units",
    type=click.IntRange(1),
    default=None,
    show_default=_by_arch("units"),
    help="LSTM units per layer, or the Transformer's width.",
)
@click.option(
    "--embedding-dim",
    type=click.IntRange(1),
    default=_M.embedding_dim,
    show_default=True,
    help="Size of the character embedding (LSTM; the Transformer's is --units).",
)
@click.option(
    "--dropout",
    type=click.FloatRange(0, 1, max_open=True),
    default=None,
    show_default=_by_arch("dropout"),
    help="Dropout between layers.",
)
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    show_default=_by_arch("learning_rate"),
    help="Peak learning rate (Adam for the LSTM, AdamW for the Transformer).",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, max_open=True),
    default=_T.val_fraction,
    show_default=True,
    help="Fraction of tunes held out for validation (they pick model.keras).",
)
@click.option(
    "--test-fraction",
    type=click.FloatRange(0, 1, max_open=True),
    default=_T.test_fraction,
    show_default=True,
    help="Fraction of tunes held out for testing only: never used for any choice.",
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
def train(corpus, run_dir, arch, max_minutes, strategy, force, quiet, **options):
    """Train an LSTM or a Transformer on ABC files (default: the bundled Irish corpus).

    Running the same command again resumes after the last finished epoch.  Options left
    out take --arch's defaults (shown as "lstm ..., transformer ...").
    """
    _quiet_tensorflow()
    from musicgen.abc import read_corpus
    from musicgen.train import train as train_run

    corpus_data = read_corpus(_corpus_paths(corpus))
    _report_skipped(corpus_data)
    model_config, config = _configs(arch, options)
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
@run_option
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option(
    "--held-out",
    is_flag=True,
    help="Score only the tunes the run held out (give it the corpus it was trained on; "
    "a run that recorded its corpus refuses another).",
)
@click.option(
    "--split",
    "split_name",
    type=click.Choice(["validation", "test"]),
    default="validation",
    show_default=True,
    help="With --held-out: the validation tunes (they chose the model) or the test "
    "tunes (--test-fraction at training; never used for any choice).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def evaluate(run_dir, corpus, held_out, split_name, as_json):
    """Held-out cross-entropy of a model on ABC tunes, in bits per character.

    Prints three figures: every character; the music only (tune bodies and end marker,
    headers given as context); and under the grammar-masked distribution the sampler
    draws from, with the tunes that grammar refuses counted as unreachable.
    """
    _quiet_tensorflow()
    import json

    from musicgen import split
    from musicgen.abc import read_corpus
    from musicgen.errors import TrainError
    from musicgen.evaluate import evaluate as evaluate_run
    from musicgen.rundir import load_run

    if split_name == "test" and not held_out:
        raise click.UsageError("--split test needs --held-out")
    run = load_run(run_dir)
    corpus_data = read_corpus(_corpus_paths(corpus))
    _report_skipped(corpus_data)
    tunes = corpus_data.tunes
    if held_out:
        config = TrainConfig.from_dict(run.train_config)
        record = split.check(run_dir, tunes, "evaluate --held-out")
        if record is None:  # a run directory from before split.json: recompute its split
            n = len(tunes)
            record = split.split_ids(n, config.val_fraction, config.test_fraction, config.seed)
        if not record[split_name]:
            raise TrainError(
                f"{run_dir} has no {split_name} tunes"
                + (" (train it with --test-fraction)" if split_name == "test" else "")
            )
        tunes = [tunes[i] for i in record[split_name]]
    result = evaluate_run(run, tunes)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"bits/char  {result.bits_per_char:.4f}")
    click.echo(f"music      {result.music_bits_per_char:.4f}  (body and end marker only)")
    click.echo(f"sampled    {result.constrained_bits_per_char:.4f}  (grammar-masked)")
    click.echo(f"unreachable {result.unreachable}")
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
