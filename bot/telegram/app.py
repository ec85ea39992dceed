"""The Telegram front end's wiring: the Application, its lifecycle, long polling or a webhook.

`build_application` makes a python-telegram-bot `Application` whose post_init opens the
state store (SQLite in the data dir, or the PostgreSQL of `ISNAD_STATE_URL` that replicas
share) and builds the engine (through the injected factory, off the loop) into `bot_data`.
`serve` runs it until an event is set, which both `isnad bot` (on SIGINT or SIGTERM) and the
tests (from another thread) use; the webhook is served by aiohttp (already installed with
llama-index) rather than PTB's tornado-based `run_webhook`, which would need the `webhooks`
extra.

Stopping (SIGTERM) is graceful and bounded: /readyz turns 503, no new updates are taken
(polling stops; PTB then calls getUpdates once more with the next offset, so Telegram
counts every fetched update as delivered), answers in flight get up to `GRACE_S` to
finish and be sent, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import secrets
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.telegram.config import BotConfig
from bot.telegram.handlers import COMMANDS, register
from bot.telegram.health import Health, parse_listen, start_server
from bot.telegram.metrics import Metrics
from bot.telegram.polling import OutageLog, WatchedRequest, polling_error, quiet_request_errors
from bot.telegram.ratelimit import UserRateLimiter
from bot.telegram.redact import hide_in_logs, scrub
from bot.telegram.refresh import refresh_forever
from bot.telegram.services import SERVICES, EngineFactory, IndexJob, Services, describe_archive, settle_heap
from bot.telegram.sqlstate import SqlState
from bot.telegram.state import BotState, redact_url
from bot.telegram.store import BotStore
from bot.telegram.turns import ChatTurns, Turns
from indexing.errors import ConfigError
from indexing.untrusted import clip, printable

log = logging.getLogger(__name__)
REFRESH_TASK = "isnad-refresh"  # the bot_data key of the feeds' refresh task


class IsnadApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application with the bot's metrics and health, timing every update it handles."""

    metrics: Metrics
    health: Health
    outage: OutageLog

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        services = self.bot_data.get(SERVICES)
        turns = services.turns if isinstance(services, Services) else None
        try:
            if turns is not None and isinstance(update, Update):
                async with turns.turn(update.update_id):  # the chat's turn across replicas
                    await super().process_update(update)
            else:
                await super().process_update(update)
        finally:
            self.metrics.update_seconds.observe(time.perf_counter() - started)


BotApplication = IsnadApplication
# 429s are retried after Telegram's retry_after (AIORateLimiter waits retry_after + 0.1 s).
SEND_RETRIES = 3
POLL_TIMEOUT = 10  # seconds a getUpdates long poll waits
# ISNAD_LLM=openai: a question waiting on a hanging model holds a worker thread for up to two
# timeouts. The default pool (CPUs + 4 threads) would then let six such questions hold up every
# other chat's questions, /sources, /reset and buttons; waiting threads cost no CPU.
MODEL_WAIT_WORKERS = 64
GRACE_S = 20.0  # after SIGTERM, how long answers in flight may take to finish and be sent
STARTUP_DETAIL_CHARS = 200  # of a Bot API error description, in the one-line start-up error
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts


def open_state(state_url: str | None, sqlite_path: Path) -> BotState:
    """The PostgreSQL database `state_url` names (ISNAD_STATE_URL), else the SQLite file at sqlite_path."""
    if state_url:
        try:
            from bot.telegram.pgstore import PostgresStore
        except ImportError:
            raise ConfigError("ISNAD_STATE_URL needs psycopg 3: pip install 'psycopg[binary,pool]'") from None
        store: BotState = PostgresStore(state_url)
        log.info("bot state in PostgreSQL at %s", redact_url(state_url))
        return store
    log.info("bot state in SQLite at %s", sqlite_path)
    return BotStore(sqlite_path)


def build_application(
    config: BotConfig,
    engine_factory: EngineFactory,
    index_job: IndexJob,
    *,
    limiter: UserRateLimiter | None = None,
) -> BotApplication:
    """The bot, ready for `serve`: handlers registered, engine and store opened in post_init.

    The edge hands it everything: its configuration, how to build an engine over a given
    conversation memory, and the index job /reindex runs.
    """
    token = config.token
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (environment or .env); get a token from @BotFather")
    hide_in_logs(token)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs request URLs, which carry the token
    quiet_request_errors()
    if config.webhook_url:
        webhook_options(config)  # a malformed webhook setting fails now, not after connecting
    if config.metrics_listen:
        parse_listen(config.metrics_listen, "ISNAD_METRICS_LISTEN")
    metrics = Metrics()
    health = Health(metrics)
    outage = OutageLog()

    async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        store = await asyncio.to_thread(open_state, config.state_url, config.state_path)
        memory = store.memory()
        engine = await asyncio.to_thread(engine_factory, memory)
        archive = await asyncio.to_thread(describe_archive, engine)
        application.bot_data[SERVICES] = services = Services(
            config=config,
            store=store,
            memory=memory,
            engine=engine,
            engine_factory=engine_factory,
            index_job=index_job,
            limiter=limiter or UserRateLimiter(),
            archive=archive,
            metrics=metrics,
        )
        metrics.paragraphs.set(archive.paragraphs)
        health.index_check = lambda: services.engine.indexed_chunks()
        if config.webhook_url and config.state_url and isinstance(store, SqlState):
            services.turns = Turns(ChatTurns(store))
        settle_heap()  # once, before serving: full collections would otherwise stall the loop
        if config.refresh_minutes:
            services = application.bot_data[SERVICES]
            application.bot_data[REFRESH_TASK] = asyncio.get_running_loop().create_task(
                refresh_forever(services, config.refresh_minutes * 60), name="isnad-refresh"
            )
        try:
            await application.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:  # the menu is a convenience; answering does not depend on it
            log.warning("could not set the command menu: %s", type(exc).__name__)

    async def post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        task = application.bot_data.pop(REFRESH_TASK, None)
        if task is not None:
            task.cancel()  # a round already indexing finishes in its thread, under the lock
            with contextlib.suppress(asyncio.CancelledError):
                await task
        services = application.bot_data.get(SERVICES)
        if isinstance(services, Services):
            await asyncio.to_thread(services.store.close)

    application = cast(
        BotApplication,
        ApplicationBuilder()
        .application_class(IsnadApplication)
        .token(token)
        .base_url(config.base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,  # the question may be deleted before the answer
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=SEND_RETRIES))
        .get_updates_request(WatchedRequest(outage, connection_pool_size=1))
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build(),
    )
    application.metrics, application.health, application.outage = metrics, health, outage
    register(application)
    return application


