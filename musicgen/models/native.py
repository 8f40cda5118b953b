"""The causal softmax of self-attention as one compiled TensorFlow op each way.

TensorFlow runs the attention's element-wise work as separate kernels, each a pass over
the (B, heads, T, T) scores, the masked half included: the mask's add and the softmax
forward, a subtraction and a multiply backward.  ``causal_softmax.cc`` (beside this file)
does each direction in one pass over the rows' unmasked entries, with ALiBi's penalty
added on the way; training the default Transformer on a CPU is about an eighth faster
(docs/training.md, issue 26).

The op is built at first use with the machine's C++ compiler (``$CXX``, else ``g++``)
against the installed TensorFlow's headers, into ``$MUSICGEN_CACHE`` (else
``~/.cache/musicgen``), once per source, TensorFlow version and CPU.  Where it cannot be
built or loaded (no compiler, a GPU, ``MUSICGEN_NATIVE=0``), `kernels` returns None and
`musicgen.models.layers.CausalSelfAttention` computes the same attention with
TensorFlow's own ops: the op changes speed, never the model (the tests check both ways
against Keras' attention).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import threading
from pathlib import Path

from musicgen.errors import MusicgenError

__all__ = ["NativeBuildError", "build", "causal_softmax_times_values", "kernels"]

log = logging.getLogger(__name__)
_LOADING = threading.Lock()  # one build per process, whichever thread asks first

SOURCE = Path(__file__).with_name("causal_softmax.cc")
# -O3 and the machine's own vector instructions; the float reorderings the row loops
# need to vectorize, but not -ffast-math, whose start-up code would flush denormals to
# zero in the whole process.
FLAGS = (
    "-shared",
    "-fPIC",
    "-O3",
    "-march=native",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fassociative-math",
    "-fno-signed-zeros",
    "-freciprocal-math",
    "-w",
)


class NativeBuildError(MusicgenError):
    """The native op could not be built (no compiler, or the compiler failed)."""


def cache_dir() -> Path:
    """Where built ops are kept: ``$MUSICGEN_CACHE``, else ``$XDG_CACHE_HOME/musicgen``
    (``~/.cache/musicgen``)."""
    root = os.environ.get("MUSICGEN_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "musicgen"


def _cpu() -> str:
    """The CPU's model and instruction sets (``-march=native`` builds for them)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    keep = ("model name", "flags", "Features", "CPU part")
    return "\n".join(dict.fromkeys(line for line in lines if line.startswith(keep)))


def build(cache: Path | None = None, compiler: str | None = None) -> Path:
    """Compile ``causal_softmax.cc`` into `cache` (default `cache_dir`) unless it is there
    already; return the shared library's path.  Raises `NativeBuildError`."""
    import tensorflow as tf

    compiler = compiler or os.environ.get("CXX") or "g++"
    flags = [*FLAGS, *tf.sysconfig.get_compile_flags()]
    links = tf.sysconfig.get_link_flags()
    key = "\n".join([SOURCE.read_text(), tf.__version__, *flags, *links, compiler, _cpu()])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    target = (cache or cache_dir()) / f"causal_softmax-{digest}.so"
    if target.exists():
        return target
    if shutil.which(compiler) is None:
        raise NativeBuildError(f"no C++ compiler {compiler!r} on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Builds side by side (other processes, other threads) never write the same file.
    partial = target.with_suffix(f".{os.getpid()}-{threading.get_ident()}.part")
    command = [compiler, *flags, str(SOURCE), "-o", str(partial), *links]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "error" in line]
            first = errors[0] if errors else f"exit status {done.returncode}"
            raise NativeBuildError(f"{compiler} failed: {first}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # a failed or interrupted build leaves nothing
    return target


def kernels():
    """The loaded op library (``musicgen_causal_softmax`` and its gradient), or None where
    it cannot be had: ``MUSICGEN_NATIVE=0``, a visible GPU (it is a CPU op), no compiler,
    or a failed build or load (logged once as a warning)."""
    with _LOADING:
        return _load()


@functools.cache
def _load():
    if os.environ.get("MUSICGEN_NATIVE", "1") == "0":
        return None
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return None
    try:
        return tf.load_op_library(str(build()))
    except (NativeBuildError, OSError, subprocess.TimeoutExpired, tf.errors.OpError) as err:
        log.warning("attention runs on TensorFlow's own ops: %s", err)
        return None


def causal_softmax_times_values(scores, value, slopes, ops):
    """softmax over keys j <= query i of (scores - slope x (i - j)), times value:
    (B, N, T, S) scores (float32 or bfloat16), (B, N, S, H) value, (N,) float32 `slopes`
    (zeros: no ALiBi) -> (B, N, T, H), with the `ops` of `kernels`.

    The gradient is FlashAttention's: the softmax's row sum of (gradient x probabilities)
    is the (B, N, T) sum of (output gradient x output), then one op pass for the scores'
    gradient."""
    import tensorflow as tf

    @tf.custom_gradient
    def attend(scores, value):
        probs = ops.musicgen_causal_softmax(scores, slopes)
        output = tf.matmul(probs, value)

        def grad(d_output):
            d_probs = tf.matmul(d_output, value, transpose_b=True)  # (B, N, T, S)
            d_value = tf.matmul(probs, d_output, transpose_a=True)  # (B, N, S, H)
            wide = tf.float32
            rows = tf.reduce_sum(tf.cast(d_output, wide) * tf.cast(output, wide), -1)
            return ops.musicgen_causal_softmax_grad(probs, d_probs, rows), d_value

        return output, grad

    return attend(scores, value)
