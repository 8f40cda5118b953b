"""The training corpus's forms, per meter, kept in the run dir for ``sample --form auto``.

`form_distribution` reads every tune's form with `musicgen.form.analysis` and counts, per meter,
how many tunes have each (pattern, bars per part): ``{"6/8": {"AABB 8": 120, ...}}``.
Only tunes whose parts all have the same length, in a pattern a plan can ask for
(`musicgen.form.plan.usable`), are counted; the rest are counted as ``skipped``.
It also counts every tune's key per meter (``"keys": {"6/8": {"G Major": 50, ...}}``),
and (version 2, issue 14) how its parts end and rhyme, per meter: ``"endings"`` (each
distinct part's last note, semitones above the tonic, by role: ``first``, ``middle``,
``last``), ``"rhymes"`` (``[alike, of]``: tunes whose B part's last bar is the A part's,
of those whose A and B parts end on the same note) and ``"echoes"`` (``[echo, of]``:
parts whose bar 5 opens as bar 1, of parts of 5 bars or more), as
`musicgen.form.phrases` measures them.  `read_phrasing` turns them into a
`musicgen.form.cadence.Phrasing` (the bundled corpus's rates for a version-1 file).
`write_form_stats` stores it as ``form.json`` (atomically); `read_form_stats` turns it
back into the ``choices`` of a `FormPlan` (or ``()`` when a run dir has none), each
written form as it is played (`played`: every distinct part twice, ``AB`` -> ``AABB``),
and `read_key_stats` into its ``keys`` (``()`` for a form.json written before keys).

For an existing run dir (or one whose form.json predates version 2):
``python -m musicgen.form.stats RUN CORPUS...``.
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
VERSION = 2  # 2: part endings, rhymes and echoes (issue 14)


def form_distribution(tunes) -> dict:
    """Per meter, how many of `tunes` (`musicgen.abc.tunes.Tune`) have each form.  Pure.

    Returns ``{"version": 1, "tunes": n, "skipped": k, "meters": {meter: {"AABB 8": c}},
    "keys": {meter: {"G Major": c}}}``.
    """
    from musicgen.form.analysis import form_of

    meters: dict[str, Counter] = {}
    keys: dict[str, Counter] = {}
    phrasing = _PhraseCounts()
    skipped = total = 0
    for tune in tunes:
        total += 1
        keys.setdefault(tune.meter, Counter())[tune.key] += 1
        form = form_of(tune)
        phrasing.add(tune.meter, form)
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
    } | phrasing.table()


class _PhraseCounts:
    """Per meter: distinct parts' endings by role, rhymes and echoes (`form_distribution`)."""

    def __init__(self):
        self.endings: dict[str, dict[str, Counter]] = {}
        self.rhymes: dict[str, list[int]] = {}
        self.echoes: dict[str, list[int]] = {}

    def add(self, meter: str, form) -> None:
        from musicgen.form.cadence import FIRST, LAST, MIDDLE
        from musicgen.form.phrases import phrases_of

        letters = [p.letter for p in form.parts]
        firsts = [form.part_notes[letters.index(x)] for x in dict.fromkeys(letters)]
        roles = self.endings.setdefault(meter, {})
        for i, part in enumerate(firsts):
            role = LAST if i == len(firsts) - 1 else FIRST if i == 0 else MIDDLE
            if part.last_interval is not None:
                roles.setdefault(role, Counter())[str(part.last_interval)] += 1
        phrases = phrases_of(form)
        if len(firsts) > 1 and firsts[0].last_interval == firsts[1].last_interval:
            row = self.rhymes.setdefault(meter, [0, 0])
            row[0] += bool(phrases.ends_alike)
            row[1] += 1
        row = self.echoes.setdefault(meter, [0, 0])
        row[0] += phrases.echoes
        row[1] += phrases.echo_parts

    def table(self) -> dict:
        endings = {
            meter: {role: dict(c.most_common()) for role, c in sorted(roles.items())}
            for meter, roles in sorted(self.endings.items())
        }
        return {
            "endings": endings,
            "rhymes": dict(sorted(self.rhymes.items())),
            "echoes": dict(sorted(self.echoes.items())),
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


def read_phrasing(run_dir, rhyme: str = "auto"):
    """The `musicgen.form.cadence.Phrasing` of `run_dir`'s ``form.json`` (with the user's
    `rhyme`); empty tables (the bundled corpus's rates) when there is none or it predates
    version 2.  A damaged file is a `RunDirError` naming it."""
    from musicgen.form.cadence import Phrasing

    path = Path(run_dir) / FORM_FILE
    if not path.exists():
        return Phrasing(rhyme=rhyme)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        endings = tuple(
            (meter, tuple((role, _counts(c)) for role, c in roles.items()))
            for meter, roles in data.get("endings", {}).items()
        )
        rhymes, echoes = (
            tuple((meter, (int(hit), int(of))) for meter, (hit, of) in data.get(name, {}).items())
            for name in ("rhymes", "echoes")
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RunDirError(f"{path}: not a form table ({reason(exc)})") from None
    return Phrasing(endings, rhymes, echoes, rhyme)


def _counts(counts: dict) -> tuple:
    return tuple((int(k), int(c)) for k, c in counts.items() if int(c) > 0)


def _trained_on(run_dir, tunes):
    """The tunes `run_dir` trained on, by its ``split.json`` (`musicgen.run.split`, which
    this layer may not import: its ``train`` ids), when `tunes` has as many tunes as the
    corpus it records; else all of `tunes`."""
    path = Path(run_dir) / "split.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        if record is not None and record["corpus"]["tunes"] == len(tunes):
            tunes = [tunes[int(i)] for i in record["train"]]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise RunDirError(f"{path}: unreadable split record ({reason(exc)})") from None
    _trained_on.counted = len(tunes)
    return tunes


def main(argv=None) -> int:
    """``python -m musicgen.form.stats RUN CORPUS...``: write RUN/form.json."""
    from musicgen.abc.corpus import read_corpus

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        sys.stderr.write("usage: python -m musicgen.form.stats RUN CORPUS...\n")
        return 2
    tunes = read_corpus(args[1:]).tunes
    path = write_form_stats(args[0], _trained_on(args[0], tunes))
    sys.stdout.write(f"{path} ({_trained_on.counted} tunes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
