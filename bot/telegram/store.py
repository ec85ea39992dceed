"""SQLite in the data dir for what the bot must not forget: the `SqlState` over one file.

One file, WAL journal and `synchronous=FULL`, every write one transaction: a `kill -9` (or
a power cut) loses at most the transaction in flight and never leaves half a conversation.
Not PicklePersistence, which rewrites whole pickles and can tear them. One connection,
guarded by a lock, serves the event loop's worker threads; statements are small and indexed.
Writers take SQLite's one write lock at BEGIN IMMEDIATE, so the advisory locks PostgreSQL
needs are already held here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.telegram.sqlstate import SqlState, Tx
from indexing.private import private_file

STORE_FILE = "telegram.sqlite3"


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class SqliteDialect:
    """One SQLite connection shared by the worker threads, one transaction at a time."""

    name = "sqlite"
    key_column = "INTEGER PRIMARY KEY AUTOINCREMENT"  # a rowid alias; BIGINT would not be one
    skip_locked = ""

    def __init__(self, path: Path) -> None:
        private_file(path)  # every user's questions: 0600 (SQLite gives -wal and -shm the same mode)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = _dict_row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        """BEGIN IMMEDIATE (or a deferred BEGIN to read) .. COMMIT, rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Tx(self._db.cursor())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def lock(self, tx: Tx, key: int) -> None:
        """Held already: a writing transaction holds the database's one write lock."""

    def try_lock(self, tx: Tx, key: int) -> bool:
        """Held already: a writing transaction holds the database's one write lock."""
        return True

    def close(self) -> None:
        """Checkpoint and close; safe to call twice."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.close()
            except sqlite3.ProgrammingError:
                pass  # already closed


class BotStore(SqlState):
    """The bot's state in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(SqliteDialect(path))
