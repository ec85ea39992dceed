"""Folders and files isnad creates for users' data are its owner's alone (0700 / 0600).

The bot's state holds every user's questions with user and chat ids, the REPL history
every question typed; under the usual umask (022) they would be created world-readable.
Modes are set at creation (then checked), and a file isnad created earlier with a
wider mode loses its group and world bits when isnad opens it again. A folder that
already exists keeps the mode its owner gave it: only what isnad creates is narrowed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create path (and missing parents) if needed; the folders created here are 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another process: its mode is its own
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path) -> Path:
    """Make sure path exists as a file only its owner can read and write (parents made private)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & ~0o077)
    finally:
        os.close(fd)
    return path
