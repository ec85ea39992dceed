"""The row table: every chunk's vector and metadata in memory-mapped arrays, keyed by row.

The hot path needs, per question, the records of the final paragraphs and the vectors
of the candidates only BM25 found. Asking Chroma for them costs a SQLite scan each
(`paragraph_id $in`, 31 ms at 100k paragraphs); here they are array lookups. The
table is derived from Chroma, saved beside the lexical index under the store's
fingerprint, loaded once per process (memory-mapped, so the OS shares and pages it)
and rebuilt or patched whenever the fingerprint moves.

Rows are chunks sorted by id; each row's metadata is kept as the JSON Chroma holds
(minus llama-index's old node JSON), so fields added to the metadata later cost
nothing here. The trade-off: the table doubles the vectors on disk (1.5 KB a chunk
at 384 dimensions) to take SQLite off the hot path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexing.store import snapshots
from indexing.store.chroma import (
    TEXT_KEY,
    ParagraphStore,
    StoredParagraph,
    comparable_metadata,
    paragraph_from_metadata,
)

log = logging.getLogger(__name__)

FORMAT = "table-v1"
# llama-index's node JSON repeats the text and every field; never worth keeping.
_DROPPED = ("_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id")


def _record(meta: dict[str, Any], document: str | None) -> bytes:
    """What the table keeps of a chunk: its metadata, with the text for indexes that kept it apart."""
    kept = {k: v for k, v in meta.items() if k not in _DROPPED}
    if int(kept.get("chunk", 0)) == 0 and TEXT_KEY not in kept and "paragraph_text" not in kept:
        kept["paragraph_text"] = document or ""
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _blob(records: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(records) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in records], out=offsets[1:])
    return np.frombuffer(b"".join(records), dtype=np.uint8), offsets


@dataclass
class ParagraphTable:
    """Chunks sorted by id: vectors, metadata records, and the grouping into paragraphs."""

    fingerprint: str
    chunk_ids: np.ndarray  # bytes, sorted
    vectors: np.ndarray  # float32, one row per chunk
    blob: np.ndarray  # uint8: every chunk's JSON record, back to back
    offsets: np.ndarray  # int64: record i is blob[offsets[i]:offsets[i + 1]]
    paragraph_ids: np.ndarray  # bytes, sorted
    chunk_paragraph: np.ndarray  # int32: the paragraph row of each chunk
    first_chunk: np.ndarray  # int32: each paragraph's chunk 0 row
    by_paragraph: np.ndarray  # int32: chunk rows grouped by paragraph row
    group_start: np.ndarray  # int64: paragraph p's chunks are by_paragraph[group_start[p]:group_start[p + 1]]

    # -- building ----------------------------------------------------------------------

    @classmethod
    def from_rows(
        cls, fingerprint: str, ids: Sequence[str], vectors: np.ndarray, records: Sequence[bytes]
    ) -> ParagraphTable:
        """A table from unordered rows (id, vector, JSON record)."""
        keys = np.array([i.encode("utf-8") for i in ids], dtype=bytes) if len(ids) else np.array([], "S1")
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        vectors = np.ascontiguousarray(vectors[order], dtype=np.float32) if len(ids) else vectors
        records = [records[i] for i in order]
        metas = [json.loads(r) for r in records]
        pids = np.array([str(m["paragraph_id"]).encode("utf-8") for m in metas], dtype=bytes)
        if not len(pids):
            pids = np.array([], "S1")
        paragraph_ids = np.unique(pids)
        chunk_paragraph = np.searchsorted(paragraph_ids, pids).astype(np.int32)
        chunk_number = np.array([int(m.get("chunk", 0)) for m in metas], dtype=np.int32)
        by_paragraph = np.lexsort((chunk_number, chunk_paragraph)).astype(np.int32)
        counts = np.bincount(chunk_paragraph, minlength=len(paragraph_ids))
        group_start = np.zeros(len(paragraph_ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=group_start[1:])
        first_chunk = by_paragraph[group_start[:-1]] if len(paragraph_ids) else np.zeros(0, np.int32)
        blob, offsets = _blob(records)
        return cls(
            fingerprint=fingerprint,
            chunk_ids=keys,
            vectors=vectors,
            blob=blob,
            offsets=offsets,
            paragraph_ids=paragraph_ids,
            chunk_paragraph=chunk_paragraph,
            first_chunk=first_chunk.astype(np.int32),
            by_paragraph=by_paragraph,
            group_start=group_start,
        )

    @classmethod
    def from_store(cls, store: ParagraphStore, fingerprint: str | None = None) -> ParagraphTable:
        """Read every chunk from Chroma (a full scan: once per store change at most)."""
        fingerprint = fingerprint or store.fingerprint()
        ids: list[str] = []
        parts: list[np.ndarray] = []
        records: list[bytes] = []
        for page_ids, vectors, metas, documents in store.scan():
            ids.extend(page_ids)
            parts.append(vectors)
            records.extend(_record(m, d) for m, d in zip(metas, documents, strict=True))
        vectors = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
        return cls.from_rows(fingerprint, ids, vectors, records)

    def updated(
        self,
        fingerprint: str,
        removed: Iterable[str] = (),
        added: tuple[Sequence[str], np.ndarray, Sequence[dict[str, Any]]] | None = None,
        changed: dict[str, dict[str, Any]] | None = None,
    ) -> ParagraphTable:
        """This table after a write: chunks removed, added (with vectors) and re-described."""
        changed = changed or {}
        drop = set(removed) | set(changed) | set(added[0] if added else ())
        keep = [row for row in range(len(self.chunk_ids)) if self.chunk_id(row) not in drop]
        ids = [self.chunk_id(row) for row in keep]
        records = [self.record_bytes(row) for row in keep]
        parts = [self.vectors[keep]] if keep else []
        for chunk_id, meta in changed.items():
            row = self.row_of(chunk_id)
            if row >= 0:
                ids.append(chunk_id)
                records.append(_record(meta, None))
                parts.append(self.vectors[row : row + 1])
        if added and len(added[0]):
            ids.extend(added[0])
            records.extend(_record(m, None) for m in added[2])
            parts.append(np.asarray(added[1], dtype=np.float32))
        dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        vectors = np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)
        return ParagraphTable.from_rows(fingerprint, ids, vectors, records)

    # -- lookups -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @property
    def paragraph_count(self) -> int:
        """Number of distinct paragraphs."""
        return len(self.paragraph_ids)

    def chunk_id(self, row: int) -> str:
        """The id of a chunk row."""
        return bytes(self.chunk_ids[row]).decode("utf-8")

    def rows_of(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """Rows of the given chunk ids; -1 for ids the table does not hold."""
        if not len(self.chunk_ids) or not chunk_ids:
            return np.full(len(chunk_ids), -1, dtype=np.int64)
        keys = np.array([i.encode("utf-8") for i in chunk_ids], dtype=bytes)
        rows = np.searchsorted(self.chunk_ids, keys)
        rows = np.minimum(rows, len(self.chunk_ids) - 1)
        return np.where(self.chunk_ids[rows] == keys, rows, -1)

    def row_of(self, chunk_id: str) -> int:
        """Row of one chunk id, or -1."""
        return int(self.rows_of([chunk_id])[0])

    def paragraph_row(self, paragraph_id: str) -> int:
        """Row of a paragraph id, or -1."""
        if not len(self.paragraph_ids):
            return -1
        key = paragraph_id.encode("utf-8")
        row = int(np.searchsorted(self.paragraph_ids, key))
        if row < len(self.paragraph_ids) and self.paragraph_ids[row] == key:
            return row
        return -1

    def record_bytes(self, row: int) -> bytes:
        """The stored JSON of a chunk row."""
        return self.blob[self.offsets[row] : self.offsets[row + 1]].tobytes()

    def metadata(self, row: int) -> dict[str, Any]:
        """The metadata of a chunk row, as Chroma holds it."""
        meta: dict[str, Any] = json.loads(self.record_bytes(row))
        return meta

    def chunk_rows(self, paragraph_row: int) -> np.ndarray:
        """The chunk rows of a paragraph row, in chunk order."""
        return self.by_paragraph[self.group_start[paragraph_row] : self.group_start[paragraph_row + 1]]

    def paragraph_at(self, paragraph_row: int) -> StoredParagraph:
        """The paragraph record of a paragraph row."""
        return paragraph_from_metadata(self.metadata(int(self.first_chunk[paragraph_row])))

    def paragraph(self, paragraph_id: str) -> StoredParagraph | None:
        """The paragraph record of an id, or None."""
        row = self.paragraph_row(paragraph_id)
        return self.paragraph_at(row) if row >= 0 else None

    def paragraphs(self) -> list[StoredParagraph]:
        """Every paragraph, ordered by source and paragraph number."""
        out = [self.paragraph_at(row) for row in range(self.paragraph_count)]
        return sorted(out, key=lambda p: (p.source, p.paragraph))

    def chunk_metadata(self) -> dict[str, dict[str, Any]]:
        """Chunk id -> metadata as the indexer compares it (see `comparable_metadata`)."""
        return {self.chunk_id(row): comparable_metadata(self.metadata(row)) for row in range(len(self))}

    # -- persistence ---------------------------------------------------------------------

    _ARRAYS = (
        "chunk_ids",
        "vectors",
        "blob",
        "offsets",
        "paragraph_ids",
        "chunk_paragraph",
        "first_chunk",
        "by_paragraph",
        "group_start",
    )

    def save(self, root: Path) -> None:
        """Write this table beside older ones and make it the current one."""

        def write(folder: Path) -> None:
            for name in self._ARRAYS:
                np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
            meta = {"format": FORMAT, "fingerprint": self.fingerprint}
            (folder / "isnad.json").write_text(json.dumps(meta), encoding="utf-8")

        snapshots.publish(root, snapshots.folder_name(FORMAT, self.fingerprint), write)

    @classmethod
    def load(cls, root: Path) -> ParagraphTable | None:
        """The current table (memory-mapped), or None when there is none or it is unreadable."""
        folder = snapshots.current(root)
        if folder is None:
            return None
        try:
            meta = json.loads((folder / "isnad.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                return None
            arrays = {
                name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                for name in cls._ARRAYS
            }
        except (OSError, ValueError, KeyError) as exc:
            log.info("row table unreadable, will rebuild: %s", exc)
            return None
        return cls(fingerprint=str(meta["fingerprint"]), **arrays)


def load_or_build(
    store: ParagraphStore, root: Path, fingerprint: str | None = None
) -> tuple[ParagraphTable, bool]:
    """The table matching what Chroma holds now; (table, rebuilt)."""
    fingerprint = fingerprint or store.fingerprint()
    table = ParagraphTable.load(root)
    if table is not None and table.fingerprint == fingerprint:
        return table, False
    table = ParagraphTable.from_store(store, fingerprint)
    table.save(root)
    return table, True
