"""Faults a long run must survive: SIGKILL at any moment, a full disk, a refused write.

The kill test is a real process killed with SIGKILL over and over, at random moments drawn
from a seeded generator: during the TensorFlow import, while a checkpoint file is being
written, just after an epoch.  Each time, the run directory must load; in the end the run
finishes and lands where an uninterrupted run with the same seed lands.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from musicgen.cli import main
from musicgen.run import resume, rundir
from musicgen.run.history import read_history

# A tiny model on a tiny corpus: epochs of ~0.1 s, so a kill often lands in a checkpoint.
TINY = ["--units", "16", "--layers", "1", "--embedding-dim", "8", "--seq-len", "64"]
TINY += ["--batch-size", "8", "--seed", "5", "--transpose", "0", "--quiet"]
# One thread each: the reference run trains beside the killed one on a 2-core machine.
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}


def cli(*args):
    """Invoke the CLI in-process; a traceback fails the test."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(result.output) from result.exception
    return result


def error_line(result) -> str:
    """The one error line a failed command printed (and checks it was its last line)."""
    assert result.exit_code == 1, result.output
    last = result.output.splitlines()[-1]
    assert last.startswith("Error: ") and "Traceback" not in result.output, result.output
    return last


def temp_files(run: Path) -> list[str]:
    """Leftovers of interrupted atomic writes: dot-files in the run dir and resume/."""
    return sorted(
        p.name
        for folder in (run, run / "resume")
        if folder.is_dir()
        for p in folder.iterdir()
        if p.name.startswith(".")
    )


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory, tiny_tunes) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tiny.abc"
    path.write_text("\n".join(t.abc(i + 1) for i, t in enumerate(tiny_tunes)))
    return path


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory, corpus_file) -> Path:
    """A run dir after one finished epoch, made by the CLI; tests work on copies."""
    run = tmp_path_factory.mktemp("runs") / "one"
    result = cli("train", corpus_file, "--run", run, "--epochs", 1, *TINY)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture
def run(tmp_path, one_epoch) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(one_epoch, copy)
    return copy


@contextlib.contextmanager
def file_size_limit(limit: int):
    """A disk that fills after `limit` bytes per file: writes past it fail with EFBIG.

    (Python ignores SIGXFSZ, so the write raises OSError instead of killing the process.)
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def deny_writes_in(monkeypatch, folder: Path) -> None:
    """Simulate a directory we may not write in (tests run as root, so chmod cannot)."""
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


# --- SIGKILL at random moments, then resume ---------------------------------------------


def _wait(process, until, timeout: float = 120.0) -> None:
    """Poll every 2 ms until `until()` is true or the process ends on its own."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and not until():
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"trainer made no progress in {timeout:.0f}s")
        time.sleep(0.002)


def _kill_plan(rng: random.Random, process, run: Path, late: bool) -> str:
    """Wait for a moment chosen by `rng`; return what it was.  Once the run is `late`
    (nearly done), only during start-up, so that the kills wanted all happen."""
    # Start-up kills are the cheap ones (a kill later pays TensorFlow's import, ~5 s CPU,
    # first): three in five, so 20 kills fit in about a minute and a half.
    mode = rng.choice(["startup", "startup", "startup", "write", "epoch"])
    mode = "startup" if late else mode
    if mode == "startup":  # TensorFlow import, corpus, model build: no epoch done yet
        delay = rng.uniform(0.2, 2.5)
        start = time.monotonic()
        _wait(process, lambda: time.monotonic() - start > delay)
        return f"startup +{delay:.1f}s"
    if mode == "write":  # while the n-th temp file of an atomic write exists
        n, seen = rng.randint(1, 10), set()

        def nth_temp():
            seen.update(temp_files(run))
            return len(seen) >= n

        _wait(process, nth_temp)
        return f"during write #{n}"
    history = run / "history.csv"
    inode = lambda: history.stat().st_ino if history.exists() else 0  # noqa: E731
    first, delay = inode(), rng.uniform(0.0, 0.25)
    _wait(process, lambda: inode() != first)
    time.sleep(delay)
    return f"epoch end +{delay:.2f}s"


