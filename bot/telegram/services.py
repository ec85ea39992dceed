"""What the handlers share (engine, store, limits, per-chat locks), put in `bot_data` by post_init.

The methods that touch the engine, SQLite or the indexer are synchronous on purpose: the
handlers run them with `asyncio.to_thread`, so none of that work ever blocks the event loop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import MAX_QUESTION_CHARS, Answer, Engine
from bot.telegram.config import BotConfig
from bot.telegram.delivery import DEFAULT_POLICY, RetryPolicy
from bot.telegram.metrics import Metrics
from bot.telegram.ratelimit import UserRateLimiter
from bot.telegram.state import BotState
from bot.telegram.turns import Turns

if TYPE_CHECKING:
    from indexing.pipeline import IndexReport

log = logging.getLogger(__name__)

EngineFactory = Callable[[ConversationMemory], Engine]
IndexJob = Callable[[], "IndexReport"]  # /reindex: the edge's index job (lock, store, embedder)
SERVICES = "isnad"  # the bot_data key
# An incremental /reindex takes seconds to minutes; one still running after this is reported
# to the admin as stuck (the bot keeps answering from the index it has).
REINDEX_TIMEOUT = 3600.0
_HEADLINES_SHOWN = 8


@dataclass(frozen=True)
class Archive:
    """What the bot knows, for /help: indexed files, paragraphs, a few headlines."""

    files: int = 0
    paragraphs: int = 0
    headlines: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefreshStatus:
    """How the last feeds refresh (bot.telegram.refresh) went, for /stats."""

    finished: datetime
    seconds: float
    ok: bool
    added: int = 0
    removed: int = 0
    new_articles: int = 0
    requests: int = 0
    warnings: int = 0
    problem: str = ""


def describe_archive(engine: Engine) -> Archive:
    """Count the engine's indexed paragraphs and files and pick one headline per file."""
    paragraphs = engine.paragraphs()
    files: dict[str, str] = {}
    for p in paragraphs:
        for occurrence in p.occurrences or ():
            files.setdefault(occurrence.source, "")
        files.setdefault(p.source, "")
        if p.headline and not files[p.source]:
            files[p.source] = p.headline
    headlines = tuple(dict.fromkeys(h for _, h in sorted(files.items()) if h))[:_HEADLINES_SHOWN]
    return Archive(files=len(files), paragraphs=len(paragraphs), headlines=headlines)


def settle_heap(thaw: bool = False) -> None:
    """Move what is alive now (engine, indexes, models) out of the cyclic collector's sight.

    With the engine loaded, a full collection walks the engine's long-lived objects while
    holding the GIL, and the event loop stands still for all of it (the stalls show as the
    event-loop lag `python -m bench.perf.load` reports). Frozen objects are skipped by the
    collector but still freed by reference counting; `thaw` first makes everything collectable
    again, so a replaced engine's cycles are freed.
    """
    if thaw:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


class ChatLocks:
    """One asyncio.Lock per chat, so a chat's messages are answered in the order they came.

    Updates are handled concurrently and asyncio.Lock wakes waiters first in, first out;
    handlers take the lock before their first await, so arrival order is kept. Locks of
    idle chats are dropped to keep memory bounded.
    """

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for the chat's turn."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._holders[chat_id] = self._holders.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[chat_id] -= 1
            if not self._holders[chat_id]:
                del self._holders[chat_id]
                del self._locks[chat_id]

    def __len__(self) -> int:
        return len(self._locks)


@dataclass
class Services:
    """The bot's collaborators; `engine` is replaced whole after /reindex."""

    config: BotConfig
    store: BotState
    memory: ConversationMemory
    engine: Engine
    engine_factory: EngineFactory
    index_job: IndexJob
    limiter: UserRateLimiter
    archive: Archive = field(default_factory=Archive)
    max_question_chars: int = MAX_QUESTION_CHARS
    locks: ChatLocks = field(default_factory=ChatLocks)
    reindexing: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_refresh: RefreshStatus | None = None  # set by bot.telegram.refresh
    refreshes: int = 0
    reindex_timeout: float = REINDEX_TIMEOUT
    metrics: Metrics = field(default_factory=Metrics)
    send_policy: RetryPolicy = DEFAULT_POLICY
    turns: Turns | None = None  # webhook replicas sharing PostgreSQL: one chat at a time, in order
    background: set[asyncio.Task[None]] = field(default_factory=set)  # kept referenced until done

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work on the loop without a handler waiting for it (nor PTB's stop, nor a chat's lock)."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def is_admin(self, user_id: int | None) -> bool:
        """Whether the user may run admin commands (ISNAD_ADMINS)."""
        return user_id is not None and user_id in self.config.admins

    def is_allowed(self, *ids: int | None) -> bool:
        """ISNAD_ALLOWED_CHATS: empty lets everyone in; admins are always let in."""
        allowed = self.config.allowed_chats
        if not allowed:
            return True
        return any(i is not None and (i in allowed or i in self.config.admins) for i in ids)

    def ask(self, question: str, conversation: str, chat_id: int, user_id: int | None) -> tuple[Answer, int]:
        """Answer in the given conversation and record the answer; returns it and its row id."""
        started = time.perf_counter()
        try:
            answer = self.engine.ask(question, conversation=conversation)
        except Exception:
            self.metrics.failed(self.config.llm)
            raise
        seconds = time.perf_counter() - started
        self.metrics.answered(answer, self.config.llm)
        answer_id = self.store.record_answer(chat_id, user_id, conversation, answer, seconds)
        log.info(
            "answered chat %s in %.0f ms (%s, %d citations)%s",
            chat_id,
            seconds * 1000,
            "answered" if answer.answered else "declined",
            len(answer.citations),
            # Questions are readers' personal data: logged only when the operator opted in.
            f": {question!r}" if self.config.log_questions else "",
        )
        return answer, answer_id

    def reindex(self) -> tuple[IndexReport, Engine, Archive]:
        """Index the corpus under the data-dir lock, then build a fresh engine over it."""
        report = self.index_job()
        self.metrics.indexed(report)
        engine = self.engine_factory(self.memory)
        return report, engine, describe_archive(engine)
