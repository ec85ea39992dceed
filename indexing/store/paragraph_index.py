"""The ParagraphIndex over Chroma and the row table: HNSW for neighbours, arrays for the rest.

Chroma answers the nearest-neighbour query with ids and distances only (no metadata
read from SQLite) and the vectors of a question's BM25-only candidates (one lookup by
primary key); every record is a row of the memory-mapped table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from indexing.store.chroma import ParagraphStore, StoredParagraph
from indexing.store.table import ParagraphTable


class ChromaTableIndex:
    """ParagraphIndex: Chroma's HNSW for search and vectors, the row table for records."""

    def __init__(self, store: ParagraphStore, table: ParagraphTable) -> None:
        self.store = store
        self.table = table

    def nearest(self, vector: Sequence[float], k: int) -> dict[str, float]:
        """The k paragraphs with the nearest chunks (two chunks fetched per paragraph asked)."""
        n = min(k * 2, len(self.table))
        ids, distances = self.store.nearest(vector, n)
        rows = self.table.rows_of(ids)
        scores: dict[str, float] = {}
        for row, distance in zip(rows, distances, strict=True):
            if row < 0:  # written after the table was loaded; the next engine build sees it
                continue
            pid = self.table.paragraph_ids[self.table.chunk_paragraph[row]].decode("utf-8")
            similarity = 1.0 - distance
            if pid not in scores or similarity > scores[pid]:
                scores[pid] = similarity
        best = sorted(scores, key=scores.__getitem__, reverse=True)[:k]
        return {pid: scores[pid] for pid in best}

    def vectors(self, paragraph_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk vectors of the given paragraphs: chunk ids from the table, vectors from Chroma by id."""
        groups = self.table.chunk_groups(paragraph_ids)
        found = self.store.vectors_of([i for ids in groups.values() for i in ids])
        out: dict[str, np.ndarray] = {}
        for pid, ids in groups.items():
            rows = [found[i] for i in ids if i in found]
            if rows:
                out[pid] = np.stack(rows)
        return out

    def paragraph(self, paragraph_id: str) -> StoredParagraph | None:
        """The record of one paragraph."""
        return self.table.paragraph(paragraph_id)

    def paragraphs(self) -> list[StoredParagraph]:
        """Every paragraph (decodes the whole table: for listings, not for questions)."""
        return self.table.paragraphs()

    def count(self) -> int:
        """Number of chunks in Chroma now (one cheap call: health checks use it to reach the store)."""
        return self.store.count()
