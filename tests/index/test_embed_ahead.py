"""The index job embeds on a thread of its own: each text once, the same vectors as in line."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from indexing.embed_ahead import EmbedAhead
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


def fake_vectors(texts: list[str]) -> list[list[float]]:
    return [[float(len(t)), float(sum(map(ord, t)) % 97)] for t in texts]


def test_prefetched_texts_are_embedded_once_and_the_rest_on_demand() -> None:
    seen: Counter[str] = Counter()

    def embed(texts: list[str]) -> list[list[float]]:
        seen.update(texts)
        return fake_vectors(texts)

    ahead = EmbedAhead(embed)
    try:
        ahead.prefetch(["ج", "أ", "ب ب", "أ"], batch=2)
        got = ahead.embed(["ب ب", "د", "أ", "د"])
        assert got == fake_vectors(["ب ب", "د", "أ", "د"])
        assert ahead.embed(["ج"]) == fake_vectors(["ج"])
    finally:
        ahead.close()
    assert seen == {"أ": 1, "ج": 1, "ب ب": 1, "د": 1}


def test_close_drops_batches_not_started_and_waits_for_the_running_one() -> None:
    started, release = threading.Event(), threading.Event()
    done: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        started.set()
        release.wait(10)
        done.append(texts)
        return fake_vectors(texts)

    ahead = EmbedAhead(embed)
    running, queued = ahead.submit(["أ"]), ahead.submit(["ب"])
    assert started.wait(10)
    closer = threading.Thread(target=ahead.close)
    closer.start()
    release.set()
    closer.join(10)
    assert running.result() == fake_vectors(["أ"])
    assert queued.cancelled() and done == [["أ"]]


class Counting(OnnxE5Embedding):
    """The real embedder, noting every text it is asked to embed."""

    asked: ClassVar[list[str]] = []

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self.asked.extend(texts)
        return super()._get_text_embeddings(texts)


def in_line(embedder: OnnxE5Embedding) -> object:
    """The job's embedding without the thread: embed a batch, store it, next."""

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
    ids = list(indexer.store.metadata())
    vectors = indexer.store.embeddings(ids)
    sentences = SentenceVectors.load(data / "sentences")
    assert sentences is not None
    return {i: np.asarray(v) for i, v in vectors.items()}, sentences


def test_job_embeds_each_text_once_with_the_vectors_of_the_in_line_job(
    isolated_env: Path, write_corpus
) -> None:
    corpus = write_corpus({"two.txt": TWO, "three.txt": THREE})
    counting = Counting(threads=1)
    Counting.asked.clear()
    report = build_indexer(
        isolated_env / "ahead", progress=False, embedder_factory=lambda: counting, embedder_name=ONNX_NAME
    ).run(corpus)
    # Three paragraphs (one chunk each) and the 2 + 3 sentences of the two that have several.
    assert (report.embedded, report.embedded_sentences) == (3, 5)
    assert len(counting.asked) == 8 and len(set(counting.asked)) == 8

    plain = OnnxE5Embedding(threads=1)
    build_indexer(
        isolated_env / "inline",
        progress=False,
        embedder_factory=lambda: plain,
        embedder_name=ONNX_NAME,
        embed_step=in_line(plain),  # type: ignore[arg-type]
    ).run(corpus)
    ahead_vectors, ahead_sentences = stored(isolated_env / "ahead")
    inline_vectors, inline_sentences = stored(isolated_env / "inline")
    assert ahead_vectors.keys() == inline_vectors.keys()
    for chunk_id, vector in ahead_vectors.items():
        assert np.allclose(vector, inline_vectors[chunk_id], atol=1e-6)
    assert np.array_equal(ahead_sentences.paragraph_ids, inline_sentences.paragraph_ids)
    assert np.array_equal(np.asarray(ahead_sentences.codes), np.asarray(inline_sentences.codes))


def test_a_failing_embedder_stops_the_job_with_its_error_and_keeps_what_was_stored(
    isolated_env: Path, write_corpus
) -> None:
    corpus = write_corpus({"two.txt": TWO, "three.txt": THREE})

    class Failing(OnnxE5Embedding):
        def _get_text_embeddings(self, texts: Sequence[str]) -> list[list[float]]:  # type: ignore[override]
            raise RuntimeError("model file unreadable")

    try:
        build_indexer(
            isolated_env, progress=False, embedder_factory=lambda: Failing(threads=1), embedder_name=ONNX_NAME
        ).run(corpus)
    except RuntimeError as exc:
        assert "model file unreadable" in str(exc)
    else:
        raise AssertionError("the job went on without vectors")
    assert not [t for t in threading.enumerate() if t.name.startswith("isnad-embed")]
    again = build_indexer(isolated_env, progress=False).run(corpus)
    assert (again.embedded, again.embedded_sentences) == (3, 5)
