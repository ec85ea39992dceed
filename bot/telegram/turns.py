"""One chat at a time, in arrival order, across webhook replicas that share PostgreSQL state.

A replica's `ChatLocks` keep one chat in order within the process; behind a load balancer,
two messages of one chat can reach two replicas at nearly the same moment. Each update is
given a ticket (a row of `chat_turns`, numbered by the database) when its webhook POST is
received, before Telegram is answered, so tickets follow arrival order across replicas.
An update is handled only when its ticket is the chat's lowest; its row is deleted when
it is done, and the next ticket's replica, polling, takes its turn. A follow-up therefore
always finds the previous turn in the shared conversation memory.

Queue rows rather than an advisory lock per chat: PostgreSQL grants a contended lock to
whichever waiter's request reached it first, which is arrival order only if the waits
start in arrival order, and each waiter would hold a pooled connection while it waits.

A replica that dies leaves its tickets behind: every replica refreshes the `touched` time
of its tickets while they wait or run, and a ticket not touched for `STALE_S` is deleted by
whoever waits behind it, so a chat is stuck for at most that long (replicas' clocks must
agree within a few seconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from bot.telegram.sqlstate import SqlState

log = logging.getLogger(__name__)

STALE_S = 60.0  # a ticket not touched for this long belongs to a replica that is gone
TOUCH_EVERY_S = 5.0
# A waiter polls the queue, quickly at first (a handoff between replicas costs one interval);
# a turn ending in the same replica wakes its waiters at once.
FIRST_POLL_S = 0.01
MAX_POLL_S = 0.05


class ChatTurns:
    """The `chat_turns` queue in the shared state database (synchronous: call from a thread)."""

    def __init__(self, state: SqlState) -> None:
        self.dialect = state.dialect

    def take(self, chat_id: int, update_id: int) -> int:
        """A ticket at the end of the chat's queue."""
        with self.dialect.transaction() as tx:
            return int(
                tx.value(
                    "INSERT INTO chat_turns (chat_id, update_id, touched) VALUES (?, ?, ?) RETURNING ticket",
                    (chat_id, update_id, time.time()),
                )
            )

    def is_first(self, chat_id: int, ticket: int) -> bool:
        """Whether the ticket is the chat's lowest; stale tickets ahead of it are removed first."""
        now = time.time()
        with self.dialect.transaction() as tx:
            tx.run("UPDATE chat_turns SET touched = ? WHERE ticket = ?", (now, ticket))
            stale = tx.rows(
                "DELETE FROM chat_turns WHERE chat_id = ? AND ticket < ? AND touched < ? RETURNING ticket",
                (chat_id, ticket, now - STALE_S),
            )
            if stale:
                log.warning("chat %s: dropped %d stale turns of a replica that is gone", chat_id, len(stale))
            first = tx.value("SELECT MIN(ticket) FROM chat_turns WHERE chat_id = ?", (chat_id,))
        return first is None or int(first) == ticket

    def touch(self, ticket: int) -> None:
        """Still working on it."""
        with self.dialect.transaction() as tx:
            tx.run("UPDATE chat_turns SET touched = ? WHERE ticket = ?", (time.time(), ticket))

    def done(self, ticket: int) -> None:
        """The turn is over: the next ticket of the chat may go."""
        with self.dialect.transaction() as tx:
            tx.run("DELETE FROM chat_turns WHERE ticket = ?", (ticket,))


class Turns:
    """The event loop's side: tickets taken on arrival, and waiting for one's turn."""

    def __init__(self, queue: ChatTurns) -> None:
        self.queue = queue
        self._tickets: dict[int, tuple[int, int]] = {}  # update_id -> (chat_id, ticket)
        self._handed_on = asyncio.Condition()

    async def arrived(self, chat_id: int, update_id: int) -> None:
        """Take the update's ticket (before the webhook POST is answered)."""
        ticket = await asyncio.to_thread(self.queue.take, chat_id, update_id)
        self._tickets[update_id] = (chat_id, ticket)

    @asynccontextmanager
    async def turn(self, update_id: int) -> AsyncIterator[None]:
        """Wait until the update is first in its chat, hold the turn for the block, then pass it on."""
        held = self._tickets.pop(update_id, None)
        if held is None:  # no chat, or not received through the webhook
            yield
            return
        chat_id, ticket = held
        try:
            wait = FIRST_POLL_S
            while not await asyncio.to_thread(self.queue.is_first, chat_id, ticket):
                async with self._handed_on:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._handed_on.wait(), wait)
                wait = min(wait * 1.5, MAX_POLL_S)
            keeper = asyncio.create_task(self._keep_touching(ticket))
            try:
                yield
            finally:
                keeper.cancel()
        finally:
            await asyncio.shield(asyncio.to_thread(self.queue.done, ticket))
            async with self._handed_on:
                self._handed_on.notify_all()

    async def _keep_touching(self, ticket: int) -> None:
        while True:
            await asyncio.sleep(TOUCH_EVERY_S)
            try:
                await asyncio.to_thread(self.queue.touch, ticket)
            except Exception as exc:  # the database is back soon or the turn goes stale; answer anyway
                log.warning("could not refresh a chat turn: %s", type(exc).__name__)
