"""SQLite in the data dir for what the bot must not forget: conversations, answers, feedback.

One file, WAL journal and `synchronous=FULL`, every write one transaction: a `kill -9` (or
a power cut) loses at most the transaction in flight and never leaves half a conversation.
Not PicklePersistence, which rewrites whole pickles and can tear them. One connection,
guarded by a lock, serves the event loop's worker threads; statements are small and indexed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.qa.conversation import ConversationMemory, Turn
from bot.qa.engine import Answer
from bot.telegram.state import Stats, StoredAnswer, StoredCitation, paragraph_ids

STORE_FILE = "telegram.sqlite3"
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    key TEXT PRIMARY KEY,
    used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_use ON conversations(used);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL REFERENCES conversations(key) ON DELETE CASCADE,
    question TEXT NOT NULL,
    standalone TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation, id);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    user_id INTEGER,
    conversation TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered INTEGER NOT NULL,
    mode TEXT NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_chat ON answers(chat_id, id);
CREATE TABLE IF NOT EXISTS citations (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    paragraph_id TEXT NOT NULL,
    source TEXT NOT NULL,
    paragraph INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (answer_id, n)
);
CREATE TABLE IF NOT EXISTS messages (
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    conversation TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    created REAL NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS wrong_sources (
    answer_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    paragraph_id TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (answer_id, n, user_id),
    FOREIGN KEY (answer_id, n) REFERENCES citations(answer_id, n) ON DELETE CASCADE
);
"""