async def serve(
    application: BotApplication, config: BotConfig, stop: asyncio.Event, poll_timeout: int = POLL_TIMEOUT
) -> None:
    """Run the bot until `stop` is set: the steps of PTB's run_polling, with a webhook option."""
    if config.waits_on_model:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=MODEL_WAIT_WORKERS, thread_name_prefix="isnad-worker")
        )
    # Health first: a load balancer or an orchestrator can watch the engine load.
    operator = (
        await start_server(application.health, config.metrics_listen) if config.metrics_listen else None
    )
    try:
        await _serve(application, config, stop, poll_timeout)
    finally:
        if operator is not None:
            await operator.cleanup()


async def _serve(
    application: BotApplication, config: BotConfig, stop: asyncio.Event, poll_timeout: int
) -> None:
    try:
        await application.initialize()  # getMe: checks the token and the base URL
    except InvalidToken:
        raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN") from None
    except NetworkError as exc:
        raise ConfigError(
            f"cannot reach the Bot API at {scrub(config.base_url)} ({type(exc).__name__})"
        ) from None
    except Exception as exc:  # any other status or body (a proxy's 403, a 200 in HTML)
        raise ConfigError(startup_failure(config, exc)) from None
    webhook = None
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        if config.webhook_url:
            webhook = await start_webhook(application, config)
        elif application.updater is not None:
            await application.updater.start_polling(
                timeout=poll_timeout, allowed_updates=Update.ALL_TYPES, error_callback=polling_error
            )
        application.health.ready = True
        log.info("@%s is answering (%s)", application.bot.username, "webhook" if webhook else "polling")
        await stop.wait()
    finally:
        application.health.ready = False
        # No new updates: polling stops and confirms the offset of every update it fetched
        # (PTB's last getUpdates); the webhook listener closes.
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if webhook is not None:
            await webhook.cleanup()
        if application.running:
            await _finish_in_flight(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


async def _finish_in_flight(application: BotApplication, grace_s: float = GRACE_S) -> None:
    """Let the updates already taken be answered and sent, for at most `grace_s`."""
    stopping = asyncio.ensure_future(application.stop())
    done, _ = await asyncio.wait({stopping}, timeout=grace_s)
    if done:
        stopping.result()
        return
    # Past the grace period the answers still running are given up (logged, not sent).
    pending = application.update_queue.qsize()
    log.warning("stopping with answers still in flight after %.0f s (%d updates queued)", grace_s, pending)
    stopping.cancel()


def startup_failure(config: BotConfig, exc: BaseException) -> str:
    """One line for a Bot API that answered getMe with an error: the token scrubbed, the reply cut short.

    Some proxies and self-hosted servers echo the request path, token included, in their
    error description; a traceback would print it.
    """
    detail = scrub(getattr(exc, "message", None) or str(exc) or "no description")
    return (
        f"the Bot API at {scrub(config.base_url)} refused to start the bot "
        f"({type(exc).__name__}: {clip(printable(detail), STARTUP_DETAIL_CHARS)})"
    )


def webhook_options(config: BotConfig) -> tuple[str, str, int]:
    """The secret token and the address to listen on, checked."""
    secret = config.webhook_secret or secrets.token_urlsafe(32)  # fresh each start when unset
    if not _SECRET_TOKEN.match(secret):
        raise ConfigError("ISNAD_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    host, _, port = config.webhook_listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError("ISNAD_WEBHOOK_LISTEN must be HOST:PORT, e.g. 127.0.0.1:8443")
    return secret, host.strip("[]"), int(port)


async def start_webhook(application: BotApplication, config: BotConfig) -> Any:
    """Listen for Telegram's POSTs (checking the secret token header) and register the webhook."""
    from aiohttp import web

    url = config.webhook_url or ""
    secret, host, port = webhook_options(config)

    async def receive(request: web.Request) -> web.Response:
        header = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(header.encode(), secret.encode()):
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400)
        services = application.bot_data.get(SERVICES)
        chat = update.effective_chat
        if isinstance(services, Services) and services.turns is not None and chat is not None:
            # The ticket is taken before Telegram hears 200: arrival order across replicas.
            # Should the database fail, the 500 makes Telegram deliver the update again.
            await services.turns.arrived(chat.id, update.update_id)
        await application.update_queue.put(update)
        return web.Response()

    server = web.Application()
    server.router.add_post(urlsplit(url).path or "/", receive)
    application.health.add_routes(server)  # a load balancer checks the port it forwards to
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    await application.bot.set_webhook(url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
    return runner


def run(application: BotApplication, config: BotConfig) -> None:
    """Serve until SIGINT or SIGTERM (what `isnad bot` calls)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(application, config, stop)

    asyncio.run(main())
