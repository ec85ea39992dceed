"""PostgreSQL for the bot's state, so several replicas behind a load balancer share one memory.

The `SqlState` of `store.py`, reached another way: worker threads borrow a connection from a
psycopg 3 pool for one transaction and give it back; the pool checks a connection before
lending it, so a restarted server costs a reconnect rather than an error. Advisory locks
serialise what replicas must not do at once (migrating the schema, evicting conversations).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from bot.telegram.sqlstate import SqlState, Tx
from bot.telegram.state import redact_url
from indexing.errors import ConfigError

POOL_SIZE = 8  # connections per replica; keep replicas x POOL_SIZE under the server's max_connections
CONNECT_TIMEOUT = 10  # seconds

Connection = psycopg.Connection[Any]


def _reason(exc: BaseException, password: str | None) -> str:
    """The first line of a driver error, never with the password in it."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text.replace(password, "***") if password else text


class PostgresDialect:
    """A pool of connections to one database; a transaction is one borrowed connection."""

    name = "postgresql"
    key_column = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, pool_size: int = POOL_SIZE, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        # One plain connection first: an unreachable server or a wrong password fails now, with
        # the driver's reason, instead of as a pool timeout later.
        psycopg.connect(url, connect_timeout=connect_timeout).close()
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"connect_timeout": connect_timeout},
            check=ConnectionPool.check_connection,
            name="isnad-state",
            open=True,
        )

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        """A pooled connection for one transaction: committed on success, rolled back on error."""
        with self._pool.connection() as db, db.cursor(row_factory=dict_row) as cursor:
            yield Tx(cursor, "%s")

    def lock(self, tx: Tx, key: int) -> None:
        """Wait for the advisory lock; the transaction's end releases it."""
        tx.run("SELECT pg_advisory_xact_lock(?)", (key,))

    def try_lock(self, tx: Tx, key: int) -> bool:
        """Take the advisory lock if no other transaction holds it."""
        return bool(tx.value("SELECT pg_try_advisory_xact_lock(?)", (key,)))

    def close(self) -> None:
        """Close the pool; safe to call twice."""
        self._pool.close()


class PostgresStore(SqlState):
    """The bot's state in a PostgreSQL database that every replica shares."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        self.where = redact_url(url)  # for messages; the URL itself may carry a password
        dialect: PostgresDialect | None = None
        try:
            dialect = PostgresDialect(url, pool_size, connect_timeout)
            super().__init__(dialect)
        except psycopg.Error as exc:
            if dialect is not None:
                dialect.close()
            raise ConfigError(
                f"cannot use the state database {self.where} (ISNAD_STATE_URL): "
                f"{_reason(exc, urlsplit(url).password)}"
            ) from None

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"
