"""Benchmarks: musicgen beside a lab-style reference, measured in the same run.

Absolute times on shared machines are noisy; the ratios against the reference loop measured
a moment earlier on the same machine are what to read and report.  This module times
sampling (both architectures) and ABC -> MIDI; `musicgen.evaluation.training_speed` times training.
Speed does not depend on the weights, so an architecture the run directory does not hold is
timed as an untrained model of its default shape, on the run's vocabulary.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from musicgen.abc.corpus import BUNDLED_CORPUS

ARCHS = ("lstm", "transformer")  # every architecture gets its rows


@dataclass(frozen=True)
class Row:
    """One line of the bench table."""

    section: str
    name: str
    value: float
    unit: str
    ratio: float | None = None  # against the section's reference
    note: str = ""


def format_row(row: Row) -> str:
    """The row as one line of the table (`HEADER` names the columns)."""
    ratio = "" if row.ratio is None else f"{row.ratio:8.1f}x"
    value = f"{row.value:,.1f}" if not math.isnan(row.value) else "n/a"
    return f"{row.section:9} {row.name:52} {value:>12} {row.unit:9} {ratio:>9}  {row.note}"


HEADER = f"{'section':9} {'what':52} {'value':>12} {'unit':9} {'vs ref':>9}"


def machine_note() -> str:
    """Which CPUs the bench may run on (``taskset`` pins it), for the table's first line."""
    allowed = sorted(os.sched_getaffinity(0))
    return f"CPUs allowed: {','.join(map(str, allowed))} of {os.cpu_count()}"


# ---------------------------------------------------------------- sampling


def bench_sampling(
    run_dir: Path, seconds: float = 8.0, batches=(1, 64), max_chars: int | None = None
) -> Iterator[Row]:
    """Characters/s: the lab's sampler, then musicgen's constrained, cached sampler for
    each architecture at each batch size (the run's own model where it is of that
    architecture, else an untrained one of the default shape).  `max_chars` caps each
    tune (default: `SampleConfig`'s; the reference's 400)."""
    from musicgen.evaluation.lab import LabSampler, lab_model_config
    from musicgen.models.registry import default_config
    from musicgen.run.rundir import load_run
    from musicgen.sampling.sampler import Sampler

    run = load_run(run_dir)
    lab = LabSampler(with_model(run, lab_model_config(len(run.vocab))))
    ref = lab_sampling_speed(lab, seconds, min(400, max_chars or 400))
    yield Row(
        "sampling",
        "lab reference (batch 1, eager call per char)",
        ref,
        "chars/s",
        1.0,
        "the lab's 1x1024 LSTM, untrained",
    )
    for arch in ARCHS:
        trained = run.model_config.arch == arch
        arch_run = run if trained else with_model(run, default_config(arch, len(run.vocab)))
        sampler = Sampler(arch_run)
        shape = f"{arch_run.model_config.layers}x{arch_run.model_config.units}"
        for batch in batches:
            chars_per_s, tunes_per_s = sampling_speed(sampler, batch, seconds, max_chars)
            note = f"{tunes_per_s:.2f} complete tunes/s" if trained else "untrained"
            yield Row(
                "sampling",
                f"{arch} {shape} batch {batch} constrained",
                chars_per_s,
                "chars/s",
                chars_per_s / ref,
                note,
            )
        if trained:  # what `musicgen sample` does by default: --form auto, keys drawn
            from musicgen.form.plan import DEFAULT_BARS, FormPlan

            for batch in batches:
                plan = FormPlan(bars=DEFAULT_BARS)
                chars_per_s, tunes_per_s = sampling_speed(sampler, batch, seconds, max_chars, plan)
                yield Row(
                    "sampling",
                    f"{arch} {shape} batch {batch} constrained, --form auto",
                    chars_per_s,
                    "chars/s",
                    chars_per_s / ref,
                    f"{tunes_per_s:.2f} complete tunes/s",
                )


def with_model(run, config):
    """`run` with a freshly built (untrained) model of `config` in place of its own."""
    from musicgen.models.registry import build_model

    return replace(run, model=build_model(config), model_config=config)


def lab_sampling_speed(lab, seconds: float, length: int = 400) -> float:
    """Characters/s of the lab's sampling loop, over `seconds`."""
    lab.sample(min(20, length))  # warm-up
    start = time.perf_counter()
    chars = 0
    while time.perf_counter() - start < seconds:
        chars += len(lab.sample(length, seed=chars))
    return chars / (time.perf_counter() - start)


def sampling_speed(
    sampler, batch: int, seconds: float, max_chars: int | None = None, form=None
) -> tuple[float, float]:
    """(characters/s, complete tunes/s) of constrained sampling, `batch` tunes at a time,
    under `form` (a `FormPlan`; None: any form).

    Whole rounds of `batch` tunes are timed (at least one), so the tail of a round, where
    the last tunes finish while the others' slots idle, counts as it does in use.
    """
    from musicgen.sampling.sampler import SampleConfig

    config = SampleConfig(n=batch, batch_size=batch, seed=0, constrain=True, form=form)
    if max_chars is not None:
        config = replace(config, max_chars=max_chars)
    list(sampler.generate(replace(config, max_chars=5)))  # warm-up: trace this shape
    start = time.perf_counter()
    chars = complete = rounds = 0
    while time.perf_counter() - start < seconds or rounds == 0:
        for tune in sampler.generate(replace(config, seed=rounds)):
            chars += len(tune.text) + 1
            complete += tune.complete
        rounds += 1
    elapsed = time.perf_counter() - start
    return chars / elapsed, complete / elapsed


# ---------------------------------------------------------------- MIDI


def bench_midi(reference_count: int = 10) -> Iterator[Row]:
    """Milliseconds per tune from ABC text to a written MIDI file, over the whole corpus.

    The reference is music21 (parse, then its own MIDI writer) on a few tunes spread over
    the corpus: what musicgen used before it read ABC itself.  Target: at most 10 ms.
    """
    import tempfile

    from music21 import converter

    from musicgen.abc.corpus import read_corpus
    from musicgen.render.midi import tune_to_midi, write_midi
    from musicgen.render.sheet import for_music21

    tunes = read_corpus([BUNDLED_CORPUS]).tunes
    texts = [tune.abc(i) for i, tune in enumerate(tunes, start=1)]
    with tempfile.TemporaryDirectory() as tmp:
        picked = texts[:: max(1, len(texts) // reference_count)][:reference_count]
        converter.parseData(for_music21(picked[0]), format="abc")  # warm-up: imports, caches
        start = time.perf_counter()
        for i, text in enumerate(picked):
            score = converter.parseData(for_music21(text), format="abc")
            score.write("midi", fp=str(Path(tmp) / f"ref{i}.mid"))
        ref = (time.perf_counter() - start) / len(picked) * 1e3
        yield Row("midi", f"music21 reference ({len(picked)} corpus tunes)", ref, "ms/tune", 1.0)
        write_midi(tune_to_midi(texts[0]), Path(tmp) / "warm.mid")
        start = time.perf_counter()
        for i, text in enumerate(texts):
            write_midi(tune_to_midi(text), Path(tmp) / f"{i}.mid")
        ours = (time.perf_counter() - start) / len(texts) * 1e3
    yield Row(
        "midi",
        f"musicgen ABC -> MIDI ({len(texts)} corpus tunes)",
        ours,
        "ms/tune",
        ref / ours,
        "target <= 10 ms/tune; ratio is speed-up",
    )
