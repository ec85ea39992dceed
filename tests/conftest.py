"""Every test runs in its own tmp dir with a clean isnad environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT_ROOT / "seeds"

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _LOG_SCAN.leaks:
        print("\nsecrets found in logs:\n  " + "\n  ".join(_LOG_SCAN.leaks[:20]))
        session.exitstatus = 1