class BotStore:
    """The bot's SQLite file (a `BotState`): one connection, one lock, one transaction per write."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self.transaction() as db:
            # executescript would COMMIT on its own; statements one by one stay in the transaction.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> BotStore:
        """The store at its usual place in a data dir."""
        return cls(data_dir / STORE_FILE)

    def memory(
        self, max_turns: int | None = None, max_conversations: int | None = None
    ) -> SqliteConversationMemory:
        """The conversation memory kept in this file."""
        return SqliteConversationMemory(self, max_turns, max_conversations)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT, rolled back on any error, under the connection lock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Rows of one read statement (reads need no write lock in WAL mode)."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        """Checkpoint and close; safe to call twice."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.close()
            except sqlite3.ProgrammingError:
                pass  # already closed

    # -- answers and the messages that carried them

    def record_answer(
        self, chat_id: int, user_id: int | None, conversation: str, answer: Answer, seconds: float
    ) -> int:
        """Keep an answer and its citations (with paragraph ids); returns its id."""
        ids = paragraph_ids(answer)
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO answers (chat_id, user_id, conversation, question, answer, answered, mode,"
                " seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    user_id,
                    conversation,
                    answer.question,
                    answer.text,
                    int(answer.answered),
                    answer.mode,
                    seconds,
                    time.time(),
                ),
            )
            answer_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO citations (answer_id, n, paragraph_id, source, paragraph, title, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (answer_id, c.n, ids[c.n], c.source, c.paragraph, c.title, c.text)
                    for c in answer.citations
                ],
            )
        return answer_id

    def link_messages(self, chat_id: int, message_ids: list[int], answer_id: int, conversation: str) -> None:
        """Remember which answer (and conversation) each sent message belongs to."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO messages (chat_id, message_id, answer_id, conversation)"
                " VALUES (?, ?, ?, ?)",
                [(chat_id, m, answer_id, conversation) for m in message_ids],
            )

    def conversation_of(self, chat_id: int, message_id: int) -> str | None:
        """The conversation a bot message belongs to, if it carried an answer."""
        with self._lock:
            row = self._db.execute(
                "SELECT conversation FROM messages WHERE chat_id = ? AND message_id = ?",
                (chat_id, message_id),
            ).fetchone()
        return None if row is None else str(row["conversation"])

    def answer_of_message(self, chat_id: int, message_id: int) -> StoredAnswer | None:
        """The answer a bot message carried."""
        with self._lock:
            row = self._db.execute(
                "SELECT answer_id FROM messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
            ).fetchone()
        return None if row is None else self.answer(int(row["answer_id"]))

    def last_answer(self, chat_id: int) -> StoredAnswer | None:
        """The chat's most recent answer."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM answers WHERE chat_id = ? ORDER BY id DESC LIMIT 1", (chat_id,)
            ).fetchone()
        return None if row is None else self.answer(int(row["id"]))

    def answer(self, answer_id: int) -> StoredAnswer | None:
        """One recorded answer with its citations."""
        with self._lock:
            row = self._db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is None:
                return None
            cited = self._db.execute(
                "SELECT n, paragraph_id, source, paragraph, title, text FROM citations"
                " WHERE answer_id = ? ORDER BY n",
                (answer_id,),
            ).fetchall()
        return StoredAnswer(
            id=int(row["id"]),
            chat_id=int(row["chat_id"]),
            conversation=str(row["conversation"]),
            question=str(row["question"]),
            text=str(row["answer"]),
            answered=bool(row["answered"]),
            citations=tuple(StoredCitation(**dict(c)) for c in cited),
        )

    # -- feedback

    def vote(self, answer_id: int, user_id: int, vote: int) -> bool:
        """Record 👍 (+1) or 👎 (-1); a user's later vote on the same answer replaces the earlier."""
        if vote not in (-1, 1):
            raise ValueError("vote is +1 or -1")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                return False
            db.execute(
                "INSERT INTO votes (answer_id, user_id, vote, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user_id)"
                " DO UPDATE SET vote = excluded.vote, created = excluded.created",
                (answer_id, user_id, vote, time.time()),
            )
        return True

    def wrong_source(self, answer_id: int, n: int, user_id: int) -> str | None:
        """Flag citation n of an answer as a wrong source; returns the paragraph id flagged."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT paragraph_id FROM citations WHERE answer_id = ? AND n = ?", (answer_id, n)
            ).fetchone()
            if row is None:
                return None
            paragraph_id = str(row["paragraph_id"])
            db.execute(
                "INSERT OR REPLACE INTO wrong_sources (answer_id, n, user_id, paragraph_id, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (answer_id, n, user_id, paragraph_id, time.time()),
            )
        return paragraph_id

    def feedback_by_paragraph(self) -> dict[str, tuple[int, int, int]]:
        """Paragraph id -> (👍 on answers citing it, 👎 on answers citing it, wrong-source flags)."""
        with self._lock:
            votes = self._db.execute(
                "SELECT c.paragraph_id AS pid, SUM(v.vote = 1) AS up, SUM(v.vote = -1) AS down"
                " FROM votes v JOIN citations c ON c.answer_id = v.answer_id GROUP BY c.paragraph_id"
            ).fetchall()
            flags = self._db.execute(
                "SELECT paragraph_id AS pid, COUNT(*) AS wrong FROM wrong_sources GROUP BY paragraph_id"
            ).fetchall()
        out: dict[str, tuple[int, int, int]] = {}
        for row in votes:
            out[str(row["pid"])] = (int(row["up"]), int(row["down"]), 0)
        for row in flags:
            up, down, _ = out.get(str(row["pid"]), (0, 0, 0))
            out[str(row["pid"])] = (up, down, int(row["wrong"]))
        return out

    def stats(self, top: int = 5) -> Stats:
        """Counts for the admins."""
        with self._lock:
            db = self._db
            answers = db.execute(
                "SELECT COUNT(*) AS n, COALESCE(SUM(answered), 0) AS answered,"
                " COUNT(DISTINCT chat_id) AS chats, COALESCE(MAX(seconds), 0) AS slowest FROM answers"
            ).fetchone()
            votes = db.execute(
                "SELECT COALESCE(SUM(vote = 1), 0) AS up, COALESCE(SUM(vote = -1), 0) AS down FROM votes"
            ).fetchone()
            wrong = db.execute("SELECT COUNT(*) FROM wrong_sources").fetchone()[0]
            conversations = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
            flagged = db.execute(
                "SELECT c.source, c.paragraph, COUNT(*) AS flags FROM wrong_sources w"
                " JOIN citations c ON c.answer_id = w.answer_id AND c.n = w.n"
                " GROUP BY w.paragraph_id ORDER BY flags DESC, c.source, c.paragraph LIMIT ?",
                (top,),
            ).fetchall()
        return Stats(
            chats=int(answers["chats"]),
            conversations=int(conversations),
            answers=int(answers["n"]),
            answered=int(answers["answered"]),
            up=int(votes["up"]),
            down=int(votes["down"]),
            wrong_sources=int(wrong),
            flagged=tuple((str(r["source"]), int(r["paragraph"]), int(r["flags"])) for r in flagged),
            slowest_seconds=float(answers["slowest"]),
        )

    # -- conversation turns (through SqliteConversationMemory)

    def reset_chat(self, chat_key: str) -> None:
        """Forget a chat's conversation and, in a group, every thread under it."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM conversations WHERE key = ? OR key LIKE ? ESCAPE '\\'",
                (chat_key, _like_prefix(chat_key + ":")),
            )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqliteConversationMemory(ConversationMemory):
    """`ConversationMemory` kept in the bot's SQLite file, so follow-ups survive a restart."""

    def __init__(
        self, store: BotStore, max_turns: int | None = None, max_conversations: int | None = None
    ) -> None:
        super().__init__()
        self.max_turns = max_turns or self.max_turns
        self.max_conversations = max_conversations or self.max_conversations
        self.store = store

    def history(self, key: str) -> list[Turn]:
        """Turns of a conversation, oldest first."""
        rows = self.store.query(
            "SELECT question, standalone, answer, citations FROM turns WHERE conversation = ?"
            " ORDER BY id DESC LIMIT ?",
            (key, self.max_turns),
        )
        return [
            Turn(str(r["question"]), str(r["standalone"]), str(r["answer"]), json.loads(r["citations"]))
            for r in reversed(rows)
        ]

    def add(self, key: str, turn: Turn) -> None:
        """Remember a turn, forgetting the oldest turns and least recently used conversations."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO conversations (key, used) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET used = excluded.used",
                (key, time.time()),
            )
            db.execute(
                "INSERT INTO turns (conversation, question, standalone, answer, citations)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, turn.question, turn.standalone, turn.answer, _json(turn.citations)),
            )
            db.execute(
                "DELETE FROM turns WHERE conversation = ? AND id NOT IN"
                " (SELECT id FROM turns WHERE conversation = ? ORDER BY id DESC LIMIT ?)",
                (key, key, self.max_turns),
            )
            excess = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] - self.max_conversations
            if excess > 0:
                db.execute(
                    "DELETE FROM conversations WHERE key IN"
                    " (SELECT key FROM conversations ORDER BY used LIMIT ?)",
                    (excess,),
                )

    def reset(self, key: str) -> None:
        """Forget a conversation."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM conversations WHERE key = ?", (key,))
