"""Files holding users' data are 0600 and the data dir isnad creates is 0700, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.qa.conversation import Turn
from bot.telegram.store import STORE_FILE, BotStore
from indexing.lock import DataDirLock


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_bot_state_is_created_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    store = BotStore(data / STORE_FILE)
    try:
        turn = Turn("سؤال من مستخدم؟", "سؤال من مستخدم؟", "جواب")
        store.memory().add("tg:1", turn)  # a write: -wal and -shm appear
        files = sorted(data.iterdir())
        assert {p.name for p in files} >= {STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm"}
        for path in files:
            assert mode(path) == 0o600, path  # was 0644: every user's questions, world-readable
    finally:
        store.close()
    assert mode(data) == 0o700 and mode(data.parent) == 0o700


def test_a_state_file_made_world_readable_before_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    BotStore(path).close()
    path.chmod(0o644)
    BotStore(path).close()
    assert mode(path) == 0o600


def test_the_cli_makes_the_data_dir_owner_only(tmp_path: Path) -> None:
    from isnad.cli import main

    data = tmp_path / "new-data"
    assert main(["bot", "--data-dir", str(data)]) == 2  # no token; the data dir is made first
    assert mode(data) == 0o700
    with DataDirLock(tmp_path / "other"):
        assert mode(tmp_path / "other") == 0o700


def test_repl_history_is_owner_only(tmp_path: Path) -> None:
    readline = pytest.importorskip("readline")
    from bot.terminal.repl import Repl

    repl = Repl.__new__(Repl)  # only the history file matters here, not an engine
    repl.history_file = tmp_path / "data" / "repl_history"
    readline.add_history("كم شاحنة جاهزة؟")
    repl._save_history(readline)
    assert mode(repl.history_file) == 0o600 and mode(repl.history_file.parent) == 0o700
