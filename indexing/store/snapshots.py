"""Derived caches on disk: one folder per build, named by the store fingerprint it reflects.

A one-line CURRENT file (replaced atomically) names the live folder, so a build
killed half-way leaves the previous one in service, and older folders are removed
once a new one is published.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from indexing.atomic import write_atomically


def folder_name(fmt: str, fingerprint: str) -> str:
    """The folder of a build: format and a short, filesystem-safe digest of the fingerprint."""
    return f"{fmt}-{hashlib.sha1(fingerprint.encode()).hexdigest()[:16]}"


def publish(root: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Write a build into a temporary folder, then make it the current one."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    tmp = root / f".{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    write_atomically(root / "CURRENT", name)
    for old in root.iterdir():
        if old.name not in (name, "CURRENT") and not old.name.startswith(".CURRENT"):
            shutil.rmtree(old, ignore_errors=True)
    return target


def current(root: Path) -> Path | None:
    """The live build's folder, or None when there is none."""
    try:
        folder = root / (root / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return folder if folder.is_dir() else None


class Snapshot(NamedTuple):
    """A live build as read back: its folder, its isnad.json and its named arrays."""

    folder: Path
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


def read_current(root: Path, fmt: str, arrays: Sequence[str], mmap: bool = False) -> Snapshot | None:
    """The live build of format `fmt` with its `arrays` (`name.npy`, memory-mapped with `mmap`).

    None when there is none or it is of another format; OSError, ValueError or KeyError when
    it cannot be read (each caller says what it does then).
    """
    folder = current(root)
    if folder is None:
        return None
    meta = json.loads((folder / "isnad.json").read_text(encoding="utf-8"))
    if meta.get("format") != fmt:
        return None
    mode: Literal["r"] | None = "r" if mmap else None
    loaded = {name: np.load(folder / f"{name}.npy", mmap_mode=mode, allow_pickle=False) for name in arrays}
    return Snapshot(folder, meta, loaded)
