"""What the studio does with music: sample (one request at a time), vary and check tunes.

The model is loaded once; one lock serializes generation, so a second request waits for
the first to finish.  Every method takes ABC text, never a path.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from musicgen.errors import SampleError
from musicgen.sampling.header import clean_primer
from musicgen.sampling.request import in_order
from musicgen.sampling.sampler import SampleConfig


class Engine:
    """A loaded model plus the reference corpus used for novelty checks."""

    def __init__(self, run_dir: str | Path, reference: list | None = None):
        from musicgen.models.tfenv import quiet_tensorflow

        quiet_tensorflow()
        from musicgen.evaluation.check import NoveltyIndex
        from musicgen.run.rundir import load_run
        from musicgen.sampling.sampler import Sampler

        self.run_dir = str(run_dir)
        self.sampler = Sampler(load_run(run_dir))
        self.reference = NoveltyIndex(reference) if reference else None
        self.lock = threading.Lock()
        # Compile the one-step function now, so the first request is as fast as the rest.
        list(self.sampler.generate(SampleConfig(n=1, max_chars=10, seed=0)))

    def generate(
        self, config: SampleConfig, progress: Callable[[int], None] | None = None
    ) -> list[dict]:
        """`config.n` tunes in order, each ``{"abc", "complete", "check"}``; waits its turn.

        Each tune's ``abc`` is `Sampled.abc`, byte for byte what ``musicgen sample`` writes.
        """
        with self.lock:
            tunes = list(in_order(self.sampler.generate(config), config.first, progress))
        return [self._answer(tune.abc(), tune.complete) for tune in tunes]

    def continue_tune(self, abc: str, config: SampleConfig) -> list[dict]:
        """New endings for an (edited, possibly cut) tune: its text becomes the primer
        (`config`'s, from `sample_config`, is replaced), its title stays."""
        primer = clean_primer(abc)
        self.encodable(primer, "the tune to continue")
        with self.lock:
            tunes = list(in_order(self.sampler.generate(replace(config, primer=primer))))
        return [self._answer(t.abc(title_of(abc)), t.complete) for t in tunes]

    def vary(self, abc: str, first: int, last: int, config: SampleConfig) -> list[dict]:
        """`config.n` variations on bars `first`..`last` (`musicgen.sampling.vary`): every
        character outside those bars as it was, each checked valid with the bars and parts
        it had; a variation not found in its draws is left out."""
        from musicgen.abc.tunes import parse_abc
        from musicgen.evaluation.variations import no_new_problems
        from musicgen.sampling.gap import gap
        from musicgen.sampling.vary import vary

        gap(abc, first, last)  # a tune without those bars: one line, before any work
        accept = no_new_problems(parse_abc(abc)[0][0])
        with self.lock:
            found = vary(
                self.sampler, abc, first, last, config.n, config.seed, config.temperature, accept
            )
        return [{"abc": v.abc, "spliced": True, "check": self.check(v.abc)} for v in found if v.abc]

    def _answer(self, abc: str, complete: bool) -> dict:
        return {"abc": abc, "complete": complete, "check": self.check(abc)}

    def check(self, abc: str) -> dict:
        """musicgen's check of one tune: valid, bars (count, all full), novelty, problems."""
        from musicgen.abc.tunes import parse_abc
        from musicgen.evaluation.check import bars_of, check_tunes

        tunes, skipped = parse_abc(abc)
        if not tunes:
            reason = skipped[0].reason if skipped else "no tune"
            return {"valid": False, "bars": 0, "bars_ok": False, "problems": [reason]}
        report = check_tunes(tunes[:1], self.reference)[0]
        return {
            "valid": report.valid,
            "bars": len(bars_of(tunes[0].body)),
            "bars_ok": report.bars_ok,
            "novel": report.novel,
            "copy": report.copy,
            "notes": report.notes,
            "problems": report.problems,
        }

    def encodable(self, text: str, what: str) -> None:
        """Raise `SampleError` naming the characters of `text` the model never saw."""
        from musicgen.abc.vocab import describe

        unknown = self.sampler.vocab.unknown(text)
        if unknown:
            raise SampleError(f"{what} has characters the model never saw: {describe(unknown)}")


def title_of(abc: str) -> str | None:
    """The first ``T:`` title of a tune's text, or None."""
    match = re.search(r"^T:(.*)$", abc.replace("\r\n", "\n"), re.MULTILINE)
    return match.group(1).strip() or None if match else None
