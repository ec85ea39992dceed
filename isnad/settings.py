"""All configuration, read once at the edge from the environment and `.env`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import dotenv_values

from indexing.embedder_mark import EMBED_KINDS, default_kind, embedder_name
from indexing.errors import ConfigError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

# The checkout (editable install), or site-packages once installed: seeds/ is shipped in the
# wheel as package data, so the default corpus is found from any working directory.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_DIR = PROJECT_ROOT / "seeds"


def default_data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """data/ in a checkout (git ignores it); installed, the user's data folder ($XDG_DATA_HOME/isnad)."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    return Path(environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "isnad"


DEFAULT_DATA_DIR = default_data_dir()
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
LLM_MODES = ("extractive", "openai")
EMBED_MODES = EMBED_KINDS
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1:8443"
DEFAULT_REFRESH_MINUTES = 30.0
STATE_URL_SCHEMES = ("postgresql://", "postgres://")  # ISNAD_STATE_URL; unset: SQLite in the data dir
LOG_FORMATS = ("text", "json")


def _ids(raw: str, name: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated numeric ids") from None


def _cache_dir(isnad_cache: str | None, xdg_cache: str | None) -> Path | None:
    if isnad_cache:
        return Path(isnad_cache).expanduser()
    return Path(xdg_cache).expanduser() / "isnad" if xdg_cache else None


@dataclass(frozen=True)
class Settings:
    """Typed settings; secrets are excluded from repr so they never reach a log."""

    data_dir: Path = DEFAULT_DATA_DIR
    corpus_dir: Path = DEFAULT_CORPUS_DIR
    telegram_token: str | None = field(default=None, repr=False)
    telegram_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    allowed_chats: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()
    llm: str = "extractive"
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    chroma_host: str | None = None
    chroma_port: int | None = None
    chroma_token: str | None = field(default=None, repr=False)
    embed: str | None = None  # ISNAD_EMBED; None: the data dir's recorded embedder, else onnx
    embed_url: str | None = None
    embed_model: str | None = None
    embed_api_key: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    state_url: str | None = field(default=None, repr=False)  # may hold a database password
    feeds: tuple[str, ...] = ()  # ISNAD_FEEDS (and `isnad index --feed`)
    corpus_allow: tuple[Path, ...] = ()  # ISNAD_CORPUS_ALLOW: folders links in the corpus may lead to
    refresh_minutes: float = DEFAULT_REFRESH_MINUTES
    fetch_allow_private: bool = False
    cache_dir: Path | None = None  # derived models (the int8 encoder); None: ~/.cache/isnad
    metrics_listen: str | None = None  # host:port for /metrics, /healthz, /readyz; None = off
    log_format: str = "text"
    log_questions: bool = False  # readers' questions are personal data: INFO logs omit them

    def embedder_factory(
        self, query: bool = False, threads: int | None = None
    ) -> Callable[[], BaseEmbedding]:
        """A zero-argument factory for the configured embedder (built on first use).

        query=True tunes it for embedding questions: one short text on one thread.
        threads: how many threads an in-process model uses (None: every core).
        """

        def factory() -> BaseEmbedding:
            from indexing.embedding import make_embedder

            return make_embedder(
                self.embed_kind,
                self.embed_url,
                self.embed_model,
                self.embed_api_key,
                threads=1 if query else threads,
                cache_dir=self.cache_dir,
            )

        return factory

    @property
    def embed_kind(self) -> str:
        """ISNAD_EMBED when set; unset, the embedder that built the data dir, else the default."""
        return self.embed or default_kind(self.data_dir)

    @property
    def embedder_name(self) -> str:
        """The vector space the configured embedder writes (recorded in the data dir)."""
        return embedder_name(self.embed_kind, self.embed_model)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        dotenv: Path | None = Path(".env"),
    ) -> Settings:
        """Environment first, then `.env` in the working directory for what is unset."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        llm = (get("ISNAD_LLM") or "extractive").lower()
        if llm not in LLM_MODES:
            raise ConfigError(f"ISNAD_LLM must be one of {', '.join(LLM_MODES)}, not {llm!r}")
        embed = (get("ISNAD_EMBED") or "").lower() or None
        if embed is not None and embed not in EMBED_MODES:
            raise ConfigError(f"ISNAD_EMBED must be one of {', '.join(EMBED_MODES)}, not {embed!r}")
        port = get("CHROMA_PORT")
        if port is not None and not port.isdigit():
            raise ConfigError("CHROMA_PORT must be a port number")
        refresh = get("ISNAD_REFRESH_MINUTES") or str(DEFAULT_REFRESH_MINUTES)
        try:
            refresh_minutes = float(refresh)
        except ValueError:
            raise ConfigError("ISNAD_REFRESH_MINUTES must be a number of minutes") from None
        if not refresh_minutes > 0:
            raise ConfigError("ISNAD_REFRESH_MINUTES must be more than 0")
        feeds = tuple(dict.fromkeys(f.strip() for f in (get("ISNAD_FEEDS") or "").split(",") if f.strip()))
        for feed in feeds:
            if not feed.lower().startswith(("http://", "https://")):
                raise ConfigError(f"ISNAD_FEEDS holds {feed[:60]!r}, which is not an http(s) URL")
        state_url = get("ISNAD_STATE_URL")
        if state_url is not None and not state_url.startswith(STATE_URL_SCHEMES):
            # The value itself is not repeated: it may carry a password.
            raise ConfigError(
                "ISNAD_STATE_URL must be a postgresql:// URL, e.g. postgresql://isnad@db:5432/isnad"
            )
        log_format = (get("ISNAD_LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"ISNAD_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
        return cls(
            data_dir=Path(get("ISNAD_DATA_DIR") or DEFAULT_DATA_DIR).expanduser(),
            corpus_dir=Path(get("ISNAD_CORPUS_DIR") or DEFAULT_CORPUS_DIR).expanduser(),
            telegram_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_base_url=get("TELEGRAM_BASE_URL") or DEFAULT_TELEGRAM_BASE_URL,
            allowed_chats=_ids(get("ISNAD_ALLOWED_CHATS") or "", "ISNAD_ALLOWED_CHATS"),
            admins=_ids(get("ISNAD_ADMINS") or "", "ISNAD_ADMINS"),
            llm=llm,
            openai_base_url=get("OPENAI_BASE_URL"),
            openai_api_key=get("OPENAI_API_KEY"),
            llm_model=get("ISNAD_LLM_MODEL"),
            chroma_host=get("CHROMA_HOST"),
            chroma_port=int(port) if port else None,
            chroma_token=get("CHROMA_AUTH_TOKEN"),
            embed=embed,
            embed_url=get("ISNAD_EMBED_URL"),
            embed_model=get("ISNAD_EMBED_MODEL"),
            embed_api_key=get("ISNAD_EMBED_API_KEY"),
            webhook_url=get("ISNAD_WEBHOOK_URL"),
            webhook_secret=get("ISNAD_WEBHOOK_SECRET"),
            webhook_listen=get("ISNAD_WEBHOOK_LISTEN") or DEFAULT_WEBHOOK_LISTEN,
            state_url=state_url,
            feeds=feeds,
            corpus_allow=tuple(
                Path(part.strip()).expanduser()
                for part in (get("ISNAD_CORPUS_ALLOW") or "").split(",")
                if part.strip()
            ),
            refresh_minutes=refresh_minutes,
            fetch_allow_private=(get("ISNAD_FETCH_ALLOW_PRIVATE") or "") in ("1", "true", "yes"),
            cache_dir=_cache_dir(get("ISNAD_CACHE_DIR"), get("XDG_CACHE_HOME")),
            metrics_listen=get("ISNAD_METRICS_LISTEN"),
            log_format=log_format,
            log_questions=get("ISNAD_LOG_QUESTIONS") in ("1", "true", "yes"),
        )
