"""Commands that write music: ``sample`` from a model, ``render`` any ABC file."""

from __future__ import annotations

from pathlib import Path

import click

from musicgen.cli.common import (
    _S,
    _report_skipped,
    handle_errors,
    run_option,
)
from musicgen.cli.form_options import form_options, form_plan
from musicgen.models.tfenv import quiet_tensorflow
from musicgen.sampling.sampler import SampleConfig


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
@click.option(
    "--key",
    default=None,
    help="Key of every tune, e.g. 'G Major' (needs --meter), or any (the model chooses).  "
    "[default: drawn per tune from the training corpus's keys for its meter]",
)
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
    help="The raw model: no grammar mask and no wrap-up bias towards the end marker.",
)
@click.option(
    "--no-wrap-up",
    is_flag=True,
    help="Keep the grammar mask but drop the bias that ends a tune at its next full bar "
    "past 3/4 of --max-chars (more tunes are cut).",
)
@form_options
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
    no_wrap_up,
    form,
    bars_per_part,
    no_cadence,
    out,
    formats,
    program,
    tempo_bpm,
    force,
    quiet,
):
    """Write N new tunes as ABC, MIDI, WAV or sheet music (NNN-title.abc/.mid/..., all.abc).

    Every tune has a form (--form): its parts close at their last bar, it ends after its
    last part, and its last note is the key's tonic.  auto draws each tune's number of
    parts from the run dir's form.json (the training corpus's forms for the tune's
    meter), or is AABB for a run dir without one; parts are 8 bars (--bars-per-part).
    Each tune's key is drawn from the corpus's keys for its meter (--key).
    """
    from musicgen.render.output import (
        RenderOptions,
        WriteReport,
        check_formats,
        prepare_out_dir,
        write_tune,
    )

    options = RenderOptions(formats, program, tempo_bpm)
    check_formats(formats)  # a missing tool fails now, not after sampling
    quiet_tensorflow()
    from tqdm import tqdm

    from musicgen.run.rundir import load_run, write_text
    from musicgen.sampling.sampler import Sampler, build_primer

    config = SampleConfig(
        n=n,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        primer=build_primer(primer, meter, None if key == "any" else key),
        max_chars=max_chars,
        batch_size=batch_size,
        constrain=not no_constrain,
        wrap_up=not (no_constrain or no_wrap_up),
        form=form_plan(form, bars_per_part, no_cadence, no_constrain, key == "any"),
    )
    run = load_run(run_dir)
    sampler = Sampler(run)
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
        tunes = (complete[i].rstrip("\n") + "\n" for i in sorted(complete))
        write_text(out / "all.abc", "\n".join(tunes))  # a blank line between tunes
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
