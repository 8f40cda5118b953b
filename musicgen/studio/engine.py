"""What the studio does with music: sample (one request at a time), check and render tunes.

The model is loaded once; one lock serializes generation, so a second request waits for
the first to finish.  Every method takes ABC text, never a path.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from musicgen.errors import MidiError, SampleError
from musicgen.sampling.sampler import SampleConfig

FIELD_LINE = ("X:", "T:")  # dropped from an edited tune before it becomes a primer


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
        """`config.n` tunes in order, each ``{"abc", "complete", "check"}``; waits its turn."""
        with self.lock:
            tunes = sorted(self._run(config, progress), key=lambda tune: tune.index)
        return [self._answer(tune.abc(), tune.complete) for tune in tunes]

    def continue_tune(self, abc: str, config: SampleConfig) -> list[dict]:
        """New endings for an (edited, possibly cut) tune: its text becomes the primer."""
        title, primer = split_title(abc)
        with self.lock:
            tunes = sorted(self._run(replace(config, primer=primer)), key=lambda t: t.index)
        return [
            self._answer(f"X:{t.index + 1}\nT:{title or t.title()}\n{t.text}", t.complete)
            for t in tunes
        ]

    def _run(self, config: SampleConfig, progress=None) -> Iterator:
        for done, tune in enumerate(self.sampler.generate(config), start=1):
            if progress is not None:
                progress(done)
            yield tune

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


def split_title(abc: str) -> tuple[str | None, str]:
    """(the T: title, the tune text without X:/T: lines) of one tune."""
    title, kept = None, []
    for line in abc.replace("\r\n", "\n").lstrip("\n").split("\n"):
        if line.startswith("T:") and title is None:
            title = line[2:].strip()
        elif not line.startswith(FIELD_LINE):
            kept.append(line)
    return title, "\n".join(kept)


def render(abc: str, fmt: str, program: int = 40) -> tuple[bytes, float]:
    """One tune as MIDI (``"mid"``) or WAV (``"wav"``) bytes, and its tempo in bpm."""
    import mido

    from musicgen.render.midi import tune_to_midi

    midi = tune_to_midi(abc, program=program)
    tempo = next(
        (m.tempo for track in midi.tracks for m in track if m.type == "set_tempo"), 500_000
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"tune.{fmt}"
        if fmt == "mid":
            midi.save(str(path))
        elif fmt == "wav":
            from musicgen.render.audio import midi_to_wav

            midi_to_wav(midi, path)
        else:
            raise MidiError(f"format {fmt!r} is not one of mid, wav")
        return path.read_bytes(), round(mido.tempo2bpm(tempo), 3)
