"""The options of ``musicgen train``, defined once: `train_options` puts them on a command.

Most defaults depend on --arch (or, with --init, on fine-tuning), so those options default
to None ("not given") and their ``--help`` shows each case's value;
`musicgen.training.presets.configs_for` and `finetune_configs` fill them in.
"""

from __future__ import annotations

import click

from musicgen.cli.common import _T
from musicgen.models.registry import ARCHITECTURES, DEFAULT_ARCH, POSITIONS
from musicgen.run.config import WINDOWS
from musicgen.training.distribute import STRATEGIES
from musicgen.training.presets import FINETUNE_DEFAULTS, arch_default, finetune_defaults, reads


def _by_arch(key: str) -> str:
    """``--help`` text for a default that depends on --arch: ``lstm 512, transformer 128``
    (only the architectures that read the setting)."""
    shown = [name for name in ARCHITECTURES if reads(name, key)]
    return ", ".join(f"{name} {arch_default(name, key)}" for name in shown)


def _tuned(key: str, text: str) -> str:
    """``--help`` text for a default that fine-tuning (--init) changes."""
    return f"{text}; --init: {FINETUNE_DEFAULTS[key]}"


def _tuned_rates() -> str:
    """The fine-tuning learning rates (a share of each architecture's)."""
    return ", ".join(f"{a} {finetune_defaults(a)['learning_rate']}" for a in ARCHITECTURES)


