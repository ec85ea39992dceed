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

Which element of the files holds which table row comes from Chroma's id -> label pickle and
every element's label (at 100k paragraphs 0.6 s and a 65 MB transient; ten times that at
1M). So the first open saves that row map beside the row table (`hnsw-rows.npz`, 12 bytes a
chunk), keyed by the identity (inode, size, modification time) of each HNSW file and by the
table's rows; a later open whose key matches reads the map instead, and the sample check and
every read's label check still apply. Any difference in the key, or a map that does not
load, is the first open again.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sqlite3
import struct
import weakref
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from indexing.atomic import replacing
from indexing.store.table import ParagraphTable

log = logging.getLogger(__name__)

# hnswlib's saved header as Chroma's fork writes it (little-endian): persistence version,
# offsetLevel0, max_elements, cur_element_count, size_data_per_element, label_offset,
# offsetData, maxlevel, enterpoint_node, maxM, maxM0, M, mult, ef_construction.
_HEADER = struct.Struct("<iQQQQQQiiQQQdQ")
_VERSION = 1
_SAMPLE = 32  # chunks compared with Chroma before the reader is trusted
_BLOCK = 8192  # elements read at a time when collecting labels
ROWS_FILE = "hnsw-rows.npz"  # beside the row table: each row's element and label in the files
_FILES = ("header.bin", "data_level0.bin", "length.bin", "index_metadata.pickle")

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
        reader = cls(folder, dim, count, size, data_offset)
        if len(reader.lengths) < count or os.fstat(reader._fd).st_size < count * size:
            reader.close()
            return None
        key = _files_key(folder, table, count)
        rows = _saved_rows(table, key, count)
        if rows is None:
            rows = reader._rows_of(table)
            if rows is None:
                reader.close()
                return None
            if _files_key(folder, table, count) == key:  # not rewritten while it was read
                _save_rows(table, key, *rows)
        reader.element_of_row, reader.label_of_row = rows
        return reader

    def _rows_of(self, table: ParagraphTable) -> tuple[np.ndarray, np.ndarray] | None:
        """Each table row's element (-1: not in the files) and label, from Chroma's id -> label map."""
        with (self.folder / "index_metadata.pickle").open("rb") as handle:
            meta = pickle.load(handle)  # Chroma's own file, in our data dir
        if meta.get("dimensionality") not in (None, self.dim):
            return None
        count = self.count
        labels = self._labels()
        order = np.argsort(labels, kind="stable")
        id_to_label: dict[str, int] = meta["id_to_label"]
        ids = list(id_to_label)
        wanted = np.fromiter(id_to_label.values(), dtype=np.uint64, count=len(ids))
        at = np.minimum(np.searchsorted(labels[order], wanted), max(count - 1, 0))
        found = labels[order][at] == wanted if count else np.zeros(len(ids), dtype=bool)
        rows = table.rows_of(ids)
        keep = found & (rows >= 0)
        element_of_row = np.full(len(table), -1, dtype=np.int32)
        label_of_row = np.zeros(len(table), dtype=np.uint64)
        element_of_row[rows[keep]] = order[at[keep]]
        label_of_row[rows[keep]] = wanted[keep]
        return element_of_row, label_of_row

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


def _files_key(folder: Path, table: ParagraphTable, count: int) -> str:
    """What a saved row map holds for: these HNSW files as they are now, and these table rows."""
    files = {name: _identity(os.stat(folder / name)) for name in _FILES}
    return json.dumps(
        {
            "segment": folder.name,
            "files": files,
            "elements": count,
            "table": table.fingerprint,
            "rows": len(table),
        },
        sort_keys=True,
    )


def _saved_rows(table: ParagraphTable, key: str, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The row map saved beside the table under this key, or None (none, another key, unreadable)."""
    if table.folder is None:
        return None
    try:
        with np.load(table.folder / ROWS_FILE, allow_pickle=False) as saved:
            if str(saved["key"]) != key:
                return None
            element_of_row, label_of_row = saved["element_of_row"], saved["label_of_row"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        log.debug("HNSW row map not read (%s)", exc)
        return None
    shapes = element_of_row.shape == label_of_row.shape == (len(table),)
    types = element_of_row.dtype == np.int32 and label_of_row.dtype == np.uint64
    if not shapes or not types or (len(table) and int(element_of_row.max(initial=-1)) >= count):
        return None
    return element_of_row, label_of_row


def _save_rows(table: ParagraphTable, key: str, element_of_row: np.ndarray, label_of_row: np.ndarray) -> None:
    """Save the row map beside the table (replaced whole); a folder it cannot write is left as it is."""
    if table.folder is None:
        return
    try:
        with replacing(table.folder / ROWS_FILE) as tmp, tmp.open("wb") as handle:
            np.savez(handle, key=np.array(key), element_of_row=element_of_row, label_of_row=label_of_row)
    except OSError as exc:
        log.debug("HNSW row map not saved (%s)", exc)


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
