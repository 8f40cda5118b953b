"""What every ``musicgen`` command shares: error handling, option defaults, default paths.

Library errors (`MusicgenError`) become one-line messages with exit code 1; bad options
exit 2 (click's usage errors).  TensorFlow and music21 are imported inside the commands
that need them (`musicgen.models.tfenv.quiet_tensorflow` first), so ``musicgen --help`` answers
at once.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from musicgen.abc.corpus import BUNDLED_CORPUS
from musicgen.errors import MusicgenError, OptionError
from musicgen.models.registry import ModelConfig
from musicgen.run.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CORPUS = BUNDLED_CORPUS
DEFAULT_RUN = ROOT / "checkpoints" / "default"
# --run, the same on every command that reads a trained model
run_option = click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_RUN),
    show_default="checkpoints/default",
    help="Run directory of a trained model.",
)
# Option defaults come from the configs, so they are stated (and explained) once.
_M, _T = ModelConfig(vocab_size=0), TrainConfig()
# Where a sample option's name differs from its `SampleRequest` field's (``top_k``: --top-k).
CLI_NAMES = {"n": "-n", "constrain": "--no-constrain", "cadence": "--no-cadence"}


def cli_name(option: str) -> str:
    """The command-line spelling of a `SampleRequest` field: ``top_k`` -> ``--top-k``."""
    return CLI_NAMES.get(option, "--" + option.replace("_", "-"))


def bad_parameter(exc: OptionError) -> click.BadParameter:
    """`exc` as click's exit-2 error, naming the option as the command line spells it."""
    return click.BadParameter(exc.message, param_hint=f"'{cli_name(exc.option)}'")


def handle_errors(command):
    """Turn library errors into a one-line message and exit code 1 (a bad option,
    `OptionError`: click's usage error, exit 2), never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OptionError as exc:
            raise bad_parameter(exc) from None
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


def _report_skipped(corpus_data) -> None:
    if corpus_data.skipped:
        count = len(corpus_data.skipped)
        click.echo(f"skipped {count} tune{'s' if count != 1 else ''}:", err=True)
        for skip in corpus_data.skipped[:10]:
            click.echo(f"  {skip}", err=True)
        if len(corpus_data.skipped) > 10:
            click.echo(f"  ... and {len(corpus_data.skipped) - 10} more", err=True)


leave_out_option = click.option(
    "--leave-out",
    "leave_out",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Leave out of the corpus the tunes this run dir held out (and, by title, other "
    "versions of them): a model trained so can still be scored on them.  Repeatable.",
)


def left_out(tunes: list, runs, say: bool = True) -> list:
    """`tunes` without those each of `runs` held out, saying how many went (`say`)."""
    from musicgen.run.split import leave_out

    for run in runs:
        tunes, gone = leave_out(tunes, run)
        if say:
            click.echo(f"left out {gone} tunes held out by {run}")
    return tunes
