"""Garbage in, one clear line out: mutated real tunes through every command that reads ABC.

Each case is a file of real tunes in which one tune is mutated (byte flips, truncation,
random insertion, NUL bytes, invalid UTF-8, deep brackets...).  Whatever the mutation, no
command may raise a traceback; the tunes left alone must still be processed; every tune
that is skipped is reported with the file and a line inside the mutated tune.

The number of cases each target ran is printed at the end of the module (``pytest -s``).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.abc.corpus import read_corpus
from musicgen.abc.tunes import parse_abc
from musicgen.cli import main
from tests.conftest import CORPUS, HORNPIPE_WITH_OLD_MARKERS, JIG, REEL

CASES: Counter = Counter()  # target -> cases run, reported at the end of the module


def fuzz(cases: int):
    """Hypothesis settings for `cases` cases; no deadline (a CLI call may take a second)."""
    return settings(max_examples=cases, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _real_tunes() -> list[str]:
    """Eight real tunes with distinct titles: three fixtures and five from the corpus."""
    corpus = read_corpus([CORPUS]).tunes
    picked = [corpus[i].abc(10 + n) for n, i in enumerate((5, 150, 300, 450, 600))]
    return [JIG, REEL, HORNPIPE_WITH_OLD_MARKERS, *picked]


TUNES = _real_tunes()
TITLES = [re.search(r"^T:(.*)$", t, re.M).group(1) for t in TUNES]
BAD_UTF8 = [b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]


@st.composite
def mutation(draw, data: bytes) -> bytes:
    """One mutation of `data`: what scraping, bad encodings and broken disks do to files."""
    kind = draw(
        st.sampled_from(
            ["flip", "truncate", "insert", "nul", "utf8", "nest", "text", "delete", "control"]
        )
    )
    pos = draw(st.integers(0, len(data)))
    if kind == "flip" and data:
        pos = min(pos, len(data) - 1)
        bit = draw(st.integers(0, 7))
        return data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1 :]
    if kind == "truncate":
        return data[:pos]
    if kind == "insert":
        return data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
    if kind == "nul":
        return data[:pos] + b"\x00" * draw(st.integers(1, 4)) + data[pos:]
    if kind == "utf8":
        return data[:pos] + draw(st.sampled_from(BAD_UTF8)) + data[pos:]
    if kind == "nest":
        opener = draw(st.sampled_from(["[", "(", "{", '"', "!", "[K:", "(3"]))
        depth = draw(st.integers(1, 3000))
        closer = {"[": "]", "(": ")", "{": "}"}.get(opener, "")
        inner = draw(st.sampled_from(["", "A", "c2", "|"]))
        return data[:pos] + (opener * depth + inner + closer * depth).encode() + data[pos:]
    if kind == "text":
        alphabet = st.sampled_from(list("ABCDEFGabcdefgz,'^=_/|:[]()<>{}\"!%\\~.-+0123456789 \n"))
        chunk = draw(st.text(alphabet, max_size=40) | st.text(max_size=12))
        return data[:pos] + chunk.encode("utf-8", "surrogatepass") + data[pos:]
    if kind == "control":
        return (
            data[:pos]
            + bytes([draw(st.sampled_from([1, 2, 3, 8, 11, 12, 27, 31, 127]))])
            + data[pos:]
        )
    end = draw(st.integers(pos, min(len(data), pos + 40)))
    return data[:pos] + data[end:]  # delete


@st.composite
def mutated_file(draw, max_tunes: int = len(TUNES)):
    """(file bytes, good titles, first line and line span of the mutated tune)."""
    count = draw(st.integers(2, max_tunes))
    chosen = draw(st.permutations(range(len(TUNES))))[:count]
    victim = draw(st.integers(0, count - 1))
    data = TUNES[chosen[victim]].encode()
    for _ in range(draw(st.integers(1, 4))):
        data = draw(mutation(data))
    parts = [TUNES[i].encode() for i in chosen]
    parts[victim] = data
    # Two newlines between tunes: a blank line survives even a truncated final newline.
    first_line = sum(p.count(b"\n") + 2 for p in parts[:victim]) + 1
    span = data.count(b"\n") + data.count(b"\r") + 1
    good = [TITLES[i] for n, i in enumerate(chosen) if n != victim]
    return b"\n\n".join(parts), good, first_line, span


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    print(f"\nfuzz cases run: {dict(CASES)} = {sum(CASES.values())} in {seconds:.0f}s")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _skips_are_in_the_victim(skipped, path: Path, first_line: int, span: int) -> None:
    for skip in skipped:
        assert skip.source == str(path)
        assert first_line <= skip.line <= first_line + span, (skip, first_line, span)
        assert skip.reason


def _run(*args):
    """Invoke the CLI in-process; a traceback (any exception but SystemExit) fails."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback from {args}: {result.output}") from result.exception
    assert result.exit_code in (0, 1), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) <= 1 and (not errors or result.output.endswith(errors[0] + "\n"))
    return result


