"""Read ABC files into tunes: find the files, read them as text, parse every tune.

The reading half of the ABC front end (`musicgen.abc.tunes` parses text, with no I/O).  Input
from anywhere is expected: a file found while searching a directory that cannot be read,
or that is binary, is skipped and reported like a bad tune, while the good files around it
still load; only a file named by the user that cannot be read, or input with no tune at
all, is an error (`CorpusError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from musicgen.abc.tunes import Skipped, Tune, parse_abc
from musicgen.errors import CorpusError

# The Irish tunes shipped with musicgen (and their licence): what runs train on by default.
BUNDLED_CORPUS = Path(__file__).resolve().parents[2] / "data" / "abc_tunes"


@dataclass(frozen=True)
class Corpus:
    """What `read_corpus` found: tunes in input order, and what it skipped."""

    tunes: tuple[Tune, ...]
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = field(default_factory=tuple)


def find_abc_files(paths) -> list[Path]:
    """Expand files and directories (searched recursively for ``*.abc``) in given order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc"))
        elif path.exists():
            found.append(path)
        else:
            raise CorpusError(f"{path}: no such file or directory")
    return found


def read_text(path: Path) -> str:
    """Read a file as UTF-8 text; bytes that are not UTF-8 become U+DC80..U+DCFF.

    Keeping them (``surrogateescape``) instead of failing lets `parse_abc` skip just the
    tunes that hold them; `binary_reason` says whether the whole file is binary.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data.strip():
        raise CorpusError(f"{path}: file is empty")
    return data.decode("utf-8", errors="surrogateescape")


def binary_reason(text: str) -> str | None:
    """Why text from `read_text` is not a text file (its first bad byte, with the byte
    offset in the file), or None if it is text."""
    data = text.encode("utf-8", errors="surrogateescape")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
    if "\x00" in text:
        return f"not a text file (NUL byte at offset {data.index(0)})"
    return None


def read_corpus(paths) -> Corpus:
    """Load every tune from files and directories.

    A file named on the command line that cannot be read is an error; a file found while
    searching a directory that cannot be read is skipped and reported, like a bad tune.
    Raises `CorpusError` when nothing at all is loaded.
    """
    paths = list(paths)
    if not paths:
        raise CorpusError("no ABC files given")
    tunes: list[Tune] = []
    skipped: list[Skipped] = []
    named = {Path(p) for p in paths}
    files = find_abc_files(paths)
    if not files:
        raise CorpusError(f"{', '.join(map(str, paths))}: no .abc files found")
    for path in files:
        try:
            text = read_text(path)
        except CorpusError as exc:
            if path in named:
                raise
            skipped.append(Skipped(str(path), 0, str(exc).split(": ", 1)[1]))
            continue
        found, bad = parse_abc(text, str(path))
        problem = None if found else binary_reason(text)
        if problem:  # nothing but binary: one reason for the file, not one per block
            if path in named:
                raise CorpusError(f"{path}: {problem}")
            skipped.append(Skipped(str(path), 0, problem))
            continue
        if not found and path in named and len(files) == 1:
            plural = "s" if len(bad) != 1 else ""
            reasons = (
                f" ({len(bad)} block{plural} skipped; line {bad[0].line}: {bad[0].reason})"
                if bad
                else ""
            )
            raise CorpusError(f"{path}: no tunes found{reasons}")
        tunes.extend(found)
        skipped.extend(bad)
    if not tunes:
        plural = "s" if len(files) != 1 else ""
        first = f" (first skipped: {skipped[0]})" if skipped else ""
        raise CorpusError(
            f"{', '.join(map(str, paths))}: no tunes found in {len(files)} file{plural}{first}"
        )
    return Corpus(tuple(tunes), tuple(skipped), tuple(str(p) for p in files))
