"""Commands that make and measure models: ``train``, ``lab-train``, ``evaluate``, ``bench``.

``train``'s many options live in `musicgen.cli.train_options`; the configs they make, in
`musicgen.training.presets`.
"""

from __future__ import annotations

import math
from pathlib import Path

import click

from musicgen.cli.common import (
    _corpus_paths,
    _report_skipped,
    handle_errors,
    leave_out_option,
    left_out,
    run_option,
)
from musicgen.cli.train_options import train_options
from musicgen.models.tfenv import quiet_tensorflow


@click.command()
@click.argument("corpus", nargs=-1, type=click.Path())
@train_options
@leave_out_option
@handle_errors
def train(corpus, run_dir, arch, init, max_minutes, strategy, force, quiet, leave_out, **options):
    """Train an LSTM or a Transformer on ABC files (default: the bundled Irish corpus).

    Running the same command again resumes after the last finished epoch.  Options left
    out take --arch's defaults (shown as "lstm ..., transformer ...").  With --init RUN it
    fine-tunes RUN's model on the corpus (its shape, gentler defaults: "--init: ...").
    Every setting is checked before anything is written to the run directory.
    """
    if options.get("precision") is None:
        options["precision"] = _resumed_precision(Path(run_dir), force) or "auto"
    if init is not None and _given("arch"):
        options["arch"] = arch  # refused with the other shape options
    model_config, config = _train_configs(arch, options, strategy, max_minutes, init)
    quiet_tensorflow()
    from musicgen.abc.corpus import read_corpus
    from musicgen.training.fit import train as train_run

    corpus_data = read_corpus(_corpus_paths(corpus))
    _report_skipped(corpus_data)
    tunes = left_out(list(corpus_data.tunes), leave_out)
    click.echo(f"training on {len(tunes)} tunes -> {run_dir}")

    def report(record):
        val = "" if math.isnan(record.val_loss) else f"  val_loss {record.val_loss:.3f}"
        mark = "  *" if record.best else ""
        click.echo(
            f"epoch {record.epoch}/{record.epochs}  loss {record.loss:.3f}{val} bits/char  "
            f"{record.seconds:.1f}s  {record.chars_per_s:,.0f} chars/s{mark}"
        )

    result = train_run(
        tunes,
        run_dir,
        model_config,
        config,
        max_minutes=max_minutes,
        force=force,
        progress=not quiet,
        report=report,
        strategy=strategy,
        init=init,
    )
    if result.stopped_early:
        click.echo(f"stopped early: no better validation loss in {config.patience} epochs")
    if result.stopped_by_budget:
        click.echo(f"stopped after {max_minutes:g} minutes (time budget)")
    if result.epochs_done >= config.epochs and not result.stopped_by_budget:
        replicas = f" on {result.replicas} replicas" if result.replicas > 1 else ""
        click.echo(f"done: {result.epochs_done} epochs{replicas}")
    best = "n/a" if math.isinf(result.best_val_loss) else f"{result.best_val_loss:.3f} bits/char"
    click.echo(f"best validation loss {best}; model in {Path(run_dir) / 'model.keras'}")


def _resumed_precision(run_dir: Path, force: bool) -> str | None:
    """The precision a run dir about to be resumed trained in (None: a new run)."""
    from musicgen.errors import RunDirError
    from musicgen.run.rundir import CONFIG_FILE, read_config

    if force or not (run_dir / CONFIG_FILE).is_file():
        return None
    try:
        return read_config(run_dir)[1].precision
    except RunDirError:
        return None  # the trainer reports a damaged run dir in its own words


def _given(name: str) -> bool:
    """Whether the command line (or the environment) set option `name`."""
    source = click.get_current_context().get_parameter_source(name)
    return source not in (None, click.core.ParameterSource.DEFAULT)


