"""TensorFlow's environment: importing it quietly, once, where a command first needs it.

TensorFlow is never imported at module level anywhere in musicgen (``musicgen --help``
must answer at once); the commands, the studio and the benchmarks call `quiet_tensorflow`
just before their first TensorFlow or Keras import.
"""

from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Import TensorFlow and Keras with TensorFlow's C++ start-up chatter hidden.

    Those lines (oneDNN notices, CUDA probes) are written to file descriptor 2 before
    TensorFlow's log level applies, so stderr is pointed at /dev/null for the import
    alone.  The Keras backend is TensorFlow unless the environment already chose one.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
