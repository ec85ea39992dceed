"""All configuration, read once at the edge from the environment and `.env`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from indexing.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_CORPUS_DIR = PROJECT_ROOT / "seeds"
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
LLM_MODES = ("extractive", "openai")
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1:8443"


def _ids(raw: str, name: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated numeric ids") from None


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
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN

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
        port = get("CHROMA_PORT")
        if port is not None and not port.isdigit():
            raise ConfigError("CHROMA_PORT must be a port number")
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
            webhook_url=get("ISNAD_WEBHOOK_URL"),
            webhook_secret=get("ISNAD_WEBHOOK_SECRET"),
            webhook_listen=get("ISNAD_WEBHOOK_LISTEN") or DEFAULT_WEBHOOK_LISTEN,
        )
