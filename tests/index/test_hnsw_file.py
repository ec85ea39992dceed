"""BM25-only candidates' vectors read from the embedded store's HNSW files: Chroma's vectors, bit for bit."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest

from indexing.store import hnsw_file
from indexing.store.chroma import TEXT_KEY, ParagraphStore, chroma_client, encode_text
from indexing.store.hnsw_file import ROWS_FILE, HnswVectorFile
from indexing.store.paragraph_index import ChromaTableIndex
from indexing.store.table import ParagraphTable

SAVED = 1500  # Chroma saves its HNSW files every thousand writes; fewer stay in its log


def write(store: ParagraphStore, start: int, n: int, seed: int) -> list[str]:
    """n paragraphs of one or two chunks with unit vectors, as an embedder gives them."""
    rng = np.random.default_rng(seed)
    ids, metas = [], []
    for i in range(start, start + n):
        chunks = 2 if i % 4 == 0 else 1
        for c in range(chunks):
            ids.append(f"{i:032x}-{c}")
            meta = {
                "paragraph_id": f"{i:032x}",
                "source": "s.txt",
                "paragraph": i + 1,
                "chunk": c,
                "chunks": chunks,
            }
            if c == 0:
                meta[TEXT_KEY] = encode_text(f"فقرة رقم {i}")
            metas.append(meta)
    vectors = rng.standard_normal((len(ids), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.add(ids, vectors, metas)
    return [f"{i:032x}" for i in range(start, start + n)]


def test_vectors_from_the_files_equal_chromas_and_the_unsaved_ones_come_from_chroma(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    saved = write(store, 0, SAVED, 1)
    fresh = write(store, SAVED, 30, 2)  # not yet in the files
    rows = ParagraphTable.from_store(store)
    index = ChromaTableIndex(store, rows)
    assert index.files is not None  # an embedded store: the files are read
    in_files = int((index.files.element_of_row >= 0).sum())
    assert 1000 <= in_files < len(rows)  # what Chroma saved, not the newest
    from_files = index.files.vectors(range(len(rows)))
    assert from_files is not None and len(from_files) == in_files
    chroma = store.vectors_of([rows.chunk_id(r) for r in range(len(rows))])
    for row, vector in from_files.items():
        assert vector.dtype == np.float32
        assert np.array_equal(vector, chroma[rows.chunk_id(row)])  # bit for bit
    asked = [*saved[::7], *fresh, "not-a-paragraph"]
    plain = ChromaTableIndex(store, rows, read_files=False)
    got, expected = index.vectors(asked), plain.vectors(asked)
    assert list(got) == list(expected) and len(got) == len(asked) - 1
    for pid in expected:
        assert np.array_equal(got[pid], expected[pid])


def test_a_rewritten_file_hands_the_lookups_back_to_chroma(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    asked = write(store, 0, SAVED, 3)[:50]
    rows = ParagraphTable.from_store(store)
    index = ChromaTableIndex(store, rows)
    assert index.files is not None
    expected = ChromaTableIndex(store, rows, read_files=False).vectors(asked)
    data = index.files.folder / "data_level0.bin"
    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # as when an index job saves it
    got = index.vectors(asked)
    assert index.files is None  # Chroma from now on
    assert list(got) == list(expected) and all(np.array_equal(got[p], expected[p]) for p in expected)


def test_files_that_do_not_give_chromas_vectors_are_not_used(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    write(store, 0, SAVED, 4)
    rows = ParagraphTable.from_store(store)
    folder = ChromaTableIndex(store, rows).files
    assert folder is not None
    lengths = folder.folder / "length.bin"
    lengths.write_bytes(np.full(folder.count, 2.0, dtype="<f4").tobytes())  # every length wrong
    chroma_dir = tmp_path / "chroma"
    assert HnswVectorFile.open(chroma_dir, str(store.collection.id), rows, store.vectors_of) is None
    assert HnswVectorFile.open(chroma_dir, "no-such-collection", rows, store.vectors_of) is None


def test_a_dropped_reader_closes_its_file(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    write(store, 0, SAVED, 5)
    rows = ParagraphTable.from_store(store)
    reader = ChromaTableIndex(store, rows).files  # the index itself is dropped at once
    assert reader is not None
    fd = reader._fd
    os.fstat(fd)  # open
    del reader
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_the_row_map_is_saved_beside_the_table_and_used_while_the_files_and_rows_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    asked = write(store, 0, SAVED, 6)[::9]
    ParagraphTable.from_store(store).save(tmp_path / "table")
    table = ParagraphTable.load(tmp_path / "table")
    assert table is not None and table.folder is not None
    first = ChromaTableIndex(store, table).files
    assert first is not None and (table.folder / ROWS_FILE).is_file()
    expected = ChromaTableIndex(store, table, read_files=False).vectors(asked)

    def unpickled() -> list[str]:
        """Opens that read Chroma's id -> label pickle (the slow way) from now on."""
        calls: list[str] = []
        real = hnsw_file.pickle.load
        monkeypatch.setattr(hnsw_file.pickle, "load", lambda handle: calls.append("pickle") or real(handle))
        return calls

    calls = unpickled()
    again = ChromaTableIndex(store, table)  # the saved map: no pickle
    assert calls == [] and again.files is not None
    assert np.array_equal(again.files.element_of_row, first.element_of_row)
    assert np.array_equal(again.files.label_of_row, first.label_of_row)
    got = again.vectors(asked)
    assert list(got) == list(expected) and all(np.array_equal(got[p], expected[p]) for p in expected)

    data = first.folder / "data_level0.bin"  # the files saved again: the map no longer holds
    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    rebuilt = ChromaTableIndex(store, table).files
    assert calls == ["pickle"] and rebuilt is not None
    assert np.array_equal(rebuilt.element_of_row, first.element_of_row)
    ChromaTableIndex(store, table)
    assert calls == ["pickle"]  # saved again under the new key

    (table.folder / ROWS_FILE).write_bytes(b"not a map")  # unreadable: the slow way, same rows
    assert ChromaTableIndex(store, table).files is not None and calls == ["pickle"] * 2
    saved = (table.folder / ROWS_FILE).read_bytes()  # written again, valid

    write(store, SAVED, 10, 7)  # other rows: another table; this table's map is not for it
    ParagraphTable.from_store(store).save(tmp_path / "table")
    grown = ParagraphTable.load(tmp_path / "table")
    assert grown is not None and grown.folder is not None and grown.folder != table.folder
    (grown.folder / ROWS_FILE).write_bytes(saved)
    files = ChromaTableIndex(store, grown).files
    assert calls == ["pickle"] * 3 and files is not None and len(files.element_of_row) == len(grown)


def test_a_table_folder_that_cannot_be_written_still_opens(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    write(store, 0, SAVED, 8)
    ParagraphTable.from_store(store).save(tmp_path / "table")
    table = ParagraphTable.load(tmp_path / "table")
    assert table is not None and table.folder is not None
    table.folder = tmp_path / "gone"  # as a folder removed by a newer table, or read-only
    assert ChromaTableIndex(store, table).files is not None
    assert not (tmp_path / "gone").exists()
