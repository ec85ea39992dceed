"""Sentence vectors written by the index job: embedded once, compact, and gone with their paragraph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexing.pipeline import build_indexer
from indexing.sentences import split_sentences
from indexing.store import snapshots, table
from indexing.store.sentence_vectors import SentenceVectors, quantize, sync

TWO = """قمة المناخ

افتتحت قمة المناخ أعمالها في القاهرة أمس. وقال الأمين العام إن الدول الغنية تعهدت بمئة مليار دولار.
"""
ONE = """أسعار النفط

ارتفعت أسعار النفط الخام بنسبة 3 في المئة بعد قرار خفض الإنتاج.
"""
THREE = """معرض الكتاب

افتتح معرض الكتاب أبوابه. وشاركت فيه 900 دار نشر من 40 دولة. وتجاوز عدد الزوار 50 ألفاً في اليوم الأول.
"""


def test_quantised_vectors_keep_their_direction() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(5, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    codes, scales = quantize(v)
    assert codes.dtype == np.int8 and scales.dtype == np.float32
    back = codes.astype(np.float32) * scales[:, None]
    assert np.all(np.sum(back * v, axis=1) > 0.999)


def test_split_is_the_one_the_second_stage_uses() -> None:
    from bot.qa import rerank

    assert rerank.split_sentences is split_sentences
    assert split_sentences("الأولى هنا. الثانية هنا؟ الثالثة؛ الرابعة") == [
        "الأولى هنا.",
        "الثانية هنا؟",
        "الثالثة؛",
        "الرابعة",
    ]


@pytest.mark.slow
def test_index_job_embeds_sentences_once_and_drops_them_with_their_paragraph(
    isolated_env: Path, write_corpus
) -> None:
    corpus = write_corpus({"two.txt": TWO, "one.txt": ONE, "three.txt": THREE})
    indexer = build_indexer(isolated_env, progress=False)
    first = indexer.run(corpus)
    # Two sentences + three sentences; a one-sentence paragraph keeps no sentence vectors.
    assert first.embedded_sentences == 5
    store = SentenceVectors.load(isolated_env / "sentences")
    assert store is not None and store.codes.shape == (5, 384) and store.codes.dtype == np.int8
    rows, _ = table.load_or_build(indexer.store, isolated_env / "table")
    by_source = {p.source: p for p in rows.paragraphs()}
    embedder = indexer.embedder
    question = np.asarray(embedder.get_query_embedding("كم دار نشر شاركت في معرض الكتاب؟"), dtype=np.float32)
    cosines = store.cosines(by_source["three.txt"].paragraph_id, question)
    assert cosines is not None and len(cosines) == 3
    # Each is the question's similarity with that sentence embedded on its own (passage side).
    sentences = split_sentences(by_source["three.txt"].text)
    direct = np.asarray(embedder.get_text_embedding_batch(sentences), dtype=np.float32)
    direct /= np.linalg.norm(direct, axis=1, keepdims=True)
    assert np.allclose(cosines, direct @ question, atol=0.01)
    assert store.cosines(by_source["one.txt"].paragraph_id, question) is None

    second = indexer.run(corpus)
    assert (second.embedded, second.embedded_sentences) == (0, 0)

    (corpus / "three.txt").unlink()
    third = indexer.run(corpus)
    assert third.embedded_sentences == 0
    store = SentenceVectors.load(isolated_env / "sentences")
    assert store is not None and store.codes.shape == (2, 384)
    assert store.rows(by_source["three.txt"].paragraph_id) is None
    assert store.rows(by_source["two.txt"].paragraph_id) == (0, 2) or store.rows(
        by_source["two.txt"].paragraph_id
    ) == (len(store.codes) - 2, len(store.codes))


def _table(paragraphs: dict[str, str]) -> table.ParagraphTable:
    """A row table of one-chunk paragraphs {paragraph id: text}."""
    ids, records = [], []
    for n, (pid, text) in enumerate(paragraphs.items(), start=1):
        meta = {"paragraph_id": pid, "source": "s.txt", "paragraph": n, "paragraph_text": text}
        ids.append(f"{pid}-0")
        records.append(json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return table.ParagraphTable.from_rows(str(sorted(paragraphs)), ids, records)


def _arrays(root: Path) -> dict[str, int]:
    """Inode of each segment array file in the current snapshot."""
    folder = snapshots.current(root)
    assert folder is not None
    return {p.name: p.stat().st_ino for p in folder.glob("*.npy") if not p.name.endswith("alive.npy")}


@pytest.mark.slow
def test_a_refresh_writes_only_new_sentences_and_keeps_every_cosine(isolated_env: Path) -> None:
    embedder = build_indexer(isolated_env, progress=False).embedder
    embedded: list[str] = []

    def embed(texts: list[str]) -> list[list[float]]:
        embedded.extend(texts)
        return embedder.get_text_embedding_batch(texts)

    texts = {"p1": TWO.split("\n")[2], "p2": THREE.split("\n")[2], "p3": ONE.split("\n")[2]}
    texts["p4"] = "انتهت المباراة بالتعادل. وقال المدرب إن فريقه لعب جيداً."
    question = np.asarray(embedder.get_query_embedding("كم دار نشر شاركت في معرض الكتاب؟"), dtype=np.float32)
    root = isolated_env / "sentences"
    seen: dict[str, np.ndarray | None] = {}

    def check(live: list[str]) -> SentenceVectors:
        store = SentenceVectors.load(root)
        assert store is not None
        for pid in texts:
            cosines = store.cosines(pid, question)
            if pid not in live:
                assert store.rows(pid) is None and cosines is None
            elif pid in seen:  # kept vectors give bit-identical cosines, wherever they sit now
                assert (cosines is None and seen[pid] is None) or np.array_equal(cosines, seen[pid])
            else:
                seen[pid] = cosines
        return store

    assert sync(_table({p: texts[p] for p in ("p1", "p2", "p3")}), root, embed, "e") == 5
    check(["p1", "p2", "p3"])
    first = _arrays(root)
    # A new paragraph: only its sentences are embedded and written; the first segment is linked.
    assert sync(_table({p: texts[p] for p in ("p1", "p2", "p3", "p4")}), root, embed, "e") == 2
    assert embedded[5:] == split_sentences(texts["p4"])
    check(["p1", "p2", "p3", "p4"])
    assert all(_arrays(root)[name] == inode for name, inode in first.items())
    # Removed, then indexed again: masked out, then back with the same vectors, nothing embedded.
    assert sync(_table({p: texts[p] for p in ("p1", "p3", "p4")}), root, embed, "e") == 0
    check(["p1", "p3", "p4"])
    assert sync(_table(texts), root, embed, "e") == 0
    check(list(texts))
    # An unchanged table writes nothing.
    before = snapshots.current(root)
    assert sync(_table(texts), root, embed, "e") == 0 and snapshots.current(root) == before
    # Removed sentences outnumber live ones: one segment again, holding only live paragraphs.
    assert sync(_table({"p4": texts["p4"]}), root, embed, "e") == 0
    store = check(["p4"])
    assert len(store.segments) == 1 and store.codes.shape == (2, 384)
    assert len(embedded) == 7


@pytest.mark.slow
def test_a_store_written_before_segments_is_read_and_extended(isolated_env: Path) -> None:
    embedder = build_indexer(isolated_env, progress=False).embedder
    root = isolated_env / "sentences"
    old = {"p1": TWO.split("\n")[2], "p2": THREE.split("\n")[2]}
    sync(_table(old), root, embedder.get_text_embedding_batch, "e")
    segment = SentenceVectors.load(root).segments[0]  # type: ignore[union-attr]

    def write_v1(folder: Path) -> None:  # the layout sentences-v1 wrote: one set of arrays
        for name in ("paragraph_ids", "start", "codes", "scales"):
            np.save(folder / f"{name}.npy", np.asarray(getattr(segment, name)), allow_pickle=False)
        meta = {"format": "sentences-v1", "embedder": "e", "sentences": 5}
        (folder / "isnad.json").write_text(json.dumps(meta), encoding="utf-8")

    snapshots.publish(root, "sentences-v1-old", write_v1)
    question = np.asarray(embedder.get_query_embedding("ما عدد دور النشر؟"), dtype=np.float32)
    v1 = SentenceVectors.load(root, "e")
    assert v1 is not None and v1.names == [""]
    before = {pid: v1.cosines(pid, question) for pid in old}
    extended = {**old, "p3": "انتهت المباراة بالتعادل. وقال المدرب إن فريقه لعب جيداً."}
    assert sync(_table(extended), root, embedder.get_text_embedding_batch, "e") == 2
    store = SentenceVectors.load(root, "e")
    assert store is not None and store.names[0] == "" and len(store.segments) == 2
    for pid, cosines in before.items():
        assert np.array_equal(store.cosines(pid, question), cosines)
    assert store.cosines("p3", question) is not None


def test_sentences_quantised_batch_by_batch_equal_all_at_once() -> None:
    from indexing.store.sentence_vectors import EMBED_BATCH, _embedded, quantize

    rng = np.random.default_rng(11)
    lengths = rng.integers(1, 90, size=2 * EMBED_BATCH + 37)
    texts = [f"جملة {i} " + "ك" * int(n) for i, n in enumerate(lengths)]
    vectors = {t: rng.normal(size=16).astype(np.float32) for t in texts}
    calls: list[int] = []

    def embed(batch: list[str]) -> list[list[float]]:
        calls.append(len(batch))
        return [vectors[t].tolist() for t in batch]

    codes, scales = _embedded(texts, embed)
    unit = [vectors[t] / max(float(np.linalg.norm(vectors[t])), 1e-12) for t in texts]
    want_codes, want_scales = quantize(np.vstack(unit))
    assert calls == [EMBED_BATCH, EMBED_BATCH, 37]
    assert codes.dtype == np.int8 and np.array_equal(codes, want_codes)
    assert np.array_equal(scales, want_scales)
