"""Commands that write music: ``sample`` from a model, ``render`` any ABC file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from musicgen.cli.common import _report_skipped, handle_errors, run_option
from musicgen.cli.form_options import sample_options
from musicgen.models.tfenv import quiet_tensorflow


def _render_options(default_formats: str):
    """--format, --program and --tempo, shared by sample and render."""

    def check(ctx, param, value):
        from musicgen.render.output import parse_formats

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
            help="General MIDI instrument, 0-based: 40 violin, 73 flute, 0 piano, 24 guitar. "
            "Without FluidSynth, WAV uses the nearest built-in voice: bowed, flute, piano "
            "or plucked.",
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


@click.command()
@run_option
@sample_options
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="out/sample",
    show_default=True,
    help="Directory for the tune files; tunes already there are kept and numbered after.",
)
@_render_options("abc,mid")
@click.option("--force", is_flag=True, help="Replace the tune files already in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar, and nothing printed on success.")
@handle_errors
def sample(run_dir, out, formats, program, tempo_bpm, force, quiet, **options):
    """Write N new tunes as ABC, MIDI, WAV or sheet music (NNN-title.abc/.mid/..., all.abc).

    Every tune has a form (--form): its parts close at their last bar, it ends after its
    last part, and its last note is the key's tonic.  auto draws each tune's number of
    parts from the run dir's form.json (the training corpus's forms for the tune's
    meter), or is AABB for a run dir without one; parts are 8 bars (--bars-per-part).
    Each tune's key is drawn from the corpus's keys for its meter (--key).

    A second sample into the same --out keeps what is there: its tunes are numbered after
    the highest number there (001-005, then 006-010) and added to all.abc, and they are
    the tunes 6-10 of one sample of -n 10 with the same seed.  --force starts over.
    """
    from musicgen.render.output import RenderOptions, check_formats, prepare_out_dir
    from musicgen.sampling.request import SampleRequest, sample_config

    render_options = RenderOptions(formats, program, tempo_bpm)
    check_formats(formats)  # a missing tool fails now, not after sampling
    request = SampleRequest(**options)
    sample_config(request)  # bad options fail before the model loads
    quiet_tensorflow()
    from musicgen.run.rundir import load_run
    from musicgen.sampling.sampler import Sampler

    run = load_run(run_dir)
    config = sample_config(request, run)
    out = Path(out)
    config = replace(config, first=prepare_out_dir(out, force, append=True))
    written = _write_tunes(Sampler(run).generate(config), config, out, render_options, quiet)
    _report_sample(written, config, out, quiet)


def _write_tunes(tunes, config, out: Path, options, quiet: bool) -> _Written:
    """Write each complete tune of `tunes` the moment it ends (its number names its files,
    so order does not matter there); then all.abc, in tune order."""
    from tqdm import tqdm

    from musicgen.files import write_text
    from musicgen.render.output import WriteReport, write_tune

    written = _Written(WriteReport())
    finished: dict[int, str] = {}
    with tqdm(total=config.n, unit="tune", disable=quiet, leave=False) as bar:
        for tune in tunes:
            bar.update(1)
            if not tune.complete:
                written.truncated.append(tune.index + 1)
                continue
            finished[tune.index] = tune.abc().rstrip("\n") + "\n"
            write_tune(out, tune.index + 1, tune.title(), tune.abc(), options, written.report)
    written.truncated.sort()
    written.abc = [finished[i] for i in sorted(finished)]
    if written.abc:
        before = out / "all.abc"
        kept = [before.read_text(encoding="utf-8").rstrip("\n") + "\n"] if before.exists() else []
        write_text(before, "\n".join(kept + written.abc))  # a blank line between tunes
    return written


@dataclass
class _Written:
    """What `_write_tunes` wrote: files (`report`), complete tunes' ABC, truncated numbers."""

    report: object
    abc: list[str] = field(default_factory=list)
    truncated: list[int] = field(default_factory=list)


def _report_sample(written: _Written, config, out: Path, quiet: bool) -> None:
    """Files written and a summary on stdout (none with --quiet); problems on stderr."""
    if not quiet:
        for path in sorted(written.report.written):
            click.echo(str(path))
        if written.abc:
            click.echo(str(out / "all.abc"))
        click.echo(f"written {len(written.abc)} of {config.n} tunes to {out}", nl=False)
    if written.truncated:
        click.echo(
            f"{'; ' if not quiet else ''}truncated at --max-chars {config.max_chars} "
            f"(not written): {', '.join(map(str, written.truncated))}",
            nl=False,
            err=quiet,
        )
    if not quiet or written.truncated:
        click.echo(err=quiet)
    _report_failures(written.report)
    if not written.abc:
        raise click.ClickException("no complete tune: raise --max-chars or lower --temperature")


@click.command()
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
    from musicgen.abc.corpus import read_corpus
    from musicgen.render.output import (
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
