"""Chunk vectors read from a local Chroma collection's HNSW files, without asking Chroma.

A question's BM25-only candidates need their stored vectors. Asking Chroma for ~40 chunks
by id costs ~1.2-2 ms a question at 100k paragraphs (an SQLite lookup, then every float
converted to a Python object and back); storing a second copy of the vectors would cost
~1.8 KB per paragraph on disk. But a local Chroma 1.x collection already keeps them in its
hnswlib files, in <chroma dir>/<vector segment id>/: `header.bin` (the layout),
`data_level0.bin` (per element: its links, its vector scaled to unit length, its label),
`length.bin` (each element's original length) and `index_metadata.pickle` (chunk id ->
label). Chroma's own `get` returns the unit vector times the length, computed in float32;
this reader returns the same product, bit for bit.

It is a reader of another program's files, so it trusts nothing it has not checked:
- it opens only for an embedded store whose header has the layout it knows, and only when
  the vectors of a sample of chunks equal what Chroma returns for them, bit for bit;
- each read checks the element's stored label, and that data_level0.bin is still the file
  it opened (inode, size, modification time) after the read;
- chunks Chroma has not yet written to these files (a refresh's newest; Chroma saves them
  every thousand writes) are not found here.
Whatever it cannot answer, the caller asks Chroma for, as before; a Chroma server always.
"""

from __future__ import annotations

import logging
import os
import pickle
import sqlite3
import struct
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from indexing.store.table import ParagraphTable

log = logging.getLogger(__name__)

# hnswlib's saved header as Chroma's fork writes it (little-endian): persistence version,
# offsetLevel0, max_elements, cur_element_count, size_data_per_element, label_offset,
# offsetData, maxlevel, enterpoint_node, maxM, maxM0, M, mult, ef_construction.
_HEADER = struct.Struct("<iQQQQQQiiQQQdQ")
_VERSION = 1
_SAMPLE = 32  # chunks compared with Chroma before the reader is trusted
_BLOCK = 8192  # elements read at a time when collecting labels

Lookup = Callable[[Sequence[str]], dict[str, np.ndarray]]  # chunk ids -> their vectors


