"""The number format training computes in: float32, or bfloat16 where the hardware has it.

``--precision bfloat16`` trains in Keras' bfloat16 mixed precision (float32 weights and
optimizer state, float32 logits and loss).  The Transformer multiplies matrices (its
projections, MLP and attention) in bfloat16 and keeps its element-wise work (layer norms,
GELU, dropout, the residual stream) in float32, where TensorFlow's CPU kernels are faster
(`musicgen.models.transformer.build_transformer`).  ``auto`` picks it on CPUs
with AMX or AVX512-BF16 and on GPUs of compute capability 8.0 or newer, float32
elsewhere.  On our 2-core AMX machines, measured back to back on a quiet machine, it trains
the default Transformer 13% faster and the LSTM 1.7x faster than float32, with the same
held-out loss per epoch (docs/training.md): the matrix multiplies run several times faster,
the element-wise kernels (GELU, layer norms, dropout) somewhat slower, hence the
Transformer's split.  The run's config
records the resolved choice, so a resume computes as the run began.  Saved models
(``model.keras``) are float32 whatever the training precision: sampling and ``evaluate``
do not depend on it beyond the weights themselves.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from musicgen.errors import TrainError
from musicgen.run.config import PRECISIONS

CHOICES = ("auto", *PRECISIONS)
# The Keras dtype policy each precision builds its layers with.
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
# CPU flags (Linux /proc/cpuinfo) that make bfloat16 matrix multiplies fast.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU (or the ``/proc/cpuinfo`` text given) has AMX or AVX512-BF16."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def gpu_has_bf16() -> bool:
    """Whether an NVIDIA GPU computes bfloat16 natively (compute capability 8.0 or newer),
    asked of ``nvidia-smi`` so that choosing a precision imports no TensorFlow."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return False
    try:
        found = subprocess.run(
            ["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return False
    return any(_number(cap) >= 8.0 for cap in found)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def resolve(precision: str, *, cpuinfo: str | None = None, gpu: bool | None = None) -> str:
    """``auto`` -> the precision this machine trains fastest in; others as given."""
    if precision not in CHOICES:
        raise TrainError(f"precision {precision!r} is not one of {', '.join(CHOICES)}")
    if precision != "auto":
        return precision
    return "bfloat16" if has_bf16(cpuinfo=cpuinfo, gpu=gpu) else "float32"


def has_bf16(*, cpuinfo: str | None = None, gpu: bool | None = None) -> bool:
    """Whether this machine computes bfloat16 natively (its CPU, or a GPU)."""
    return cpu_has_bf16(cpuinfo) or (gpu_has_bf16() if gpu is None else gpu)


@contextlib.contextmanager
def policy(precision: str):
    """Build Keras layers inside this block with `precision`'s dtype policy."""
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
