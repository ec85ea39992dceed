"""Sending a reply so that it arrives: retries on network errors, 5xx and timeouts, within a budget.

An answer the engine has produced is worth a few more attempts. One send is retried when
the Bot API could not be reached (connection refused or reset), answered with a 5xx (a
proxy's 502), timed out, or asked us to wait (`retry_after`, after AIORateLimiter's own
retries gave up), with backoff 0.5 s, 1 s, 2 s … and never past `budget_s` (30 s) counted
from the first attempt of the whole reply, so a split answer cannot take 30 s per part.
Parts go out one after another, each only once the one before is confirmed, so they
arrive in order. A 400 (bad HTML, chat not found), a 403 (the user blocked the bot) and
the like are final at once: retrying cannot change Telegram's mind.

Duplicates: Telegram has no idempotency key, so a send that timed out may have been
delivered already. A retry after a timeout (the request reached Telegram, the reply did
not reach us within the read timeout) or after a connection that broke once the request
was written can show the user the same part twice. Refused connections, 5xx and 429 are
answered before Telegram stores anything, so those retries never duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import Message
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut

if TYPE_CHECKING:
    from bot.telegram.metrics import Metrics

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[Message]]


class DeliveryFailed(Exception):
    """A reply (or one of its parts) still failed with a transient error when the budget ran out."""

    def __init__(self, chat_id: int, delivered: list[int], cause: BaseException) -> None:
        super().__init__(f"reply to chat {chat_id} not delivered: {type(cause).__name__}")
        self.chat_id = chat_id
        self.delivered = delivered  # message ids of the parts that did arrive
        self.cause = cause


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for one reply."""

    budget_s: float = 30.0
    first_wait_s: float = 0.5
    factor: float = 2.0
    max_wait_s: float = 8.0

    def waits(self) -> Callable[[], float]:
        """Successive backoff waits, starting over for each reply."""
        state = {"next": self.first_wait_s}

        def next_wait() -> float:
            wait = state["next"]
            state["next"] = min(wait * self.factor, self.max_wait_s)
            return wait

        return next_wait


DEFAULT_POLICY = RetryPolicy()


def retryable(exc: BaseException) -> bool:
    """Network errors, timeouts, 5xx and retry_after; never a 4xx Telegram meant."""
    if isinstance(exc, RetryAfter):
        return True
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds Telegram asked us to wait, if it did."""
    if not isinstance(exc, RetryAfter):
        return None
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Courier:
    """Delivers the parts of one reply in order, retrying each within one budget."""

    def __init__(
        self,
        chat_id: int,
        metrics: Metrics | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.chat_id = chat_id
        self.metrics = metrics
        self.policy = policy
        self._sleep = sleep
        self._deadline = time.monotonic() + policy.budget_s
        self._next_wait = policy.waits()
        self.delivered: list[int] = []
        self.retries = 0

    async def send(self, send: Send) -> Message:
        """One part: sent, retried on transient errors until the reply's budget is spent."""
        while True:
            started = time.perf_counter()
            try:
                message = await send()
            except TelegramError as exc:
                if self.metrics is not None:
                    self.metrics.send_seconds.observe(time.perf_counter() - started)
                if not retryable(exc):
                    raise  # Telegram's considered answer (400, 403…): the handler's error path
                wait = self._wait_before_retry(exc)
                if wait is None:
                    raise DeliveryFailed(self.chat_id, list(self.delivered), exc) from exc
                self.retries += 1
                if self.metrics is not None:
                    self.metrics.send_retries.labels(reason=_reason(exc)).inc()
                log.info(
                    "send to chat %s failed (%s); retry %d in %.1f s",
                    self.chat_id,
                    type(exc).__name__,
                    self.retries,
                    wait,
                )
                await self._sleep(wait)
                continue
            if self.metrics is not None:
                self.metrics.send_seconds.observe(time.perf_counter() - started)
            self.delivered.append(message.message_id)
            return message

    async def send_all(self, sends: Sequence[Send]) -> list[int]:
        """Every part in order; the message ids once all arrived."""
        for send in sends:
            await self.send(send)
        return list(self.delivered)

    def _wait_before_retry(self, exc: TelegramError) -> float | None:
        wait = retry_after_s(exc)
        wait = self._next_wait() if wait is None else wait
        if time.monotonic() + wait > self._deadline:
            return None  # the budget would run out while waiting: give up now, not later
        return wait


def _reason(exc: BaseException) -> str:
    """A small fixed set of label values for the retry counter."""
    if isinstance(exc, RetryAfter):
        return "retry_after"
    if isinstance(exc, TimedOut):
        return "timeout"
    return "network"
