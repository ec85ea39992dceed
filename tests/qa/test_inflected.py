"""A question word the text writes in another inflection still counts for ranking paragraphs and sentences."""

from __future__ import annotations

import pytest

from bot.qa.answertypes import question_type
from bot.qa.evidence import Evidence
from bot.qa.inflected import core, inflected_coverage, question_cores
from bot.qa.rerank import PASSAGE_FEATURES, UNIT_FEATURES, Reranker
from bot.qa.retrieval import Passage
from indexing.arabic import ArabicAnalyzer
from indexing.store.chroma import StoredParagraph

# The question conjugates the verb (تفاوضوا); the paragraph that answers writes the noun
# (مفاوضات). Their stems differ (فاوض / فاوضا), the core فاوض stands inside مفاوضات.
QUESTION = "كم أسبوعا تفاوضوا قبل توقيع الاتفاق في العاصمة؟"
ANSWERS = "وقع الطرفان الاتفاق في العاصمة بعد أسبوعين من مفاوضات طويلة."
OTHER = "وقع الطرفان الاتفاق في العاصمة بعد أسبوعين من زيارات طويلة."


def reranker() -> Reranker:
    return Reranker(Evidence(ArabicAnalyzer(), lambda term: 1.0))


def passage(n: int, text: str) -> Passage:
    paragraph = StoredParagraph(
        paragraph_id=f"pid-{n}",
        source="001_news.txt",
        number=n,
        text=text,
        headline="اتفاق العاصمة",
        section="",
        occurrences=(),
    )
    return Passage(paragraph=paragraph, score=0.5, bm25=1.0, dense=0.8, fused=0.5)


def test_core_takes_off_clitics_a_verb_prefix_and_one_ending() -> None:
    assert core("تفاوضوا") == "فاوض"
    assert core("والمفاوضات") == "مفاوض"
    assert core("يحاربون") == "حارب"
    assert core("غنت") == "غنت"  # nothing left to take off: too short to strip


def test_a_missing_word_counts_when_its_core_stands_inside_a_paragraph_word() -> None:
    r = reranker()
    query = r.evidence.query(QUESTION)
    cores = question_cores(r.evidence, QUESTION, query)
    assert ("فاوض" in dict(cores).values()) and all(len(c) >= 4 for _, c in cores)
    stems_a, words_a = r._paragraph_stems("", ANSWERS), r._words("", ANSWERS)
    stems_o, words_o = r._paragraph_stems("", OTHER), r._words("", OTHER)
    # Exact stems alone see no difference between the two paragraphs.
    assert query.coverage_of_stems(stems_a) == query.coverage_of_stems(stems_o)
    with_core = inflected_coverage(query, cores, stems_a, words_a)
    without = inflected_coverage(query, cores, stems_o, words_o)
    assert with_core - without == pytest.approx(1 / len(query.terms))


def test_the_shipped_models_rank_the_paragraph_with_the_inflected_word_first() -> None:
    r = reranker()
    candidates = [passage(1, OTHER), passage(2, ANSWERS)]  # fusion put the other one first
    rows, _ = r.passage_rows(QUESTION, candidates)
    column = PASSAGE_FEATURES.index("inflected_coverage")
    assert rows[1, column] > rows[0, column]
    ranking = r.rank(QUESTION, candidates)
    assert ranking.passages[0].paragraph.text == ANSWERS


def test_the_shipped_models_quote_the_sentence_with_the_inflected_word() -> None:
    r = reranker()
    # Without the feature the models quote the second sentence (logit -0.55 against -0.94).
    text = f"{ANSWERS} {OTHER}"
    query = r.evidence.query(QUESTION)
    units, rows, _, _ = r.unit_rows(QUESTION, query, question_type(QUESTION), text)
    column = UNIT_FEATURES.index("inflected_found")
    assert rows[:, column].tolist() == pytest.approx([1 / len(query.terms), 0.0])
    logits = r.models.unit.logits(rows)
    assert units[int(logits.argmax())].text == ANSWERS
