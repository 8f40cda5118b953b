"""The configs a training run starts from: an architecture's defaults, then what was asked.

`musicgen train` and anything else that trains from user settings call `configs_for`, so
"--arch transformer with --units 256" means the same everywhere: the registry's defaults
for that architecture (`musicgen.models.registry.ARCHITECTURES`), overridden by the settings
given.  A fine-tuned run (``--init``) calls `finetune_configs`: its parent's shape, and
gentler training defaults.  Light to import (no TensorFlow): the CLI builds, and so checks,
the configs first.
"""

from __future__ import annotations

from dataclasses import fields, replace

from musicgen.errors import TrainError
from musicgen.models.registry import ModelConfig, architecture, default_config
from musicgen.run.config import TrainConfig
from musicgen.training.precision import resolve

# Settings that belong to the ModelConfig; every other one is a TrainConfig field.
# (Not the corpus's vocab_size, the arch chosen apart, nor segments, which --windows sets.)
_NOT_SETTINGS = ("vocab_size", "arch", "segments")
MODEL_KEYS = tuple(f.name for f in fields(ModelConfig) if f.name not in _NOT_SETTINGS)
# Settings that shape the weights: a fine-tuned run takes them from its parent.
SHAPE_KEYS = ("arch", "embedding_dim", "units", "layers", "heads", "context", "positions")
# Fine-tuning starts from weights that already know the idiom, on a small corpus: a gentler
# peak rate keeps what they know, and a small corpus is learned (and overfitted) in a few
# epochs, so fewer of them, and stop once validation stops improving.
FINETUNE_LR_SHARE = 1 / 3  # of the architecture's learning rate
FINETUNE_DEFAULTS = {
    "epochs": 10,
    "warmup_steps": 20,  # fresh optimizer state: Adam's first steps are full size
    "patience": 3,
}


def arch_default(arch: str, key: str):
    """The value setting `key` takes for architecture `arch` when nobody sets it."""
    spec = architecture(arch)
    if key in MODEL_KEYS:
        return spec.model_defaults[key]
    return spec.train_defaults.get(key, getattr(TrainConfig(), key))


def reads(arch: str, key: str) -> bool:
    """Whether architecture `arch` uses setting `key` (every training setting counts)."""
    return key not in MODEL_KEYS or key in architecture(arch).reads


def configs_for(arch: str, settings: dict) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs for `arch`: its defaults, then `settings`.

    A setting of None is "not given" (the architecture's default applies).  An
    architecture with a context trains on windows of it unless ``seq_len`` says otherwise,
    a weight decay asked of Adam switches it to AdamW (Adam has none), and a precision
    of ``auto`` is resolved for this machine (`musicgen.training.precision`).  Both configs
    check themselves: a bad setting raises `musicgen.errors.TrainError` before anything
    is built or written (what needs the corpus too, `musicgen.training.fit.train` checks).
    """
    spec = architecture(arch)
    given = {k: v for k, v in settings.items() if v is not None}
    if "context" in spec.reads and "seq_len" not in given:
        given["seq_len"] = given.get("context", spec.model_defaults["context"])
    model = replace(default_config(arch), **{k: v for k, v in given.items() if k in MODEL_KEYS})
    train = {**spec.train_defaults, **{k: v for k, v in given.items() if k not in MODEL_KEYS}}
    if train.get("weight_decay") and train.get("optimizer") == "adam":
        train["optimizer"] = "adamw"
    if "precision" in train:  # "auto" becomes what this machine has, recorded as such
        train["precision"] = resolve(train["precision"])
    return model, TrainConfig(**train)


def finetune_defaults(arch: str) -> dict:
    """The training defaults of a run fine-tuned from a model of architecture `arch`."""
    rate = arch_default(arch, "learning_rate") * FINETUNE_LR_SHARE
    return {**FINETUNE_DEFAULTS, "learning_rate": float(f"{rate:.3g}")}


def finetune_configs(parent: ModelConfig, settings: dict) -> tuple[ModelConfig, TrainConfig]:
    """The configs of a run fine-tuned from a model of config `parent`: its architecture
    and shape, `finetune_defaults`, then `settings` (None: not given).  A setting of
    `SHAPE_KEYS` raises `TrainError` (its weights could not be the parent's); dropout,
    which has no weights, may change."""
    shape = [k for k in SHAPE_KEYS if settings.get(k) is not None]
    if shape:
        named = ", ".join("--" + k.replace("_", "-") for k in shape)
        kept = ", ".join(f"{k} {getattr(parent, k)}" for k in SHAPE_KEYS if reads(parent.arch, k))
        raise TrainError(
            f"{named} cannot change with --init: a fine-tuned model keeps its parent's shape "
            f"({kept})"
        )
    kept = {k: getattr(parent, k) for k in MODEL_KEYS}
    given = {k: v for k, v in settings.items() if v is not None}
    return configs_for(parent.arch, {**finetune_defaults(parent.arch), **kept, **given})
