"""The ``musicgen`` command line: thin click commands over the library.

Library errors (`MusicgenError`) become one-line messages with exit code 1; bad options
exit 2 (click's usage errors).  TensorFlow and music21 are imported inside the commands
that need them, so ``musicgen --help`` answers at once.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections import Counter
from pathlib import Path

import click

from musicgen import __version__
from musicgen.errors import MusicgenError
from musicgen.model import ModelConfig
from musicgen.sample import SampleConfig
from musicgen.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "data" / "abc_tunes"
DEFAULT_RUN = ROOT / "checkpoints" / "default"
# Option defaults come from the configs, so they are stated (and explained) once.
_M, _T, _S = ModelConfig(vocab_size=0), TrainConfig(), SampleConfig()


def _quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (oneDNN, CUDA probes) hidden.

    Those lines are written to file descriptor 2 before TensorFlow's log level applies,
    so stderr is pointed at /dev/null for the import alone.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def handle_errors(command):
    """Turn library errors into a one-line message and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except MusicgenError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a disk or permission failure no library call named
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def _corpus_paths(corpus: tuple[str, ...]) -> list[str]:
    return list(corpus) if corpus else [str(DEFAULT_CORPUS)]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="musicgen")
def main() -> None:
    """Learn folk tunes in ABC notation and write new ones as ABC and MIDI."""


@main.command()
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


@main.group()
def data() -> None:
    """Inspect ABC corpora."""


@data.command()
@click.argument("corpus", nargs=-1, type=click.Path())
@handle_errors
def stats(corpus):
    """Tunes, characters, vocabulary, meters and keys of ABC files; skipped tunes and why."""
    from musicgen.abc import read_corpus

    corpus_data = read_corpus(_corpus_paths(corpus))
    tunes = corpus_data.tunes
    texts = [t.text() for t in tunes]
    chars = Counter("".join(texts))
    click.echo(f"files       {len(corpus_data.files)}")
    click.echo(f"tunes       {len(tunes)}")
    total = sum(chars.values())
    click.echo(f"characters  {total:,} (mean {total / len(tunes):.0f} per tune)")
    click.echo(
        f"vocabulary  {len(chars)}: {''.join(sorted(chars)).encode('unicode_escape').decode()}"
    )
    click.echo("meters      " + _top(Counter(t.meter for t in tunes)))
    click.echo("keys        " + _top(Counter(t.key for t in tunes)))
    click.echo(f"skipped     {len(corpus_data.skipped)}")
    for skip in corpus_data.skipped:
        click.echo(f"  {skip}")


def _top(counter: Counter, n: int = 12) -> str:
    items = [f"{k} {v}" for k, v in counter.most_common(n)]
    rest = len(counter) - n
    return ", ".join(items) + (f", ... {rest} more" if rest > 0 else "")


