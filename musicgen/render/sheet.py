"""Sheet music of one ABC tune: SVG engraved by abcm2ps, MusicXML written by music21.

abcm2ps (Debian package ``abcm2ps``) reads ABC itself, so its SVG shows the tune exactly as
written.  MusicXML (which MuseScore and most notation programs open) comes from music21,
a project dependency; music21 ignores inline fields inside a line and music after an
``M:`` line, so `for_music21` first moves them onto lines of their own.  Both write
atomically; a missing tool is an `OutputError` that names the package to install.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

from musicgen.abc.lexer import lex
from musicgen.abc.tunes import normalize_line
from musicgen.errors import MidiError, OutputError
from musicgen.files import atomic_write

log = logging.getLogger(__name__)

ABCM2PS_TIMEOUT = 60  # seconds; a tune takes milliseconds
# Inline fields music21 ignores inside a line; on a line of their own it honours them.
_OWN_LINE_FIELDS = frozenset("KLMQ")
# The value of a meter or unit length written before music on one line ("M:9/8 EDC|").
_BARE_VALUE_RE = re.compile(r"C\|?|\d+/\d+")


def have_abcm2ps() -> bool:
    """True if the abcm2ps program is on the PATH."""
    return shutil.which("abcm2ps") is not None


def require_abcm2ps() -> None:
    """Raise `OutputError` naming the package if abcm2ps is not installed."""
    if not have_abcm2ps():
        raise OutputError(
            "--format svg needs abcm2ps, which is not installed "
            "(Debian/Ubuntu: sudo apt install abcm2ps)"
        )


def write_svg(abc: str, path) -> None:
    """Engrave one tune with abcm2ps into the SVG file `path`.

    Raises `OutputError` if abcm2ps is missing or writes nothing (its first error line
    is in the message).
    """
    require_abcm2ps()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "tune.abc"
        source.write_text(abc, encoding="utf-8")
        done = subprocess.run(
            ["abcm2ps", "-q", "-g", "-O", str(Path(tmp) / "tune.svg"), str(source)],
            capture_output=True,
            encoding="utf-8",
            errors="replace",  # its messages may quote bad input byte by byte
            timeout=ABCM2PS_TIMEOUT,
        )
        pages = sorted(Path(tmp).glob("tune*.svg"))  # -g numbers its files: tune001.svg
        if not pages:
            lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit status {done.returncode}"
            raise OutputError(f"{path}: abcm2ps wrote no SVG ({reason})")
        atomic_write(Path(path), lambda target: shutil.copyfile(pages[0], target))


def write_musicxml(abc: str, path) -> None:
    """Write one tune as MusicXML via music21 (repeats stay repeats, as notation).

    Raises `MidiError` if music21 cannot read the tune, `OutputError` if `path` cannot
    be written.  music21's own warnings go to the log, not to the terminal.
    """
    from music21 import converter, stream

    stderr = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(stderr):
        warnings.simplefilter("ignore")
        try:
            score = converter.parseData(for_music21(abc), format="abc")
            if isinstance(score, stream.Opus):  # the text held several tunes
                score = score.scores[0]
        except Exception as exc:  # music21 raises many types; none may reach the user raw
            text = " ".join(str(exc).split())[:120] or type(exc).__name__
            raise MidiError(f"music21 cannot read the tune ({text})") from exc

        def write(tmp: Path) -> None:
            score.write("musicxml", fp=str(tmp))

        atomic_write(Path(path), write)
    if stderr.getvalue().strip():
        log.debug("music21: %s", stderr.getvalue().strip())


def for_music21(abc: str) -> str:
    """The tune as music21 reads it best: inline fields and bare meters on own lines.

    ``%abc-2.1`` makes music21 carry accidentals through the bar, as ABC 2.1 says; a
    blank line would end the tune for it, so blank lines go, as do comments and the old
    ``!`` line-end markers (see `musicgen.abc.tunes.normalize_line`).
    """
    text = _fields_on_own_lines(abc)
    lines = (normalize_line(line) for line in text.split("\n"))
    body = "\n".join(line for line in lines if line.strip())
    return f"%abc-2.1\n{body}\n"


def _fields_on_own_lines(text: str, *, fields: bool = True) -> str:
    """Inline ``[K:..]``/``[L:]``/``[M:]``/``[Q:]`` and bare ``M:9/8 EDC|`` split off."""
    out = []
    for token in lex(text, fields=fields):
        words = token.value.split(maxsplit=1)
        if token.kind == "inline_field" and token.name in _OWN_LINE_FIELDS:
            out.append(f"\n{token.name}:{token.value}\n")
        elif token.kind == "field" and token.name in "ML" and len(words) == 2:
            if _BARE_VALUE_RE.fullmatch(words[0]):
                rest = _fields_on_own_lines(words[1], fields=False)
                out.append(f"{token.name}:{words[0]}\n{rest}")
            else:
                out.append(token.text)
        else:
            out.append(token.text)
    return "".join(out)