_OPTIONS = [
    click.option(
        "--run",
        "run_dir",
        required=True,
        type=click.Path(file_okay=False),
        help="Run directory to write (or resume) the model in.",
    ),
    click.option(
        "--init",
        type=click.Path(file_okay=False),
        default=None,
        help="Fine-tune: start from this run dir's model (its architecture and shape; "
        "characters new to it are added to its vocabulary).  Used when the run starts; "
        "a resumed run continues from its own weights.",
    ),
    click.option(
        "--epochs",
        type=click.IntRange(1),
        default=None,
        show_default=_tuned("epochs", str(_T.epochs)),
        help="Passes over the training tunes.",
    ),
    click.option(
        "--batch-size",
        type=click.IntRange(1),
        default=None,
        show_default=_by_arch("batch_size"),
        help="Windows per training step.",
    ),
    click.option(
        "--seq-len",
        type=click.IntRange(2),
        default=None,
        show_default=_by_arch("seq_len"),
        help="Characters per training window (Transformer: --context).",
    ),
    click.option(
        "--arch",
        type=click.Choice(list(ARCHITECTURES)),
        default=DEFAULT_ARCH,
        show_default=True,
        help="Network: a recurrent LSTM, or a causal self-attention Transformer.",
    ),
    click.option(
        "--heads",
        type=click.IntRange(1),
        default=None,
        show_default=_by_arch("heads"),
        help="Transformer: attention heads per block (must divide --units).",
    ),
    click.option(
        "--context",
        type=click.IntRange(2),
        default=None,
        show_default=_by_arch("context"),
        help="Transformer: longest window it attends over; longer tunes slide.",
    ),
    click.option(
        "--positions",
        type=click.Choice(POSITIONS),
        default=None,
        show_default=_by_arch("positions"),
        help="Transformer: where a character is, as learned vectors added to the input, "
        "as ALiBi's penalty on attention to far keys (heads at different slopes), or both.",
    ),
    click.option(
        "--precision",
        type=click.Choice(["auto", "float32", "bfloat16"]),
        default=None,
        show_default="auto; a resumed run keeps its own",
        help="Number format of the maths: bfloat16 is mixed precision (bfloat16 matrix "
        "multiplies, float32 weights and element-wise maths); auto picks it on CPUs with "
        "AMX or AVX512-BF16 and GPUs of compute capability 8+, float32 elsewhere.  Saved "
        "models and sampling stay float32.",
    ),
    click.option(
        "--warmup-steps",
        type=click.IntRange(0),
        default=None,
        show_default=_tuned("warmup_steps", _by_arch("warmup_steps")),
        help="Steps of linear learning-rate warm-up before the cosine decay.",
    ),
    click.option(
        "--weight-decay",
        type=click.FloatRange(0),
        default=None,
        show_default=_by_arch("weight_decay"),
        help="AdamW weight decay (the Transformer's optimizer).",
    ),
    click.option(
        "--layers",
        type=click.IntRange(1),
        default=None,
        show_default=_by_arch("layers"),
        help="Stacked LSTM layers or Transformer blocks.",
    ),
    click.option(
        "--units",
        type=click.IntRange(1),
        default=None,
        show_default=_by_arch("units"),
        help="LSTM units per layer, or the Transformer's width.",
    ),
    click.option(
        "--embedding-dim",
        type=click.IntRange(1),
        default=None,
        show_default=_by_arch("embedding_dim"),
        help="Size of the character embedding (LSTM; the Transformer's is --units).",
    ),
    click.option(
        "--dropout",
        type=click.FloatRange(0, 1, max_open=True),
        default=None,
        show_default=_by_arch("dropout"),
        help="Dropout between layers (the Transformer's rounded to a multiple of 1/256).",
    ),
    click.option(
        "--learning-rate",
        type=click.FloatRange(0, min_open=True),
        default=None,
        show_default=f"{_by_arch('learning_rate')}; --init: {_tuned_rates()}",
        help="Peak learning rate (Adam for the LSTM, AdamW for the Transformer).",
    ),
    click.option(
        "--patience",
        type=click.IntRange(0),
        default=None,
        show_default=_tuned("patience", "0, off"),
        help="Stop after this many epochs in a row without a better validation loss "
        "(0: train every epoch).",
    ),
    click.option(
        "--fim",
        type=click.FloatRange(0, 1, max_open=True),
        default=None,
        show_default="0, off",
        help="Share of training texts in fill-in-the-middle order (some bars moved after "
        "the rest), so `musicgen vary` fills a gap knowing what follows it.",
    ),
    click.option(
        "--val-fraction",
        type=click.FloatRange(0, 1, max_open=True),
        default=_T.val_fraction,
        show_default=True,
        help="Fraction of tunes held out for validation (they pick model.keras).",
    ),
    click.option(
        "--test-fraction",
        type=click.FloatRange(0, 1, max_open=True),
        default=_T.test_fraction,
        show_default=True,
        help="Fraction of tunes held out for testing only: never used for any choice.",
    ),
    click.option(
        "--seed",
        type=int,
        default=_T.seed,
        show_default=True,
        help="Seed for the split, initial weights and batch order.",
    ),
    click.option(
        "--max-minutes",
        type=click.FloatRange(0, min_open=True),
        default=None,
        help="Stop cleanly after this many minutes, keeping the best model.",
    ),
    click.option(
        "--windows",
        type=click.Choice(WINDOWS),
        default=None,
        show_default=_by_arch("windows"),
        help="Training windows tile the corpus (stream), also start at every tune (tunes), "
        "or hold whole tunes side by side, each attending to itself alone (packed; "
        "Transformer only: half the work per tune).",
    ),
    click.option(
        "--transpose",
        type=click.IntRange(0, 4),
        default=_T.transpose,
        show_default=True,
        help="Also train on this many copies of each tune moved to other keys (0: none).",
    ),
    click.option(
        "--strategy",
        type=click.Choice(STRATEGIES),
        default="default",
        show_default=True,
        help="default: one device; mirrored: all local GPUs; multi-worker: the machines "
        "in TF_CONFIG.  --batch-size is the global batch in each.",
    ),
    click.option("--force", is_flag=True, help="Start the run directory over if it exists."),
    click.option("--quiet", is_flag=True, help="No progress bar."),
]


def train_options(command):
    """Decorate `command` with every ``train`` option, in ``--help`` order."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
