"""``musicgen sample``'s form options: ``--form``, ``--bars-per-part``, ``--no-cadence``."""

from __future__ import annotations

import click


def form_options(command):
    """Add the three form options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


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


_OPTIONS = [
    click.option(
        "--form",
        "form",
        default="auto",
        show_default=True,
        help="The form every tune has: auto (drawn per tune from the training corpus's forms "
        "for its meter), a pattern such as AABB, AABBCC or ABAC (a letter twice in a row: a "
        "part played twice, |: ... :|), or none (any form).",
    ),
    click.option(
        "--bars-per-part",
        type=_BarsType(),
        default=None,
        help="Bars in every part, 2..32, or auto (drawn with --form auto's pattern from the "
        "corpus's forms for the meter).  [default: 8]",
    ),
    click.option(
        "--no-cadence",
        is_flag=True,
        help="With a form, do not make the last note the key's tonic.",
    ),
]


def form_plan(form: str, bars, no_cadence: bool, no_constrain: bool, any_key: bool = False):
    """The `FormPlan` of ``--form``, ``--bars-per-part`` (None: 8) and ``--no-cadence``
    (None: any form; ``--no-constrain`` drops the default ``auto``, refuses a form asked
    for); `any_key` (``--key any``) lets the model choose each tune's key."""
    from musicgen.form.plan import AUTO, DEFAULT_BARS, FormPlan

    asked = form != AUTO or bars is not None or no_cadence
    if form == "none" or (no_constrain and not asked):
        return None
    if no_constrain:
        raise click.UsageError("--form, --bars-per-part and --no-cadence need the grammar")
    if bars is None:
        bars = DEFAULT_BARS
    try:
        return FormPlan(
            pattern=form,
            bars=None if bars == AUTO else bars,
            cadence=not no_cadence,
            draw_keys=not any_key,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--form") from None
