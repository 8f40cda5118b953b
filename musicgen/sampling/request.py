"""One front end for ``musicgen sample`` and the studio: a request, as plain values, becomes
a checked `SampleConfig`; finished tunes come back in order.

A `SampleRequest` holds what the CLI's options or the studio's JSON give, with the
defaults both use (defined here and in `SampleConfig`, nowhere else).  `sample_config`
checks every value and raises `OptionError` naming the option and the values allowed;
given the loaded run it also refuses a meter or key the model cannot write (the
vocabulary lacks a character, or the training corpus never used the meter: its
``form.json``).  `in_order` turns the sampler's tunes, which finish in any order, back
into the order asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from musicgen.errors import OptionError
from musicgen.form.cadence import RHYMES, Phrasing
from musicgen.form.plan import AUTO, DEFAULT_BARS, MAX_BARS, MIN_BARS, FormPlan
from musicgen.sampling.header import (
    ANY_KEY,
    build_primer,
    check_key,
    check_meter,
    clean_primer,
    sort_meters,
    spell_key,
)
from musicgen.sampling.sampler import SampleConfig, Sampled

NO_FORM = "none"  # --form none: any form


@dataclass(frozen=True)
class SampleRequest:
    """What a user asks for; None for meter and key means "not asked"."""

    n: int = SampleConfig.n
    temperature: float = SampleConfig.temperature
    top_k: int = SampleConfig.top_k
    seed: int = SampleConfig.seed
    primer: str = ""
    meter: str | None = None  # with key, builds the primer's header; None: the model's
    key: str | None = None  # None: drawn from the corpus's keys per meter; "any": the model's
    max_chars: int = SampleConfig.max_chars
    batch_size: int = SampleConfig.batch_size
    constrain: bool = SampleConfig.constrain
    wrap_up: bool = SampleConfig.wrap_up
    # auto: each tune's form drawn from the corpus's (form.json); a tune should come out
    # whole, not as a stray part (``|]`` then ``G||``): the CLI's and the studio's default.
    form: str = AUTO
    bars_per_part: int | str | None = None  # None: DEFAULT_BARS; "auto": drawn with the form
    # under a form, every part ends on a note drawn from the corpus's part endings, the
    # last part on the key's tonic (issue 14); off: parts end anywhere
    cadence: bool = True
    # auto: the B part's last bar rhymes with the A part's, and bar 5 echoes bar 1, each
    # at the corpus's rate (form.json); always; never (the model's own choice)
    rhyme: str = AUTO


def sample_config(request: SampleRequest, run=None) -> SampleConfig:
    """The checked `SampleConfig` of `request`; `OptionError` for the first bad value.

    With `run` (a loaded `musicgen.run.rundir.Run`), the meter and key are also checked
    against what its model can write, and the key spelt in its vocabulary.
    """
    r = request
    _whole(r.n, "n", 1)
    _whole(r.top_k, "top_k", 0)
    _whole(r.seed, "seed", 0)
    _whole(r.max_chars, "max_chars", 10)
    _whole(r.batch_size, "batch_size", 1)
    if isinstance(r.temperature, bool) or not isinstance(r.temperature, int | float):
        raise OptionError("temperature", f"must be a number above 0, not {r.temperature!r}")
    if not (math.isfinite(r.temperature) and r.temperature > 0):
        raise OptionError("temperature", f"must be a number above 0, not {r.temperature!r}")
    for name in ("primer", "meter", "key", "form", "rhyme"):
        value = getattr(r, name)
        if value is not None and not isinstance(value, str):
            raise OptionError(name, f"must be a string, not {value!r}")
    for name in ("constrain", "wrap_up", "cadence"):
        if not isinstance(getattr(r, name), bool):
            raise OptionError(name, f"must be true or false, not {getattr(r, name)!r}")
    key = check_key(r.key) if r.key else None
    meter = check_meter(r.meter) if r.meter else None
    if run is not None:
        meter, key = _for_model(meter, key, run)
    primer = build_primer(clean_primer(r.primer.replace("\\n", "\n")), meter, _asked(key))
    plan = form_plan(r.form, r.bars_per_part, r.cadence, r.constrain, key == ANY_KEY, r.rhyme)
    return _config(r, primer, plan)


def _config(r: SampleRequest, primer: str, plan: FormPlan | None) -> SampleConfig:
    return SampleConfig(
        n=r.n,
        temperature=float(r.temperature),
        top_k=r.top_k,
        seed=r.seed,
        primer=primer,
        max_chars=r.max_chars,
        batch_size=r.batch_size,
        constrain=r.constrain,
        wrap_up=r.constrain and r.wrap_up,  # the bias is part of the grammar's help
        form=plan,
    )


def form_plan(
    form: str | None,
    bars,
    cadence: bool,
    constrain: bool,
    any_key: bool = False,
    rhyme: str | None = AUTO,
) -> FormPlan | None:
    """The `FormPlan` of ``form`` (auto, a pattern such as AABB, or none), ``bars_per_part``
    (None: 8; auto), ``cadence`` and ``rhyme`` (auto, always, never); None for any form.
    Without the grammar (`constrain` off) the default auto is dropped and a form asked for
    is refused.  `any_key`: the model chooses each tune's key, none is drawn."""
    form, rhyme = form or AUTO, rhyme or AUTO
    if rhyme not in RHYMES:
        raise OptionError("rhyme", f"{rhyme!r}: use {', '.join(RHYMES)}")
    asked = form != AUTO or bars is not None or not cadence or rhyme != AUTO
    if form == NO_FORM or (not constrain and not asked):
        return None
    if not constrain:
        raise OptionError("form", "a form, bars per part or no cadence needs the grammar")
    if bars is None:
        bars = DEFAULT_BARS
    if bars != AUTO and (isinstance(bars, bool) or not isinstance(bars, int)):
        raise OptionError("bars_per_part", f"must be {MIN_BARS}..{MAX_BARS} or auto, not {bars!r}")
    try:
        bars = None if bars == AUTO else bars
        return FormPlan(
            pattern=form,
            bars=bars,
            cadence=cadence,
            draw_keys=not any_key,
            phrasing=Phrasing(rhyme=rhyme),
        )
    except ValueError as exc:
        option = "bars_per_part" if "bars" in str(exc) else "form"
        raise OptionError(option, f"{exc} (or auto, or none)") from None


