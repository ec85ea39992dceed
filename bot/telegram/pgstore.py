"""PostgreSQL for the bot's state, so several replicas behind a load balancer share one memory.

The tables and their meaning are the SQLite store's (`store.py`); what changes is how they
are reached. Worker threads borrow a connection from a psycopg 3 pool for one transaction
and give it back; the pool checks a connection before lending it, so a restarted server
costs a reconnect rather than an error. Replicas that start together serialise schema
creation on an advisory lock (CREATE TABLE IF NOT EXISTS alone can race). Forgetting the
least recently used conversations runs in its own short transaction that skips rows other
replicas are writing, so no two replicas ever wait on each other in a cycle; the price is
that under concurrent writes the bound may be exceeded by the writes in flight until the
next turn is added.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from bot.qa.conversation import ConversationMemory, Turn
from bot.qa.engine import Answer
from bot.telegram.state import Stats, StoredAnswer, StoredCitation, paragraph_ids, redact_url
from indexing.errors import ConfigError

POOL_SIZE = 8  # connections per replica; keep replicas x POOL_SIZE under the server's max_connections
CONNECT_TIMEOUT = 10  # seconds
_SCHEMA_VERSION = 1
_SCHEMA_LOCK = 0x69736E616401  # advisory lock keys: "isnad" and a number
_EVICTION_LOCK = 0x69736E616402
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS isnad_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY, used DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS conversations_by_use ON conversations (used)",
    """CREATE TABLE IF NOT EXISTS turns (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation TEXT NOT NULL REFERENCES conversations (key) ON DELETE CASCADE,
        question TEXT NOT NULL,
        standalone TEXT NOT NULL,
        answer TEXT NOT NULL,
        citations TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation, id)",
    """CREATE TABLE IF NOT EXISTS answers (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        chat_id BIGINT NOT NULL,
        user_id BIGINT,
        conversation TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        answered BOOLEAN NOT NULL,
        mode TEXT NOT NULL,
        seconds DOUBLE PRECISION NOT NULL,
        created DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS answers_by_chat ON answers (chat_id, id)",
    """CREATE TABLE IF NOT EXISTS citations (
        answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        paragraph_id TEXT NOT NULL,
        source TEXT NOT NULL,
        paragraph INTEGER NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (answer_id, n)
    )""",
    """CREATE TABLE IF NOT EXISTS messages (
        chat_id BIGINT NOT NULL,
        message_id BIGINT NOT NULL,
        answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        conversation TEXT NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    )""",
    """CREATE TABLE IF NOT EXISTS votes (
        answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        user_id BIGINT NOT NULL,
        vote SMALLINT NOT NULL CHECK (vote IN (-1, 1)),
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (answer_id, user_id)
    )""",
    """CREATE TABLE IF NOT EXISTS wrong_sources (
        answer_id BIGINT NOT NULL,
        n INTEGER NOT NULL,
        user_id BIGINT NOT NULL,
        paragraph_id TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (answer_id, n, user_id),
        FOREIGN KEY (answer_id, n) REFERENCES citations (answer_id, n) ON DELETE CASCADE
    )""",
    "CREATE INDEX IF NOT EXISTS wrong_sources_by_paragraph ON wrong_sources (paragraph_id)",
)

Connection = psycopg.Connection[Any]


def _reason(exc: BaseException, password: str | None) -> str:
    """The first line of a driver error, never with the password in it."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text.replace(password, "***") if password else text


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class PostgresStore:
    """The bot's state (a `BotState`) in a PostgreSQL database that every replica shares."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        self.where = redact_url(url)  # for messages; the URL itself may carry a password
        password = urlsplit(url).password
        try:
            with psycopg.connect(url, connect_timeout=connect_timeout) as db:
                db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO isnad_meta (name, value) VALUES ('schema_version', %s)"
                    " ON CONFLICT (name) DO NOTHING",
                    (str(_SCHEMA_VERSION),),
                )
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot use the state database {self.where} (ISNAD_STATE_URL): {_reason(exc, password)}"
            ) from None
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"connect_timeout": connect_timeout},
            check=ConnectionPool.check_connection,
            name="isnad-state",
            open=True,
        )

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A pooled connection for one transaction: committed on success, rolled back on error."""
        with self._pool.connection() as db:
            yield db

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[DictRow]:
        with self.transaction() as db, db.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _row(self, sql: str, params: Sequence[object] = ()) -> DictRow | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        """Close the pool; safe to call twice."""
        self._pool.close()

    def memory(
        self, max_turns: int | None = None, max_conversations: int | None = None
    ) -> PostgresConversationMemory:
        """The conversation memory kept in this database."""
        return PostgresConversationMemory(self, max_turns, max_conversations)

    # -- answers and the messages that carried them

    def record_answer(
        self, chat_id: int, user_id: int | None, conversation: str, answer: Answer, seconds: float
    ) -> int:
        """Keep an answer and its citations (with paragraph ids); returns its id."""
        ids = paragraph_ids(answer)
        with self.transaction() as db:
            row = db.execute(
                "INSERT INTO answers (chat_id, user_id, conversation, question, answer, answered, mode,"
                " seconds, created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    chat_id,
                    user_id,
                    conversation,
                    answer.question,
                    answer.text,
                    answer.answered,
                    answer.mode,
                    seconds,
                    time.time(),
                ),
            ).fetchone()
            assert row is not None
            answer_id = int(row[0])
            with db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO citations (answer_id, n, paragraph_id, source, paragraph, title, text)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        (answer_id, c.n, ids[c.n], c.source, c.paragraph, c.title, c.text)
                        for c in answer.citations
                    ],
                )
        return answer_id

    def link_messages(self, chat_id: int, message_ids: list[int], answer_id: int, conversation: str) -> None:
        """Remember which answer (and conversation) each sent message belongs to."""
        with self.transaction() as db, db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO messages (chat_id, message_id, answer_id, conversation) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (chat_id, message_id)"
                " DO UPDATE SET answer_id = EXCLUDED.answer_id, conversation = EXCLUDED.conversation",
                [(chat_id, m, answer_id, conversation) for m in message_ids],
            )

    def conversation_of(self, chat_id: int, message_id: int) -> str | None:
        """The conversation a bot message belongs to, if it carried an answer."""
        row = self._row(
            "SELECT conversation FROM messages WHERE chat_id = %s AND message_id = %s", (chat_id, message_id)
        )
        return None if row is None else str(row["conversation"])

    def answer_of_message(self, chat_id: int, message_id: int) -> StoredAnswer | None:
        """The answer a bot message carried."""
        row = self._row(
            "SELECT answer_id FROM messages WHERE chat_id = %s AND message_id = %s", (chat_id, message_id)
        )
        return None if row is None else self.answer(int(row["answer_id"]))

    def last_answer(self, chat_id: int) -> StoredAnswer | None:
        """The chat's most recent answer."""
        row = self._row("SELECT id FROM answers WHERE chat_id = %s ORDER BY id DESC LIMIT 1", (chat_id,))
        return None if row is None else self.answer(int(row["id"]))

    def answer(self, answer_id: int) -> StoredAnswer | None:
        """One recorded answer with its citations."""
        with self.transaction() as db, db.cursor(row_factory=dict_row) as cursor:
            row = cursor.execute("SELECT * FROM answers WHERE id = %s", (answer_id,)).fetchone()
            if row is None:
                return None
            cited = cursor.execute(
                "SELECT n, paragraph_id, source, paragraph, title, text FROM citations"
                " WHERE answer_id = %s ORDER BY n",
                (answer_id,),
            ).fetchall()
        return StoredAnswer(
            id=int(row["id"]),
            chat_id=int(row["chat_id"]),
            conversation=str(row["conversation"]),
            question=str(row["question"]),
            text=str(row["answer"]),
            answered=bool(row["answered"]),
            citations=tuple(StoredCitation(**c) for c in cited),
        )

    # -- feedback

    def vote(self, answer_id: int, user_id: int, vote: int) -> bool:
        """Record 👍 (+1) or 👎 (-1); a user's later vote on the same answer replaces the earlier."""
        if vote not in (-1, 1):
            raise ValueError("vote is +1 or -1")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = %s", (answer_id,)).fetchone() is None:
                return False
            db.execute(
                "INSERT INTO votes (answer_id, user_id, vote, created) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (answer_id, user_id)"
                " DO UPDATE SET vote = EXCLUDED.vote, created = EXCLUDED.created",
                (answer_id, user_id, vote, time.time()),
            )
        return True

    def wrong_source(self, answer_id: int, n: int, user_id: int) -> str | None:
        """Flag citation n of an answer as a wrong source; returns the paragraph id flagged."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT paragraph_id FROM citations WHERE answer_id = %s AND n = %s", (answer_id, n)
            ).fetchone()
            if row is None:
                return None
            paragraph_id = str(row[0])
            db.execute(
                "INSERT INTO wrong_sources (answer_id, n, user_id, paragraph_id, created)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (answer_id, n, user_id)"
                " DO UPDATE SET paragraph_id = EXCLUDED.paragraph_id, created = EXCLUDED.created",
                (answer_id, n, user_id, paragraph_id, time.time()),
            )
        return paragraph_id

    def feedback_by_paragraph(self) -> dict[str, tuple[int, int, int]]:
        """Paragraph id -> (👍 on answers citing it, 👎 on answers citing it, wrong-source flags)."""
        with self.transaction() as db, db.cursor(row_factory=dict_row) as cursor:
            votes = cursor.execute(
                "SELECT c.paragraph_id AS pid, COUNT(*) FILTER (WHERE v.vote = 1) AS up,"
                " COUNT(*) FILTER (WHERE v.vote = -1) AS down"
                " FROM votes v JOIN citations c ON c.answer_id = v.answer_id GROUP BY c.paragraph_id"
            ).fetchall()
            flags = cursor.execute(
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
        with self.transaction() as db, db.cursor(row_factory=dict_row) as cursor:
            answers = cursor.execute(
                "SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE answered) AS answered,"
                " COUNT(DISTINCT chat_id) AS chats, COALESCE(MAX(seconds), 0) AS slowest FROM answers"
            ).fetchone()
            votes = cursor.execute(
                "SELECT COUNT(*) FILTER (WHERE vote = 1) AS up, COUNT(*) FILTER (WHERE vote = -1) AS down"
                " FROM votes"
            ).fetchone()
            wrong = cursor.execute("SELECT COUNT(*) AS n FROM wrong_sources").fetchone()
            conversations = cursor.execute("SELECT COUNT(*) AS n FROM conversations").fetchone()
            # SQLite reports a flagged paragraph's place from any one of its flags; MIN is the same here.
            flagged = cursor.execute(
                "SELECT MIN(c.source) AS source, MIN(c.paragraph) AS paragraph, COUNT(*) AS flags"
                " FROM wrong_sources w JOIN citations c ON c.answer_id = w.answer_id AND c.n = w.n"
                " GROUP BY w.paragraph_id ORDER BY flags DESC, source, paragraph LIMIT %s",
                (top,),
            ).fetchall()
        assert answers is not None and votes is not None and wrong is not None and conversations is not None
        return Stats(
            chats=int(answers["chats"]),
            conversations=int(conversations["n"]),
            answers=int(answers["n"]),
            answered=int(answers["answered"]),
            up=int(votes["up"]),
            down=int(votes["down"]),
            wrong_sources=int(wrong["n"]),
            flagged=tuple((str(r["source"]), int(r["paragraph"]), int(r["flags"])) for r in flagged),
            slowest_seconds=float(answers["slowest"]),
        )

    # -- conversation turns (through PostgresConversationMemory)

    def reset_chat(self, chat_key: str) -> None:
        """Forget a chat's conversation and, in a group, every thread under it."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM conversations WHERE key = %s OR key LIKE %s ESCAPE '\\'",
                (chat_key, _like_prefix(chat_key + ":")),
            )


