"""The registry: the only place that lists the architectures, and `ModelConfig`.

An architecture (`musicgen.models.architecture.Architecture`) is its defaults plus a
builder, a cached one-step sampler, a whole-text scorer, the layer checks a loaded run dir
must pass and its own estimates; `architecture(config.arch)` looks it up.  Each lives in
its own module; adding one is that module and one line of `ARCHITECTURES`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from musicgen.errors import MusicgenError, TrainError
from musicgen.models.architecture import Architecture
from musicgen.models.lstm import LSTM
from musicgen.models.transformer import TRANSFORMER

POSITIONS = ("learned", "alibi", "both")
ARCHITECTURES: dict[str, Architecture] = {arch.name: arch for arch in (LSTM, TRANSFORMER)}
# The architecture `musicgen train` builds when --arch is not given: the Transformer, which
# beat the LSTM on held-out tunes at 15 and 30 CPU-minutes (docs/training.md) and is what
# checkpoints/default is.  The LSTM stays one flag away (`--arch lstm`).
DEFAULT_ARCH = TRANSFORMER.name


def architecture(name: str) -> Architecture:
    """The registered architecture called `name`; `TrainError` naming the choices if none."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError):
        choices = " or ".join(ARCHITECTURES)
        raise TrainError(f"unknown architecture {name!r} ({choices})") from None


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network.  Stored in config.json so a run dir rebuilds its model.

    A size left as None takes `arch`'s own default from its registry entry, so
    ``ModelConfig(vocab_size=61, arch="transformer")`` is the Transformer's shape, never
    the LSTM's.  Built, it checks itself: a size out of range, or settings its
    architecture cannot build (`Architecture.check`), raise `TrainError`.
    """

    vocab_size: int  # 0 until the corpus is read: training sets it from the vocabulary
    embedding_dim: int = None  # None here and below: the architecture's default
    units: int = None  # LSTM width, or the Transformer's: the main capacity knob
    layers: int = None  # stacked LSTM layers or Transformer blocks
    dropout: float = None
    # A config that names no architecture is an LSTM: the only kind before the registry,
    # so old run dirs' config.json (no "arch") still load as what they hold.
    arch: str = "lstm"
    heads: int = None  # attention heads per block (read by the Transformer only)
    context: int = None  # longest window attended over (read by the Transformer only)
    # Attend within each tune of a window alone: set for runs on packed windows
    # (``--windows packed``; read by the Transformer only).  False: runs before the option.
    segments: bool = False
    # How the Transformer knows where a character is (`POSITIONS`): learned vectors added
    # to the input, ALiBi's distance penalty in attention, or both.  Runs before the
    # option, and every LSTM, hold "learned".
    positions: str = None

    def __post_init__(self):
        spec = architecture(self.arch)
        for name, value in spec.model_defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        _check_sizes(self)
        spec.check(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """From config.json's ``model`` object: `ValueError` for an unknown or bad setting."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model settings {sorted(unknown)}")
        try:
            return cls(**{"positions": "learned", **data})
        except MusicgenError as exc:  # a run dir's bad setting is a bad file
            raise ValueError(str(exc)) from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


# The least each size may be: (field, minimum).
_MINIMUM = {"vocab_size": 0, "embedding_dim": 1, "units": 1, "layers": 1, "heads": 1, "context": 2}


def _check_sizes(config: ModelConfig) -> None:
    for name, least in _MINIMUM.items():
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise TrainError(f"{name} must be a whole number >= {least}, got {value!r}")
    if not 0 <= config.dropout < 1:
        raise TrainError(f"dropout must be in [0, 1), got {config.dropout!r}")
    if config.positions not in POSITIONS:
        choices = ", ".join(POSITIONS)
        raise TrainError(f"positions must be one of {choices}, got {config.positions!r}")


def default_config(arch: str, vocab_size: int = 0) -> ModelConfig:
    """The ModelConfig an architecture trains with when no option says otherwise."""
    return ModelConfig(vocab_size=vocab_size, arch=arch)


def build_model(config: ModelConfig, *, fused: bool = False):
    """The training model of `config.arch`: (B, T) int ids -> (B, T, vocab) logits.

    `fused` picks faster CPU training kernels where the architecture has them; saved
    models always hold stock layers."""
    return architecture(config.arch).build(config, fused=fused)
