"""The tunebook: tunes a user keeps, in one SQLite file (the standard library's sqlite3).

Every write is one transaction, committed before the call returns, so a killed server
loses nothing that was kept: the file is in WAL mode with ``synchronous=FULL``, so a
commit has reached the write-ahead log on disk (fsync) before the studio answers; a
SIGKILL (or a power cut) after that loses nothing, and the next open replays the log.
(WAL with NORMAL would already survive a killed process, the OS holding the written
pages; FULL also survives a power cut, for one fsync a keep.)  WAL also lets readers go
on while one writer commits.  A connection is opened per call: the studio serves
requests from several threads, and SQLite connections are not shared between them.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

from musicgen.errors import OutputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS tunes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    abc TEXT NOT NULL,
    starred INTEGER NOT NULL DEFAULT 0,
    kept TEXT NOT NULL DEFAULT (datetime('now'))
)
"""
_TITLE = re.compile(r"^T:[^\n]*$", re.M)
_NUMBER = re.compile(r"^X:[^\n]*$", re.M)


class UnknownTune(LookupError):
    """No kept tune has this id."""


class Tunebook:
    """Keep, star, retitle, search and export tunes stored at `path`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db, db:
                db.execute("PRAGMA journal_mode=WAL")  # stored in the file: once is enough
                db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"{self.path}: cannot open the tunebook: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA synchronous=FULL")  # per connection: fsync the WAL at each commit
        db.row_factory = sqlite3.Row
        return db

    def keep(self, abc: str, title: str | None = None) -> dict:
        """Store a tune (title from `title`, else its T: line); return the stored row."""
        if title is None:
            match = _TITLE.search(abc)
            title = match.group(0)[2:].strip() if match else ""
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO tunes (title, abc) VALUES (?, ?)", (title or "Untitled", abc)
            )
            tune_id = cursor.lastrowid
        return self.get(tune_id)

    def get(self, tune_id: int) -> dict:
        """One kept tune as a dict; `UnknownTune` if there is none with this id."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM tunes WHERE id = ?", (tune_id,)).fetchone()
        if row is None:
            raise UnknownTune(f"no kept tune has id {tune_id}")
        return _row(row)

    def update(self, tune_id: int, title: str | None = None, starred: bool | None = None):
        """Retitle and/or (un)star a kept tune; return the stored row."""
        with closing(self._connect()) as db, db:
            if not db.execute("SELECT 1 FROM tunes WHERE id = ?", (tune_id,)).fetchone():
                raise UnknownTune(f"no kept tune has id {tune_id}")
            if title is not None:
                db.execute("UPDATE tunes SET title = ? WHERE id = ?", (title, tune_id))
            if starred is not None:
                db.execute("UPDATE tunes SET starred = ? WHERE id = ?", (int(starred), tune_id))
        return self.get(tune_id)

    def delete(self, tune_id: int) -> None:
        with closing(self._connect()) as db, db:
            if not db.execute("DELETE FROM tunes WHERE id = ?", (tune_id,)).rowcount:
                raise UnknownTune(f"no kept tune has id {tune_id}")

    def search(self, query: str = "", starred: bool = False) -> list[dict]:
        """Kept tunes whose title or ABC contains `query` (any case), oldest first."""
        sql = "SELECT * FROM tunes WHERE (title LIKE ? ESCAPE '\\' OR abc LIKE ? ESCAPE '\\')"
        like = "%" + re.sub(r"([%_\\])", r"\\\1", query) + "%"
        if starred:
            sql += " AND starred = 1"
        with closing(self._connect()) as db:
            rows = db.execute(sql + " ORDER BY id", (like, like)).fetchall()
        return [_row(row) for row in rows]

    def export(self, query: str = "", starred: bool = False) -> str:
        """The matching tunes as one ABC file, numbered X:1 upward, with their titles."""
        return "\n".join(
            tune_text(tune, number)
            for number, tune in enumerate(self.search(query, starred), start=1)
        )


def tune_text(tune: dict, number: int | None = None) -> str:
    """A kept tune's ABC with its stored title on the T: line (and X: renumbered)."""
    abc = tune["abc"].strip("\n") + "\n"
    title_line = "T:" + tune["title"].replace("\n", " ")
    abc = _TITLE.sub(lambda _: title_line, abc, count=1) if _TITLE.search(abc) else abc
    if number is not None:
        abc = _NUMBER.sub(f"X:{number}", abc, count=1)
    return abc


def _row(row: sqlite3.Row) -> dict:
    return {key: row[key] for key in row.keys()} | {"starred": bool(row["starred"])}
