"""The one door corpus files are read through: regular files inside the corpus, read with a byte cap.

A corpus folder may hold links and special files its owner did not mean to share:
`s.txt -> /some/other/file.txt` would have its content quoted back to any bot user,
`zero.txt -> /dev/zero` reports size 0 and never ends, and a FIFO blocks the reader
forever. So a file is opened only when its resolved path lies inside the corpus (or
under a folder the operator allowed explicitly), it is opened without blocking and
checked on the open descriptor to be a regular file, and the read stops after the cap
however large the file says it is. Every refusal is a `Refused` with a one-line reason.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

# A news article is kilobytes; a file this big is a dump or a mistake, and embedding it
# would hold the index for hours, so it is reported instead.
MAX_FILE_BYTES = 20 * 1024 * 1024
_CHUNK = 1024 * 1024


class Refused(Exception):
    """A corpus file that will not be read; the message is the one-line reason."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _too_large(size: str, limit: int) -> str:
    return f"too large ({size}; the limit is {limit // 2**20} MB), split it into articles"


def resolve_inside(path: Path, root: Path, allowed: Sequence[Path] = ()) -> Path:
    """The real path of a corpus file, refused when it leads out of the corpus and the allow-list."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on some Pythons
        if path.is_symlink():
            raise Refused("broken or looping symlink") from None
        raise Refused(f"unreadable ({getattr(exc, 'strerror', None) or exc})") from None
    homes = [root.resolve(), *(Path(a).resolve() for a in allowed)]
    if not any(real.is_relative_to(home) for home in homes):
        raise Refused("symlink to a file outside the corpus, not read")
    return real


def read_capped(path: Path, root: Path, allowed: Sequence[Path] = (), limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file inside the corpus, at most `limit` of them, or `Refused`."""
    real = resolve_inside(path, root, allowed)
    try:
        # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
        # O_NOFOLLOW: the resolved path has no link left to follow; a swapped-in one is refused.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise Refused(f"unreadable ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise Refused("unreadable (a folder)")
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{_kind(info.st_mode)}, not read")
        if info.st_size > limit:
            raise Refused(_too_large(f"{info.st_size / 2**20:.0f} MB", limit))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:  # the size stat reports is not trusted: count what is read
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise Refused(_too_large(f"over {limit // 2**20} MB", limit))
        return b"".join(chunks)
    except OSError as exc:
        raise Refused(f"unreadable ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