def _reported(output: str, path: Path, first_line: int, span: int) -> list[int]:
    """Lines of the tunes a command skipped as bad ABC, each checked to be in the victim.

    (``evaluate`` also skips good tunes with characters the model never saw: not counted.)
    """
    found = re.finditer(rf"^  {re.escape(str(path))}:(\d+): (?!unknown characters)", output, re.M)
    lines = [int(m.group(1)) for m in found]
    assert all(first_line <= line <= first_line + span for line in lines), output
    return lines


def _skipped_header(output: str) -> int:
    """N of the ``skipped N tunes:`` header that train, render, check and evaluate print."""
    match = re.search(r"^skipped (\d+) tunes?:$", output, re.M)
    return int(match.group(1)) if match else 0


@fuzz(600)
@given(case=mutated_file())
def test_loader_keeps_good_tunes_and_locates_bad_ones(folder, case):
    data, good, first_line, span = case
    CASES["loader"] += 1
    path = folder / "loader.abc"
    path.write_bytes(data)
    corpus = read_corpus([path])
    titles = [t.title for t in corpus.tunes]
    assert all(title in titles for title in good)
    _skips_are_in_the_victim(corpus.skipped, path, first_line, span)
    for tune in corpus.tunes:  # nothing undecodable or control-like reaches a tune
        assert not re.search("[\x00-\x08\x0b-\x1f\ud800-\udfff]", tune.text() + tune.title)


@fuzz(150)
@given(case=mutated_file())
def test_data_stats_never_crashes(folder, case):
    data, good, first_line, span = case
    CASES["data stats"] += 1
    path = folder / "stats.abc"
    path.write_bytes(data)
    result = _run("data", "stats", path)
    assert result.exit_code == 0
    tunes = int(re.search(r"^tunes +(\d+)", result.output, re.M).group(1))
    skipped = int(re.search(r"^skipped +(\d+)", result.output, re.M).group(1))
    assert tunes >= len(good)
    assert len(_reported(result.output, path, first_line, span)) == skipped


@fuzz(60)
@given(case=mutated_file(max_tunes=3))
def test_check_never_crashes(folder, case):
    data, good, first_line, span = case
    CASES["check"] += 1
    path = folder / "check.abc"
    path.write_bytes(data)
    result = _run("check", path)
    tunes = int(re.search(r"^tunes +(\d+)", result.output, re.M).group(1))
    skipped = int(re.search(r"\(skipped (\d+)\)", result.output).group(1))
    assert tunes >= len(good)
    assert len(_reported(result.output, path, first_line, span)) == min(skipped, 10)


@fuzz(60)
@given(case=mutated_file(max_tunes=3))
def test_render_never_crashes_and_writes_the_good_tunes(folder, case):
    data, good, first_line, span = case
    CASES["render"] += 1
    path = folder / "render.abc"
    path.write_bytes(data)
    out = folder / "render-out"
    result = _run("render", path, "--out", out, "--format", "abc,mid", "--force")
    assert result.exit_code == 0, result.output
    reported = _reported(result.output, path, first_line, span)
    assert len(reported) == min(_skipped_header(result.output), 10)
    written = {p.stem.split("-", 1)[1] for p in out.glob("*.mid")}
    for title in good:
        assert re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") in written


@fuzz(20)
@given(case=mutated_file(max_tunes=3))
def test_evaluate_never_crashes(folder, tiny_run, case):
    data, good, first_line, span = case
    CASES["evaluate"] += 1
    path = folder / "evaluate.abc"
    path.write_bytes(data)
    result = _run("evaluate", "--run", tiny_run, path)
    if result.exit_code == 1:  # nothing left to score: one line that says why
        assert result.output.startswith("Error: nothing to score"), result.output
        assert result.output.count("\n") == 1
        return
    assert result.exit_code == 0, result.output
    tunes = int(re.search(r"^tunes +(\d+)", result.output, re.M).group(1))
    skipped = int(re.search(r"^skipped +(\d+)", result.output, re.M).group(1))
    assert tunes + skipped >= len(good)
    listed = re.findall(rf"^  {re.escape(str(path))}:\d+: ", result.output, re.M)
    assert len(listed) == min(skipped, 10)  # one count, and the reasons under it
    _reported(result.output, path, first_line, span)


HEADER = "M:6/8\nL:1/8\nK:G\n"