def in_order(
    tunes: Iterable[Sampled], first: int = 0, progress: Callable[[int], None] | None = None
) -> Iterator[Sampled]:
    """`tunes` (as the sampler finishes them) by index from `first`: each as soon as every
    tune before it has come.  `progress(k)` is called as the k-th tune finishes."""
    waiting: dict[int, Sampled] = {}
    wanted = first
    for done, tune in enumerate(tunes, start=1):
        if progress is not None:
            progress(done)
        waiting[tune.index] = tune
        while wanted in waiting:
            yield waiting.pop(wanted)
            wanted += 1
    yield from (waiting[i] for i in sorted(waiting))  # none, unless a tune went missing


def model_meters(run) -> list[str]:
    """The meters `run`'s model can write: spelt by its vocabulary and, when the run dir
    has a ``form.json``, used by its training corpus (a meter it never saw comes out as
    noise: ``e'e'e'e'`` bars of 12/8)."""
    from musicgen.form.stats import read_form_stats, read_key_stats
    from musicgen.grammar.words import METERS

    alphabet = set(run.vocab.chars)
    seen = {m for m, _ in read_form_stats(run.path)} | {m for m, _ in read_key_stats(run.path)}
    return [m for m in METERS if set(m) <= alphabet and (not seen or m in seen)]


def _for_model(meter: str | None, key: str | None, run) -> tuple[str | None, str | None]:
    """`meter` refused unless `run`'s model writes it; `key` spelt in its vocabulary."""
    if meter is not None:
        allowed = model_meters(run)
        if meter not in allowed:
            raise OptionError(
                "meter",
                f"{meter!r}: the model in {run.path} writes {', '.join(sort_meters(allowed))}",
            )
    if key and key != ANY_KEY:
        spelt = spell_key(key, run.vocab.chars)
        if spelt is None:
            raise OptionError("key", f"{key!r}: the model in {run.path} cannot spell it")
        key = spelt
    return meter, key


def _asked(key: str | None) -> str | None:
    return None if key == ANY_KEY else key


def _whole(value, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise OptionError(name, f"must be a whole number, {low} or more, not {value!r}")
