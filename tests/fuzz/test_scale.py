"""``make fuzz``: many generated cases per target, in-process, seeded, bounded in time
(``MUSICGEN_FUZZ_SECONDS``, 840 by default, for all targets together).

Skipped unless ``MUSICGEN_FUZZ`` gives the number of cases per target (``make fuzz``:
10000).  Each case mutates real tunes (byte flips, truncation, insertion, NUL bytes,
control characters, deep brackets), a run directory's files or a studio request, and
calls the library function a command uses (the studio: its ASGI app, through Starlette's
test client).  Pass: it returns, or raises a `MusicgenError` whose message is one line
(the studio: a 4xx answer with a one-line error, never a 500); any other exception is a
failure.  Good tunes beside the mutated one must still be processed.  Cases are cheap so
that 10,000 per target fit in minutes: short tunes where the cost is per character, and
`evaluate` scores its cases in batches, as the command does.  Per-target counts and times
and ``fuzz: N passed, M failed`` are printed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
import warnings
from collections import Counter

import numpy as np
import pytest

from musicgen.abc.corpus import read_corpus
from musicgen.abc.tunes import parse_abc
from musicgen.errors import MusicgenError
from tests.conftest import CORPUS, HORNPIPE_WITH_OLD_MARKERS, JIG, REEL

CASES = int(os.environ.get("MUSICGEN_FUZZ", "0"))
# All targets together, at most: each gets an equal share of what the ones before it left.
SECONDS = float(os.environ.get("MUSICGEN_FUZZ_SECONDS", "840"))
pytestmark = pytest.mark.skipif(not CASES, reason="set MUSICGEN_FUZZ=N (make fuzz)")
TARGETS = ("loader", "check", "render", "evaluate", "sample", "rundir", "studio")
PASSED: Counter = Counter()
FAILED: Counter = Counter()
TIMES: dict[str, tuple] = {}  # target: (seconds, CPU seconds, stopped by the bound, bound)
FAILURES: list[str] = []

_TUNES = [JIG, REEL, *(t.abc(10 + i) for i, t in enumerate(read_corpus([CORPUS]).tunes[:40:8]))]
_SHORT = [JIG, REEL, HORNPIPE_WITH_OLD_MARKERS]  # where a case costs per character
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


def case_file(rng, pool=None) -> tuple[str, int]:
    """A file of the real tunes with one mutated; returns (text, index of the victim)."""
    tunes = list(pool or _TUNES)
    victim = int(rng.integers(len(tunes)))
    tunes[victim] = mutate(rng, tunes[victim])
    return "\n".join(tunes), victim


def case_pair(rng) -> list:
    """One mutated tune (any of the real ones) followed by a good one, parsed: the good
    tune must be processed whatever its neighbour does."""
    bad = mutate(rng, _TUNES[int(rng.integers(len(_TUNES)))])
    return parse_abc(bad + "\n\n" + _SHORT[int(rng.integers(2))], "case.abc")[0]


def _outcome(target: str, n: int, call) -> bool:
    """Run `call()`; tally a failure (and return False) unless it passes."""
    try:
        call()
    except MusicgenError as exc:
        if "\n" in str(exc).strip():
            _fail(target, n, f"multi-line error: {str(exc)[:200]!r}")
            return False
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        _fail(target, n, f"{type(exc).__name__}: {str(exc)[:200]}")
        return False
    return True


def _drive(target: str, one_case, batch=None, size: int = 1) -> None:
    """Run CASES cases of `target` (or until the time bound); tally passes and failures.

    `one_case(rng)` runs one case; with `batch`, ``make = one_case`` builds a case and
    ``batch(cases)`` runs `size` of them at once, each then counted; a batch that fails
    is run again case by case to find the culprits.
    """
    rng = np.random.default_rng(TARGETS.index(target))
    spent = sum(seconds for seconds, _, _, _ in TIMES.values())
    bound = (SECONDS - spent) / max(1, len(TARGETS) - len(TIMES))
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    while n < CASES and time.perf_counter() - start < bound:
        if batch is None:
            PASSED[target] += _outcome(target, n, lambda: one_case(rng))
            n += 1
            continue
        cases = [one_case(rng) for _ in range(min(size, CASES - n))]
        if _quiet(lambda cases=cases: batch(cases)):
            PASSED[target] += len(cases)
        else:
            for i, case in enumerate(cases):
                PASSED[target] += _outcome(target, n + i, lambda case=case: batch([case]))
        n += len(cases)
    seconds = time.perf_counter() - start
    TIMES[target] = (seconds, time.process_time() - cpu, n < CASES, bound)


def _quiet(call) -> bool:
    try:
        call()
    except Exception:  # noqa: BLE001 - rerun case by case, which reports it
        return False
    return True


def _fail(target: str, n: int, why: str) -> None:
    FAILED[target] += 1
    if len(FAILURES) < 20:
        FAILURES.append(f"{target} case {n}: {why}")


@pytest.fixture(scope="module", autouse=True)
def report(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    for target in TARGETS:
        seconds, cpu, bounded, bound = TIMES.get(target, (0.0, 0.0, False, 0.0))
        line = f"fuzz {target:9} {PASSED[target] + FAILED[target]:>6} cases, "
        line += f"{FAILED[target]} failed, {seconds:6.1f} s ({cpu:.1f} s CPU)"
        reporter.write_line(line + (f", stopped at its {bound:.0f} s bound" if bounded else ""))
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
    from musicgen.evaluation.check import check_tunes

    def one(rng):
        tunes = case_pair(rng)
        reports = check_tunes(tunes, None, use_abc2midi=False)
        assert reports[-1].grammar_error is None, reports[-1]  # the good tune

    _drive("check", one)
    assert not FAILED["check"]


def test_render():
    from musicgen.render.midi import tune_to_midi

    def one(rng):
        tunes = case_pair(rng)
        for tune in tunes[:-1]:
            try:
                tune_to_midi(tune.abc())
            except MusicgenError as exc:
                if "\n" in str(exc).strip():
                    raise
        assert tune_to_midi(tunes[-1].abc()).length > 0  # the good tune still plays

    _drive("render", one)
    assert not FAILED["render"]


@pytest.fixture(scope="module")
def run(tiny_run):
    from musicgen.run.rundir import load_run

    return load_run(tiny_run)


def test_evaluate(run):
    from musicgen.evaluation.bits import evaluate

    good = [
        t for t in parse_abc("\n".join(_SHORT), "good.abc")[0] if not run.vocab.unknown(t.text())
    ]
    assert good, "no short tune the tiny run can encode"
    good = good[:1]

    def make(rng):  # one short mutated tune: the grammar pass costs a step per character
        return parse_abc(mutate(rng, _SHORT[int(rng.integers(len(_SHORT)))]), "case.abc")[0]

    def batch(cases):
        tunes = [tune for case in cases for tune in case] + good
        result = evaluate(run, tunes)
        assert result.tunes + result.skipped == len(tunes)
        assert not any(r.startswith("good.abc") for r in result.skipped_reasons)
        assert result.tunes >= 1 and np.isfinite(result.bits_per_char)  # the good tune

    _drive("evaluate", make, batch, size=64)
    assert not FAILED["evaluate"]


def test_sample_primer(run):
    from musicgen.sampling.sampler import SampleConfig, Sampler

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
    """Each case damages one file of a run dir and calls what reads it: `load_run`
    (sample, evaluate, studio), the resume point, history and split readers (train)."""
    from musicgen.run import resume, split
    from musicgen.run.history import read_history
    from musicgen.run.rundir import load_run

    readers = {
        "config.json": load_run,
        "vocab.json": load_run,
        "model.keras": load_run,
        "history.csv": read_history,
        "split.json": split.read,
        "resume/state.json": resume.read_resume_epoch,
    }
    originals = {n: (tiny_run / n).read_bytes() for n in readers if (tiny_run / n).exists()}
    assert set(originals) == set(readers), "the tiny run lacks a file to damage"
    target = tmp_path / "run"
    shutil.copytree(tiny_run, target)
    damaged = []

    def one(rng):
        while damaged:  # restore the last case's file, then damage one
            name = damaged.pop()
            (target / name).write_bytes(originals[name])
        name = str(rng.choice(sorted(originals)))
        damaged.append(name)
        if rng.random() < 0.05:
            (target / name).unlink()
        elif name == "model.keras":  # a few bytes changed anywhere in the zip
            data = bytearray(originals[name])
            for pos in rng.integers(0, len(data), int(rng.integers(1, 4))):
                data[pos] = int(rng.integers(256))
            (target / name).write_bytes(bytes(data))
        else:
            data = originals[name].decode("utf-8", "replace")
            (target / name).write_bytes(mutate(rng, data).encode("utf-8", "surrogatepass"))
        readers[name](target)

    _drive("rundir", one)
    assert not FAILED["rundir"]


# --- the studio's API -------------------------------------------------------------------

_ROUTES = [
    ("POST", "/api/generate"),
    ("POST", "/api/generate/stream"),
    ("POST", "/api/continue"),
    ("POST", "/api/check"),
    ("POST", "/api/check"),
    ("POST", "/api/render/mid"),
    ("POST", "/api/render/{junk}"),
    ("GET", "/api/tunebook"),
    ("POST", "/api/tunebook"),
    ("GET", "/api/tunebook/{id}"),
    ("PATCH", "/api/tunebook/{id}"),
    ("DELETE", "/api/tunebook/{id}"),
    ("GET", "/api/tunebook/{id}.{fmt}"),
    ("GET", "/api/tunebook/export.abc"),
    ("GET", "/api/info"),
    ("GET", "/static/{junk}"),
    ("PUT", "/api/generate"),
    ("GET", "/api/{junk}"),
]
_FIELDS = ["n", "seed", "max_chars", "temperature", "top_k", "primer", "meter", "key"]
_FIELDS += ["abc", "id", "title", "starred", "form", "q", "unknown"]
_VALUES = [None, True, 0, 1, 3, -1, 65, 2**63, 10**30, 0.5, -2.0, 1e308, "", "G", "6/8"]
_VALUES += ["x" * 300, [], {}, [1, 2], {"a": 1}]


def _junk_text(rng, limit: int = 12) -> str:
    return "".join(rng.choice([*_JUNK, "a", "%", "..", "?", "#"], size=int(rng.integers(0, limit))))


def _studio_value(rng, field: str):
    roll = rng.random()
    if field in ("abc", "primer") and roll < 0.6:
        return mutate(rng, _SHORT[int(rng.integers(len(_SHORT)))])
    if roll < 0.5:
        return _VALUES[int(rng.integers(len(_VALUES)))]
    return _junk_text(rng)


_JSON = {"Content-Type": "application/json"}


def studio_request(rng) -> tuple[str, str, dict]:
    """A random request: (method, path, httpx keyword arguments)."""
    method, path = _ROUTES[int(rng.integers(len(_ROUTES)))]
    path = path.format(
        id=int(rng.choice([0, 2, 3, 10**12])),  # not the kept tune (1): it is deleted
        fmt=str(rng.choice(["abc", "mid", "wav", "svg", "x"])),
        junk=urllib.parse.quote(_junk_text(rng), safe="") or "x",
    )
    roll = rng.random()
    if roll < 0.1:  # not JSON, or not an object
        body = str(rng.choice(["{", "[1]", "null", "\xff", "1e999", '{"n": NaN}'])).encode()
        return method, path, {"content": body, "headers": _JSON}  # past the guard, to the parser
    if roll < 0.12:
        return method, path, {"content": b" " * 70_000, "headers": _JSON}  # over the limit
    fields = rng.choice(_FIELDS, size=int(rng.integers(0, 4)), replace=False)
    data = {str(f): _studio_value(rng, str(f)) for f in fields}
    if path.startswith("/api/generate") or path == "/api/continue":
        # Sampling costs a model step per character: keep the requests that would sample
        # small (an invalid n or max_chars is still sent as drawn).
        if not isinstance(data.get("n"), int) or 0 < data["n"] <= 64:
            data["n"] = int(rng.integers(1, 3)) if data.get("n") is not None else None
        if not isinstance(data.get("max_chars"), int) or 10 <= data["max_chars"] <= 5000:
            data["max_chars"] = int(rng.integers(10, 40))
        data = {k: v for k, v in data.items() if v is not None or rng.random() < 0.5}
    if method == "GET":
        query = {"q": _junk_text(rng, 6), "starred": str(rng.choice(["1", "true", "no", ""]))}
        return method, path, {"params": query}
    return method, path, {"json": data}


def _check_answer(answer) -> None:
    status = answer.status_code
    if status >= 500:
        raise AssertionError(f"{status}: {answer.text[:200]}")
    if status >= 400:
        error = answer.json()["error"]
        if not isinstance(error, str) or "\n" in error:
            raise AssertionError(f"{status}: not a one-line error: {error!r}")
    elif answer.headers.get("content-type", "").startswith("application/x-ndjson"):
        for line in answer.text.splitlines():
            message = json.loads(line).get("error")
            if message is not None and ("\n" in message or "internal" in message):
                raise AssertionError(f"stream: {message!r}")


def test_studio_api(tiny_run, tiny_tunes, tmp_path):
    with warnings.catch_warnings():  # starlette's note on its httpx dependency
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from musicgen.studio.app import create_app
    from musicgen.studio.engine import Engine
    from musicgen.studio.guard import policy_for
    from musicgen.studio.tunebook import Tunebook

    engine, book = Engine(tiny_run, list(tiny_tunes)), Tunebook(tmp_path / "book.sqlite")
    app = create_app(engine, book, policy_for("127.0.0.1", 8000))
    here = "http://127.0.0.1:8000"  # the Host the guard serves
    kept = TestClient(app, base_url=here).post("/api/tunebook", json={"abc": JIG}).json()["id"]
    with TestClient(app, base_url=here, raise_server_exceptions=False) as client:

        def one(rng):
            method, path, kwargs = studio_request(rng)
            _check_answer(client.request(method, path, **kwargs))
            if rng.random() < 0.02:  # a good request beside the bad ones still works
                answer = client.get(f"/api/tunebook/{kept}.mid")
                assert answer.status_code == 200 and answer.content[:4] == b"MThd"

        _drive("studio", one)
    assert not FAILED["studio"]