@st.composite
def primers(draw) -> str:
    """A real header and first bar, mutated; or arbitrary text."""
    base = draw(st.sampled_from([HEADER, HEADER + "GAB c2d|", "M:C\\nK:D\\n", ""]))
    data = base.encode()
    for _ in range(draw(st.integers(0, 3))):
        data = draw(mutation(data))
    primer = data.decode("utf-8", "replace")
    return draw(st.just(primer) | st.text(max_size=30) | st.just(primer[:1] * 5000))


@fuzz(40)
@given(primer=primers())
def test_sample_primer_never_crashes(folder, tiny_run, primer):
    CASES["sample --primer"] += 1
    out = folder / "sample-out"
    args = ("sample", "--run", tiny_run, "--primer", primer, "-n", 1, "--max-chars", 60)
    result = _run(*args, "--out", out, "--format", "abc", "--force", "--quiet", "--seed", 1)
    if result.exit_code == 1:
        assert result.output.splitlines()[-1].startswith("Error: ")
    for written in out.glob("0*.abc"):
        assert len(read_corpus([written]).tunes) == 1


# Big inputs: explicit cases, each a few seconds at most.


def test_ten_megabyte_single_line_is_skipped_and_reported(tmp_path):
    path = tmp_path / "big.abc"
    path.write_text(JIG + "\nX:2\nT:Endless\nM:6/8\nK:G\n" + "GAB c2d|" * 1_250_000 + "\n")
    started = time.perf_counter()
    corpus = read_corpus([path])
    assert [t.title for t in corpus.tunes] == ["Tiny Jig"]
    assert str(corpus.skipped[0]) == (
        f"{path}:8: 10,000,025 characters long: not one tune (limit 20,000)"
    )
    for args in (("data", "stats"), ("check",), ("render", "--out", tmp_path / "o")):
        result = _run(*args, path)
        assert f"{path}:8: 10,000,025 characters long" in result.output
    assert time.perf_counter() - started < 20


def test_ten_megabyte_line_without_newline_or_header(tmp_path):
    path = tmp_path / "noise.abc"
    path.write_bytes(JIG.encode() + b"\n" + b"A!" * 5_000_000)
    started = time.perf_counter()
    result = _run("data", "stats", path)
    assert "tunes       1" in result.output
    assert f"{path}:8: no header" in result.output
    assert time.perf_counter() - started < 10


def test_hundred_thousand_tiny_tunes(tmp_path):
    path = tmp_path / "many.abc"
    path.write_text("".join(f"X:{i}\nT:T{i}\nK:G\nA{i % 7}B|\n\n" for i in range(100_000)))
    started = time.perf_counter()
    assert len(read_corpus([path]).tunes) == 100_000
    result = _run("data", "stats", path)
    assert "tunes       100000" in result.output
    # Not a speed target (make bench measures speed): a loader that went quadratic in the
    # number of tunes would take hours here, a linear one seconds even on a busy machine.
    assert time.perf_counter() - started < 120


def test_deep_nesting_and_a_long_title_do_not_break_commands(tmp_path, tiny_run):
    deep = "[" * 4000 + "A" + "]" * 4000 + "\n" + "(" * 2000 + "B" + ")" * 2000 + "\n"
    deep += '"' * 999 + "{" * 2000 + "c" + "}" * 2000 + "|\n"
    title = "Long Title " * 100  # a file name of 1,100 characters would fail to write
    path = tmp_path / "deep.abc"
    path.write_text(f"X:1\nT:Deep\nK:G\n{deep}\nX:2\nT:{title}\nK:G\nABc|\n\n{JIG}")
    assert [t.title for t in read_corpus([path]).tunes] == ["Deep", title.strip(), "Tiny Jig"]
    for args in (("data", "stats"), ("check",), ("evaluate", "--run", tiny_run)):
        assert "tunes" in _run(*args, path).output
    out = tmp_path / "o"
    result = _run("render", path, "--out", out, "--format", "abc,mid")
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("00[123]-*.abc"))) == 3


def test_a_whole_binary_file_is_one_error_with_its_offset(tmp_path):
    path = tmp_path / "image.abc"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    for args in (("data", "stats"), ("check",), ("render", "--out", tmp_path / "o")):
        result = _run(*args, path)
        assert result.exit_code == 1
        assert result.output == f"Error: {path}: not UTF-8 text (byte 0x89 at offset 0)\n"


def test_bad_bytes_skip_only_their_tune():
    text = JIG + "\n" + REEL.replace("dAFA", "dA\udce9A") + "\n" + HORNPIPE_WITH_OLD_MARKERS
    tunes, skipped = parse_abc(text, "mixed.abc")
    assert [t.title for t in tunes] == ["Tiny Jig", "Old Markers"]
    assert [str(s) for s in skipped] == ["mixed.abc:8: not UTF-8 text at line 13 (byte 0xe9)"]
