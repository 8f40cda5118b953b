"""Writing files so that a crash never leaves half of one, and I/O errors in one line.

Every module that writes a file the user keeps (run directories, MIDI, WAV, sheets, plots,
tune files) goes through `atomic_write`: a temp file in the same directory, then
``os.replace``, so a kill leaves either the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from musicgen.errors import OutputError


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` then move the temp file over `path` in one step.

    The temp file keeps `path`'s suffix (Keras insists on ``.keras``).  On any failure the
    temp file is removed and the old `path`, if any, is left untouched.
    """
    path = Path(path)
    prefix, suffix = temp_affixes(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({reason(exc)})") from None
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({reason(exc)})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    """Write text atomically, UTF-8."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def make_dir(path: Path) -> None:
    """Create a directory (and parents); a failure names it, in one line."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create directory ({reason(exc)})") from None


def remove(paths) -> None:
    """Delete each of `paths`; a failure names the file, in one line."""
    for path in paths:
        try:
            Path(path).unlink()
        except OSError as exc:
            raise OutputError(f"{path}: cannot remove ({reason(exc)})") from None


def temp_affixes(path: Path) -> tuple[str, str]:
    """``model.keras`` -> (``.model.``, ``.keras``): the temp name keeps the suffix whole
    (Keras insists on ``.keras``; ``.weights.h5`` must survive) and starts with a dot."""
    suffix = "".join(path.suffixes)
    return f".{path.name[: -len(suffix) or None]}.", suffix


def reason(exc: Exception) -> str:
    """An error's reason in one line of at most 200 characters, whole sentences if it can.

    Keras wraps the real cause of a failed load at the end of a long message
    ("... Exception encountered: Could not locate class ..."): that cause is kept.
    """
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    text = text.rsplit("Exception encountered: ", 1)[-1].strip().splitlines()[0]
    if len(text) > 200:
        cut = text.rfind(". ", 0, 200)
        text = text[: cut + 1] if cut > 40 else text[:197] + "..."
    return text


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