def _train_configs(arch: str, options: dict, strategy: str, max_minutes, init: str | None):
    """`train`'s configs, checked before TensorFlow is imported: settings that cannot go
    together are bad usage (exit 2), reported before anything is written.  With `init`,
    the parent's config.json is read first (a missing or bad one: exit 1)."""
    from musicgen.errors import RunDirError, TrainError
    from musicgen.run.rundir import read_config
    from musicgen.training.checks import check_placement
    from musicgen.training.presets import configs_for, finetune_configs

    if init is not None and not Path(init).is_dir():
        raise RunDirError(f"{init}: no such run directory (--init)")
    parent = None if init is None else read_config(Path(init))[0]
    try:
        if parent is None:
            configs = configs_for(arch, options)
        else:
            configs = finetune_configs(parent, options)
        check_placement(strategy, max_minutes)
    except TrainError as exc:
        raise click.UsageError(str(exc)) from None
    return configs


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
    quiet_tensorflow()
    from musicgen.abc.corpus import read_corpus
    from musicgen.errors import OutputError
    from musicgen.evaluation.lab import LabConfig
    from musicgen.evaluation.lab import lab_train as run_lab

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
    help="Score only the tunes the run held out: give it the corpus it was trained on "
    "(any path or copy: tunes are matched by their text) or tunes of that split only; "
    "a tune it trained on, or a run without split.json, is refused.",
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
@leave_out_option
@handle_errors
def evaluate(run_dir, corpus, held_out, split_name, as_json, leave_out):
    """Held-out cross-entropy of a model on ABC tunes, in bits per character.

    Prints three figures: every character; the music only (tune bodies and end marker,
    headers given as context); and under the grammar-masked distribution the sampler
    draws from, with the tunes that grammar refuses counted as unreachable.
    """
    quiet_tensorflow()
    import json

    from musicgen.abc.corpus import read_corpus
    from musicgen.evaluation.bits import evaluate as evaluate_run
    from musicgen.run import split
    from musicgen.run.rundir import load_run

    if split_name == "test" and not held_out:
        raise click.UsageError("--split test needs --held-out")
    run = load_run(run_dir)
    corpus_data = read_corpus(_corpus_paths(corpus))
    tunes = left_out(list(corpus_data.tunes), leave_out, say=False)
    if held_out:  # tunes are matched by their text, so any copy or path of the corpus works
        tunes = split.held_out(run_dir, tunes, split_name, "evaluate --held-out")
    # what read_corpus skipped is counted with the tunes the vocabulary cannot encode
    result = evaluate_run(run, tunes, skipped=corpus_data.skipped)
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
    for reason in result.skipped_reasons[:10]:
        click.echo(f"  {reason}")
    if result.skipped > 10:
        click.echo(f"  ... and {result.skipped - 10} more (all of them with --json)")


BENCH_SECTIONS = ("sampling", "training", "midi")


def _sections(ctx, param, value: str) -> list[str]:
    wanted = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in BENCH_SECTIONS]
    if unknown or not wanted:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'nothing'}: choose from {', '.join(BENCH_SECTIONS)}"
        )
    return wanted


@click.command()
@run_option
@click.option(
    "--sections",
    default=",".join(BENCH_SECTIONS),
    show_default=True,
    callback=_sections,
    help="Comma-separated, run in this order: sampling, training, midi.",
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
    """Speed beside the lab-style reference loops, measured in the same run (ratios).

    Training and sampling rows for both architectures (the run's model for its own, an
    untrained one of the default shape for the other: speed does not depend on weights),
    and ABC -> MIDI.  Pin it to one CPU (taskset) on a shared machine.
    """
    quiet_tensorflow()
    from musicgen.evaluation import speed as benchmarks

    def rows(section: str):
        if section == "sampling":
            return benchmarks.bench_sampling(Path(run_dir), seconds)
        if section == "training":
            from musicgen.evaluation.training_speed import bench_training

            return bench_training(seconds * 2.5)
        return benchmarks.bench_midi()

    click.echo(f"# {benchmarks.machine_note()}")
    click.echo(benchmarks.HEADER)
    for section in sections:
        for row in rows(section):
            click.echo(benchmarks.format_row(row))
