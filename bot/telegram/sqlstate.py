"""The bot's state in SQL: one implementation of `BotState` for SQLite and PostgreSQL.

Every statement is written once, with `?` placeholders and the SQL both databases share
(`INSERT .. ON CONFLICT .. DO UPDATE`, `RETURNING`, `COUNT(*) FILTER (WHERE ..)`). What
differs is a `Dialect`: how a transaction is had (one SQLite connection behind a lock, or a
PostgreSQL pool), the placeholder, the auto-numbered key column, advisory locks and
`SKIP LOCKED`. `store.py` and `pgstore.py` are the two dialects. The schema is the numbered
`migrations.MIGRATIONS`, applied when a store opens under the schema lock, so replicas that
start together never race and an existing database upgrades itself.

Forgetting the least recently used conversations runs in a short transaction of its own
that one writer at a time takes (an advisory lock) and that skips rows other writers hold,
so two PostgreSQL replicas never wait on each other in a cycle; the price is that under
concurrent writes the bound may be exceeded by the writes in flight until the next turn.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from bot.qa.conversation import ConversationMemory, Turn
from bot.qa.engine import Answer
from bot.telegram.migrations import MIGRATIONS
from bot.telegram.state import Stats, StoredAnswer, StoredCitation

Row = dict[str, Any]
SCHEMA_LOCK = 0x69736E616401  # advisory lock keys: "isnad" and a number
EVICTION_LOCK = 0x69736E616402


class Cursor(Protocol):
    """What both drivers' cursors offer (rows come back as dicts)."""

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> Any: ...

    def executemany(self, sql: str, params: Iterable[Sequence[object]], /) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Tx:
    """One transaction's statements, written with `?` placeholders whatever the database.

    Every `?` is a placeholder (write none inside string literals); for psycopg, whose
    placeholder is `%s`, a literal `%` is doubled.
    """

    def __init__(self, cursor: Cursor, placeholder: str = "?") -> None:
        self.cursor = cursor
        self.placeholder = placeholder

    def _sql(self, sql: str) -> str:
        if self.placeholder == "?":
            return sql
        return sql.replace("%", "%%").replace("?", self.placeholder)

    def run(self, sql: str, params: Sequence[object] = ()) -> None:
        """Execute one statement."""
        self.cursor.execute(self._sql(sql), params)

    def run_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Execute one statement once per parameter row."""
        self.cursor.executemany(self._sql(sql), rows)

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Every row of one statement."""
        self.cursor.execute(self._sql(sql), params)
        return list(self.cursor.fetchall())

    def row(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        """The first row of one statement, if any."""
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def value(self, sql: str, params: Sequence[object] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self.row(sql, params)
        return None if row is None else next(iter(row.values()))


class Dialect(Protocol):
    """What SQLite and PostgreSQL do differently, and nothing else."""

    name: str
    key_column: str  # an auto-numbered BIGINT primary key, as CREATE TABLE spells it
    skip_locked: str  # appended to a SELECT whose rows a transaction deletes

    def transaction(self, write: bool = True) -> AbstractContextManager[Tx]:
        """A transaction: committed when the block ends, rolled back on any error."""
        ...

    def lock(self, tx: Tx, key: int) -> None:
        """Wait for an advisory lock held until the transaction ends."""
        ...

    def try_lock(self, tx: Tx, key: int) -> bool:
        """Take the advisory lock if it is free; held until the transaction ends."""
        ...

    def close(self) -> None:
        """Release the connection(s); safe to call twice."""
        ...


def migrate(dialect: Dialect) -> list[str]:
    """Apply the migrations the database has not recorded; returns their names."""
    with dialect.transaction() as tx:
        dialect.lock(tx, SCHEMA_LOCK)
        tx.run(
            "CREATE TABLE IF NOT EXISTS isnad_migrations"
            " (name TEXT PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)"
        )
        done = {str(r["name"]) for r in tx.rows("SELECT name FROM isnad_migrations")}
        applied = []
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            for statement in migration.statements:
                tx.run(statement.format(key=dialect.key_column))
            tx.run(
                "INSERT INTO isnad_migrations (name, applied) VALUES (?, ?)", (migration.name, time.time())
            )
            applied.append(migration.name)
    return applied


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqlState:
    """The bot's state (a `BotState`) in a SQL database; each write is one transaction."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        migrate(dialect)

    def memory(
        self, max_turns: int | None = None, max_conversations: int | None = None
    ) -> SqlConversationMemory:
        """The conversation memory kept in this database."""
        return SqlConversationMemory(self, max_turns, max_conversations)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Rows of one read statement (with `?` placeholders), for admins and tests."""
        with self.dialect.transaction(write=False) as tx:
            return tx.rows(sql, params)

    def close(self) -> None:
        """Release the database; safe to call twice."""
        self.dialect.close()

    # -- answers and the messages that carried them

    def record_answer(
        self, chat_id: int, user_id: int | None, conversation: str, answer: Answer, seconds: float
    ) -> int:
        """Keep an answer and its citations (with paragraph ids); returns its id."""
        with self.dialect.transaction() as tx:
            answer_id = int(
                tx.value(
                    "INSERT INTO answers (chat_id, user_id, conversation, question, answer, answered, mode,"
                    " seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                )
            )
            tx.run_many(
                "INSERT INTO citations (answer_id, n, paragraph_id, source, paragraph, title, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (answer_id, c.n, c.paragraph_id, c.source, c.paragraph, c.title, c.text)
                    for c in answer.citations
                ],
            )
        return answer_id

    def link_messages(self, chat_id: int, message_ids: list[int], answer_id: int, conversation: str) -> None:
        """Remember which answer (and conversation) each sent message belongs to."""
        with self.dialect.transaction() as tx:
            tx.run_many(
                "INSERT INTO messages (chat_id, message_id, answer_id, conversation) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (chat_id, message_id)"
                " DO UPDATE SET answer_id = excluded.answer_id, conversation = excluded.conversation",
                [(chat_id, m, answer_id, conversation) for m in message_ids],
            )

    def conversation_of(self, chat_id: int, message_id: int) -> str | None:
        """The conversation a bot message belongs to, if it carried an answer."""
        with self.dialect.transaction(write=False) as tx:
            found = tx.value(
                "SELECT conversation FROM messages WHERE chat_id = ? AND message_id = ?",
                (chat_id, message_id),
            )
        return None if found is None else str(found)

    def answer_of_message(self, chat_id: int, message_id: int) -> StoredAnswer | None:
        """The answer a bot message carried."""
        with self.dialect.transaction(write=False) as tx:
            found = tx.value(
                "SELECT answer_id FROM messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
            )
            return None if found is None else self._answer(tx, int(found))

    def last_answer(self, chat_id: int) -> StoredAnswer | None:
        """The chat's most recent answer."""
        with self.dialect.transaction(write=False) as tx:
            found = tx.value("SELECT id FROM answers WHERE chat_id = ? ORDER BY id DESC LIMIT 1", (chat_id,))
            return None if found is None else self._answer(tx, int(found))

    def answer(self, answer_id: int) -> StoredAnswer | None:
        """One recorded answer with its citations."""
        with self.dialect.transaction(write=False) as tx:
            return self._answer(tx, answer_id)

    @staticmethod
    def _answer(tx: Tx, answer_id: int) -> StoredAnswer | None:
        row = tx.row(
            "SELECT id, chat_id, conversation, question, answer, answered FROM answers WHERE id = ?",
            (answer_id,),
        )
        if row is None:
            return None
        cited = tx.rows(
            "SELECT n, paragraph_id, source, paragraph, title, text FROM citations"
            " WHERE answer_id = ? ORDER BY n",
            (answer_id,),
        )
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
        with self.dialect.transaction() as tx:
            if tx.row("SELECT 1 FROM answers WHERE id = ?", (answer_id,)) is None:
                return False
            tx.run(
                "INSERT INTO votes (answer_id, user_id, vote, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user_id)"
                " DO UPDATE SET vote = excluded.vote, created = excluded.created",
                (answer_id, user_id, vote, time.time()),
            )
        return True

    def wrong_source(self, answer_id: int, n: int, user_id: int) -> str | None:
        """Flag citation n of an answer as a wrong source; returns the paragraph id flagged."""
        with self.dialect.transaction() as tx:
            found = tx.value(
                "SELECT paragraph_id FROM citations WHERE answer_id = ? AND n = ?", (answer_id, n)
            )
            if found is None:
                return None
            tx.run(
                "INSERT INTO wrong_sources (answer_id, n, user_id, paragraph_id, created)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (answer_id, n, user_id)"
                " DO UPDATE SET paragraph_id = excluded.paragraph_id, created = excluded.created",
                (answer_id, n, user_id, str(found), time.time()),
            )
        return str(found)

    def feedback_by_paragraph(self) -> dict[str, tuple[int, int, int]]:
        """Paragraph id -> (👍 on answers citing it, 👎 on answers citing it, wrong-source flags)."""
        with self.dialect.transaction(write=False) as tx:
            votes = tx.rows(
                "SELECT c.paragraph_id AS pid, COUNT(*) FILTER (WHERE v.vote = 1) AS up,"
                " COUNT(*) FILTER (WHERE v.vote = -1) AS down"
                " FROM votes v JOIN citations c ON c.answer_id = v.answer_id GROUP BY c.paragraph_id"
            )
            flags = tx.rows(
                "SELECT paragraph_id AS pid, COUNT(*) AS wrong FROM wrong_sources GROUP BY paragraph_id"
            )
        out: dict[str, tuple[int, int, int]] = {}
        for row in votes:
            out[str(row["pid"])] = (int(row["up"]), int(row["down"]), 0)
        for row in flags:
            up, down, _ = out.get(str(row["pid"]), (0, 0, 0))
            out[str(row["pid"])] = (up, down, int(row["wrong"]))
        return out

    def stats(self, top: int = 5) -> Stats:
        """Counts for the admins."""
        with self.dialect.transaction(write=False) as tx:
            answers = tx.row(
                "SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE answered) AS answered,"
                " COUNT(DISTINCT chat_id) AS chats, COALESCE(MAX(seconds), 0) AS slowest FROM answers"
            )
            votes = tx.row(
                "SELECT COUNT(*) FILTER (WHERE vote = 1) AS up, COUNT(*) FILTER (WHERE vote = -1) AS down"
                " FROM votes"
            )
            wrong = tx.value("SELECT COUNT(*) FROM wrong_sources")
            conversations = tx.value("SELECT COUNT(*) FROM conversations")
            # A paragraph id names one place, so MIN picks that place from any of its flags.
            flagged = tx.rows(
                "SELECT MIN(c.source) AS source, MIN(c.paragraph) AS paragraph, COUNT(*) AS flags"
                " FROM wrong_sources w JOIN citations c ON c.answer_id = w.answer_id AND c.n = w.n"
                " GROUP BY w.paragraph_id ORDER BY flags DESC, source, paragraph LIMIT ?",
                (top,),
            )
        assert answers is not None and votes is not None  # aggregates always return a row
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

    # -- conversation turns (through SqlConversationMemory)

    def reset_chat(self, chat_key: str) -> None:
        """Forget a chat's conversation and, in a group, every thread under it."""
        with self.dialect.transaction() as tx:
            tx.run(
                "DELETE FROM conversations WHERE key = ? OR key LIKE ? ESCAPE '\\'",
                (chat_key, _like_prefix(chat_key + ":")),
            )


class SqlConversationMemory(ConversationMemory):
    """`ConversationMemory` in the state database: follow-ups survive restarts and reach any replica."""

    def __init__(
        self, state: SqlState, max_turns: int | None = None, max_conversations: int | None = None
    ) -> None:
        super().__init__()
        self.max_turns = max_turns or self.max_turns
        self.max_conversations = max_conversations or self.max_conversations
        self.state = state

    def history(self, key: str) -> list[Turn]:
        """Turns of a conversation, oldest first."""
        rows = self.state.query(
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
        with self.state.dialect.transaction() as tx:
            # The upsert locks the conversation's row: turns of one conversation are added one at a time.
            tx.run(
                "INSERT INTO conversations (key, used) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET used = excluded.used",
                (key, time.time()),
            )
            tx.run(
                "INSERT INTO turns (conversation, question, standalone, answer, citations)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    key,
                    turn.question,
                    turn.standalone,
                    turn.answer,
                    json.dumps(turn.citations, ensure_ascii=False),
                ),
            )
            tx.run(
                "DELETE FROM turns WHERE conversation = ? AND id NOT IN"
                " (SELECT id FROM turns WHERE conversation = ? ORDER BY id DESC LIMIT ?)",
                (key, key, self.max_turns),
            )
        self._forget_least_recent()

    def _forget_least_recent(self) -> None:
        """Drop the least recently used conversations beyond the bound (one writer at a time)."""
        dialect = self.state.dialect
        with dialect.transaction() as tx:
            if not dialect.try_lock(tx, EVICTION_LOCK):
                return  # another replica is evicting right now
            excess = int(tx.value("SELECT COUNT(*) FROM conversations")) - self.max_conversations
            if excess > 0:
                tx.run(
                    "DELETE FROM conversations WHERE key IN (SELECT key FROM conversations"
                    f" ORDER BY used LIMIT ?{dialect.skip_locked})",
                    (excess,),
                )

    def reset(self, key: str) -> None:
        """Forget a conversation."""
        with self.state.dialect.transaction() as tx:
            tx.run("DELETE FROM conversations WHERE key = ?", (key,))
