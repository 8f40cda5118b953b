"""``musicgen sample``'s options for what to sample (everything but where to write it).

Each option's parameter name is a field of `musicgen.sampling.request.SampleRequest` and its
default that field's, so the CLI and the studio share them.  ``--meter`` and ``--key`` are
checked as they are read (exit 2, naming the values allowed); what depends on the model
(its vocabulary, its corpus's meters) is checked by `sample_config` once the run is loaded.
"""

from __future__ import annotations

import click

from musicgen.cli.common import bad_parameter
from musicgen.errors import OptionError
from musicgen.form.cadence import RHYMES
from musicgen.sampling.header import KEY_HELP, check_key, check_meter
from musicgen.sampling.request import SampleRequest
from musicgen.sampling.request import form_plan as _library_form_plan

_R = SampleRequest()


def _checked(check):
    """A click callback running `check` (a `musicgen.sampling.header` check) on a value."""

    def callback(ctx, param, value):
        try:
            return None if value is None else check(value)
        except OptionError as exc:
            raise bad_parameter(exc) from None

    return callback


def form_plan(
    form: str,
    bars,
    no_cadence: bool,
    no_constrain: bool,
    any_key: bool = False,
    rhyme: str = _R.rhyme,
):
    """The `FormPlan` of ``--form``, ``--bars-per-part``, ``--no-cadence`` and ``--rhyme``
    (see `musicgen.sampling.request.form_plan`), a bad one as click's exit-2 error."""
    try:
        return _library_form_plan(form, bars, not no_cadence, not no_constrain, any_key, rhyme)
    except OptionError as exc:
        raise bad_parameter(exc) from None


class _BarsType(click.ParamType):
    """An int 2..32, or ``auto``."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        from musicgen.form.plan import AUTO, MAX_BARS, MIN_BARS

        if isinstance(value, int) or value == AUTO:
            return value
        try:
            bars = int(value)
        except ValueError:
            bars = 0
        if not MIN_BARS <= bars <= MAX_BARS:
            self.fail(f"{value!r}: give {MIN_BARS}..{MAX_BARS} bars, or auto", param, ctx)
        return bars


def sample_options(command):
    """Add every `SampleRequest` option to a click command, in ``--help`` order."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


_OPTIONS = [
    click.option(
        "-n",
        "n",
        type=click.IntRange(1),
        default=_R.n,
        show_default=True,
        help="How many tunes to write.",
    ),
    click.option(
        "--temperature",
        type=click.FloatRange(0, min_open=True),
        default=_R.temperature,
        show_default=True,
        help="Below 1: safer choices; above 1: more surprise.",
    ),
    click.option(
        "--top-k",
        type=click.IntRange(0),
        default=_R.top_k,
        show_default=True,
        help="Sample only among the k likeliest characters (0: all).",
    ),
    click.option(
        "--primer",
        default=_R.primer,
        help=r"Text each tune starts with, e.g. 'M:6/8\nL:1/8\nK:G\n', or the start of a "
        "real tune (its X:, T:, other fields and % comments are dropped, as in training).",
    ),
    click.option(
        "--meter",
        default=_R.meter,
        callback=_checked(check_meter),
        help="Meter of every tune, e.g. 6/8, C or C| (builds the primer); only meters the "
        "model's training corpus used.  [default: the model chooses]",
    ),
    click.option(
        "--key",
        default=_R.key,
        callback=_checked(check_key),
        help=f"Key of every tune (needs --meter): {KEY_HELP} (the model chooses).  "
        "[default: drawn per tune from the training corpus's keys for its meter]",
    ),
    click.option(
        "--seed",
        type=click.IntRange(0),
        default=_R.seed,
        show_default=True,
        help="Same seed, same tunes, byte for byte.",
    ),
    click.option(
        "--max-chars",
        type=click.IntRange(10),
        default=_R.max_chars,
        show_default=True,
        help="Cut (and report) a tune that has not ended after this many characters.",
    ),
    click.option(
        "--batch-size",
        type=click.IntRange(1),
        default=_R.batch_size,
        show_default=True,
        help="Tunes generated side by side.",
    ),
    click.option(
        "--no-constrain",
        "constrain",
        is_flag=True,
        flag_value=False,
        default=_R.constrain,
        help="The raw model: no grammar mask and no wrap-up bias towards the end marker.",
    ),
    click.option(
        "--no-wrap-up",
        "wrap_up",
        is_flag=True,
        flag_value=False,
        default=_R.wrap_up,
        help="Keep the grammar mask but drop the bias that ends a tune at its next full bar "
        "past 3/4 of --max-chars (more tunes are cut).",
    ),
    click.option(
        "--form",
        "form",
        default=_R.form,
        show_default=True,
        help="The form every tune has: auto (drawn per tune from the training corpus's forms "
        "for its meter), a pattern such as AABB, AABBCC or ABAC (a letter twice in a row: a "
        "part played twice, |: ... :|), or none (any form).",
    ),
    click.option(
        "--bars-per-part",
        type=_BarsType(),
        default=_R.bars_per_part,
        help="Bars in every part, 2..32, or auto (drawn with --form auto's pattern from the "
        "corpus's forms for the meter).  [default: 8]",
    ),
    click.option(
        "--no-cadence",
        "cadence",
        is_flag=True,
        flag_value=False,
        default=_R.cadence,
        help="With a form, let every part end where the model likes: no tonic at the end, "
        "and no part ending drawn from the corpus's.",
    ),
    click.option(
        "--rhyme",
        type=click.Choice(RHYMES),
        default=_R.rhyme,
        show_default=True,
        help="With a form, the B part's last bar repeats the A part's, and a part's bar 5 "
        "opens with bar 1's first three notes: auto (each at the training corpus's rate), "
        "always (wherever the bars allow) or never.",
    ),
]
