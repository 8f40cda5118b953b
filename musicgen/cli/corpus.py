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
    from musicgen.abc import read_corpus

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
    help="Corpus to test novelty against (no 4-bar run shared, no copy). Repeatable.",
)
@click.option("--no-abc2midi", is_flag=True, help="Do not ask abc2midi even if installed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--verbose", "-v", is_flag=True, help="Every problem of every tune, not the first.")
@handle_errors
def check(abc_file, reference, no_abc2midi, as_json, verbose):
    """Validity report of any ABC file, tune by tune, then a summary with rates.

    Per tune: does it parse (abc2midi if installed, else musicgen's lenient grammar), are the
    headers ABC requires there (X:, T:, K:), does every bar fit the meter, how many
    notes.  Exits 1 if any tune is invalid.
    """
    import json

    from musicgen.abc import read_corpus
    from musicgen.quality import NoveltyIndex, check_tunes, judge_name, summarize

    corpus = read_corpus([abc_file])
    _report_skipped(corpus)
    index = NoveltyIndex(read_corpus(reference).tunes) if reference else None
    reports = check_tunes(corpus.tunes, index, use_abc2midi=not no_abc2midi)
    summary = summarize(reports) | {"skipped": len(corpus.skipped)}
    summary["judge"] = judge_name(not no_abc2midi)
    if as_json:
        click.echo(json.dumps({"summary": summary, "tunes": [r.to_dict() for r in reports]}))
    else:
        for r in reports:
            _echo_tune_check(r, verbose)
        _echo_check_summary(summary)
    if summary["valid"] < summary["tunes"]:
        sys.exit(1)


def _echo_tune_check(r, verbose: bool) -> None:
    """One line per tune: verdicts, note count, first problem (all of them with -v)."""
    flags = ["valid" if r.valid else "INVALID", "bars ok" if r.bars_ok else "BARS"]
    if r.novel is not None:
        flags.append("COPY" if r.copy else ("novel" if r.novel else "borrows 4 bars"))
    problems = r.problems
    first = f"  {problems[0]}" if problems and not verbose else ""
    click.echo(f"{r.position:4d} {r.title[:30]:30} {', '.join(flags):22} {r.notes:5d} notes{first}")
    if verbose:
        for problem in problems:
            click.echo(f"       {problem}")


def _echo_check_summary(summary: dict) -> None:
    n = summary["tunes"]

    def rate(label: str, count: int) -> None:
        click.echo(f"{label:30} {count:5d}/{n:<5d} {100 * count / max(n, 1):5.1f}%")

    click.echo(f"tunes {n} (skipped {summary['skipped']}), notes {summary['notes']:,}")
    rate("valid", summary["valid"])
    rate(f"parses ({summary['judge']})", summary["parses"])
    rate("headers X: T: K:", summary["headers_ok"])
    rate("bars fit meter", summary["bars_ok"])
    rate("grammar accepts", summary["grammar_ok"])
    if "abc2midi_converts" in summary:
        rate("abc2midi: notes", summary["abc2midi_converts"])
        rate("abc2midi: no errors", summary["abc2midi_no_errors"])
    if "novel" in summary:
        rate("novel (no 4-bar run shared)", summary["novel"])
        rate("copies", summary["copies"])
