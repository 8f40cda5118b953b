"""Full agreement sweep: musicgen's MIDI against plain abc2midi, per collection.

No exclusion by rule: every tune is compared; only tunes abc2midi itself writes no
(readable) MIDI file for are left out, and they are counted.  Comparison: the melody
channel (first track with notes, channel of its first note), onsets and durations in
beats to 1/48 beat, pitch for pitch.  Run with
``nice -n 19 .venv/bin/python -m tests.fidelity_sweep`` (too slow for the unit suite).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from musicgen.abc import read_corpus
from musicgen.midi import read_notes, tune_to_midi
from tests.test_fidelity import melody

REPO = Path(__file__).resolve().parent.parent
TOLERANCE = 1 / 48
COLLECTIONS = ("ryansMammoth", "essenFolksong", "airdsAirs", "miscFolk", "nottingham-dataset")


def collection_files() -> dict[str, list[Path]]:
    """data/abc_tunes and the ABC files of each music21 collection (found, not assumed)."""
    found = {"data/abc_tunes": sorted((REPO / "data" / "abc_tunes").glob("*.abc"))}
    spec = importlib.util.find_spec("music21")
    if spec and spec.submodule_search_locations:
        corpus = Path(spec.submodule_search_locations[0]) / "corpus"
        for name in COLLECTIONS:
            found[name] = sorted((corpus / name).rglob("*.abc"))
    return found


def reference(texts: list[str], tmp: Path) -> list[list | None]:
    """Plain abc2midi's melody for each tune (None where it writes no readable file)."""
    numbered = [re.sub(r"^X:.*$", f"X:{i}", t, count=1, flags=re.M) for i, t in enumerate(texts, 1)]
    source = tmp / "all.abc"
    source.write_text("\n\n".join(numbered) + "\n", encoding="utf-8")
    subprocess.run(["abc2midi", str(source), "-silent"], capture_output=True, timeout=600, cwd=tmp)
    found = [melody(tmp / f"all{i}.mid") for i in range(1, len(texts) + 1)]
    # abc2midi sometimes dies part-way through a long file (not repeatably): the tunes
    # after the crash get a run of their own before they count as unconvertible.
    for i, ref in enumerate(found):
        if ref is None:
            one = tmp / f"one{i}.abc"
            one.write_text(numbered[i] + "\n", encoding="utf-8")
            run = ["abc2midi", str(one), "-silent", "-o", str(tmp / f"one{i}.mid")]
            subprocess.run(run, capture_output=True, timeout=60, cwd=tmp)
            found[i] = melody(tmp / f"one{i}.mid")
    return found


def same(a: list, b: list) -> bool:
    """Pitch for pitch, onsets and durations within `TOLERANCE` beats."""
    if len(a) != len(b):
        return False
    key = lambda n: (round(n[1] / TOLERANCE), n[0])  # noqa: E731
    return all(
        p == q and abs(s - t) <= TOLERANCE and abs(d - e) <= TOLERANCE
        for (p, s, d), (q, t, e) in zip(sorted(a, key=key), sorted(b, key=key), strict=True)
    )


def ours(text: str) -> list | None:
    try:
        return read_notes(tune_to_midi(text))
    except Exception:  # noqa: BLE001 - a sweep counts failures, it does not stop on them
        return None


def sweep(files: list[Path]) -> tuple[int, int, int, list[int]]:
    """(agree, compared, abc2midi cannot convert, numbers of the tunes that differ)."""
    tunes = read_corpus(files).tunes
    texts = [t.abc(i) for i, t in enumerate(tunes, 1)]
    with tempfile.TemporaryDirectory() as tmp:
        refs = reference(texts, Path(tmp))
    differ, skipped = [], 0
    for i, (text, ref) in enumerate(zip(texts, refs, strict=True), 1):
        if not ref:
            skipped += 1
            continue
        mine = ours(text)
        if mine is None or not same(mine, ref):
            differ.append(i)
    compared = len(texts) - skipped
    return compared - len(differ), compared, skipped, differ


def main() -> None:
    for name, files in collection_files().items():
        if not files:
            continue
        agree, compared, skipped, differ = sweep(files)
        share = agree / compared if compared else 1.0
        sys.stdout.write(
            f"{name}: {agree}/{compared} agree ({share:.1%}); "
            f"abc2midi cannot convert {skipped}; first that differ: {differ[:8]}\n"
        )


if __name__ == "__main__":
    main()
