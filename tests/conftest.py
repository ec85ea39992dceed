"""The fixtures every test module shares; every test runs in its own tmp dir with a clean environment.

Tests sit in folders by layer (corpus/, index/, qa/, telegram/, edge/, tools/); what they
share besides fixtures is in harness.py, and the fakes of outside services (Bot API, an
OpenAI-compatible server, a news site) in fake_telegram.py, fake_openai.py, feed_server.py.
A test that needs the real seeds index or a bot is marked slow here, so
`pytest -m "not slow"` is the fast loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bot.qa.conversation import ConversationMemory
    from bot.qa.engine import Engine
    from bot.telegram.ratelimit import UserRateLimiter
    from isnad.settings import Settings
    from tests.fake_telegram import FakeBotAPI
    from tests.harness import RunningBot
    from tests.pg_server import PostgresServer

TESTS = Path(__file__).resolve().parent
PROJECT_ROOT = TESTS.parent
SEEDS = PROJECT_ROOT / "seeds"
FIXTURES = TESTS / "fixtures"
# Fixtures that cost a real index of the seeds (built once per session, minutes under load)
# or a database server: the tests that use them are slow.
SLOW_FIXTURES = frozenset({"seeds_data", "base_engine", "postgres", "pg_url"})

_PREFIXES = ("ISNAD_", "TELEGRAM_", "OPENAI_", "CHROMA_")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the data dir into tmp_path, drop stray settings, and leave no .env in reach."""
    import os

    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("ISNAD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.chdir(tmp_path)
    return data_dir


@pytest.fixture
def write_corpus(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Write {relative path: text or bytes} under tmp_path/corpus and return the folder."""

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "corpus"
        root.mkdir(exist_ok=True)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return write


@pytest.fixture(scope="session")
def seeds_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds indexed once per test session (treat as read-only)."""
    from indexing.pipeline import build_indexer

    data = tmp_path_factory.mktemp("seeds-data")
    build_indexer(data, progress=False).run(SEEDS)
    return data


# -- the bot against the fake Bot API (tests marked network)


@pytest.fixture(scope="module")
def base_engine(seeds_data: Path) -> Engine:
    """The real engine over the seeds, built once per module (bots share its retriever)."""
    from bot.qa.engine import build

    return build(seeds_data)


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    """A fake Telegram Bot API on loopback (tests/fake_telegram.py)."""
    from tests.fake_telegram import FakeBotAPI

    with FakeBotAPI() as api:
        yield api


@pytest.fixture
def settings(fake: FakeBotAPI, seeds_data: Path) -> Settings:
    """Settings of a bot that talks to the fake Bot API and answers from the seeds."""
    from isnad.settings import Settings

    return Settings(
        data_dir=seeds_data, corpus_dir=SEEDS, telegram_token=fake.token, telegram_base_url=fake.base_url
    )


@pytest.fixture
def run_bot(
    fake: FakeBotAPI, settings: Settings, base_engine: Engine, tmp_path: Path
) -> Iterator[Callable[..., RunningBot]]:
    """Start a bot (stopped at teardown); keyword overrides for settings, factory, limiter, store_path."""
    from tests.harness import RunningBot, sharing

    started: list[RunningBot] = []

    def start(
        factory: Callable[[ConversationMemory], Engine] | None = None,
        limiter: UserRateLimiter | None = None,
        store_path: Path | None = None,
        **overrides: Any,
    ) -> RunningBot:
        bot = RunningBot(
            fake,
            replace(settings, **overrides),
            factory or sharing(base_engine),
            store_path or tmp_path / "telegram.sqlite3",
            limiter,
        )
        started.append(bot.__enter__())
        return bot

    yield start
    for bot in reversed(started):
        if bot._thread.is_alive():
            bot.__exit__()


# -- a real PostgreSQL server (the tests using it are slow)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the module (tests/pg_server.py), stopped after it."""
    from tests.pg_server import PACKAGE_HINT, PostgresServer, find_postgres_bin

    pytest.importorskip("psycopg", reason="psycopg 3 is not installed: pip install 'psycopg[binary,pool]'")
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {PACKAGE_HINT}")
    server = PostgresServer.start(bindir)
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the module's server."""
    return postgres.url(postgres.new_database())


# -- secrets never reach a log ---------------------------------------------------------
# Every record logged anywhere in the suite is kept and scanned at the end for anything
# shaped like an API key or a bot token (the tests use such values on purpose).
import logging  # noqa: E402
import re  # noqa: E402

SECRET_SHAPES = re.compile(r"sk-[A-Za-z0-9_-]{8,}|\b\d{6,}:[A-Za-z0-9_-]{20,}\b")


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not our concern here
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        for match in SECRET_SHAPES.findall(text):
            self.leaks.append(f"{record.name}: …{match[:6]}… in {text[:80]!r}")


_LOG_SCAN = _Everything()


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(_LOG_SCAN)
    logging.getLogger().setLevel(logging.DEBUG)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark slow every test that needs the seeds index or a database server."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and "postgres" in callspec.params.values()
        if on_postgres or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _LOG_SCAN.leaks:
        print("\nsecrets found in logs:\n  " + "\n  ".join(_LOG_SCAN.leaks[:20]))
        session.exitstatus = 1
