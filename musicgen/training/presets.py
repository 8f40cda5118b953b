"""The configs a training run starts from: an architecture's defaults, then what was asked.

`musicgen train` and anything else that trains from user settings call `configs_for`, so
"--arch transformer with --units 256" means the same everywhere: the registry's defaults
for that architecture (`musicgen.models.registry.ARCHITECTURES`), overridden by the settings given.
"""

from __future__ import annotations

from dataclasses import replace

from musicgen.models.registry import ModelConfig, architecture, default_config
from musicgen.training.fit import TrainConfig

# The architecture `musicgen train` builds when --arch is not given: the Transformer, which
# beat the LSTM on held-out tunes at 15 and 30 CPU-minutes (docs/training.md) and is what
# checkpoints/default is.  The LSTM stays one flag away (`--arch lstm`).
DEFAULT_ARCH = "transformer"

# Settings that belong to the ModelConfig; every other one is a TrainConfig field.
MODEL_KEYS = ("layers", "units", "embedding_dim", "dropout", "heads", "context")
# Settings only the Transformer reads (its `--help` shows no LSTM default for them).
TRANSFORMER_ONLY = ("heads", "context")


def arch_default(arch: str, key: str):
    """The value setting `key` takes for architecture `arch` when nobody sets it."""
    spec = architecture(arch)
    if key in MODEL_KEYS:
        return spec.model_defaults.get(key, getattr(ModelConfig(vocab_size=0), key))
    return spec.train_defaults.get(key, getattr(TrainConfig(), key))


def configs_for(arch: str, settings: dict) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs for `arch`: its defaults, then `settings`.

    A setting of None is "not given" (the architecture's default applies).  The
    Transformer's windows are its context unless ``seq_len`` says otherwise, and a weight
    decay asked of Adam switches it to AdamW (Adam has none).
    """
    spec = architecture(arch)
    given = {k: v for k, v in settings.items() if v is not None}
    if "context" in spec.model_defaults and "seq_len" not in given:
        given["seq_len"] = given.get("context", spec.model_defaults["context"])
    model = replace(default_config(arch), **{k: v for k, v in given.items() if k in MODEL_KEYS})
    train = TrainConfig(
        **{**spec.train_defaults, **{k: v for k, v in given.items() if k not in MODEL_KEYS}}
    )
    if train.weight_decay and train.optimizer == "adam":
        train = replace(train, optimizer="adamw")
    return model, train
