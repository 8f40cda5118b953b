"""Read ABC files into tunes: split, parse headers, normalize.

Parsing is pure (`parse_abc` takes text, returns tunes); only `read_corpus` touches the
disk.  A tune is split off at an ``X:`` line or a blank line, as the ABC standard says;
``X:`` numbers are kept but never used as keys, because real files restart them.

Input from anywhere is expected: a tune with bytes that are not UTF-8, NUL or other control
characters, or absurd length is skipped and reported (file, line, reason) while the good
tunes around it still load; only a file with no tune at all is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from musicgen.errors import CorpusError

# meter_fraction and default_unit_length are re-exported: callers import them from here.
from musicgen.theory import default_unit_length, meter_fraction, strip_comment  # noqa: F401

# Header fields every tune text is rebuilt with, in this order (K: must close a header).
CANONICAL_FIELDS = ("M", "L", "K")
_FIELD_RE = re.compile(r"^([A-Za-z+]):(.*)$")
_NOTE_RE = re.compile(r"[A-Ga-g]")
_QUOTED_RE = re.compile(r'"[^"]*"')
_BANG_DECORATION_RE = re.compile(r"![^!\s|]+!")
_TRAILING_BANGS_RE = re.compile(r"[!\s]*\Z")
# Characters no ABC tune contains: C0 controls other than tab/newline (the model's tune
# markers are among them), and lone surrogates (how `read_text` keeps bytes not UTF-8).
_BAD_CHAR_RE = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")
# 9x the longest of the 13,000 tunes in the bundled and music21 corpora (2,277): a longer
# "tune" is a broken file (a lost newline, a concatenation), and costs minutes downstream.
MAX_TUNE_CHARS = 20_000


@dataclass(frozen=True)
class Tune:
    """One tune: its header fields in file order, its normalized body, where it came from."""

    fields: tuple[tuple[str, str], ...]
    body: str
    source: str = "<string>"
    line: int = 1

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header field `name` (``"T"``, ``"M"``...), or `default`."""
        for key, value in self.fields:
            if key == name:
                return value
        return default

    @property
    def title(self) -> str:
        return self.get("T") or "Untitled"

    @property
    def meter(self) -> str:
        # ABC 2.1: a missing M: means free meter.
        return self.get("M") or "none"

    @property
    def unit_length(self) -> str:
        return self.get("L") or default_unit_length(self.meter)

    @property
    def key(self) -> str:
        return self.get("K") or "C"

    @property
    def where(self) -> str:
        """``file:line`` of the tune's first line, for messages."""
        return f"{self.source}:{self.line}"

    def text(self) -> str:
        """The canonical text the model learns: ``M:``, ``L:``, ``K:`` then the body.

        Titles, ``X:`` numbers and bookkeeping fields (``Z:``, ``S:``...) are left out:
        they carry no music, and the sampler writes its own ``X:`` and ``T:``.
        """
        return f"M:{self.meter}\nL:{self.unit_length}\nK:{self.key}\n{self.body}\n"

    def abc(self, number: int = 1, title: str | None = None) -> str:
        """A complete, standalone ABC tune (``X:``, ``T:``, then the canonical text)."""
        return f"X:{number}\nT:{title or self.title}\n{self.text()}"


@dataclass(frozen=True)
class Skipped:
    """A block of input that was not loaded, and why."""

    source: str
    line: int  # 0: the whole file (unreadable, or binary)
    reason: str

    def __str__(self) -> str:
        if not self.line:  # a whole file (line 0): unreadable or binary
            return f"{self.source}: {self.reason}"
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Corpus:
    """What `read_corpus` found: tunes in input order, and what it skipped."""

    tunes: tuple[Tune, ...]
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = field(default_factory=tuple)


def normalize_line(line: str) -> str:
    """Drop a ``%`` comment, turn tabs into spaces, strip trailing blanks and ``!`` markers.

    A ``!`` at the end of a body line is the old line-break marker (music21 mishandles it);
    a ``!`` that closes a ``!decoration!`` is kept.
    """
    line = strip_comment(line).replace("\t", " ").rstrip()
    if line.endswith("!"):
        # The trailing run of "!" and blanks goes, except a first "!" that closes a
        # decoration.  One pass: a line of a million "!" must stay cheap.
        cut = _TRAILING_BANGS_RE.search(line).start()
        if any(m.end() - 1 == cut for m in _BANG_DECORATION_RE.finditer(line)):
            cut += 1
        line = line[:cut].rstrip()
    return line


