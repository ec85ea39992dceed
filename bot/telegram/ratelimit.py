"""Per-user limit on what makes the bot reply: a sliding window, one Arabic "slow down", then silence.

Questions, commands and button presses all count: a command is cheap to compute, but
its reply is not free in a group, where Telegram caps the bot at about 20 messages a
minute and a flood of /help would queue every other member's answer behind it. Replying
to every excess message would itself be spam, so a user over the limit is told once,
with the wait, and further messages in the same window are dropped quietly.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

SLOW_DOWN = "تمهّل، وصلتني رسائل كثيرة منك في وقت قصير. أعد المحاولة بعد {seconds} ثانية."


class Verdict(Enum):
    """What to do with one message."""

    ALLOW = "allow"
    WARN = "warn"  # over the limit: say so once
    DROP = "drop"  # over the limit and already told


@dataclass(frozen=True)
class Decision:
    """A verdict and, when refused, how long until the next question is accepted."""

    verdict: Verdict
    retry_after: float = 0.0

    def message(self) -> str:
        """The Arabic "slow down" reply."""
        return SLOW_DOWN.format(seconds=max(1, math.ceil(self.retry_after)))


class UserRateLimiter:
    """At most `limit` messages (questions, commands, presses) per user in any `period` seconds."""

    def __init__(self, limit: int = 10, period: float = 60.0, clock: Callable[[], float] = time.monotonic):
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned: set[int] = set()
        self._lock = threading.Lock()

    def check(self, user_id: int) -> Decision:
        """Count one message from user_id, or say why not."""
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(user_id, deque())
            while seen and now - seen[0] >= self.period:
                seen.popleft()
            if len(seen) < self.limit:
                seen.append(now)
                self._warned.discard(user_id)
                self._forget_idle(now)
                return Decision(Verdict.ALLOW)
            retry_after = self.period - (now - seen[0])
            if user_id in self._warned:
                return Decision(Verdict.DROP, retry_after)
            self._warned.add(user_id)
            return Decision(Verdict.WARN, retry_after)

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded by active users: drop users whose whole window has passed.
        if len(self._seen) < 4 * 1024:
            return
        idle = [user for user, seen in self._seen.items() if not seen or now - seen[-1] >= self.period]
        for user in idle:
            del self._seen[user]
            self._warned.discard(user)
