"""The training corpus's forms, per meter, kept in the run dir for ``sample --form auto``.

`form_distribution` reads every tune's form with `musicgen.form.analysis` and counts, per meter,
how many tunes have each (pattern, bars per part): ``{"6/8": {"AABB 8": 120, ...}}``.
Only tunes whose parts all have the same length, in a pattern a plan can ask for
(`musicgen.form.plan.usable`), are counted; the rest are counted as ``skipped``.
It also counts every tune's key per meter (``"keys": {"6/8": {"G Major": 50, ...}}``).
`write_form_stats` stores it as ``form.json`` (atomically); `read_form_stats` turns it
back into the ``choices`` of a `FormPlan` (or ``()`` when a run dir has none), each
written form as it is played (`played`: every distinct part twice, ``AB`` -> ``AABB``),
and `read_key_stats` into its ``keys`` (``()`` for a form.json written before keys).

For an existing run dir: ``python -m musicgen.form.stats RUN CORPUS...``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from musicgen.errors import RunDirError
from musicgen.files import reason, write_text
from musicgen.form.plan import usable

FORM_FILE = "form.json"
VERSION = 1


def form_distribution(tunes) -> dict:
    """Per meter, how many of `tunes` (`musicgen.abc.tunes.Tune`) have each form.  Pure.

    Returns ``{"version": 1, "tunes": n, "skipped": k, "meters": {meter: {"AABB 8": c}},
    "keys": {meter: {"G Major": c}}}``.
    """
    from musicgen.form.analysis import form_of

    meters: dict[str, Counter] = {}
    keys: dict[str, Counter] = {}
    skipped = total = 0
    for tune in tunes:
        total += 1
        keys.setdefault(tune.meter, Counter())[tune.key] += 1
        form = form_of(tune)
        lengths = {part.bars for part in form.parts}
        if len(lengths) != 1 or not usable(form.letters, next(iter(lengths))):
            skipped += 1
            continue
        meters.setdefault(tune.meter, Counter())[f"{form.letters} {lengths.pop()}"] += 1
    return {
        "version": VERSION,
        "tunes": total,
        "skipped": skipped,
        "meters": {m: dict(c.most_common()) for m, c in sorted(meters.items())},
        "keys": {m: dict(c.most_common()) for m, c in sorted(keys.items())},
    }


def write_form_stats(run_dir, tunes) -> Path:
    """Write ``form.json`` (the `form_distribution` of `tunes`) into `run_dir`."""
    path = Path(run_dir) / FORM_FILE
    write_text(path, json.dumps(form_distribution(tunes), indent=1) + "\n")
    return path


def played(pattern: str) -> str:
    """The form a session plays for a written one: each distinct part, in order, twice.

    ``AB`` (two parts written out once), ``AAB`` and ``AABB`` are all played ``AABB``;
    ``ABC`` is ``AABBCC``; a part that comes back later (``AABBCCBB``) is not a new part.
    So ``auto`` draws the number of parts and their length from the corpus, and repeats
    every part as the tradition does.
    """
    distinct = dict.fromkeys(pattern)
    return "".join(letter * 2 for letter in distinct)


def read_form_stats(run_dir) -> tuple:
    """The ``choices`` of a `FormPlan` from `run_dir`'s ``form.json``: ((meter, ((pattern,
    bars, tunes), ...)), ...), each pattern as `played`; ``()`` when there is none.  A
    damaged file is a `RunDirError` naming it."""
    path = Path(run_dir) / FORM_FILE
    if not path.exists():
        return ()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        choices = []
        for meter, counts in data["meters"].items():
            options: Counter = Counter()
            for form, count in counts.items():
                pattern, bars = form.split()
                pattern = played(pattern)
                if usable(pattern, int(bars)) and int(count) > 0:
                    options[(pattern, int(bars))] += int(count)
            choices.append((meter, tuple((p, b, c) for (p, b), c in options.most_common())))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RunDirError(f"{path}: not a form table ({reason(exc)})") from None
    return tuple(choices)


def read_key_stats(run_dir) -> tuple:
    """The ``keys`` of a `FormPlan` from `run_dir`'s ``form.json``: ((meter, ((key,
    tunes), ...)), ...); ``()`` when there is none or it predates keys.  A damaged file
    is a `RunDirError` naming it."""
    path = Path(run_dir) / FORM_FILE
    if not path.exists():
        return ()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data.get("keys", {}).items()
        return tuple(
            (meter, tuple((str(k), int(c)) for k, c in counts.items() if int(c) > 0))
            for meter, counts in rows
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RunDirError(f"{path}: not a form table ({reason(exc)})") from None


def main(argv=None) -> int:
    """``python -m musicgen.form.stats RUN CORPUS...``: write RUN/form.json."""
    from musicgen.abc.corpus import read_corpus

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        sys.stderr.write("usage: python -m musicgen.form.stats RUN CORPUS...\n")
        return 2
    path = write_form_stats(args[0], read_corpus(args[1:]).tunes)
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
