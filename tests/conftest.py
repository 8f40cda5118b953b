"""Shared fixtures: tiny named ABC tunes (one feature each) and a tiny trained run dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "abc_tunes" / "irish.abc"

JIG = """X:1
T:Tiny Jig
M:6/8
L:1/8
K:G Major
|:GAB c2d|e3 d2B|1 cBA G3:|2 cBA G2z|]
"""

REEL = """X:2
T:Tiny Reel
M:C
L:1/8
K:D Major
(3ABc|dAFA DFAd|fdcd FAdf|gfge fefd|(3efe dc d2:|
"""

HORNPIPE_WITH_OLD_MARKERS = """X:3
T:Old Markers
Z: id:test-1
M:C|
L:1/8
K:A Dorian
ed|cAAB cBcd|eaaf gedB|!
c2Ac B2Bc|d2de dBGB:|!
"""

TUNES_TEXT = "\n".join([JIG, REEL, HORNPIPE_WITH_OLD_MARKERS])


@pytest.fixture
def tunes_file(tmp_path) -> Path:
    path = tmp_path / "tunes.abc"
    path.write_text(TUNES_TEXT, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_tunes():
    """Every 30th tune of the bundled corpus (25, all meters): enough for a seconds-long run."""
    from musicgen.abc.corpus import read_corpus

    return read_corpus([CORPUS]).tunes[::30]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_tunes) -> Path:
    """A run dir trained for two epochs with a very small model (a few seconds)."""
    from musicgen.models.registry import ModelConfig
    from musicgen.run.config import TrainConfig
    from musicgen.training.fit import train

    run = tmp_path_factory.mktemp("runs") / "tiny"
    train(
        tiny_tunes,
        run,
        ModelConfig(vocab_size=0, embedding_dim=8, units=32, layers=1, dropout=0.0),
        TrainConfig(epochs=2, batch_size=8, seq_len=64, seed=3),
        progress=False,
    )
    return run
