"""What the Telegram front end is told by the edge (`isnad bot`); it reads no settings itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class BotConfig:
    """The bot's configuration; secrets (token, webhook secret, state URL) stay out of repr."""

    token: str | None = field(default=None, repr=False)
    base_url: str  # the Bot API; the token is appended
    allowed_chats: frozenset[int] = frozenset()  # empty: everyone
    admins: frozenset[int] = frozenset()
    webhook_url: str | None = None  # unset: long polling
    webhook_secret: str | None = field(default=None, repr=False)  # unset: a random one per start
    webhook_listen: str  # HOST:PORT
    state_url: str | None = field(default=None, repr=False)  # PostgreSQL shared by replicas
    state_path: Path  # the SQLite file when there is no state_url
    refresh_minutes: float = 0  # re-index (corpus and feeds) this often; 0: never (no ISNAD_FEEDS)
    waits_on_model: bool = False  # answers wait seconds on a remote model (ISNAD_LLM=openai)
    llm: str = "extractive"  # the answering mode, as the metrics label it
    metrics_listen: str | None = None  # HOST:PORT for /metrics, /healthz, /readyz; None: off
    log_questions: bool = False  # readers' questions are personal data: INFO logs omit them
