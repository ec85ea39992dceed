"""The sentence that answers carries a question word no other sentence of its paragraph has."""

from __future__ import annotations

import pytest

from bot.qa.answertypes import question_type
from bot.qa.evidence import Evidence
from bot.qa.rerank import UNIT_FEATURES, Reranker
from indexing.arabic import ArabicAnalyzer

# The first two sentences echo the question's topic (ترجمة لوثر للكتاب المقدس); only the third
# holds its predicate (أسهمت شعبية), and the answer.
TEXT = (
    "نشر لوثر ترجمة الكتاب المقدس باللغة الألمانية عام 1534. "
    "وزاد الطلب على ترجمة لوثر للكتاب المقدس في كل ألمانيا بسرعة كبيرة. "
    "وقد أسهمت شعبية الترجمة في تطور اللغة الألمانية الحديثة."
)
QUESTION = "ما الذي أسهمت فيه شعبية ترجمة لوثر للكتاب المقدس؟"


def test_unique_coverage_counts_only_the_question_words_no_other_sentence_holds() -> None:
    reranker = Reranker(Evidence(ArabicAnalyzer(), lambda term: 1.0))
    query = reranker.evidence.query(QUESTION)
    units, rows, covs, _ = reranker.unit_rows(QUESTION, query, question_type(QUESTION), TEXT)
    assert [u.sentence for u in units] == [0, 1, 2]
    column = UNIT_FEATURES.index("unique_coverage")
    # Seven question words of equal weight: ترجمة is in every sentence, لوثر, الكتاب and المقدس
    # in two, فيه in none; أسهمت and شعبية only in the third.
    assert len(query.terms) == 7
    assert rows[:, column].tolist() == pytest.approx([0.0, 0.0, 2 / 7])
    assert covs[1] > covs[2]  # the echo covers more of the question


def test_the_shipped_models_quote_the_sentence_with_the_predicate() -> None:
    reranker = Reranker(Evidence(ArabicAnalyzer(), lambda term: 1.0))
    ranking_units = reranker.unit_rows(
        QUESTION, reranker.evidence.query(QUESTION), question_type(QUESTION), TEXT
    )
    units, rows = ranking_units[0], ranking_units[1]
    logits = reranker.models.unit.logits(rows)
    assert units[int(logits.argmax())].text.startswith("وقد أسهمت شعبية الترجمة")
