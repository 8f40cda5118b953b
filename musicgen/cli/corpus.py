"""Commands that read ABC files: ``data stats`` and ``check``."""

from __future__ import annotations

import sys
from collections import Counter

import click

from musicgen.cli.common import _corpus_paths, _report_skipped, handle_errors


@click.group()
def data() -> None:
    """Inspect ABC corpora."""


@data.command()
@click.argument("corpus", nargs=-1, type=click.Path())
@handle_errors
def stats(corpus):
    """Tunes, characters, vocabulary, meters and keys of ABC files; skipped tunes and why."""
    from musicgen.abc.corpus import read_corpus

    corpus_data = read_corpus(_corpus_paths(corpus))
    tunes = corpus_data.tunes
    texts = [t.text() for t in tunes]
    chars = Counter("".join(texts))
    click.echo(f"files       {len(corpus_data.files)}")
    click.echo(f"tunes       {len(tunes)}")
    total = sum(chars.values())
    click.echo(f"characters  {total:,} (mean {total / len(tunes):.0f} per tune)")
    click.echo(
        f"vocabulary  {len(chars)}: {''.join(sorted(chars)).encode('unicode_escape').decode()}"
    )
    click.echo("meters      " + _top(Counter(t.meter for t in tunes)))
    click.echo("keys        " + _top(Counter(t.key for t in tunes)))
    click.echo(f"skipped     {len(corpus_data.skipped)}")
    for skip in corpus_data.skipped:
        click.echo(f"  {skip}")


def _top(counter: Counter, n: int = 12) -> str:
    items = [f"{k} {v}" for k, v in counter.most_common(n)]
    rest = len(counter) - n
    return ", ".join(items) + (f", ... {rest} more" if rest > 0 else "")


@click.command()
@click.argument("abc_file", type=click.Path())
@click.option(
    "--against",
    "reference",
    multiple=True,
    type=click.Path(),
    help="Corpus to compare with: novelty (no 4-bar run shared, no copy), form rates side "
    "by side, MGEval overlaps of pitch-class, interval and note-length histograms. "
    "Repeatable.",
)
@click.option("--no-abc2midi", is_flag=True, help="Do not ask abc2midi even if installed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--verbose", "-v", is_flag=True, help="Every problem of every tune, not the first.")
@handle_errors
def check(abc_file, reference, no_abc2midi, as_json, verbose):
    """Validity and form report of any ABC file, tune by tune, then a summary with rates.

    Per tune: does it parse (abc2midi if installed, else musicgen's lenient grammar), are the
    headers ABC requires there (X:, T:, K:), does every bar fit the meter, its form (parts
    in letters, bars per part), how many notes.  Exits 1 if any tune is invalid.
    """
    import json

    from musicgen.abc.corpus import read_corpus
    from musicgen.evaluation.check import (
        NoveltyIndex,
        check_tunes,
        compare_with,
        judge_name,
        summarize,
    )

    corpus = read_corpus([abc_file])
    _report_skipped(corpus)
    against = read_corpus(reference).tunes if reference else None
    index = NoveltyIndex(against) if against else None
    reports = check_tunes(corpus.tunes, index, use_abc2midi=not no_abc2midi)
    summary = summarize(reports) | {"skipped": len(corpus.skipped)}
    summary["judge"] = judge_name(not no_abc2midi)
    compared = compare_with(reports, against) if against else None
    if as_json:
        out = {"summary": summary, "tunes": [r.to_dict() for r in reports]}
        click.echo(json.dumps(out | ({"against": compared} if compared else {})))
    else:
        for r in reports:
            _echo_tune_check(r, verbose)
        _echo_check_summary(summary)
        if compared:
            _echo_comparison(summary, compared, ", ".join(reference))
    if summary["valid"] < summary["tunes"]:
        sys.exit(1)


def _echo_tune_check(r, verbose: bool) -> None:
    """One line per tune: verdicts, form, note count, first problem (all of them with -v)."""
    flags = ["valid" if r.valid else "INVALID", "bars ok" if r.bars_ok else "BARS"]
    if r.key_error is not None:
        flags.append("KEY")
    if r.novel is not None:
        flags.append("COPY" if r.copy else ("novel" if r.novel else "borrows 4 bars"))
    problems = r.problems
    first = f"  {problems[0]}" if problems and not verbose else ""
    form = f"{r.form.letters or '-'} {'+'.join(str(p.bars) for p in r.form.parts)}"
    click.echo(
        f"{r.position:4d} {r.title[:30]:30} {', '.join(flags):22} {form:16} "
        f"{r.notes:5d} notes{first}"
    )
    if verbose:
        for problem in problems:
            click.echo(f"       {problem}")


def _echo_check_summary(summary: dict) -> None:
    from musicgen.form.analysis import RATES
    from musicgen.form.phrases import PHRASE_RATES

    n = summary["tunes"]

    def rate(label: str, count: int, of: int = n) -> None:
        click.echo(f"{label:30} {count:5d}/{of:<5d} {100 * count / max(of, 1):5.1f}%")

    click.echo(f"tunes {n} (skipped {summary['skipped']}), notes {summary['notes']:,}")
    rate("valid", summary["valid"])
    rate(f"parses ({summary['judge']})", summary["parses"])
    rate("headers X: T: K:", summary["headers_ok"])
    rate("bars fit meter", summary["bars_ok"])
    rate("K: names a key", summary["keys_ok"])
    rate("grammar accepts", summary["grammar_ok"])
    if "abc2midi_converts" in summary:
        rate("abc2midi: notes", summary["abc2midi_converts"])
        rate("abc2midi: no errors", summary["abc2midi_no_errors"])
    if "novel" in summary:
        rate("novel (no 4-bar run shared)", summary["novel"])
        rate("copies", summary["copies"])
    form = summary.get("form", {})
    for key, label in RATES if form else ():
        rate(label, form[key], form["with_b"] if key == "b_higher" else n)
    phrases = summary.get("phrases", {})
    for key, label, of in PHRASE_RATES if phrases else ():
        rate(label, phrases[key], phrases[of])


def _echo_comparison(summary: dict, compared: dict, name: str) -> None:
    """The file's form and phrase rates beside the reference corpus's, then the histogram
    overlaps."""
    from musicgen.form.analysis import RATES
    from musicgen.form.phrases import PHRASE_RATES

    ours, theirs = summary["form"], compared["form"]
    n, m = summary["tunes"], compared["tunes"]
    click.echo(f"against {name} ({m} tunes)")
    click.echo(f"{'':30} {'this file':>10} {'corpus':>10}")
    for key, label in RATES:
        of = (ours["with_b"], theirs["with_b"]) if key == "b_higher" else (n, m)
        shown = [
            f"{100 * k / d:9.1f}%" if d else f"{'-':>10}"
            for k, d in zip((ours[key], theirs[key]), of, strict=True)
        ]
        click.echo(f"{label:30} {' '.join(shown)}")
    ours, theirs = summary["phrases"], compared["phrases"]
    for key, label, of in PHRASE_RATES:
        shown = [f"{100 * c[key] / c[of]:9.1f}%" if c[of] else f"{'-':>10}" for c in (ours, theirs)]
        click.echo(f"{label:30} {' '.join(shown)}")
    click.echo(f"{'overlap (1.0 = the same)':30} {'MGEval OA':>10} {'pooled':>10}  tunes")
    for o in compared["overlaps"]:
        click.echo(
            f"{o['histogram']:30} {o['area']:10.3f} {o['pooled']:10.3f}  "
            f"{o['tunes']}/{o['reference_tunes']}"
        )