class PostgresConversationMemory(ConversationMemory):
    """`ConversationMemory` in the shared database: a follow-up may reach any replica."""

    def __init__(
        self, store: PostgresStore, max_turns: int | None = None, max_conversations: int | None = None
    ) -> None:
        super().__init__()
        self.max_turns = max_turns or self.max_turns
        self.max_conversations = max_conversations or self.max_conversations
        self.store = store

    def history(self, key: str) -> list[Turn]:
        """Turns of a conversation, oldest first."""
        rows = self.store._rows(
            "SELECT question, standalone, answer, citations FROM turns WHERE conversation = %s"
            " ORDER BY id DESC LIMIT %s",
            (key, self.max_turns),
        )
        return [
            Turn(str(r["question"]), str(r["standalone"]), str(r["answer"]), json.loads(r["citations"]))
            for r in reversed(rows)
        ]

    def add(self, key: str, turn: Turn) -> None:
        """Remember a turn, forgetting the oldest turns and least recently used conversations."""
        with self.store.transaction() as db:
            # The upsert locks the conversation's row: turns of one conversation are added one at a time.
            db.execute(
                "INSERT INTO conversations (key, used) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET used = EXCLUDED.used",
                (key, time.time()),
            )
            db.execute(
                "INSERT INTO turns (conversation, question, standalone, answer, citations)"
                " VALUES (%s, %s, %s, %s, %s)",
                (
                    key,
                    turn.question,
                    turn.standalone,
                    turn.answer,
                    json.dumps(turn.citations, ensure_ascii=False),
                ),
            )
            db.execute(
                "DELETE FROM turns WHERE conversation = %s AND id NOT IN"
                " (SELECT id FROM turns WHERE conversation = %s ORDER BY id DESC LIMIT %s)",
                (key, key, self.max_turns),
            )
        self._forget_least_recent()

    def _forget_least_recent(self) -> None:
        """Drop the least recently used conversations beyond the bound (one replica at a time)."""
        with self.store.transaction() as db:
            locked = db.execute("SELECT pg_try_advisory_xact_lock(%s)", (_EVICTION_LOCK,)).fetchone()
            if not locked or not locked[0]:
                return  # another replica is evicting right now
            count = db.execute("SELECT COUNT(*) FROM conversations").fetchone()
            excess = (int(count[0]) if count else 0) - self.max_conversations
            if excess > 0:
                db.execute(
                    "DELETE FROM conversations WHERE key IN (SELECT key FROM conversations"
                    " ORDER BY used LIMIT %s FOR UPDATE SKIP LOCKED)",
                    (excess,),
                )

    def reset(self, key: str) -> None:
        """Forget a conversation."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM conversations WHERE key = %s", (key,))
