"""``musicgen vary``: new music for some bars of a tune, the rest kept byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

import click

from musicgen.cli.common import handle_errors, run_option
from musicgen.cli.music import _render_options, _report_failures
from musicgen.errors import TuneError
from musicgen.models.tfenv import quiet_tensorflow


def _bar_span(ctx, param, value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", value)
    if not match:
        raise click.BadParameter(f"{value!r} is not a bar or a range of bars, like 5 or 5-6")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= first <= last:
        raise click.BadParameter(f"{value!r}: bars count from 1, the first before the last")
    return first, last


@click.command()
@click.argument("abc_file", type=click.Path())
@click.option(
    "--tune",
    "number",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Which tune of the file: 1 is the first (as `musicgen check` numbers them).",
)
@click.option(
    "--bars",
    "span",
    required=True,
    callback=_bar_span,
    help="The bars to vary, as a player counts them on the page (first and second endings "
    "are bars of their own): 5, or 5-6.",
)
@click.option("-n", "count", type=click.IntRange(1, 1000), default=4, show_default=True)
@run_option
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option(
    "--temperature",
    type=click.FloatRange(0, min_open=True),
    default=1.0,
    show_default=True,
    help="Below 1: safer choices; above 1: more surprise.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="out/vary",
    show_default=True,
    help="Directory for the variations (NNN-title.abc/.mid...).",
)
@_render_options("abc,mid")
@click.option("--force", is_flag=True, help="Replace the tune files already in --out.")
@handle_errors
def vary(abc_file, number, span, count, run_dir, seed, temperature, out, formats, force, **render):
    """Write N variations of some bars of a tune: every other character as it was.

    A model trained with --fim writes the bars knowing what comes after them too; any
    other writes them from what comes before.  Every variation keeps the tune's meter,
    key, bars and parts, and `musicgen check` finds no problem in it the tune did not have
    already; one that cannot be found in 8 draws
    is reported, not written.
    """
    from musicgen.render.output import (
        RenderOptions,
        WriteReport,
        check_formats,
        prepare_out_dir,
        write_tune,
    )
    from musicgen.sampling.gap import gap, read_tune

    options = RenderOptions(formats, render["program"], render["tempo_bpm"])
    check_formats(formats)
    raw = read_tune(abc_file, number)
    try:
        gap(raw, *span)  # bars that are not there fail before the model loads
    except TuneError as exc:
        raise TuneError(f"{abc_file}: tune {number}: {exc}") from None
    prepare_out_dir(Path(out), force)
    quiet_tensorflow()
    from musicgen.abc.tunes import parse_abc
    from musicgen.evaluation.variations import no_new_problems
    from musicgen.run.rundir import load_run
    from musicgen.sampling.sampler import Sampler
    from musicgen.sampling.vary import MAX_TRIES
    from musicgen.sampling.vary import vary as vary_bars

    tune = parse_abc(raw)[0][0]  # read_tune found it
    accept = no_new_problems(tune)  # musicgen check's verdict on each variation
    sampler = Sampler(load_run(run_dir))
    variations = vary_bars(sampler, raw, *span, count, seed, temperature, accept)
    report, title = WriteReport(), tune.title
    for variation in variations:
        if variation.abc is not None:
            name = f"{title} variation {variation.index + 1}"
            write_tune(Path(out), variation.index + 1, name, variation.abc, options, report)
    for path in report.written:
        click.echo(str(path))
    written = [v for v in variations if v.abc is not None]
    changed = sum(v.changed for v in written)
    bars = f"bar {span[0]}" if span[0] == span[1] else f"bars {span[0]}-{span[1]}"
    click.echo(
        f"written {len(written)} of {count} variations of {bars} of {abc_file} tune {number} "
        f"to {out} ({changed} with new music)"
    )
    _report_failures(report)
    failed = [str(v.index + 1) for v in variations if v.abc is None]
    if failed:
        raise click.ClickException(f"no valid variation in {MAX_TRIES} draws: {', '.join(failed)}")
