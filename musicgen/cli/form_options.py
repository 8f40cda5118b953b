"""``musicgen sample``'s form options: ``--form``, ``--bars-per-part``, ``--no-cadence``."""

from __future__ import annotations

import click


def form_options(command):
    """Add the three form options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


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
        type=click.IntRange(2, 32),
        default=None,
        help="Bars in every part [default: 8 with a pattern; drawn with auto].",
    ),
    click.option(
        "--no-cadence",
        is_flag=True,
        help="With a form, do not make the last note the key's tonic.",
    ),
]


def form_plan(form: str, bars: int | None, no_cadence: bool, no_constrain: bool):
    """The `FormPlan` of ``--form``, ``--bars-per-part`` and ``--no-cadence`` (None: any
    form; ``--no-constrain`` drops the default ``auto``, refuses a form asked for)."""
    from musicgen.grammar.plan import AUTO, FormPlan

    asked = form != AUTO or bars is not None or no_cadence
    if form == "none" or (no_constrain and not asked):
        return None
    if no_constrain:
        raise click.UsageError("--form, --bars-per-part and --no-cadence need the grammar")
    try:
        return FormPlan(pattern=form, bars=bars, cadence=not no_cadence)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--form") from None