class HnswVectorFile:
    """Stored vectors of table rows, read from the collection's hnswlib files."""

    def __init__(self, folder: Path, dim: int, count: int, size: int, data_offset: int) -> None:
        self.folder = folder
        self.dim, self.count, self.size, self.data_offset = dim, count, size, data_offset
        self._fd = os.open(folder / "data_level0.bin", os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)  # an engine rebuilt drops its reader
        self._identity = _identity(os.fstat(self._fd))
        self.lengths = np.fromfile(folder / "length.bin", dtype="<f4")
        self.element_of_row = np.zeros(0, dtype=np.int32)  # -1: not in the files
        self.label_of_row = np.zeros(0, dtype=np.uint64)

    @classmethod
    def open(
        cls,
        chroma_dir: Path,
        collection_id: str,
        table: ParagraphTable,
        from_chroma: Lookup,
    ) -> HnswVectorFile | None:
        """The reader for a collection's files and the table's rows, or None when the files
        are absent or not as expected (`from_chroma`, the store's own lookup, checks a sample)."""
        try:
            reader = cls._open(chroma_dir, collection_id, table)
        except (OSError, ValueError, KeyError, TypeError, EOFError, sqlite3.Error, pickle.PickleError) as exc:
            log.debug("chunk vectors come from Chroma: its HNSW files were not read (%s)", exc)
            return None
        if reader is None:
            return None
        if not reader._agrees(table, from_chroma):
            log.info("chunk vectors come from Chroma: its HNSW files do not give its vectors")
            reader.close()
            return None
        return reader

    @classmethod
    def _open(cls, chroma_dir: Path, collection_id: str, table: ParagraphTable) -> HnswVectorFile | None:
        folder = _segment_folder(chroma_dir, collection_id)
        if folder is None:
            return None
        header = _HEADER.unpack((folder / "header.bin").read_bytes()[: _HEADER.size])
        version, _, _, count, size, label_offset, data_offset = header[:7]
        dim = (label_offset - data_offset) // 4
        if version != _VERSION or dim <= 0 or size != label_offset + 8 or data_offset <= 0:
            return None
        with (folder / "index_metadata.pickle").open("rb") as handle:
            meta = pickle.load(handle)  # Chroma's own file, in our data dir
        if meta.get("dimensionality") not in (None, dim):
            return None
        reader = cls(folder, dim, count, size, data_offset)
        if len(reader.lengths) < count or os.fstat(reader._fd).st_size < count * size:
            reader.close()
            return None
        labels = reader._labels()
        order = np.argsort(labels, kind="stable")
        id_to_label: dict[str, int] = meta["id_to_label"]
        ids = list(id_to_label)
        wanted = np.fromiter(id_to_label.values(), dtype=np.uint64, count=len(ids))
        at = np.minimum(np.searchsorted(labels[order], wanted), max(count - 1, 0))
        found = labels[order][at] == wanted if count else np.zeros(len(ids), dtype=bool)
        rows = table.rows_of(ids)
        keep = found & (rows >= 0)
        reader.element_of_row = np.full(len(table), -1, dtype=np.int32)
        reader.label_of_row = np.zeros(len(table), dtype=np.uint64)
        reader.element_of_row[rows[keep]] = order[at[keep]]
        reader.label_of_row[rows[keep]] = wanted[keep]
        return reader

    def _labels(self) -> np.ndarray:
        """Each element's label, read block by block."""
        out = np.empty(self.count, dtype=np.uint64)
        label_at = self.data_offset + self.dim * 4
        for start in range(0, self.count, _BLOCK):
            n = min(_BLOCK, self.count - start)
            raw = os.pread(self._fd, n * self.size, start * self.size)
            if len(raw) != n * self.size:
                raise ValueError("data_level0.bin is shorter than its header says")
            block = np.frombuffer(raw, dtype=np.uint8).reshape(n, self.size)
            out[start : start + n] = block[:, label_at : label_at + 8].copy().view("<u8")[:, 0]
        return out

    def _agrees(self, table: ParagraphTable, from_chroma: Lookup) -> bool:
        held = np.flatnonzero(self.element_of_row >= 0)
        if not len(held):
            return False
        sample = held[np.linspace(0, len(held) - 1, min(_SAMPLE, len(held))).astype(np.int64)].tolist()
        mine = self.vectors(sample)
        if mine is None or len(mine) != len(sample):
            return False
        ids = {row: table.chunk_id(row) for row in sample}
        theirs = from_chroma(list(ids.values()))
        return all(ids[row] in theirs and np.array_equal(mine[row], theirs[ids[row]]) for row in sample)

    def vectors(self, rows: Sequence[int]) -> dict[int, np.ndarray] | None:
        """Row -> its stored vector, for the rows found in the files; None if the files changed."""
        out: dict[int, np.ndarray] = {}
        span = self.dim * 4 + 8
        for row in rows:
            element = int(self.element_of_row[row]) if 0 <= row < len(self.element_of_row) else -1
            if element < 0:
                continue
            raw = os.pread(self._fd, span, element * self.size + self.data_offset)
            if len(raw) != span or int.from_bytes(raw[-8:], "little") != int(self.label_of_row[row]):
                continue
            out[row] = np.frombuffer(raw, dtype="<f4", count=self.dim) * self.lengths[element]
        if _identity(os.fstat(self._fd)) != self._identity:
            return None  # rewritten under us (an index job saving its graph): ask Chroma
        return out

    def close(self) -> None:
        """Close the data file."""
        self._closer()


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _segment_folder(chroma_dir: Path, collection_id: str) -> Path | None:
    """The folder of the collection's persisted HNSW segment, if there is one."""
    database = chroma_dir / "chroma.sqlite3"
    if not database.is_file():
        return None
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        found = connection.execute(
            "SELECT id FROM segments WHERE collection = ? AND scope = 'VECTOR'", (collection_id,)
        ).fetchall()
    finally:
        connection.close()
    if len(found) != 1:
        return None
    folder = chroma_dir / str(found[0][0])
    parts = ("header.bin", "data_level0.bin", "length.bin", "index_metadata.pickle")
    return folder if all((folder / part).is_file() for part in parts) else None


__all__ = ["HnswVectorFile"]
