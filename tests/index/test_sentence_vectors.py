"""Sentence vectors written by the index job: embedded once, compact, and gone with their paragraph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexing.pipeline import build_indexer
from indexing.sentences import split_sentences
from indexing.store import table
from indexing.store.sentence_vectors import SentenceVectors, quantize

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
