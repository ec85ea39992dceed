"""The bot state's schema as numbered migrations, each applied once and recorded in the database.

`sqlstate.migrate` runs, in order, every migration a database has not recorded in its
`isnad_migrations` table, all in one transaction, so an existing database upgrades itself
when a new version opens it and a half-applied upgrade never stays behind. Statements are
written once for SQLite and PostgreSQL: both accept these column types (SQLite reads them as
type affinities), and `{key}` stands for the one column they spell differently, the
auto-numbered primary key. Add a change as the next numbered entry; never edit one that has
shipped, since databases out there have already recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema change: its name (recorded once applied) and its statements, run in order."""

    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    # The schema both stores created before migrations were recorded. IF NOT EXISTS lets a
    # database made then adopt it as applied.
    Migration(
        "001_initial",
        (
            "CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY, used DOUBLE PRECISION NOT NULL)",
            "CREATE INDEX IF NOT EXISTS conversations_by_use ON conversations (used)",
            """CREATE TABLE IF NOT EXISTS turns (
                id {key},
                conversation TEXT NOT NULL REFERENCES conversations (key) ON DELETE CASCADE,
                question TEXT NOT NULL,
                standalone TEXT NOT NULL,
                answer TEXT NOT NULL,
                citations TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation, id)",
            """CREATE TABLE IF NOT EXISTS answers (
                id {key},
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
        ),
    ),
    # Only the PostgreSQL store had it; /stats and feedback_by_paragraph group flags by paragraph.
    Migration(
        "002_wrong_sources_by_paragraph",
        ("CREATE INDEX IF NOT EXISTS wrong_sources_by_paragraph ON wrong_sources (paragraph_id)",),
    ),
    # The version lived in this table (PostgreSQL) or PRAGMA user_version (SQLite); now both
    # record migrations in isnad_migrations, and user_version is no longer read.
    Migration("003_migrations_table_records_the_version", ("DROP TABLE IF EXISTS isnad_meta",)),
    # Webhook replicas take turns per chat in arrival order (bot/telegram/turns.py).
    Migration(
        "004_chat_turns",
        (
            """CREATE TABLE IF NOT EXISTS chat_turns (
                ticket {key},
                chat_id BIGINT NOT NULL,
                update_id BIGINT NOT NULL,
                touched DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS chat_turns_by_chat ON chat_turns (chat_id, ticket)",
        ),
    ),
)
