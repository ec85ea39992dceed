"""Blocking work that may never return (a re-index), run so that stopping the bot never waits for it.

`asyncio.to_thread` runs work on the loop's default executor, whose threads the
interpreter joins at exit and `asyncio.run` waits for: one hung call there (a reader
blocked on a FIFO, a stuck network mount) keeps the process alive through SIGINT and
SIGTERM. A daemon thread is left behind when the process exits instead. The price is that
such work is abandoned mid-way at exit, so it must be safe to kill — the indexer is: its
data-dir lock is an flock the kernel releases, and its writes are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(work: Callable[[], T], name: str) -> T:
    """Run `work` in a new daemon thread and wait for it; cancelling stops the wait, not the work."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the waiter was cancelled (timeout, shutdown): nobody wants it
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = work(), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: the bot stopped meanwhile
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
