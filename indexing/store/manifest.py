"""What each corpus article contributed to the store, so a refresh re-reads only what changed.

Saved beside the row table under the store's fingerprint: per article, a digest of
everything the paragraph parser reads from it (name, text, titles, metadata), the
dedupe key of each paragraph found in it and the paragraph id that key was stored
under. An unchanged article (same digest) contributes exactly what it did last time,
as long as none of its paragraphs also occurs in an article that changed: then the
indexing job parses and plans only the changed articles (see `indexing.pipeline`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.store import snapshots

log = logging.getLogger(__name__)

FORMAT = "sources-v1"


def digest(*parts: str, size: int = 16) -> bytes:
    """A short digest of text fields (what a manifest compares)."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=size).digest()


def _bytes(values: Sequence[bytes], width: str) -> np.ndarray:
    return np.array(values, dtype=width) if len(values) else np.zeros(0, dtype=width)


@dataclass
class SourceManifest:
    """Per article (in corpus order): its digest, and its paragraphs' dedupe keys and ids."""

    fingerprint: str
    articles: np.ndarray  # S16 digest of each article, as the parser reads it
    start: np.ndarray  # int64: article i's paragraphs are entries start[i]:start[i + 1]
    keys: np.ndarray  # S12 digest of each entry's dedupe key
    paragraph_ids: np.ndarray  # S32: the id each entry's paragraph is stored under

    @classmethod
    def of(
        cls, fingerprint: str, articles: Sequence[bytes], entries: Sequence[Sequence[tuple[bytes, str]]]
    ) -> SourceManifest:
        """From each article's digest and its (key digest, paragraph id) entries."""
        counts = np.array([len(e) for e in entries], dtype=np.int64)
        start = np.zeros(len(entries) + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        flat = [pair for article in entries for pair in article]
        return cls(
            fingerprint=fingerprint,
            articles=_bytes(articles, "S16"),
            start=start,
            keys=_bytes([k for k, _ in flat], "S12"),
            paragraph_ids=_bytes([p.encode("ascii") for _, p in flat], "S32"),
        )

    def __len__(self) -> int:
        return len(self.articles)

    def entries(self, article: int) -> list[tuple[bytes, str]]:
        """The (key digest, paragraph id) entries of article row `article`."""
        lo, hi = int(self.start[article]), int(self.start[article + 1])
        pairs = zip(self.keys[lo:hi], self.paragraph_ids[lo:hi], strict=True)
        return [(bytes(k), bytes(p).decode("ascii")) for k, p in pairs]

    def entry_mask(self, articles: np.ndarray) -> np.ndarray:
        """Boolean mask over entries: those of the given article rows."""
        per_article = np.zeros(len(self), dtype=bool)
        per_article[articles] = True
        return np.repeat(per_article, np.diff(self.start))

    _ARRAYS = ("articles", "start", "keys", "paragraph_ids")

    def save(self, root: Path) -> None:
        """Write this manifest and make it the current one."""

        def write(folder: Path) -> None:
            for name in self._ARRAYS:
                np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
            meta = {"format": FORMAT, "fingerprint": self.fingerprint}
            (folder / "isnad.json").write_text(json.dumps(meta), encoding="utf-8")

        snapshots.publish(root, snapshots.folder_name(FORMAT, self.fingerprint), write)

    @classmethod
    def load(cls, root: Path) -> SourceManifest | None:
        """The current manifest, or None when there is none or it cannot be read."""
        try:
            snapshot = snapshots.read_current(root, FORMAT, cls._ARRAYS)
        except (OSError, ValueError, KeyError) as exc:
            log.info("source manifest unreadable, every article will be read: %s", exc)
            return None
        if snapshot is None:
            return None
        return cls(fingerprint=str(snapshot.meta["fingerprint"]), **snapshot.arrays)
