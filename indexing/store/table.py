"""The row table: every chunk's metadata in memory-mapped arrays, keyed by row.

The hot path needs, per question, the records of the final paragraphs. Asking Chroma
for them costs a SQLite scan each (`paragraph_id $in`; bench growth's step table times
it); here they are array lookups. The table is derived from Chroma, saved beside the lexical
index under the store's fingerprint, loaded once per process (memory-mapped, so the OS
shares and pages it) and patched whenever the fingerprint moves.

Rows are chunks sorted by id; each row's metadata is kept as the JSON Chroma holds
(minus llama-index's old node JSON), zlib-compressed (a record starting with "{" is one
written uncompressed by an older isnad, read as it is), so fields added to the metadata
later cost nothing here. Vectors are not kept: Chroma has them, and the few a question needs
(its BM25-only candidates) are one lookup by primary key there (docs/scaling.md, step
table), where a copy here cost 1.8 KB a paragraph on disk.

Records live in append-only segment files: a patch writes only the new records to a
new segment and hard-links the old ones into the new snapshot, so a refresh of a few
paragraphs neither re-reads nor rewrites the others. Segments are merged into one
when they hold more dead records than live ones, or grow too many.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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

FORMAT = "table-v2"
# llama-index's node JSON repeats the text and every field; never worth keeping.
_DROPPED = ("_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id")
_MAX_SEGMENTS = 16


def _record(meta: dict[str, Any], document: str | None) -> bytes:
    """What the table keeps of a chunk: its metadata, with the text for indexes that kept it apart."""
    kept = {k: v for k, v in meta.items() if k not in _DROPPED}
    if int(kept.get("chunk", 0)) == 0 and TEXT_KEY not in kept and "paragraph_text" not in kept:
        kept["paragraph_text"] = document or ""
    plain = json.dumps(kept, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return zlib.compress(plain.encode("utf-8"))


def _decoded(record: bytes) -> dict[str, Any]:
    """A record's metadata; records of older tables are plain JSON."""
    meta: dict[str, Any] = json.loads(record if record[:1] == b"{" else zlib.decompress(record))
    return meta


def _keys(values: Sequence[str]) -> np.ndarray:
    return np.array([v.encode("utf-8") for v in values], dtype=bytes) if len(values) else np.array([], "S1")