def _render_options(default_formats: str):
    """--format, --program and --tempo, shared by sample and render."""

    def check(ctx, param, value):
        from musicgen.output import parse_formats

        try:
            return parse_formats(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    def decorate(command):
        command = click.option(
            "--tempo",
            "tempo_bpm",
            type=click.FloatRange(0, 1000, min_open=True),
            default=None,
            help="Quarter notes per minute [default: the tune's Q:, else one for its meter].",
        )(command)
        command = click.option(
            "--program",
            type=click.IntRange(0, 127),
            default=40,
            show_default=True,
            help="General MIDI instrument, 0-based: 40 violin, 73 flute, 0 piano, 24 guitar.",
        )(command)
        return click.option(
            "--format",
            "formats",
            default=default_formats,
            show_default=True,
            callback=check,
            help="Comma-separated: abc, mid, wav, svg (needs abcm2ps), musicxml.",
        )(command)

    return decorate


def _report_skipped(corpus_data) -> None:
    if corpus_data.skipped:
        click.echo(f"skipped {len(corpus_data.skipped)} tunes:", err=True)
        for skip in corpus_data.skipped[:10]:
            click.echo(f"  {skip}", err=True)
        if len(corpus_data.skipped) > 10:
            click.echo(f"  ... and {len(corpus_data.skipped) - 10} more", err=True)


@main.command()
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_RUN),
    show_default="checkpoints/default",
    help="Run directory of a trained model.",
)
@click.option(
    "-n",
    "n",
    type=click.IntRange(1),
    default=_S.n,
    show_default=True,
    help="How many tunes to write.",
)
@click.option(
    "--temperature",
    type=click.FloatRange(0, min_open=True),
    default=_S.temperature,
    show_default=True,
    help="Below 1: safer choices; above 1: more surprise.",
)
@click.option(
    "--top-k",
    type=click.IntRange(0),
    default=_S.top_k,
    show_default=True,
    help="Sample only among the k likeliest characters (0: all).",
)
@click.option(
    "--primer", default="", help=r"Text each tune starts with, e.g. 'M:6/8\nL:1/8\nK:G\n'."
)
@click.option("--meter", default=None, help="Meter of every tune, e.g. 6/8 (builds the primer).")
@click.option("--key", default=None, help="Key of every tune, e.g. 'G Major' (needs --meter).")
@click.option(
    "--seed",
    type=int,
    default=_S.seed,
    show_default=True,
    help="Same seed, same tunes, byte for byte.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(10),
    default=_S.max_chars,
    show_default=True,
    help="Cut (and report) a tune that has not ended after this many characters.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=_S.batch_size,
    show_default=True,
    help="Tunes generated side by side.",
)
@click.option(
    "--no-constrain",
    is_flag=True,
    help="Sample freely, without masking characters that break ABC or bar lengths.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="out/sample",
    show_default=True,
    help="Directory for the tune files.",
)
@_render_options("abc,mid")
@click.option("--force", is_flag=True, help="Replace tune files already in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def sample(
    run_dir,
    n,
    temperature,
    top_k,
    primer,
    meter,
    key,
    seed,
    max_chars,
    batch_size,
    no_constrain,
    out,
    formats,
    program,
    tempo_bpm,
    force,
    quiet,
):
    """Write N new tunes as ABC, MIDI, WAV or sheet music (NNN-title.abc/.mid/..., all.abc)."""
    from musicgen.output import (
        RenderOptions,
        WriteReport,
        check_formats,
        prepare_out_dir,
        write_tune,
    )

    options = RenderOptions(formats, program, tempo_bpm)
    check_formats(formats)  # a missing tool fails now, not after sampling
    _quiet_tensorflow()
    from tqdm import tqdm

    from musicgen.rundir import load_run, write_text
    from musicgen.sample import SampleConfig, Sampler, build_primer

    config = SampleConfig(
        n=n,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        primer=build_primer(primer, meter, key),
        max_chars=max_chars,
        batch_size=batch_size,
        constrain=not no_constrain,
    )
    run = load_run(run_dir)
    sampler = Sampler(run, _grammar_factory())
    out = Path(out)
    prepare_out_dir(out, force)
    report = WriteReport()
    complete: dict[int, str] = {}
    truncated: list[int] = []
    tunes = sampler.generate(config)
    with tqdm(total=n, unit="tune", disable=quiet, leave=False) as bar:
        for tune in tunes:
            bar.update(1)
            if not tune.complete:
                truncated.append(tune.index + 1)
                continue
            complete[tune.index] = tune.abc()
            write_tune(out, tune.index + 1, tune.title(), tune.abc(), options, report)
    if complete:
        write_text(out / "all.abc", "\n".join(complete[i] for i in sorted(complete)))
    for path in sorted(report.written):
        click.echo(str(path))
    if complete:
        click.echo(str(out / "all.abc"))
    click.echo(f"written {len(complete)} of {n} tunes to {out}", nl=False)
    if truncated:
        click.echo(
            f"; truncated at --max-chars {max_chars} (not written): "
            f"{', '.join(map(str, truncated))}",
            nl=False,
        )
    click.echo()
    _report_failures(report)
    if not complete:
        raise click.ClickException("no complete tune: raise --max-chars or lower --temperature")


def _grammar_factory():
    """The ABC grammar used to constrain sampling, when it is available."""
    try:
        from musicgen.grammar import AbcGrammar
    except ImportError:
        return None
    return AbcGrammar


