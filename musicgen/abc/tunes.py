"""Parse ABC text into tunes: split, parse headers, normalize.

Parsing is pure: `parse_abc` takes text and returns tunes, and `musicgen.abc.corpus` reads the
files.  A tune is split off at an ``X:`` line or a blank line, as the ABC standard says;
``X:`` numbers are kept but never used as keys, because real files restart them.

Input from anywhere is expected: a tune with bytes that are not UTF-8, NUL or other control
characters, or absurd length is skipped and reported (file, line, reason) while the good
tunes around it still load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from musicgen.abc.theory import default_unit_length, strip_comment

# Header fields every tune text is rebuilt with, in this order (K: must close a header).
CANONICAL_FIELDS = ("M", "L", "K")
_FIELD_RE = re.compile(r"^([A-Za-z+]):(.*)$")
_NOTE_RE = re.compile(r"[A-Ga-g]")
_QUOTED_RE = re.compile(r'"[^"]*"')
_BANG_DECORATION_RE = re.compile(r"![^!\s|]+!")
_TRAILING_BANGS_RE = re.compile(r"[!\s]*\Z")
# Characters no ABC tune contains: C0 controls other than tab/newline (the model's tune
# markers are among them), and lone surrogates (how `musicgen.abc.corpus.read_text` keeps
# bytes not UTF-8).
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
