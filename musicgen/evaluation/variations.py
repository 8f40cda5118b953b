"""How ``musicgen vary`` does on tunes the model never saw: experiment (c) of
``docs/training.md``.

For each of a run's validation tunes (up to `tunes` of them), one or two bars are chosen
at random (seeded) and `per_tune` variations asked for, checked as ``musicgen check``
checks a file.  Reported: how many came back valid, how many on the first draw, how many
have other music than the bars they replace, and that every character outside the bars
is the tune's own.

    python -m musicgen.evaluation.variations --run checkpoints/default data/abc_tunes
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import numpy as np

from musicgen.evaluation.check import check_tunes

_WHERE = re.compile(r"^(?:body )?line \d+, column \d+:\s*")


def no_new_problems(original):
    """A test of a changed version of the `Tune` `original`: it passes when ``musicgen
    check`` finds it valid and its bars good wherever it found `original` so, and finds no
    problem in it that it did not find in `original` (positions aside).  For a valid tune
    with good bars: valid with good bars."""
    before = check_tunes([original])[0]
    kinds = _kinds(before)

    def accept(tune) -> bool:
        after = check_tunes([tune])[0]
        if (before.valid and not after.valid) or (before.bars_ok and not after.bars_ok):
            return False
        return _kinds(after) <= kinds

    return accept


def _kinds(report) -> set[str]:
    return {_WHERE.sub("", problem) for problem in report.problems}


def random_gap(count: int, seed: int, number: int) -> tuple[int, int]:
    """The first and last bar (1-based) of a gap of one or two bars, drawn for tune
    `number` of `count` bars from (`seed`, `number`): the same in both experiments."""
    rng = np.random.default_rng([seed, number])
    length = 1 + int(rng.integers(2)) if count > 1 else 1
    first = 1 + int(rng.integers(count - length + 1))
    return first, first + length - 1


@dataclass(frozen=True)
class VaryReport:
    tunes: int  # tunes varied: valid ones, with good bars
    skipped: int  # validation tunes left out: musicgen check finds problems in them
    asked: int
    valid: int
    first_draw: int  # valid on their first draw
    changed: int  # valid ones whose bars differ from the old
    kept: int  # valid ones with every character outside the bars as it was
    examples: tuple[tuple[str, str], ...]  # (tune as it was, one variation), a few

    def lines(self) -> list[str]:
        share = 100 / max(1, self.asked)
        return [
            f"tunes              {self.tunes} ({self.skipped} with problems of their own left out)",
            f"variations asked   {self.asked}",
            f"valid              {self.valid} ({self.valid * share:.1f}%)",
            f"valid, first draw  {self.first_draw} ({self.first_draw * share:.1f}%)",
            f"new music          {self.changed} ({self.changed * share:.1f}%)",
            f"rest kept          {self.kept} of {self.valid}",
        ]


def measure(run_dir: str, corpus: list[str], tunes: int = 50, per_tune: int = 4, seed: int = 0):
    """`VaryReport` of `per_tune` variations of random bars of the run's validation tunes
    that are valid, with good bars (the first `tunes` of them)."""
    from musicgen.abc import bars
    from musicgen.abc.corpus import read_corpus
    from musicgen.run import split
    from musicgen.run.rundir import load_run
    from musicgen.sampling.gap import gap
    from musicgen.sampling.sampler import Sampler
    from musicgen.sampling.vary import vary

    held = split.held_out(run_dir, read_corpus(corpus).tunes, "validation", "vary")
    good = [t for t in held if (r := check_tunes([t])[0]).valid and r.bars_ok]
    sampler = Sampler(load_run(run_dir))
    counts = np.zeros(5, int)
    examples = []
    for number, tune in enumerate(good[:tunes]):
        raw = tune.abc(number + 1)
        first, last = random_gap(len(bars.layout(raw).bars), seed, number)
        where, accept = gap(raw, first, last), no_new_problems(tune)
        found = vary(sampler, raw, first, last, per_tune, seed, accept=accept)
        start, end = where.raw_cut
        for v in found:
            ok = v.abc is not None
            kept = ok and v.abc.startswith(raw[:start]) and v.abc.endswith(raw[end:])
            counts += (1, ok, ok and v.tries == 1, ok and v.changed, kept)
        if found[0].abc and found[0].changed and len(examples) < 3:
            examples.append((raw, found[0].abc))
    used = min(tunes, len(good))
    return VaryReport(used, len(held) - len(good), *(int(c) for c in counts), tuple(examples))


def gap_bits(run_dir: str, tunes: list, fim: bool, seed: int = 0) -> float:
    """Bits per character of the real bars of a random gap of one or two bars in each of
    `tunes`, given the tune before the gap, and with `fim` the tune after it too, in the
    prompt `musicgen vary` builds.  (The end marker after them is not scored: a model
    without the transform never writes one there; `vary` ends its gaps at a bar line.)"""
    from musicgen.abc import bars
    from musicgen.models.registry import architecture
    from musicgen.run.rundir import load_run
    from musicgen.training.dataset import tune_context
    from musicgen.training.fim import MIDDLE, SUFFIX, cut

    run = load_run(run_dir)
    vocab, config = run.vocab, run.model_config
    stepper = architecture(config.arch).stepper(run.model, config)
    bits, chars = 0.0, 0
    for number, tune in enumerate(tunes):
        text = tune.text()
        first, last = random_gap(len(bars.layout(text).bars), seed, number)
        prefix, middle, suffix = cut(text, first, last)
        prompt = f"{prefix}{SUFFIX}{suffix}{MIDDLE}" if fim else prefix
        ids = [*tune_context(vocab, run.train_config), *vocab.encode(prompt + middle)]
        state = stepper.start(1)
        scored = len(ids) - len(middle)  # the first id predicted: the middle's first
        for position, token in enumerate(ids[:-1]):
            logits, state = stepper.step(np.array([token], np.int32), state)
            if position + 1 >= scored:
                row = logits[0].astype(np.float64)
                top = row.max()
                log_z = top + np.log(np.exp(row - top).sum())
                bits += (log_z - row[ids[position + 1]]) / np.log(2)
                chars += 1
    return bits / chars


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m musicgen.evaluation.variations")
    parser.add_argument("--run", default="checkpoints/default")
    parser.add_argument("--tunes", type=int, default=50)
    parser.add_argument("--per-tune", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("corpus", nargs="+")
    args = parser.parse_args(argv)
    from musicgen.models.tfenv import quiet_tensorflow

    quiet_tensorflow()
    report = measure(args.run, args.corpus, args.tunes, args.per_tune, args.seed)
    sys.stdout.write("\n".join(report.lines()) + "\n")
    for old, new in report.examples:
        sys.stdout.write(f"\n{old}\n{new}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
