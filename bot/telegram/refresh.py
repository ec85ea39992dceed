"""Keeps the archive fresh: with ISNAD_FEEDS set, the bot re-indexes every ISNAD_REFRESH_MINUTES.

An asyncio task of the bot's own loop rather than PTB's JobQueue, which would need the
`job-queue` extra (APScheduler) for one periodic call. Each round runs the same index job as
/reindex (corpus and feeds, under the data-dir lock) in a worker thread, never on the event
loop, and shares /reindex's lock so the two never overlap; a round that finds either busy is
skipped. The new engine replaces the old one only once it is built: an answer already under
way finishes on the engine it started with. A round that changed nothing (an unchanged feed
costs one 304) keeps the engine it has instead of loading a new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.qa.engine import Engine
from bot.telegram.daemon import in_daemon_thread
from bot.telegram.services import Archive, RefreshStatus, Services, describe_archive, settle_heap
from indexing.errors import IsnadError

if TYPE_CHECKING:
    from indexing.pipeline import IndexReport

log = logging.getLogger(__name__)


def reindex_if_changed(svc: Services) -> tuple[IndexReport, Engine | None, Archive | None]:
    """Run the index job; build a new engine only when the index changed (blocking: run in a thread)."""
    report = svc.index_job()  # the same job as /reindex and `isnad index` (see Services.reindex)
    if not (report.added or report.removed or report.updated):
        return report, None, None
    engine = svc.engine_factory(svc.memory)
    return report, engine, describe_archive(engine)


async def refresh_once(svc: Services) -> RefreshStatus | None:
    """Re-index and swap the engine in; None when an index job is already running."""
    if svc.reindexing.locked():
        return None
    async with svc.reindexing:
        started = time.perf_counter()
        try:
            # A daemon thread, as for /reindex: a stuck round must not keep the bot from stopping.
            report, engine, archive = await in_daemon_thread(lambda: reindex_if_changed(svc), "isnad-refresh")
        except IsnadError as exc:  # another process holds the data dir, a damaged store, …
            seconds = time.perf_counter() - started
            status = RefreshStatus(datetime.now(UTC), seconds, ok=False, problem=str(exc))
            log.warning("refresh failed: %s", exc)
        else:
            status = RefreshStatus(
                datetime.now(UTC),
                report.seconds,
                ok=True,
                added=report.added,
                removed=report.removed,
                new_articles=report.new_from_feeds,
                requests=report.fetched,
                warnings=len(report.skipped),
            )
            log.info("refreshed: %s", report.as_dict())
            svc.metrics.indexed(report)
        svc.last_refresh = status
        svc.refreshes += 1
        if status.ok and engine is not None and archive is not None:
            # Answers already under way finish on the old engine; new questions get the new one.
            svc.engine, svc.archive = engine, archive
            await asyncio.to_thread(settle_heap, True)  # freeze the new engine, free the old one's cycles
        return status


async def refresh_forever(svc: Services, every_seconds: float) -> None:
    """Refresh now, then every `every_seconds`, until cancelled."""
    while True:
        try:
            await refresh_once(svc)
        except Exception:  # a bug must not end the refreshes for the life of the bot
            log.exception("refresh crashed")
        await asyncio.sleep(every_seconds)
