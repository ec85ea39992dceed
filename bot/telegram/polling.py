"""Long polling that reports a network outage as two lines: when it began, and when it ended.

PTB retries a failed getUpdates for ever (good) and, by default, logs an ERROR with a
full traceback for every failed attempt (noise: an outage of ten minutes is a screenful
per minute). The getUpdates requests go through `WatchedRequest`, which sees every
attempt's outcome; `OutageLog` turns those into one warning when polling starts failing
and one line with the duration when a poll succeeds again. PTB's own per-attempt report
(`polling_error`) is then kept to DEBUG for network errors; anything else (another
instance polling with the same token: 409 Conflict) is still logged on every attempt.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


class OutageLog:
    """Tracks whether getUpdates is failing and logs the start and the end of each outage."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self.down_since: float | None = None
        self.failures = 0
        self.outages = 0

    def failed(self, cause: str) -> None:
        """One poll could not reach the Bot API (or got a 5xx)."""
        self.failures += 1
        if self.down_since is None:
            self.down_since = self._clock()
            self.outages += 1
            log.warning("polling Telegram failed (%s); retrying quietly until it is back", cause)

    def succeeded(self) -> None:
        """A poll got its answer."""
        if self.down_since is None:
            return
        seconds = self._clock() - self.down_since
        log.warning(
            "polling Telegram works again after %.1f s of outage (%d failed polls)", seconds, self.failures
        )
        self.down_since, self.failures = None, 0


class WatchedRequest(HTTPXRequest):
    """PTB's httpx transport for getUpdates, telling an `OutageLog` how each attempt went."""

    def __init__(self, outage: OutageLog, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outage = outage

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except NetworkError as exc:  # connection refused or reset, timeouts
            self.outage.failed(type(exc).__name__)
            raise
        if code >= 500:
            self.outage.failed(f"HTTP {code}")
        else:
            self.outage.succeeded()
        return code, payload


class _NoBadGatewayBodies(logging.Filter):
    """Drops PTB's ERROR-with-traceback for a reply body that is not JSON (a proxy's 502 page).

    PTB raises NetworkError right after logging it; the sender's retry or the OutageLog
    reports that once, so the traceback per attempt is only noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


_FILTER = _NoBadGatewayBodies()


def quiet_request_errors() -> None:
    """Install the filter on PTB's request logger (idempotent)."""
    logger = logging.getLogger("telegram.request.BaseRequest")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def polling_error(exc: TelegramError) -> None:
    """PTB's per-attempt error callback: network errors are the OutageLog's to report."""
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        log.debug("poll failed: %s", type(exc).__name__)
        return
    log.error("polling Telegram failed: %s: %s", type(exc).__name__, exc)
