"""The index job embeds chunks and the new paragraphs' sentences in one stream: each text once,
the same vectors as two separate passes."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from indexing import pipeline
from indexing.embedder_mark import ONNX_NAME
from indexing.embedding import OnnxE5Embedding
from indexing.pipeline import EMBED_BATCH, PlannedChunk, build_indexer, store_chunks
from indexing.store.chroma import ParagraphStore
from indexing.store.sentence_vectors import SentenceVectors

TWO = """قمة المناخ

افتتحت قمة المناخ أعمالها في القاهرة أمس. وقال الأمين العام إن الدول الغنية تعهدت بمئة مليار دولار.

وتستمر القمة أسبوعين.
"""
THREE = """معرض الكتاب

افتتح معرض الكتاب أبوابه. وشاركت فيه 900 دار نشر من 40 دولة. وتجاوز عدد الزوار 50 ألفاً في اليوم الأول.
"""


class Counting(OnnxE5Embedding):
    """The real embedder, noting every call and the texts it is asked to embed."""

    calls: ClassVar[list[list[str]]] = []

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return super()._get_text_embeddings(texts)


def separate_passes(embedder: OnnxE5Embedding) -> object:
    """The chunks alone, batch by batch; the sentence store then embeds the sentences itself."""

    def step(store: ParagraphStore):  # type: ignore[no-untyped-def]
        def embed(fresh: list[PlannedChunk]):  # type: ignore[no-untyped-def]
            for start in range(0, len(fresh), EMBED_BATCH):
                batch = fresh[start : start + EMBED_BATCH]
                store_chunks(store, batch, embedder.get_text_embedding_batch([c.embed_text for c in batch]))
                yield batch

        return embed

    return step


def stored(data: Path) -> tuple[dict[str, np.ndarray], SentenceVectors]:
    indexer = build_indexer(data, progress=False)
    vectors = indexer.store.embeddings(list(indexer.store.metadata()))
    sentences = SentenceVectors.load(data / "sentences")
    assert sentences is not None
    return {i: np.asarray(v) for i, v in vectors.items()}, sentences


@pytest.mark.parametrize("limit", [pipeline.SENTENCES_WITH_CHUNKS, 2])
def test_job_embeds_each_text_once_with_the_vectors_of_separate_passes(
    isolated_env: Path, write_corpus, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    corpus = write_corpus({"two.txt": TWO, "three.txt": THREE})
    monkeypatch.setattr(pipeline, "SENTENCES_WITH_CHUNKS", limit)
    counting = Counting(threads=1)
    Counting.calls.clear()
    report = build_indexer(
        isolated_env / "stream", progress=False, embedder_factory=lambda: counting, embedder_name=ONNX_NAME
    ).run(corpus)
    # Three paragraphs (one chunk each) and the 2 + 3 sentences of the two that have several.
    assert (report.embedded, report.embedded_sentences) == (3, 5)
    asked = [t for call in Counting.calls for t in call]
    assert len(asked) == 8 and len(set(asked)) == 8
    # One call for all eight; over the limit the sentences get a pass of their own.
    assert len(Counting.calls) == (1 if limit > 5 else 2)

    plain = OnnxE5Embedding(threads=1)
    build_indexer(
        isolated_env / "separate",
        progress=False,
        embedder_factory=lambda: plain,
        embedder_name=ONNX_NAME,
        embed_step=separate_passes(plain),  # type: ignore[arg-type]
    ).run(corpus)
    stream_vectors, stream_sentences = stored(isolated_env / "stream")
    separate_vectors, separate_sentences = stored(isolated_env / "separate")
    assert stream_vectors.keys() == separate_vectors.keys()
    for chunk_id, vector in stream_vectors.items():
        assert np.allclose(vector, separate_vectors[chunk_id], atol=1e-6)
    assert np.array_equal(stream_sentences.paragraph_ids, separate_sentences.paragraph_ids)
    assert np.array_equal(np.asarray(stream_sentences.codes), np.asarray(separate_sentences.codes))

    again = build_indexer(
        isolated_env / "stream", progress=False, embedder_factory=lambda: counting, embedder_name=ONNX_NAME
    ).run(corpus)
    assert (again.embedded, again.embedded_sentences) == (0, 0)
