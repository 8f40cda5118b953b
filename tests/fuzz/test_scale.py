"""``make fuzz``: many generated cases per target, in-process, seeded, bounded in time.

Skipped unless ``MUSICGEN_FUZZ`` gives the number of cases per target (``make fuzz``:
10000).  Each case mutates real tunes (byte flips, truncation, insertion, NUL bytes,
control characters, deep brackets) or a run directory's files and calls the library
function a command uses.  Pass: it returns, or raises a `MusicgenError` whose message is
one line; any other exception is a failure.  Good tunes beside the mutated one must
still load.  Per-target counts and ``fuzz: N passed, M failed`` are printed at the end.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter

import numpy as np
import pytest

from musicgen.abc import parse_abc, read_corpus
from musicgen.errors import MusicgenError
from tests.conftest import CORPUS, JIG, REEL

CASES = int(os.environ.get("MUSICGEN_FUZZ", "0"))
SECONDS = float(os.environ.get("MUSICGEN_FUZZ_SECONDS", "120"))  # per target, at most
pytestmark = pytest.mark.skipif(not CASES, reason="set MUSICGEN_FUZZ=N (make fuzz)")
PASSED: Counter = Counter()
FAILED: Counter = Counter()
FAILURES: list[str] = []

_TUNES = [JIG, REEL, *(t.abc(10 + i) for i, t in enumerate(read_corpus([CORPUS]).tunes[:40:8]))]
_JUNK = ["\x00", "\x1b", "[", "(", "|", ":", '"', "!", "^", "\ufffd", "K:", "M:", "\n", "3", "/"]


def mutate(rng: np.random.Generator, text: str) -> str:
    """One random mutation of `text`."""
    kind = rng.integers(7)
    pos = int(rng.integers(len(text) + 1))
    if kind == 0 and text:  # flip a character to a random code point
        pos = min(pos, len(text) - 1)
        return text[:pos] + chr(int(rng.integers(1, 0x3000))) + text[pos + 1 :]
    if kind == 1:
        return text[:pos]
    if kind == 2:
        junk = "".join(rng.choice(_JUNK, size=int(rng.integers(1, 8))))
        return text[:pos] + junk + text[pos:]
    if kind == 3:
        return text[:pos] + "[" * int(rng.integers(1, 500)) + text[pos:]
    if kind == 4:
        end = pos + int(rng.integers(1, 40))
        return text[:pos] + text[end:]
    if kind == 5:
        return text[:pos] + "".join(chr(int(c)) for c in rng.integers(0, 32, 5)) + text[pos:]
    return text[:pos] + text[pos:][::-1]


def case_file(rng) -> tuple[str, int]:
    """A file of the real tunes with one mutated; returns (text, index of the victim)."""
    victim = int(rng.integers(len(_TUNES)))
    tunes = list(_TUNES)
    tunes[victim] = mutate(rng, tunes[victim])
    return "\n".join(tunes), victim


def _drive(target: str, one_case) -> None:
    """Run `one_case(rng)` CASES times (or until the time bound); tally passes and failures."""
    rng = np.random.default_rng(
        ["loader", "check", "render", "evaluate", "sample"].index(target)
        if target != "rundir"
        else 99
    )
    deadline = time.monotonic() + SECONDS
    for n in range(CASES):
        if time.monotonic() > deadline:
            break
        try:
            one_case(rng)
        except MusicgenError as exc:
            if "\n" in str(exc).strip():
                _fail(target, n, f"multi-line error: {str(exc)[:200]!r}")
                continue
        except Exception as exc:  # noqa: BLE001 - any other exception is the finding
            _fail(target, n, f"{type(exc).__name__}: {str(exc)[:200]}")
            continue
        PASSED[target] += 1


def _fail(target: str, n: int, why: str) -> None:
    FAILED[target] += 1
    if len(FAILURES) < 20:
        FAILURES.append(f"{target} case {n}: {why}")


@pytest.fixture(scope="module", autouse=True)
def report(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    for target in ("loader", "check", "render", "evaluate", "sample", "rundir"):
        line = f"fuzz {target:9} {PASSED[target] + FAILED[target]:>6} cases, "
        reporter.write_line(line + f"{FAILED[target]} failed")
    for failure in FAILURES:
        reporter.write_line(f"  {failure}")
    total = sum(PASSED.values())
    reporter.write_line(f"fuzz: {total} passed, {sum(FAILED.values())} failed")


def _good_titles_survive(text: str, victim: int) -> None:
    tunes, _ = parse_abc(text, "case.abc")
    titles = {t.title for t in tunes}
    for i, tune in enumerate(_TUNES):
        title = tune.split("\nT:", 1)[1].split("\n", 1)[0]
        if i != victim and title not in titles:
            raise AssertionError(f"good tune {title!r} lost beside a bad one")


def test_loader():
    def one(rng):
        text, victim = case_file(rng)
        _good_titles_survive(text, victim)

    _drive("loader", one)
    assert not FAILED["loader"]


def test_check():
    from musicgen.quality import check_tunes

    def one(rng):
        tunes, _ = parse_abc(case_file(rng)[0], "case.abc")
        check_tunes(tunes, None, use_abc2midi=False)

    _drive("check", one)
    assert not FAILED["check"]


def test_render():
    from musicgen.midi import tune_to_midi

    def one(rng):
        tunes, _ = parse_abc(case_file(rng)[0], "case.abc")
        for tune in tunes:
            try:
                tune_to_midi(tune.abc())
            except MusicgenError as exc:
                if "\n" in str(exc).strip():
                    raise

    _drive("render", one)
    assert not FAILED["render"]


@pytest.fixture(scope="module")
def run(tiny_run):
    from musicgen.rundir import load_run

    return load_run(tiny_run)


def test_evaluate(run):
    from musicgen.evaluate import evaluate

    def one(rng):
        tunes, _ = parse_abc(case_file(rng)[0], "case.abc")
        result = evaluate(run, tunes)
        assert result.tunes + result.skipped == len(tunes)

    _drive("evaluate", one)
    assert not FAILED["evaluate"]


def test_sample_primer(run):
    from musicgen.sample import SampleConfig, Sampler

    sampler = Sampler(run)
    chars = [c for c in run.vocab.chars if len(c) == 1] + ["€", "\x00"]

    def one(rng):
        primer = "".join(rng.choice(chars, size=int(rng.integers(0, 10))))
        if rng.random() < 0.5:
            primer = "M:6/8\nL:1/8\nK:G\n" + primer
        config = SampleConfig(n=1, primer=primer, max_chars=len(primer) + 2, batch_size=1)
        constrain = bool(rng.random() < 0.8)
        list(sampler.generate(SampleConfig(**{**config.__dict__, "constrain": constrain})))

    _drive("sample", one)
    assert not FAILED["sample"]


def test_damaged_run_dirs(tiny_run, tmp_path):
    from musicgen.rundir import load_run

    names = ["config.json", "vocab.json", "history.csv", "split.json"]
    originals = {n: (tiny_run / n).read_bytes() for n in names if (tiny_run / n).exists()}
    target = tmp_path / "run"
    shutil.copytree(tiny_run, target)

    def one(rng):
        for name, data in originals.items():  # restore, then damage one file
            (target / name).write_bytes(data)
        name = str(rng.choice(sorted(originals)))
        data = originals[name].decode("utf-8", "replace")
        if rng.random() < 0.1:
            (target / name).unlink()
        else:
            (target / name).write_bytes(mutate(rng, data).encode("utf-8", "surrogatepass"))
        load_run(target)

    _drive("rundir", one)
    assert not FAILED["rundir"]
