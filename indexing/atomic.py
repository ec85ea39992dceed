"""Replacing a file whole: a reader, or a run killed halfway, sees the old file or the new one.

Every file the index job and the engine keep (snapshot pointers, the spellings, the HNSW row
map, the embedder record, fetched pages, feed articles, the derived encoder) is written the
same way: into a hidden temporary file beside the target, named for this process and thread so
two writers never share one, then `os.replace`d over the target. A failed write removes its
temporary file and leaves the target as it was.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path to write `target`'s new content to; it replaces `target` when the block ends."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(target: Path, data: str | bytes) -> None:
    """Replace `target` with `data` (text is written as UTF-8)."""
    with replacing(target) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)


__all__ = ["replacing", "write_atomically"]
