"""The second stage reads the index job's sentence vectors: per-sentence similarity as evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.qa.answertypes import question_type
from bot.qa.engine import Engine, build
from bot.qa.rerank import PASSAGE_FEATURES, UNIT_FEATURES, Reranker
from indexing.sentences import split_sentences

TEXT = "افتتح معرض الكتاب أبوابه أمس. وشاركت فيه 900 دار نشر من 40 دولة. وتجاوز عدد الزوار 50 ألفاً."


def test_unit_rows_carry_each_sentences_similarity_and_its_gap_to_the_best(base_engine: Engine) -> None:
    reranker = base_engine.retriever.reranker
    assert isinstance(reranker, Reranker)
    question = "كم دار نشر شاركت؟"
    query = reranker.evidence.query(question)
    cosines = np.array([0.80, 0.90, 0.70], dtype=np.float32)
    units, x, _, _ = reranker.unit_rows(question, query, question_type(question), TEXT, cosines, 0.5)
    cos, gap = UNIT_FEATURES.index("sentence_cosine"), UNIT_FEATURES.index("cosine_gap")
    for unit, row in zip(units, x, strict=True):
        assert row[cos] == np.float32(cosines[unit.sentence])
        assert abs(row[gap] - (cosines[unit.sentence] - 0.90)) < 1e-6
    # Vectors of another split (a different sentence count) are not trusted: the paragraph's dense stands in.
    _, x, _, _ = reranker.unit_rows(question, query, question_type(question), TEXT, cosines[:2], 0.5)
    assert set(x[:, cos]) == {0.5} and set(x[:, gap]) == {0.0}


def test_the_engine_ranks_with_sentence_vectors_from_the_index(seeds_data: Path) -> None:
    engine = build(seeds_data)
    assert engine.retriever.sentences is not None
    ranking = engine.retriever.rank("ما هو القرار 2401؟")
    multi = [p for p in ranking.passages if len(split_sentences(p.paragraph.text)) > 1]
    assert multi and all(p.sentence_cosines is not None for p in multi)
    for p in multi:
        assert p.sentence_cosines is not None
        assert len(p.sentence_cosines) == len(split_sentences(p.paragraph.text))
        # A sentence is part of the paragraph: about as close to the question, never far off.
        assert float(np.max(p.sentence_cosines)) > p.dense - 0.15
    best = PASSAGE_FEATURES.index("best_cosine")
    rows, _ = engine.retriever.reranker.passage_rows("ما هو القرار 2401؟", ranking.passages)  # type: ignore[union-attr]
    assert rows[:, best].max() > 0.5