def has_notes(body: str) -> bool:
    """True if the body has at least one note letter outside field lines and quoted text."""
    for line in body.splitlines():
        if _FIELD_RE.match(line):
            continue
        line = _BANG_DECORATION_RE.sub("", _QUOTED_RE.sub("", line))
        if _NOTE_RE.search(line):
            return True
    return False


def parse_abc(text: str, source: str = "<string>") -> tuple[list[Tune], list[Skipped]]:
    """Split ABC text into tunes; return them and the blocks skipped, with reasons.

    A block is a run of non-blank lines; an ``X:`` line also starts a new block.  Header
    lines run up to and including the first ``K:``; the rest is the body.  Blocks without
    a ``K:`` field (free text, a stray fragment) or without notes are skipped.
    """
    tunes: list[Tune] = []
    skipped: list[Skipped] = []
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    blocks = list(_blocks(text))
    for index, (start, lines) in enumerate(blocks):
        if not lines:
            continue  # merged into the block before it
        nxt = blocks[index + 1][1] if index + 1 < len(blocks) else []
        if lines[-1][1].startswith("K:") and nxt and not _FIELD_RE.match(nxt[0][1]):
            # A blank line between the header and the music: common in real files.
            lines = lines + nxt
            blocks[index + 1] = (blocks[index + 1][0], [])
        tune, reason = _parse_block(lines, source, start)
        if tune is not None:
            tunes.append(tune)
        elif reason is not None:
            skipped.append(Skipped(source, start, reason))
    return tunes, skipped


def _blocks(text: str):
    """Yield (first line number, [(line number, normalized line)...]) of each block."""
    block: list[tuple[int, str]] = []
    start = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = normalize_line(raw)
        is_blank = not raw.strip()
        if raw.lstrip().startswith("%") and not is_blank:
            continue  # a whole-line comment neither ends nor starts a tune
        if is_blank or (line.startswith("X:") and block):
            if block:
                yield start, block
            block = []
            if is_blank:
                continue
        if not block:
            start = number
        if line:
            block.append((number, line))
    if block:
        yield start, block


def _parse_block(
    lines: list[tuple[int, str]], source: str, start: int
) -> tuple[Tune | None, str | None]:
    for number, line in lines:
        bad = _BAD_CHAR_RE.search(line)
        if bad:
            return None, _bad_char_reason(bad.group(), number)
    fields: list[tuple[str, str]] = []
    for index, (number, line) in enumerate(lines):
        match = _FIELD_RE.match(line)
        if not match:
            if not fields:
                return None, "no header: a block of text without X:/K: fields (not a tune)"
            return None, f"no K: field before the music at line {number}"
        name, value = match.group(1), match.group(2).strip()
        fields.append((name, value))
        if name == "K":
            size = sum(len(line) + 1 for _, line in lines)
            if size > MAX_TUNE_CHARS:
                return None, f"{size:,} characters long: not one tune (limit {MAX_TUNE_CHARS:,})"
            body = "\n".join(_tidy_field(line) for _, line in lines[index + 1 :])
            if not has_notes(body):
                return None, "no notes after the K: field"
            return Tune(tuple(fields), body, source, start), None
    if len(fields) == 1 and fields[0][0] != "X":
        return None, f"no K: field (only a stray {fields[0][0]}: line)"
    return None, "no K: field"


def _bad_char_reason(char: str, line: int) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        return f"not UTF-8 text at line {line} (byte 0x{code - 0xDC00:02x})"
    if code == 0:
        return f"NUL byte at line {line} (binary data, not text)"
    return f"control character U+{code:04X} at line {line} (not ABC text)"


def _tidy_field(line: str) -> str:
    """``K: G Major`` -> ``K:G Major``: a body field line in the same form as the header."""
    match = _FIELD_RE.match(line)
    return f"{match.group(1)}:{match.group(2).strip()}" if match else line


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
