"""Read ABC files into tunes: find the files, read them as text, parse every tune.

The reading half of the ABC front end (`musicgen.abc.tunes` parses text, with no I/O).  Input
from anywhere is expected: a file found while searching a directory that cannot be read,
or that is binary, is skipped and reported like a bad tune, while the good files around it
still load; only a file named by the user that cannot be read, or input with no tune at
all, is an error (`CorpusError`).

A source may also name one of the folk collections music21 ships, ``music21:NAME``
(``music21:ryansMammoth``): its ABC files are read from the installed package, with no
network.  When several sources are given, a tune whose canonical text (`Tune.text`) an
earlier source already gave is kept once and reported as skipped.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from musicgen.abc.tunes import Skipped, Tune, parse_abc
from musicgen.errors import CorpusError

# The Irish tunes shipped with musicgen (and their licence): what runs train on by default.
BUNDLED_CORPUS = Path(__file__).resolve().parents[2] / "data" / "abc_tunes"
# ``music21:NAME`` names a folder of ABC files in music21's own corpus.
MUSIC21_PREFIX = "music21:"


@dataclass(frozen=True)
class Corpus:
    """What `read_corpus` found: tunes in input order, and what it skipped."""

    tunes: tuple[Tune, ...]
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = field(default_factory=tuple)


def music21_corpus_root() -> Path | None:
    """The folder of music21's bundled corpus, found without importing music21 (slow)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def music21_collections() -> list[str]:
    """Names of music21's corpus folders that hold ABC files (``ryansMammoth``...)."""
    root = music21_corpus_root()
    if root is None or not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and any(f.suffix.lower() == ".abc" for f in p.rglob("*"))
    )


def resolve_source(raw) -> Path:
    """The path a source names: itself, or music21's folder for ``music21:NAME``."""
    text = str(raw)
    if not text.startswith(MUSIC21_PREFIX):
        return Path(raw)
    name = text[len(MUSIC21_PREFIX) :]
    names = music21_collections()
    if name not in names:
        there = ", ".join(names) if names else "none: music21 is not installed"
        raise CorpusError(f"{text}: no such music21 collection (there are: {there})")
    return music21_corpus_root() / name


def find_abc_files(paths) -> list[Path]:
    """Expand files and directories (searched recursively for ``*.abc``) in given order."""
    found: list[Path] = []
    for raw in paths:
        path = resolve_source(raw)
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
    """Load every tune from files, directories and ``music21:NAME`` collections.

    A file named on the command line that cannot be read is an error; a file found while
    searching a directory that cannot be read is skipped and reported, like a bad tune.
    A tune an earlier source already gave (the same canonical text) is kept once.
    Raises `CorpusError` when nothing at all is loaded.
    """
    paths = list(paths)
    if not paths:
        raise CorpusError("no ABC files given")
    tunes: list[Tune] = []
    skipped: list[Skipped] = []
    files: list[Path] = []
    earlier: dict[str, Tune] = {}  # canonical text -> the tune an earlier source gave
    for raw in paths:
        source_files = find_abc_files([raw])
        lonely = len(paths) == 1 and len(source_files) == 1
        named = resolve_source(raw) if source_files == [resolve_source(raw)] else None
        found: list[Tune] = []
        for path in source_files:
            good, bad = _read_file(path, named=path == named, alone=lonely)
            found.extend(good)
            skipped.extend(bad)
        for tune in found:
            first = earlier.get(tune.text())
            if first is not None:
                skipped.append(Skipped(tune.source, tune.line, f"the same tune as {first.where}"))
                continue
            tunes.append(tune)
        for tune in found:
            earlier.setdefault(tune.text(), tune)
        files.extend(source_files)
    if not files:
        raise CorpusError(f"{', '.join(map(str, paths))}: no .abc files found")
    if not tunes:
        plural = "s" if len(files) != 1 else ""
        first = f" (first skipped: {skipped[0]})" if skipped else ""
        raise CorpusError(
            f"{', '.join(map(str, paths))}: no tunes found in {len(files)} file{plural}{first}"
        )
    return Corpus(tuple(tunes), tuple(skipped), tuple(str(p) for p in files))


def _read_file(path: Path, *, named: bool, alone: bool) -> tuple[list[Tune], list[Skipped]]:
    """The tunes of one file and what was skipped; errors only for a file the user named
    (`named`), and "no tunes" only when it is the one file of the whole corpus (`alone`)."""
    try:
        text = read_text(path)
    except CorpusError as exc:
        if named:
            raise
        return [], [Skipped(str(path), 0, str(exc).split(": ", 1)[1])]
    found, bad = parse_abc(text, str(path))
    problem = None if found else binary_reason(text)
    if problem:  # nothing but binary: one reason for the file, not one per block
        if named:
            raise CorpusError(f"{path}: {problem}")
        return [], [Skipped(str(path), 0, problem)]
    if not found and named and alone:
        plural = "s" if len(bad) != 1 else ""
        reasons = (
            f" ({len(bad)} block{plural} skipped; line {bad[0].line}: {bad[0].reason})"
            if bad
            else ""
        )
        raise CorpusError(f"{path}: no tunes found{reasons}")
    return list(found), list(bad)