@main.command()
@click.argument("abc_file", type=click.Path())
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Directory for the tune files.",
)
@_render_options("mid,wav")
@click.option("--force", is_flag=True, help="Replace tune files already in --out.")
@handle_errors
def render(abc_file, out, formats, program, tempo_bpm, force):
    """Write every tune of any ABC file as MIDI, WAV, SVG or MusicXML (NNN-title.mid...).

    Tunes are numbered by their position in the file (001 upward), never by X:.  WAV uses
    FluidSynth with a General MIDI soundfont if installed, else a built-in plucked-string
    synthesizer; SVG needs abcm2ps; MusicXML (for MuseScore) comes from music21.
    """
    from musicgen.abc import read_corpus
    from musicgen.output import (
        RenderOptions,
        WriteReport,
        check_formats,
        prepare_out_dir,
        write_tune,
    )

    options = RenderOptions(formats, program, tempo_bpm)
    check_formats(formats)
    corpus = read_corpus([abc_file])
    _report_skipped(corpus)
    out = Path(out)
    prepare_out_dir(out, force)
    report = WriteReport()
    for position, tune in enumerate(corpus.tunes, start=1):
        text = tune.abc(position)
        if tune.get("Q"):  # keep the tune's own tempo; --tempo still overrides it
            text = text.replace("\nK:", f"\nQ:{tune.get('Q')}\nK:", 1)
        write_tune(out, position, tune.title, text, options, report)
    for path in report.written:
        click.echo(str(path))
    _report_failures(report)
    failed = [failure.split(":", 1)[0] for failure in report.midi_failed]
    click.echo(
        f"written {len(corpus.tunes)} tunes to {out}; {len(failed)} without MIDI"
        + (f": {', '.join(failed)}" if failed else "")
    )


def _report_failures(report) -> None:
    for failure in report.midi_failed:
        click.echo(f"no MIDI for {failure}", err=True)
    for failure in report.sheet_failed:
        click.echo(f"no sheet music for {failure}", err=True)


@main.command()
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


@main.command()
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


@main.command("lab-train")
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


@main.command()
@click.argument("abc_file", type=click.Path())
@click.option(
    "--against",
    "reference",
    multiple=True,
    type=click.Path(),
    help="Corpus to test novelty against (no 4-bar run shared, no copy). Repeatable.",
)
@click.option("--no-abc2midi", is_flag=True, help="Do not ask abc2midi even if installed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--verbose", "-v", is_flag=True, help="Every problem of every tune, not the first.")
@handle_errors
def check(abc_file, reference, no_abc2midi, as_json, verbose):
    """Validity report of any ABC file, tune by tune, then a summary with rates.

    Per tune: does it parse (abc2midi if installed, else musicgen's grammar), are the
    headers ABC requires there (X:, T:, K:), does every bar fit the meter, how many
    notes.  Exits 1 if any tune is invalid.
    """
    import json

    from musicgen.abc import read_corpus
    from musicgen.quality import NoveltyIndex, check_tunes, have_abc2midi, summarize

    corpus = read_corpus([abc_file])
    _report_skipped(corpus)
    index = NoveltyIndex(read_corpus(reference).tunes) if reference else None
    reports = check_tunes(corpus.tunes, index, use_abc2midi=not no_abc2midi)
    summary = summarize(reports) | {"skipped": len(corpus.skipped)}
    judge = "abc2midi" if have_abc2midi() and not no_abc2midi else "musicgen grammar"
    summary["judge"] = judge
    if as_json:
        click.echo(json.dumps({"summary": summary, "tunes": [r.to_dict() for r in reports]}))
    else:
        for r in reports:
            _echo_tune_check(r, verbose)
        _echo_check_summary(summary)
    if summary["valid"] < summary["tunes"]:
        sys.exit(1)


def _echo_tune_check(r, verbose: bool) -> None:
    """One line per tune: verdicts, note count, first problem (all of them with -v)."""
    flags = ["valid" if r.valid else "INVALID", "bars ok" if r.bars_ok else "BARS"]
    if r.novel is not None:
        flags.append("COPY" if r.copy else ("novel" if r.novel else "borrows 4 bars"))
    problems = r.problems
    first = f"  {problems[0]}" if problems and not verbose else ""
    click.echo(f"{r.position:4d} {r.title[:30]:30} {', '.join(flags):22} {r.notes:5d} notes{first}")
    if verbose:
        for problem in problems:
            click.echo(f"       {problem}")


def _echo_check_summary(summary: dict) -> None:
    n = summary["tunes"]

    def rate(label: str, count: int) -> None:
        click.echo(f"{label:30} {count:5d}/{n:<5d} {100 * count / max(n, 1):5.1f}%")

    click.echo(f"tunes {n} (skipped {summary['skipped']}), notes {summary['notes']:,}")
    rate("valid", summary["valid"])
    rate(f"parses ({summary['judge']})", summary["parses"])
    rate("headers X: T: K:", summary["headers_ok"])
    rate("bars fit meter", summary["bars_ok"])
    rate("grammar accepts", summary["grammar_ok"])
    if "abc2midi_converts" in summary:
        rate("abc2midi: notes", summary["abc2midi_converts"])
        rate("abc2midi: no errors", summary["abc2midi_no_errors"])
    if "novel" in summary:
        rate("novel (no 4-bar run shared)", summary["novel"])
        rate("copies", summary["copies"])
