"""Second-stage evidence: the index job's sentence vectors, and question words read against the index."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from bot.qa.answertypes import question_type
from bot.qa.engine import Engine, build
from bot.qa.evidence import Evidence
from bot.qa.rerank import ABSTAIN_FEATURES, PASSAGE_FEATURES, UNIT_FEATURES, Reranker
from indexing.arabic import ArabicAnalyzer
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


def _evidence_over(corpus: list[str]) -> Evidence:
    """Evidence weighted like the lexical index (log(1 + N / (1 + df))) over a tiny corpus."""
    analyzer = ArabicAnalyzer()
    df = Counter(t for text in corpus for t in set(analyzer.terms(text)))
    return Evidence(analyzer, lambda term: math.log(1 + len(corpus) / (1 + df[term])))


def test_a_question_word_with_a_proclitic_the_index_never_saw_is_read_without_it() -> None:
    ev = _evidence_over(["انطلقت مهمة أبولو إلى القمر", "زار الوفد لبنان", "عاد الفريق إلى المدينة"])
    (apollo,) = ArabicAnalyzer().terms("أبولو")
    terms = ev.query("من كان طاقم لأبولو؟").terms
    assert apollo in terms and ev.resolve(ArabicAnalyzer().terms("لأبولو")[0]) == apollo
    # A known word is left alone, and so is one whose bare form the index does not know either.
    (lebanon,) = ArabicAnalyzer().terms("لبنان")
    assert ev.resolve(lebanon) == lebanon
    (unknown,) = ArabicAnalyzer().terms("لزرقوبيل")
    assert ev.resolve(unknown) == unknown
    assert ev.query_order("طاقم لأبولو")[-1] == apollo  # bigrams read the same terms


def test_the_missing_word_evidence_is_a_share_of_the_largest_weight_whatever_the_index_size(
    seeds_data: Path,
) -> None:
    engine = build(seeds_data)
    ranking = engine.retriever.rank("ما الذي قاله زرقوبيل عن القرار 2401؟")
    # A word no paragraph holds weighs the most an index can give: 1.0 on any corpus.
    assert ranking.abstain_features["missing_idf"] == 1.0
    assert "bm25" not in ABSTAIN_FEATURES  # raw BM25 grows with the corpus; the rule must not lean on it
    ranking = engine.retriever.rank("ما هو القرار 2401؟")
    assert 0.0 <= ranking.abstain_features["missing_idf"] < 1.0


def test_an_inflected_question_word_the_index_never_saw_is_read_as_the_indexed_word() -> None:
    ev = _evidence_over(["كتب الشاعر القصيدة في المنفى", "غنى المطرب في الحفل", "عاد الفريق إلى المدينة"])
    analyzer = ArabicAnalyzer()
    (wrote,) = analyzer.terms("كتب")
    # Another person or tense of the same verb: the fewest affix letters stripped give the indexed word.
    assert ev.resolve(analyzer.terms("يكتبون")[0]) == wrote
    assert wrote in ev.query("ماذا كانوا يكتبون في المنفى؟").terms
    # What is left must be a word of three letters at least: غنت is not read as the two-letter غن.
    (sang_fem,) = analyzer.terms("غنت")
    assert ev.resolve(sang_fem) == sang_fem


def test_each_candidate_is_compared_with_the_best_other_candidate_of_its_own_article(
    base_engine: Engine,
) -> None:
    retriever = base_engine.retriever
    assert retriever.reranker is not None
    passages = retriever.fuse("ماذا قال مارك لوكوك عن قرار الهدنة؟", 10)
    rows, _ = retriever.reranker.passage_rows("ماذا قال مارك لوكوك عن قرار الهدنة؟", passages)
    sources = [p.paragraph.source for p in passages]
    for name in ("paragraph_coverage", "best_unit", "best_coverage", "best_cosine"):
        value, over = PASSAGE_FEATURES.index(name), PASSAGE_FEATURES.index(f"{name}_over_siblings")
        for i, source in enumerate(sources):
            siblings = [rows[j, value] for j in range(len(sources)) if j != i and sources[j] == source]
            expected = rows[i, value] - max(siblings) if siblings else 0.0
            assert math.isclose(rows[i, over], expected)
    assert len(set(sources)) < len(sources)  # the seeds' story brings several of its paragraphs
