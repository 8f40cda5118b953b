"""--strategy: MirroredStrategy over two logical CPUs, MultiWorkerMirroredStrategy over two
local processes; each trains a tiny model for one epoch to a run dir that loads."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from musicgen.errors import TrainError
from musicgen.training.distribute import read_tf_config
from tests.conftest import CORPUS

TINY = ["--units", "16", "--layers", "1", "--embedding-dim", "8", "--dropout", "0"]
TINY += ["--batch-size", "8", "--seq-len", "32", "--epochs", "1", "--quiet"]


def _tiny_corpus(tmp_path):
    """Every 40th corpus tune: a one-epoch run in a few seconds."""
    from musicgen.abc.corpus import read_corpus

    path = tmp_path / "tiny.abc"
    path.write_text(
        "\n".join(t.abc(i + 1) for i, t in enumerate(read_corpus([CORPUS]).tunes[::40]))
    )
    return path


def _env(**extra):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", **extra}


def test_tf_config_is_read_or_refused_in_one_line():
    config = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    assert read_tf_config(json.dumps(config)) == (2, 1)
    with pytest.raises(TrainError, match="needs TF_CONFIG"):
        read_tf_config(None)
    with pytest.raises(TrainError, match="not a usable cluster"):
        read_tf_config("{nope")
    config["task"]["index"] = 2
    with pytest.raises(TrainError, match="not one of the 2 workers"):
        read_tf_config(json.dumps(config))


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    corpus, run = _tiny_corpus(tmp_path), tmp_path / "run"
    # TensorFlow fixes its devices once, so the CPU is split in a fresh process.
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from musicgen.cli import main
        main({["train", str(corpus), "--run", str(run), "--strategy", "mirrored", *TINY]!r})
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "on 2 replicas" in done.stdout
    assert "epoch 1/1" in done.stdout
    from musicgen.run.rundir import load_run

    assert load_run(run).model.count_params() > 0


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_strategy_with_two_local_workers(tmp_path):
    corpus = _tiny_corpus(tmp_path)
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        run = tmp_path / f"run{index}"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "musicgen", "train", str(corpus), "--run", str(run)]
                + ["--strategy", "multi-worker", *TINY],
                env=_env(TF_CONFIG=json.dumps(tf_config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            outputs.append(out)
            assert proc.returncode == 0, err[-2000:]
    finally:
        for proc in procs:
            proc.kill()
    assert all("on 2 replicas" in out and "epoch 1/1" in out for out in outputs)
    from musicgen.run.rundir import load_run

    weights = [load_run(tmp_path / f"run{i}").model.get_weights() for i in range(2)]
    for a, b in zip(*weights, strict=True):  # the workers trained one model together
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_private_keras_api_behind_the_multi_worker_workarounds_is_still_there():
    """setup.cfg pins keras to the range this passes on; a new release must pass it too."""
    import inspect

    import keras

    why = f"keras {keras.__version__} broke musicgen.training.distribute.build_for_fit's workaround"
    for name in ("_symbolic_build", "_maybe_symbolic_build"):
        if not callable(getattr(keras.Model, name, None)):
            pytest.fail(f"{why} 1 (build from a local batch): keras.Model.{name} is gone")
    params = list(inspect.signature(keras.Model._symbolic_build).parameters)
    assert "data_batch" in params, f"{why} 1: Model._symbolic_build takes no data_batch"
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        pytest.fail(f"{why} 2 (scalar loss reduction): keras.src.backend.tensorflow.trainer")
    reduce = getattr(trainer, "reduce_per_replica", None)
    assert reduce is not None, f"{why} 2 (scalar loss reduction): no reduce_per_replica"
    assert list(inspect.signature(reduce).parameters)[:3] == [
        "values",
        "strategy",
        "reduction",
    ], f"{why} 2: trainer.reduce_per_replica changed its arguments"
