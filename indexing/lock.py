"""One writer per data dir: Chroma's embedded store is not safe for concurrent writers.

flock is released by the kernel when the holder dies, even by SIGKILL, so a crashed
indexer never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from indexing.errors import IndexLockedError
from indexing.private import private_dir


class DataDirLock:
    """Exclusive, non-blocking lock on <data dir>/index.lock."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "index.lock"
        self._fd: int | None = None

    def __enter__(self) -> DataDirLock:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise IndexLockedError(
                f"another indexer (pid {holder}) is writing {self.path.parent}; wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
