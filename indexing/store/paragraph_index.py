"""The ParagraphIndex over Chroma and the row table: HNSW for neighbours, arrays for the rest.

Chroma answers the nearest-neighbour query with ids and distances only (no metadata
read from SQLite); the vectors of a question's BM25-only candidates are read from the
collection's own HNSW files when the store is embedded (`hnsw_file`), else from Chroma by
primary key; every record is a row of the memory-mapped table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexing.store.chroma import ParagraphStore, StoredParagraph
from indexing.store.hnsw_file import HnswVectorFile
from indexing.store.table import ParagraphTable


class ChromaTableIndex:
    """ParagraphIndex: Chroma's HNSW for search and vectors, the row table for records."""

    def __init__(self, store: ParagraphStore, table: ParagraphTable, read_files: bool = True) -> None:
        self.store = store
        self.table = table
        self.files = vector_file(store, table) if read_files else None

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
        """Chunk vectors of the given paragraphs: chunk rows from the table, vectors from the
        HNSW files, or from Chroma by id for those the files do not hold."""
        groups = self.table.chunk_row_groups(paragraph_ids)
        found: dict[int, np.ndarray] = {}
        if self.files is not None and groups:
            read = self.files.vectors([row for rows in groups.values() for row in rows])
            if read is None:  # the files were rewritten: Chroma from now on
                self.files.close()
                self.files = None
            else:
                found = read
        rest = {self.table.chunk_id(row): row for rows in groups.values() for row in rows if row not in found}
        if rest:
            found.update((rest[i], v) for i, v in self.store.vectors_of(list(rest)).items())
        out: dict[str, np.ndarray] = {}
        for pid, rows in groups.items():
            held = [found[row] for row in rows if row in found]
            if held:
                out[pid] = np.stack(held)
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


def vector_file(store: ParagraphStore, table: ParagraphTable) -> HnswVectorFile | None:
    """The reader of an embedded store's HNSW files for this table's rows (None for a server)."""
    settings = store.client.get_settings()
    if not settings.is_persistent or not settings.persist_directory or not len(table):
        return None
    return HnswVectorFile.open(
        Path(settings.persist_directory),
        str(store.collection.id),
        table,
        store.vectors_of,
    )