def _check_loads(run: Path) -> bool:
    """Everything a kill may leave must read back; returns whether a model was there."""
    read_history(run)
    if (run / "config.json").exists():
        rundir.read_config(run)
        resume.read_resume_epoch(run)
    if (run / "model.keras").exists():
        rundir.load_run(run)
        return True
    return False


@pytest.mark.slow
def test_training_survives_repeated_sigkill(tmp_path, corpus_file, capsys):
    epochs, kills_wanted = 24, 20
    args = [sys.executable, "-m", "musicgen", "train", str(corpus_file), *TINY]
    args += ["--epochs", str(epochs)]
    env = {**os.environ, **QUIET_ENV}
    run, reference = tmp_path / "killed", tmp_path / "reference"
    # The uninterrupted run trains beside the killed one: same command, same seed.
    straight = subprocess.Popen(
        [*args, "--run", str(reference)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    rng = random.Random(2024)
    kills, loaded, log = 0, 0, []
    started = time.monotonic()
    while kills < kills_wanted:
        with open(tmp_path / "stderr.txt", "w+") as stderr:
            process = subprocess.Popen(
                [*args, "--run", str(run)], env=env, stdout=subprocess.DEVNULL, stderr=stderr
            )
            late = len(read_history(run)) >= epochs - 4  # a kill may see 3 more
            moment = _kill_plan(rng, process, run, late)
            if process.poll() is not None:  # finished before the moment came
                stderr.seek(0)
                assert process.returncode == 0, stderr.read() + "\n".join(log)
                break
            process.send_signal(signal.SIGKILL)
            process.wait()
        kills += 1
        loaded += _check_loads(run)  # raises if anything the kill left does not load
        log.append(f"kill {kills} {moment}: {len(read_history(run))} epochs in history")
    finish = subprocess.run([*args, "--run", str(run)], env=env, capture_output=True, text=True)
    assert finish.returncode == 0, finish.stderr
    assert "Traceback" not in finish.stderr
    out, err = straight.communicate(timeout=120)
    assert straight.returncode == 0, err

    history = read_history(run)
    assert [row["epoch"] for row in history] == list(range(1, epochs + 1))
    assert temp_files(run) == []
    rundir.load_run(run)
    expected = read_history(reference)
    diff = max(abs(a["val_loss"] - b["val_loss"]) for a, b in zip(history, expected, strict=True))
    with capsys.disabled():
        print("", *log, sep="\n  ")
        print(
            f"  survived {kills} kills ({loaded} run dirs with a model loaded, 0 unloadable) "
            f"in {time.monotonic() - started:.0f}s; final val_loss {history[-1]['val_loss']:.9f}"
            f" vs {expected[-1]['val_loss']:.9f} uninterrupted (largest diff {diff:.1e})"
        )
    assert kills >= kills_wanted
    # Batch order and dropout masks are functions of (seed, epoch), the schedule follows
    # the optimizer's step count, and weights and optimizer state resume from the epoch's
    # end: on CPU (one thread) the killed run is the uninterrupted one, to the last bit.
    # (Lost or repeated epochs show as a gap in the history, checked above.)
    assert diff <= 1e-6


# --- a full disk ------------------------------------------------------------------------


def test_disk_full_mid_training_keeps_the_last_good_checkpoint(run, corpus_file):
    model_before = (run / "model.keras").read_bytes()
    with file_size_limit(10_000):  # config.json and vocab.json fit; model.keras does not
        result = cli("train", corpus_file, "--run", run, "--epochs", 3, *TINY)
    line = error_line(result)
    assert re.fullmatch(
        rf"Error: {re.escape(str(run))}/(model\.keras|loss\.png|resume/state-0002\.keras): "
        r"cannot write \(File too large\)",
        line,
    ), line
    assert temp_files(run) == []
    assert (run / "model.keras").read_bytes() == model_before
    rundir.load_run(run)
    assert resume.read_resume_epoch(run) == 1
    # Space freed: the same command carries on from the last finished epoch.
    again = cli("train", corpus_file, "--run", run, "--epochs", 3, *TINY)
    assert again.exit_code == 0, again.output
    assert "epoch 2/3" in again.output and "epoch 1/3" not in again.output


def test_no_space_left_while_saving_the_model(run, corpus_file, monkeypatch):
    import keras

    def save(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"PK\x03\x04 half of a zip")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    model_before = (run / "model.keras").read_bytes()
    monkeypatch.setattr(keras.Model, "save", save)
    result = cli("train", corpus_file, "--run", run, "--epochs", 2, *TINY)
    assert re.fullmatch(
        rf"Error: {re.escape(str(run))}/(model\.keras|resume/state-0002\.keras): "
        r"cannot write \(No space left on device\)",
        error_line(result),
    )
    assert temp_files(run) == []
    assert (run / "model.keras").read_bytes() == model_before
    rundir.load_run(run)


def test_disk_full_in_the_output_dir(tmp_path, tunes_file):
    out = tmp_path / "out"
    with file_size_limit(60):  # every tune file is longer
        result = cli("render", tunes_file, "--out", out, "--format", "abc")
    assert error_line(result) == f"Error: {out}/001-tiny-jig.abc: cannot write (File too large)"
    assert list(out.iterdir()) == []


# --- permission denied -------------------------------------------------------------------


def test_run_dir_not_writable(run, corpus_file, monkeypatch):
    deny_writes_in(monkeypatch, run)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    result = cli("train", corpus_file, "--run", run, "--epochs", 2, *TINY)
    assert error_line(result) == f"Error: {run}/config.json: cannot write (Permission denied)"
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    rundir.load_run(run)


def test_run_dir_cannot_be_created(tmp_path, corpus_file, monkeypatch):
    target = tmp_path / "locked" / "run"
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self == target:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    result = cli("train", corpus_file, "--run", target, "--epochs", 1, *TINY)
    assert error_line(result) == (f"Error: {target}: cannot create directory (Permission denied)")


def test_force_on_a_run_dir_whose_files_cannot_be_removed(run, corpus_file, monkeypatch):
    real = Path.unlink

    def unlink(self, *args, **kwargs):
        if self == run / "model.keras":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    result = cli("train", corpus_file, "--run", run, "--epochs", 1, *TINY, "--force")
    assert error_line(result) == f"Error: {run}/model.keras: cannot remove (Permission denied)"
    rundir.load_run(run)


def test_output_dir_not_writable(tmp_path, tunes_file, tiny_run, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    deny_writes_in(monkeypatch, out)
    result = cli("render", tunes_file, "--out", out, "--format", "abc,mid")
    assert error_line(result) == f"Error: {out}/001-tiny-jig.abc: cannot write (Permission denied)"
    args = ("sample", "--run", tiny_run, "-n", 2, "--max-chars", 100, "--out", out, "--quiet")
    args += ("--form", "none")  # a whole AABB does not fit in 100 characters
    result = cli(*args)
    assert re.fullmatch(
        rf"Error: {re.escape(str(out))}/\S+: cannot write \(Permission denied\)",
        error_line(result),
    )
    assert list(out.iterdir()) == []


def _without_root_powers() -> list[str] | None:
    """A command prefix under which permissions apply: nothing for a normal user; for root,
    util-linux ``setpriv`` dropping the capabilities that override them; None if neither."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]
    if shutil.which("setpriv") is None or subprocess.run([*prefix, "true"]).returncode:
        return None  # (a container may forbid changing the bounding set)
    return prefix


@pytest.mark.skipif(_without_root_powers() is None, reason="root, and no setpriv to drop it")
def test_read_only_output_dir_for_real(tmp_path, tunes_file):
    out = tmp_path / "out"
    out.mkdir(mode=0o555)
    command = [*_without_root_powers(), sys.executable, "-m", "musicgen", "render"]
    for target, path in ((out, out / "001-tiny-jig.abc"), (out / "new", out / "new")):
        args = [str(tunes_file), "--out", str(target), "--format", "abc"]
        done = subprocess.run([*command, *args], capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        assert done.stderr == f"Error: {path}: cannot write (Permission denied)\n"
    assert list(out.iterdir()) == []


def test_an_io_error_nobody_expected_is_still_one_line(tunes_file, monkeypatch):
    def read_corpus(paths):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(paths[0]))

    monkeypatch.setattr("musicgen.abc.corpus.read_corpus", read_corpus)
    result = cli("data", "stats", tunes_file)
    assert error_line(result) == f"Error: {tunes_file}: Input/output error"


# --- bounded resources ------------------------------------------------------------------


def test_train_refuses_a_step_that_cannot_fit_in_memory(tmp_path, corpus_file):
    args = ("train", corpus_file, "--run", tmp_path / "r", "--batch-size", 100_000)
    result = cli(*args, "--seq-len", 100_000, "--units", 16, "--layers", 1)
    assert re.fullmatch(
        r"Error: --batch-size 100000 x --seq-len 100000 with 1 x 16 units needs about "
        r"[\d.]+ GiB per step, but only [\d.]+ GiB is free; use a smaller --batch-size, "
        r"--seq-len, --units or --layers",
        error_line(result),
    )
    assert not (tmp_path / "r").exists()


def test_max_chars_bounds_every_tune(tiny_run, tmp_path):
    out = tmp_path / "out"
    args = ("sample", "--run", tiny_run, "-n", 30, "--max-chars", 40, "--no-constrain")
    result = cli(*args, "--seed", 3, "--out", out, "--format", "abc", "--quiet")
    assert "Traceback" not in result.output
    lengths = [len(p.read_text().split("\n", 2)[2]) for p in out.glob("0*.abc")]
    cut = re.search(r"truncated at --max-chars 40 \(not written\): ([\d, ]+)", result.output)
    assert len(lengths) + (len(cut.group(1).split(", ")) if cut else 0) == 30
    assert all(length <= 40 + 1 for length in lengths)  # + the final newline
    primer = "M:6/8\\nL:1/8\\nK:G\\nGAB c2d|e3 d2B|cBA G3|"
    args = ("sample", "--run", tiny_run, "--primer", primer, "--max-chars", 20)
    result = cli(*args, "--out", tmp_path / "other")
    assert error_line(result) == (
        "Error: the primer is 38 characters, --max-chars 20: raise --max-chars or shorten the "
        "primer"
    )


def test_thousands_of_tunes_stream_to_disk(tiny_run, tmp_path, monkeypatch):
    """Each tune is written when it ends, not kept until the last one is done."""
    from musicgen.sampling.sampler import Sampler

    out, on_disk = tmp_path / "out", []
    generate = Sampler.generate

    def watched(self, config):
        complete = 0
        for count, tune in enumerate(generate(self, config), start=1):
            if count % 250 == 0:  # (tunes yielded, complete among them, tune files written)
                on_disk.append((count - 1, complete, len(list(out.glob("[0-9]*-*.abc")))))
            complete += tune.complete
            yield tune

    monkeypatch.setattr(Sampler, "generate", watched)
    args = ("sample", "--run", tiny_run, "-n", 1000, "--max-chars", 40, "--no-constrain")
    args += ("--primer", "M:6/8\\nL:1/8\\nK:G\\n", "--out", out, "--format", "abc", "--quiet")
    result = cli(*args)
    assert result.exit_code == 0, result.output[-500:]
    written = len(list(out.glob("[0-9]*-*.abc")))
    assert written > 20
    # Part-way through, every complete tune yielded so far is already a file on disk.
    assert len(on_disk) == 4
    assert all(files == complete for _, complete, files in on_disk), on_disk
    assert on_disk[0][1] > 0
