"""The configs `musicgen train` starts from: an architecture's defaults, then the options."""

from musicgen.cli.training import train
from musicgen.models.registry import ARCHITECTURES, DEFAULT_ARCH
from musicgen.training.presets import arch_default, configs_for


def test_each_architecture_starts_from_its_own_defaults():
    model, config = configs_for("transformer", {})
    assert (model.arch, model.layers, model.units, model.context) == ("transformer", 3, 192, 384)
    assert (config.batch_size, config.seq_len, config.optimizer) == (12, 384, "adamw")
    model, config = configs_for("lstm", {})
    assert (model.arch, model.layers, model.units) == ("lstm", 2, 512)
    assert (config.batch_size, config.seq_len, config.optimizer) == (32, 128, "adam")


def test_given_settings_win_and_none_means_not_given():
    model, config = configs_for("transformer", {"units": 64, "batch_size": None, "epochs": 3})
    assert (model.units, config.batch_size, config.epochs) == (64, 12, 3)


def test_transformer_windows_follow_its_context_unless_asked():
    assert configs_for("transformer", {"context": 128})[1].seq_len == 128
    assert configs_for("transformer", {"context": 128, "seq_len": 64})[1].seq_len == 64
    assert configs_for("lstm", {})[1].seq_len == 128  # an LSTM has no context


def test_weight_decay_asked_of_adam_switches_to_adamw():
    assert configs_for("lstm", {"weight_decay": 0.01})[1].optimizer == "adamw"
    assert configs_for("lstm", {"weight_decay": 0.0})[1].optimizer == "adam"


def test_arch_default_reads_the_registry_then_the_configs():
    assert arch_default("lstm", "units") == 512
    assert arch_default("transformer", "units") == 192
    assert arch_default("transformer", "learning_rate") == 3e-3
    assert arch_default("lstm", "warmup_steps") == 0


def test_the_cli_default_architecture_is_the_one_constant():
    (arch,) = [p for p in train.params if p.name == "arch"]
    assert arch.default == DEFAULT_ARCH and DEFAULT_ARCH in ARCHITECTURES
