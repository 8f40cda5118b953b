"""Full agreement sweep: musicgen's MIDI against plain abc2midi, per collection.

Every tune of data/abc_tunes and of each of music21's bundled collections is compared, as
tests/render/test_fidelity.py compares its sample (same rules: plain abc2midi, no exclusion by
rule; only tunes abc2midi itself writes no readable MIDI for are left out, and counted;
a tune that differs is checked again against abc2midi run on it alone).  Run with
``taskset -c 1 nice -n 10 .venv/bin/python -m tests.fidelity_sweep`` (too slow for the
unit suite: a few minutes).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.render.test_fidelity import COLLECTIONS, CORPUS, agreement, collection_files, texts_of


def main() -> None:
    found = {"data/abc_tunes": [CORPUS]} | {name: collection_files(name) for name in COLLECTIONS}
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


if __name__ == "__main__":
    main()