@dataclass
class ParagraphTable:
    """Chunks sorted by id: metadata records, and the grouping into paragraphs."""

    fingerprint: str
    chunk_ids: np.ndarray  # bytes, sorted
    chunk_number: np.ndarray  # int32: each chunk's place in its paragraph
    record_segment: np.ndarray  # uint16: the segment holding each chunk's JSON record
    record_start: np.ndarray  # int64: ... at this byte offset
    record_length: np.ndarray  # int32: ... this many bytes long
    paragraph_ids: np.ndarray  # bytes, sorted
    chunk_paragraph: np.ndarray  # int32: the paragraph row of each chunk
    first_chunk: np.ndarray  # int32: each paragraph's chunk 0 row
    by_paragraph: np.ndarray  # int32: chunk rows grouped by paragraph row
    group_start: np.ndarray  # int64: paragraph p's chunks are by_paragraph[group_start[p]:group_start[p + 1]]
    segments: list[np.ndarray]  # uint8 record segments (memory-mapped once saved)
    segment_names: list[str]  # their file names; "" for one not yet written
    # The snapshot folder this table was loaded from or saved to (None until saved), where
    # other derived files of exactly these rows may be kept (hnsw_file's row map).
    folder: Path | None = field(default=None, compare=False)

    # -- building ----------------------------------------------------------------------

    @classmethod
    def _arranged(
        cls,
        fingerprint: str,
        ids: np.ndarray,
        pids: np.ndarray,
        numbers: np.ndarray,
        where: tuple[np.ndarray, np.ndarray, np.ndarray],
        segments: list[np.ndarray],
        names: list[str],
    ) -> ParagraphTable:
        """A table from unordered rows: ids, paragraph ids, chunk numbers, record places."""
        order = np.argsort(ids, kind="stable")
        ids, pids, numbers = ids[order], pids[order], numbers[order].astype(np.int32)
        segment, start, length = (a[order] for a in where)
        paragraph_ids = np.unique(pids) if len(pids) else np.array([], "S1")
        chunk_paragraph = np.searchsorted(paragraph_ids, pids).astype(np.int32)
        by_paragraph = np.lexsort((numbers, chunk_paragraph)).astype(np.int32)
        counts = np.bincount(chunk_paragraph, minlength=len(paragraph_ids))
        group_start = np.zeros(len(paragraph_ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=group_start[1:])
        first_chunk = by_paragraph[group_start[:-1]] if len(paragraph_ids) else np.zeros(0, np.int32)
        return cls(
            fingerprint=fingerprint,
            chunk_ids=ids,
            chunk_number=numbers,
            record_segment=segment.astype(np.uint16),
            record_start=start.astype(np.int64),
            record_length=length.astype(np.int32),
            paragraph_ids=paragraph_ids,
            chunk_paragraph=chunk_paragraph,
            first_chunk=first_chunk.astype(np.int32),
            by_paragraph=by_paragraph,
            group_start=group_start,
            segments=segments,
            segment_names=names,
        )

    @classmethod
    def from_rows(cls, fingerprint: str, ids: Sequence[str], records: Sequence[bytes]) -> ParagraphTable:
        """A table from unordered rows (id, JSON record), its records in one segment."""
        metas = [_decoded(r) for r in records]
        pids = _keys([str(m["paragraph_id"]) for m in metas])
        numbers = np.array([int(m.get("chunk", 0)) for m in metas], dtype=np.int32)
        lengths = np.array([len(r) for r in records], dtype=np.int64)
        starts = np.zeros(len(records), dtype=np.int64)
        if len(records) > 1:
            np.cumsum(lengths[:-1], out=starts[1:])
        segment = np.frombuffer(b"".join(records), dtype=np.uint8)
        where = (np.zeros(len(records), np.uint16), starts, lengths)
        return cls._arranged(fingerprint, _keys(ids), pids, numbers, where, [segment], [""])

    @classmethod
    def from_store(cls, store: ParagraphStore, fingerprint: str | None = None) -> ParagraphTable:
        """Read every chunk's metadata from Chroma (a full scan: once per store at most)."""
        fingerprint = fingerprint or store.fingerprint()
        ids: list[str] = []
        records: list[bytes] = []
        for page_ids, metas, documents in store.scan_metadata():
            ids.extend(page_ids)
            records.extend(_record(m, d) for m, d in zip(metas, documents, strict=True))
        return cls.from_rows(fingerprint, ids, records)

    def updated(
        self,
        fingerprint: str,
        removed: Iterable[str] = (),
        added: tuple[Sequence[str], Sequence[dict[str, Any]]] | None = None,
        changed: dict[str, dict[str, Any]] | None = None,
    ) -> ParagraphTable:
        """This table after a write: chunks removed, added and re-described.

        Only the new records are encoded; they go to a new segment, and every other
        row keeps its place in the segments it had.
        """
        changed = changed or {}
        new_ids = [i for i in changed if self.row_of(i) >= 0]
        new_metas = [changed[i] for i in new_ids]
        if added:
            new_ids.extend(added[0])
            new_metas.extend(added[1])
        drop = [*removed, *new_ids]
        keep = np.ones(len(self), dtype=bool)
        rows = self.rows_of(drop)
        keep[rows[rows >= 0]] = False
        records = [_record(m, None) for m in new_metas]
        lengths = np.array([len(r) for r in records], dtype=np.int64)
        starts = np.zeros(len(records), dtype=np.int64)
        if len(records) > 1:
            np.cumsum(lengths[:-1], out=starts[1:])
        segments, names = list(self.segments), list(self.segment_names)
        if records:
            segments.append(np.frombuffer(b"".join(records), dtype=np.uint8))
            names.append("")
        where = (
            np.concatenate([self.record_segment[keep], np.full(len(records), len(segments) - 1, np.uint16)]),
            np.concatenate([self.record_start[keep], starts]),
            np.concatenate([self.record_length[keep], lengths]),
        )
        ids = np.concatenate([self.chunk_ids[keep], _keys(new_ids)])
        new_pids = _keys([str(m["paragraph_id"]) for m in new_metas])
        pids = np.concatenate([self.paragraph_ids[self.chunk_paragraph[keep]], new_pids])
        numbers = np.concatenate([self.chunk_number[keep], [int(m.get("chunk", 0)) for m in new_metas]])
        table = ParagraphTable._arranged(fingerprint, ids, pids, numbers, where, segments, names)
        return table.compacted() if table._wasteful() else table

    def _wasteful(self) -> bool:
        live = int(self.record_length.sum())
        total = sum(len(s) for s in self.segments)
        return len(self.segments) > _MAX_SEGMENTS or total > 2 * live + (1 << 20)

    def compacted(self) -> ParagraphTable:
        """The same rows with every live record in one segment."""
        rows = range(len(self))
        return ParagraphTable.from_rows(
            self.fingerprint, [self.chunk_id(r) for r in rows], [self.record_bytes(r) for r in rows]
        )

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
        keys = _keys(chunk_ids)
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
        """The stored record of a chunk row (see `_decoded`)."""
        start = int(self.record_start[row])
        segment = self.segments[int(self.record_segment[row])]
        return segment[start : start + int(self.record_length[row])].tobytes()

    def metadata(self, row: int) -> dict[str, Any]:
        """The metadata of a chunk row, as Chroma holds it."""
        return _decoded(self.record_bytes(row))

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
        return sorted(out, key=lambda p: (p.source, p.number))

    def chunk_ids_of(self, paragraph_ids: Iterable[str]) -> list[str]:
        """Chunk ids of the given paragraphs, each once (ids the table does not hold are left out)."""
        return [chunk for chunks in self.chunk_groups(list(paragraph_ids)).values() for chunk in chunks]

    def chunk_groups(self, paragraph_ids: Sequence[str]) -> dict[str, list[str]]:
        """Paragraph id -> its chunk ids in chunk order, for the ids the table holds (array lookups)."""
        return {
            pid: [bytes(c).decode("utf-8") for c in self.chunk_ids[rows]]
            for pid, rows in self.chunk_row_groups(paragraph_ids).items()
        }

    def chunk_row_groups(self, paragraph_ids: Sequence[str]) -> dict[str, list[int]]:
        """Paragraph id -> its chunk rows in chunk order, for the ids the table holds (array lookups)."""
        if not len(paragraph_ids) or not len(self.paragraph_ids):
            return {}
        keys = _keys(list(paragraph_ids))
        rows = np.minimum(np.searchsorted(self.paragraph_ids, keys), len(self.paragraph_ids) - 1)
        held = np.asarray(self.paragraph_ids[rows] == keys)
        starts = np.asarray(self.group_start[rows[held]], dtype=np.int64)
        counts = np.asarray(self.group_start[rows[held] + 1], dtype=np.int64) - starts
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        index = np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))
        chunk_rows = np.asarray(self.by_paragraph[index], dtype=np.int64).tolist()
        out: dict[str, list[int]] = {}
        at = 0
        found = [pid for pid, h in zip(paragraph_ids, held.tolist(), strict=True) if h]
        for pid, n in zip(found, counts.tolist(), strict=True):
            out[pid] = chunk_rows[at : at + n]
            at += n
        return out

    def chunk_metadata(self, chunk_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Chunk id -> metadata as the indexer compares it (see `comparable_metadata`), all or some."""
        if chunk_ids is None:
            rows: Iterable[int] = range(len(self))
        else:
            found = self.rows_of(list(chunk_ids))
            rows = (int(r) for r in found[found >= 0])
        return {self.chunk_id(row): comparable_metadata(self.metadata(row)) for row in rows}

    # -- persistence ---------------------------------------------------------------------

    _ARRAYS = (
        "chunk_ids",
        "chunk_number",
        "record_segment",
        "record_start",
        "record_length",
        "paragraph_ids",
        "chunk_paragraph",
        "first_chunk",
        "by_paragraph",
        "group_start",
    )

    def save(self, root: Path) -> None:
        """Write this table beside older ones and make it the current one.

        Segments already on disk are hard-linked from the current snapshot (they never
        change once written); only new ones are written.
        """
        previous = snapshots.current(root)
        names = list(self.segment_names)
        for i, name in enumerate(names):
            if not name:
                digest = hashlib.sha1(self.fingerprint.encode() + str(i).encode()).hexdigest()[:16]
                names[i] = f"records-{digest}.bin"

        def write(folder: Path) -> None:
            for name in self._ARRAYS:
                np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
            for name, segment, known in zip(names, self.segments, self.segment_names, strict=True):
                old = previous / name if previous is not None and known else None
                if old is not None and old.is_file():
                    os.link(old, folder / name)
                else:
                    np.asarray(segment, dtype=np.uint8).tofile(folder / name)
            meta = {"format": FORMAT, "fingerprint": self.fingerprint, "segments": names}
            (folder / "isnad.json").write_text(json.dumps(meta), encoding="utf-8")

        self.folder = snapshots.publish(root, snapshots.folder_name(FORMAT, self.fingerprint), write)
        self.segment_names = names

    @classmethod
    def load(cls, root: Path) -> ParagraphTable | None:
        """The current table (memory-mapped), or None when there is none or it is unreadable."""
        try:
            snapshot = snapshots.read_current(root, FORMAT, cls._ARRAYS, mmap=True)
            if snapshot is None:
                return None
            names = [str(n) for n in snapshot.meta["segments"]]
            segments = [_map(snapshot.folder / n) for n in names]
        except (OSError, ValueError, KeyError) as exc:
            log.info("row table unreadable, will rebuild: %s", exc)
            return None
        return cls(
            fingerprint=str(snapshot.meta["fingerprint"]),
            segments=segments,
            segment_names=names,
            folder=snapshot.folder,
            **snapshot.arrays,
        )


def _map(path: Path) -> np.ndarray:
    """A segment file, memory-mapped (an empty one as an empty array: mmap refuses those)."""
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")


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
