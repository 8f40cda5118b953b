"""The ``musicgen`` command line: thin click commands over the library.

One module per kind of command: `training` (train, lab-train, evaluate, bench; train's
options in `train_options`), `music` (sample, render), `vary`, `corpus` (data stats, check),
`studio`; `common` holds error handling and the option defaults, which come from the
library's config dataclasses.
"""

from __future__ import annotations

import click

from musicgen import __version__
from musicgen.cli.common import handle_errors
from musicgen.cli.corpus import check, data
from musicgen.cli.music import render, sample
from musicgen.cli.studio import studio
from musicgen.cli.training import bench, evaluate, lab_train, train
from musicgen.cli.vary import vary

__all__ = ["main", "handle_errors"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="musicgen")
def main() -> None:
    """Learn folk tunes in ABC notation and write new ones as ABC and MIDI."""


for command in (train, data, sample, vary, render, evaluate, check, bench, lab_train, studio):
    main.add_command(command)
