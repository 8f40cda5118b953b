"""The README's "Everyday commands", run in order as a new user would, each exit code checked.

The commands are read from the README itself, so the README cannot drift from what works.
Only their sizes change: training gets a tiny model and one epoch on 25 tunes (seconds),
and ``data/abc_tunes`` / ``my_tunes.abc`` are small files in a temporary folder.
"""

from __future__ import annotations

import shlex
import shutil

from click.testing import CliRunner

from musicgen.cli import main
from tests.conftest import JIG, REPO

# What the test adds to each command so it runs in seconds; nothing it removes.
TINY_TRAINING = "--arch lstm --units 16 --layers 1 --embedding-dim 8 --epochs 1 --seq-len 64 "
TINY_TRAINING += "--batch-size 8 --transpose 0 --quiet"


def everyday_commands() -> list[list[str]]:
    """The README's everyday commands, in order, as argument lists (comments dropped)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("Everyday commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.strip().splitlines():
        words = shlex.split(line, comments=True)
        assert words[0] == "musicgen", line
        commands.append(words[1:])
    return commands


# A fine-tuned run keeps its parent's shape: only the training is made short.
TINY_FINETUNE = "--epochs 1 --seq-len 32 --batch-size 8 --transpose 0 --quiet"


def _sized_for_a_test(words: list[str]) -> list[str]:
    if words[0] == "train":
        words = [*words, *(TINY_FINETUNE if "--init" in words else TINY_TRAINING).split()]
    return words


def test_the_readme_everyday_commands_work_in_order(tmp_path, monkeypatch, tiny_tunes):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "abc_tunes").mkdir(parents=True)
    (tmp_path / "data" / "abc_tunes" / "tunes.abc").write_text(
        "\n".join(tune.abc(number) for number, tune in enumerate(tiny_tunes, 1)),
        encoding="utf-8",
    )
    (tmp_path / "my_tunes.abc").write_text(JIG, encoding="utf-8")
    (tmp_path / "checkpoints").symlink_to(REPO / "checkpoints")  # as in a clone
    commands = everyday_commands()
    assert [c[0] for c in commands][:3] == ["sample", "train", "sample"]
    runner = CliRunner()
    for words in commands:
        result = runner.invoke(main, _sized_for_a_test(words))
        assert result.exit_code == 0, (words, result.output)
    # The two samples went side by side, neither overwrote the other.
    assert len(list((tmp_path / "out").rglob("*.abc"))) >= 10 + 5


def test_every_readme_command_is_known_to_the_cli():
    names = set(main.commands)
    assert {words[0] for words in everyday_commands()} <= names
    assert shutil.which("make") is not None  # the README's first two commands are make targets
