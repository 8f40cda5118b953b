"""Where a problem is in the file the user checked, not in the text a checker was given.

`musicgen.grammar` reports positions in ``Tune.text()`` (an ``M:``, ``L:`` and ``K:`` line,
then the body) and abc2midi in ``Tune.abc()`` (``X:`` and ``T:`` first, characters counted
from 0); neither is the file, where a tune has its own header lines, comments and blank
lines.  `Places` turns either back into the file's line and column: body lines are found
again in the file by their text (`musicgen.abc.tunes.normalize_line` only drops comments and
trailing blanks, so columns stay), header lines by their field name.  Where the file
cannot be read or matched (a tune made in memory) they name the tune's own lines
(``the K: line``, ``body line 2``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from musicgen.abc.tunes import Tune, normalize_line

_FIELD_RE = re.compile(r"^([A-Za-z+]):(\s*)(.*)$")
_ABC2MIDI_RE = re.compile(r"^(?:Error|Warning) in line-char (\d+)-(\d+) : (.*)$")
_BAR_RE = re.compile(r"^(?:Track \d+ )?Bar (\d+) (has .*)$")
HEADER = "MLK"  # the header lines of Tune.text(), in order
ABC_EXTRA = 2  # Tune.abc() has X: and T: before them


@dataclass(frozen=True)
class Places:
    """The file line of each line of ``Tune.text()`` and columns to add on it."""

    lines: tuple[int, ...]  # lines[i]: file line (1-based) of text line i + 1
    shifts: tuple[int, ...]  # spaces after a field's colon that ``Tune.text()`` dropped
    in_file: bool  # False: no file matched; positions name the tune's own lines

    def text_position(self, line: int, column: int) -> str:
        """``"line L, column C"`` in the file of 1-based `line`, `column` of ``Tune.text()``."""
        index = min(max(line, 1), len(self.lines)) - 1
        column += self.shifts[index] if column > 2 else 0
        if self.in_file:
            return f"line {self.lines[index]}, column {column}"
        if index < len(HEADER):  # no file to point into: name the line instead
            return f"the {HEADER[index]}: line, column {column}"
        return f"body line {index + 1 - len(HEADER)}, column {column}"

    def abc2midi(self, message: str) -> str:
        """abc2midi's ``Warning in line-char 7-58 : Track 0 Bar 3 has ...`` as ``"line 9,
        column 59: bar 4 has ..."``: the file's position, bars counted from 1."""
        match = _ABC2MIDI_RE.match(message.strip())
        if match is None:
            return message.strip()
        line, char, text = int(match.group(1)), int(match.group(2)), match.group(3)
        bar = _BAR_RE.match(text)
        if bar is not None:  # abc2midi counts bars from 0
            text = f"bar {int(bar.group(1)) + 1} {bar.group(2)}"
        if line <= ABC_EXTRA:  # X: or T:, before the text the places know
            return f"line {self.lines[0]}: {text}" if self.in_file else text
        return f"{self.text_position(line - ABC_EXTRA, char + 1)}: {text}"


def places(tune: Tune, file_lines: Sequence[str] | None) -> Places:
    """The `Places` of `tune` in the file whose lines are `file_lines` (None: unknown)."""
    body = tune.body.split("\n")
    found = _find(tune, body, file_lines) if file_lines is not None else None
    if found is None:
        count = len(HEADER) + len(body)
        return Places(tuple(range(1, count + 1)), (0,) * count, in_file=False)
    return Places(*found, in_file=True)


def _find(tune: Tune, body: list[str], file_lines: Sequence[str]):
    """(lines, shifts) of the tune's text in `file_lines`, or None if it is not there."""
    header: dict[str, tuple[int, int]] = {}
    number = tune.line  # 1-based: the tune's first line
    while number <= len(file_lines):
        match = _FIELD_RE.match(normalize_line(file_lines[number - 1]))
        if match and match.group(1) in HEADER:
            header.setdefault(match.group(1), (number, len(match.group(2))))
        number += 1
        if match and match.group(1) == "K":
            break
    else:
        return None
    lines = [header.get(name, (tune.line, 0)) for name in HEADER]  # absent: a default
    for text in body:
        while number <= len(file_lines) and _tidy(file_lines[number - 1]) != text:
            number += 1  # comment lines, blank lines, lines a comment emptied
        if number > len(file_lines):
            return None
        lines.append((number, _shift(normalize_line(file_lines[number - 1]))))
        number += 1
    return tuple(n for n, _ in lines), tuple(s for _, s in lines)


def _tidy(raw: str) -> str:
    """A file line as it is in a tune's body (`musicgen.abc.tunes`: ``K: G`` -> ``K:G``)."""
    line = normalize_line(raw)
    match = _FIELD_RE.match(line)
    return f"{match.group(1)}:{match.group(3).strip()}" if match else line


def _shift(line: str) -> int:
    match = _FIELD_RE.match(line)
    return len(match.group(2)) if match else 0


def read_lines(source: str) -> list[str] | None:
    """The lines of file `source` as the parser split them, or None if it cannot be read."""
    from pathlib import Path

    from musicgen.abc.corpus import read_text
    from musicgen.errors import CorpusError

    path = Path(source)
    if not path.is_file():
        return None
    try:
        text = read_text(path)
    except CorpusError:
        return None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
