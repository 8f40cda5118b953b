"""Under load: 20 clients generating, keeping, editing and deleting at once (a few
seconds here; ``MUSICGEN_LOAD_SECONDS=60`` for the full minute), and a studio killed with
SIGKILL while keeping tunes loses none it had answered as kept."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from musicgen.studio.tunebook import Tunebook
from tests.conftest import JIG
from tests.studio.serve import serve_studio

SECONDS = float(os.environ.get("MUSICGEN_LOAD_SECONDS", "4"))
CLIENTS = 20


@pytest.fixture(scope="module")
def served(tiny_run, tiny_tunes, tmp_path_factory):
    from musicgen.studio.app import create_app
    from musicgen.studio.engine import Engine

    engine = Engine(tiny_run, list(tiny_tunes))
    active, most = [0], [0]
    generate, lock = engine.sampler.generate, threading.Lock()

    def counted(config):  # how many samplings run at once: the engine's lock says one
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            yield from generate(config)
        finally:
            with lock:
                active[0] -= 1

    engine.sampler.generate = counted
    book = Tunebook(tmp_path_factory.mktemp("load") / "book.sqlite")
    with serve_studio(lambda policy: create_app(engine, book, policy)) as url:
        yield url, book, most


def client_loop(url, seed, until, kept, timings, errors):
    rng = random.Random(seed)
    mine: list[int] = []
    with httpx.Client(base_url=url, timeout=120) as http:
        while time.monotonic() < until:
            action = rng.choice(["generate", "keep", "keep", "edit", "delete"])
            started = time.monotonic()
            if action == "generate":
                answer = http.post(
                    "/api/generate", json={"n": 1, "seed": rng.randrange(99), "max_chars": 200}
                )
            elif action == "keep" or not mine:
                action = "keep"
                answer = http.post("/api/tunebook", json={"abc": JIG, "title": f"c{seed}"})
                if answer.status_code == 201:
                    mine.append(answer.json()["id"])
            elif action == "edit":
                answer = http.patch(f"/api/tunebook/{rng.choice(mine)}", json={"starred": True})
            else:
                answer = http.delete(
                    f"/api/tunebook/{mine.pop(rng.randrange(len(mine)))}",
                    headers={"Content-Type": "application/json"},
                )
            timings.setdefault(action, []).append(time.monotonic() - started)
            if answer.status_code >= 400:
                errors.append(f"{action}: {answer.status_code} {answer.text[:80]}")
    kept.extend(mine)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def test_twenty_clients_at_once(served):
    url, book, most = served
    until = time.monotonic() + SECONDS
    kept, timings, errors = [], {}, []
    threads = [
        threading.Thread(target=client_loop, args=(url, n, until, kept, timings, errors))
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []  # no 5xx, nor any other refusal
    assert most[0] == 1  # one sampling at a time, the rest queued on the engine's lock
    assert set(kept) <= {t["id"] for t in book.search()}
    for action in ("generate", "keep"):
        got = timings.get(action, [])
        assert got, action
        print(  # noqa: T201 -- the figures for the README (pytest -s)
            f"\n{action}: {len(got)} requests, p50 {percentile(got, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(got, 0.95) * 1000:.0f} ms ({CLIENTS} clients, {SECONDS:g} s)"
        )


def test_sigkill_while_keeping_loses_nothing_answered(tiny_run, tmp_path):
    path = tmp_path / "book.sqlite"
    command = [sys.executable, "-m", "musicgen", "studio", "--run", str(tiny_run)]
    command += ["--port", "0", "--tunebook", str(path)]
    studio = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            match = re.search(r"open (http://\S+)/", studio.stdout.readline())
            url = match and match.group(1)
        assert url, "the studio printed no URL"
        answered: list[int] = []

        def keep_many():
            with httpx.Client(base_url=url, timeout=10) as http:
                while True:
                    try:
                        answer = http.post("/api/tunebook", json={"abc": JIG})
                    except httpx.HTTPError:
                        return  # killed
                    if answer.status_code == 201:
                        answered.append(answer.json()["id"])

        keepers = [threading.Thread(target=keep_many) for _ in range(4)]
        for thread in keepers:
            thread.start()
        while len(answered) < 40:
            time.sleep(0.01)
        studio.send_signal(signal.SIGKILL)  # mid-write: four clients are keeping
        for thread in keepers:
            thread.join(timeout=10)
    finally:
        studio.kill()
        studio.wait()
    assert Path(str(path) + "-wal").exists() or path.exists()
    # What a restarted studio opens: every tune it answered 201 for is there.
    stored = {t["id"] for t in Tunebook(path).search()}
    assert set(answered) <= stored and len(answered) >= 40
