"""Full agreement sweep: musicgen's MIDI against plain abc2midi, per collection.

Every tune of data/abc_tunes and of each of music21's bundled collections is compared, as
tests/render/test_fidelity.py compares its sample (same rules: plain abc2midi, no exclusion by
rule; only tunes abc2midi itself writes no readable MIDI for are left out, and counted;
a tune that differs is checked again against abc2midi run on it alone).  Then the tunes
with guitar chords (``"Am"``) in data/abc_tunes/irish.abc and in music21's ryansMammoth
are compared melody and accompaniment (bass and chord channels) together, and those that
differ are sorted by what differs.  Run with
``taskset -c 1 nice -n 10 .venv/bin/python -m tests.fidelity_sweep`` (too slow for the
unit suite: a few minutes); ``--chords`` runs the guitar-chord part alone.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from musicgen.abc.lexer import lex
from musicgen.render.midi import tune_to_midi
from tests.render.test_fidelity import (
    COLLECTIONS,
    CORPUS,
    abc2midi_melodies,
    abc2midi_one,
    agreement,
    collection_files,
    melody_and_backing,
    same,
    same_backing,
    texts_of,
)

CHORD_SETS = ("irish.abc", "ryansMammoth")


def has_chords(text: str) -> bool:
    """Whether a tune has a guitar chord symbol (a quoted string that is no annotation)."""
    return any(token.kind == "gchord" for token in lex(text))


def ours_both(text: str) -> tuple[list, list] | None:
    try:
        return melody_and_backing(tune_to_midi(text))
    except Exception:  # noqa: BLE001 - a comparison counts failures, it does not stop on them
        return None


def category(mine: tuple | None, reference: tuple) -> str | None:
    """What differs between our (melody, backing) and abc2midi's; None: nothing."""
    if mine is None:
        return "we write no MIDI"
    (tune, chords), (ref_tune, ref_chords) = mine, reference
    if not same(tune, ref_tune):
        return "melody differs"
    if same_backing(chords, ref_chords):
        return None
    if not chords or not ref_chords:
        return "accompaniment only in " + ("abc2midi's" if ref_chords else "ours")
    if len(chords) != len(ref_chords):
        return "accompaniment: different number of notes"
    if [n[:2] for n in chords] != [n[:2] for n in ref_chords]:
        return "accompaniment: same notes count, other pitches"
    return "accompaniment: same pitches, other times"


def chord_agreement(texts: list[str], tmp: Path) -> tuple[int, int, int, Counter, dict]:
    """(tunes that agree, compared, abc2midi cannot convert, categories, examples)."""
    references = abc2midi_melodies(texts, tmp, read=melody_and_backing)
    kinds: Counter = Counter()
    examples: dict[str, list[int]] = {}
    skipped = 0
    for number, (text, reference) in enumerate(zip(texts, references, strict=True), 1):
        if not reference or not reference[0]:
            skipped += 1
            continue
        mine = ours_both(text)
        kind = category(mine, reference)
        if kind is not None:
            alone = abc2midi_one(text, tmp, read=melody_and_backing)
            kind = category(mine, alone) if alone else kind
        if kind is not None:
            kinds[kind] += 1
            examples.setdefault(kind, []).append(number)
    compared = len(texts) - skipped
    return compared - sum(kinds.values()), compared, skipped, kinds, examples


def chord_sets() -> dict[str, list[str]]:
    """The tunes with guitar chords of each set in `CHORD_SETS`."""
    found = {"irish.abc": [CORPUS / "irish.abc"], "ryansMammoth": collection_files("ryansMammoth")}
    return {
        name: [t for t in texts_of(files) if has_chords(t)]
        for name, files in found.items()
        if files and all(Path(f).exists() for f in files)
    }


def main() -> None:
    if "--chords" not in sys.argv:
        found = {"data/abc_tunes": [CORPUS]} | {n: collection_files(n) for n in COLLECTIONS}
        for name, files in found.items():
            if not files:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                agree, compared, skipped, differ = agreement(texts_of(files), Path(tmp))
            share = agree / compared if compared else 1.0
            sys.stdout.write(
                f"{name}: {agree}/{compared} agree ({share:.1%}); "
                f"abc2midi cannot convert {skipped}; those that differ: {differ[:20]}\n"
            )
    for name, texts in chord_sets().items():
        with tempfile.TemporaryDirectory() as tmp:
            agree, compared, skipped, kinds, examples = chord_agreement(texts, Path(tmp))
        share = agree / compared if compared else 1.0
        sys.stdout.write(
            f"{name}, tunes with guitar chords, melody + bass + chords: {agree}/{compared} "
            f"agree ({share:.1%}); abc2midi cannot convert {skipped}\n"
        )
        for kind, count in kinds.most_common():
            sys.stdout.write(f"  {count:4d} {kind}: e.g. tunes {examples[kind][:8]}\n")


if __name__ == "__main__":
    main()
