"""Sentence vectors: each indexed paragraph's sentences, embedded once at index time, kept compact.

The second ranking stage compares the question with every sentence of a candidate paragraph
(bot/qa/rerank.py); embedding those sentences per question would cost more than the whole
search, so the index job embeds them when a paragraph is indexed, with the same embedder
(passage side), and keeps them here:

- int8, one scale per vector (the vector is about scale * int8): 384 + 4 bytes a sentence;
- a paragraph of one sentence keeps no vector (its chunk vector already says the same);
- keyed by paragraph id (sorted, with the start of its sentences), so a table rebuild or a
  paragraph that moves changes nothing; memory-mapped, published like the other derived
  caches (indexing/store/snapshots.py).

`sync` brings the store in line with the row table: vectors of paragraphs still indexed are
kept, new paragraphs' sentences are embedded, removed ones are dropped; an unchanged table
embeds and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.sentences import split_sentences
from indexing.store import snapshots
from indexing.store.table import ParagraphTable

log = logging.getLogger(__name__)

FORMAT = "sentences-v1"
EMBED_BATCH = 32
# Embeds passage-side texts with the index's embedder: texts -> one vector each.
EmbedTexts = Callable[[list[str]], Sequence[Sequence[float]]]


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and one float32 scale per row, with row ≈ scale * codes."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    scale = np.abs(vectors).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    codes = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return codes, scale.astype(np.float32)


@dataclass
class SentenceVectors:
    """Sentence vectors of indexed paragraphs, memory-mapped."""

    embedder: str
    paragraph_ids: np.ndarray  # bytes, sorted
    start: np.ndarray  # int64: paragraph i's sentences are rows start[i]:start[i + 1]
    codes: np.ndarray  # int8, one row per sentence
    scales: np.ndarray  # float32, one per sentence

    _ARRAYS = ("paragraph_ids", "start", "codes", "scales")

    def rows(self, paragraph_id: str) -> tuple[int, int] | None:
        """The sentence rows of a paragraph: (start, stop); None when the paragraph is not here."""
        if not len(self.paragraph_ids):
            return None
        key = paragraph_id.encode("utf-8")
        i = int(np.searchsorted(self.paragraph_ids, key))
        if i < len(self.paragraph_ids) and self.paragraph_ids[i] == key:
            return int(self.start[i]), int(self.start[i + 1])
        return None

    def cosines(self, paragraph_id: str, query: np.ndarray) -> np.ndarray | None:
        """Similarity of a (normalised) query vector with each sentence of a paragraph, in order.

        None when the paragraph has no sentence vectors (one sentence, or not indexed here).
        """
        span = self.rows(paragraph_id)
        if span is None or span[0] == span[1]:
            return None
        a, b = span
        return (self.codes[a:b].astype(np.float32) @ query) * self.scales[a:b]

    @property
    def digest(self) -> str:
        """What the store holds: its embedder and paragraph ids."""
        h = hashlib.sha1(self.embedder.encode())
        h.update(np.ascontiguousarray(self.paragraph_ids).tobytes())
        return h.hexdigest()

    # -- persistence ---------------------------------------------------------------------

    def save(self, root: Path) -> None:
        """Publish this store as the current one under root."""

        def write(folder: Path) -> None:
            for name in self._ARRAYS:
                np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
            meta = {"format": FORMAT, "embedder": self.embedder, "sentences": len(self.codes)}
            (folder / "isnad.json").write_text(json.dumps(meta), encoding="utf-8")

        snapshots.publish(root, snapshots.folder_name(FORMAT, self.digest), write)

    @classmethod
    def load(cls, root: Path, embedder: str | None = None) -> SentenceVectors | None:
        """The current store (memory-mapped); None when absent, unreadable or of another embedder."""
        folder = snapshots.current(root)
        if folder is None:
            return None
        try:
            meta = json.loads((folder / "isnad.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT or (embedder is not None and meta.get("embedder") != embedder):
                return None
            arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in cls._ARRAYS}
        except (OSError, ValueError, KeyError) as exc:
            log.info("sentence vectors unreadable, will rebuild: %s", exc)
            return None
        return cls(embedder=str(meta["embedder"]), **arrays)


def sync(rows: ParagraphTable, root: Path, embed: EmbedTexts, embedder: str) -> int:
    """Bring the sentence vectors under root in line with the table; the number of sentences embedded."""
    current = SentenceVectors.load(root, embedder)
    wanted = np.asarray(rows.paragraph_ids)
    if current is not None and np.array_equal(np.asarray(current.paragraph_ids), wanted):
        return 0
    kept: list[tuple[int, int] | None] = []
    texts: list[str] = []
    counts = np.zeros(len(wanted), dtype=np.int64)
    for i, key in enumerate(wanted):
        span = current.rows(bytes(key).decode("utf-8")) if current is not None else None
        kept.append(span)
        if span is not None:
            counts[i] = span[1] - span[0]
            continue
        sentences = split_sentences(rows.paragraph_at(i).text)
        if len(sentences) > 1:
            texts.extend(sentences)
            counts[i] = len(sentences)
    fresh_codes, fresh_scales = _embedded(texts, embed)
    start = np.zeros(len(wanted) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    dim = fresh_codes.shape[1] if len(texts) else (current.codes.shape[1] if current is not None else 0)
    codes = np.zeros((int(start[-1]), dim), dtype=np.int8)
    scales = np.zeros(int(start[-1]), dtype=np.float32)
    taken = 0
    for i, span in enumerate(kept):
        a, b = int(start[i]), int(start[i + 1])
        if span is not None and current is not None:
            codes[a:b], scales[a:b] = current.codes[span[0] : span[1]], current.scales[span[0] : span[1]]
        elif b > a:
            codes[a:b], scales[a:b] = fresh_codes[taken : taken + b - a], fresh_scales[taken : taken + b - a]
            taken += b - a
    SentenceVectors(embedder, wanted.copy(), start, codes, scales).save(root)
    return len(texts)


def _embedded(texts: list[str], embed: EmbedTexts) -> tuple[np.ndarray, np.ndarray]:
    """Quantised vectors of texts, embedded in batches of similar length (in the texts' order)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.int8), np.zeros(0, dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: list[np.ndarray] = [np.zeros(0)] * len(texts)
    for a in range(0, len(order), EMBED_BATCH):
        batch = order[a : a + EMBED_BATCH]
        for i, raw in zip(batch, embed([texts[i] for i in batch]), strict=True):
            v = np.asarray(raw, dtype=np.float32)
            vectors[i] = v / max(float(np.linalg.norm(v)), 1e-12)
    return quantize(np.vstack(vectors))


__all__ = ["FORMAT", "SentenceVectors", "quantize", "sync"]
