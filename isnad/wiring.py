"""The edge's wiring: settings turned into what each layer is handed (configs, jobs, engines)."""

from __future__ import annotations

from collections.abc import Callable

from bot.qa.config import EngineConfig
from bot.telegram.config import BotConfig
from bot.telegram.store import STORE_FILE
from indexing.pipeline import IndexReport
from isnad.jobs import run_index
from isnad.settings import Settings


def engine_config(settings: Settings) -> EngineConfig:
    """What the QA engine needs from the settings."""
    return EngineConfig(
        data_dir=settings.data_dir,
        llm=settings.llm,
        openai_base_url=settings.openai_base_url,
        openai_api_key=settings.openai_api_key,
        llm_model=settings.llm_model,
        chroma_host=settings.chroma_host,
        chroma_port=settings.chroma_port,
        chroma_token=settings.chroma_token,
    )


def bot_config(settings: Settings) -> BotConfig:
    """What the Telegram front end needs from the settings."""
    return BotConfig(
        token=settings.telegram_token,
        base_url=settings.telegram_base_url,
        allowed_chats=settings.allowed_chats,
        admins=settings.admins,
        webhook_url=settings.webhook_url,
        webhook_secret=settings.webhook_secret,
        webhook_listen=settings.webhook_listen,
        state_url=settings.state_url,
        state_path=settings.data_dir / STORE_FILE,
        refresh_minutes=settings.refresh_minutes if settings.feeds else 0,
        waits_on_model=settings.llm == "openai",
        llm=settings.llm,
        metrics_listen=settings.metrics_listen,
        log_questions=settings.log_questions,
    )


def index_job(settings: Settings) -> Callable[[], IndexReport]:
    """The index job as the bot's /reindex runs it: the CLI's lock, store and embedder, no progress bar."""

    def run() -> IndexReport:
        return run_index(settings, progress=False)

    return run
