"""One list of Arabic question words serves answer types, evidence and follow-up detection."""

from __future__ import annotations

import pytest

from bot.qa import answertypes, conversation, evidence
from bot.qa.answertypes import AnswerType, question_type
from bot.qa.evidence import Evidence
from bot.qa.questionwords import CONJUNCTION_QUESTION, INTERROGATIVES, NOT_CONTENT, bare, is_question_word
from indexing.arabic import ArabicAnalyzer, normalize_arabic


def test_no_module_keeps_its_own_list() -> None:
    for module in (answertypes, evidence, conversation):
        lists = [
            name
            for name, value in vars(module).items()
            if isinstance(value, frozenset)
            and {"كم", "متي"} <= value
            and value not in (INTERROGATIVES, NOT_CONTENT)
        ]
        assert lists == [], module.__name__


@pytest.mark.parametrize(
    ("word", "expected"),
    [("وبماذا", "ماذا"), ("ولمن", "لمن"), ("فكيف", "كيف"), ("ومتى", "متي"), ("المجلس", "المجلس")],
)
def test_bare_drops_the_clitics_glued_before_a_question_word(word: str, expected: str) -> None:
    assert bare(normalize_arabic(word)) == expected


def test_relatives_and_interrogatives_are_never_content_terms() -> None:
    ev = Evidence(ArabicAnalyzer(), lambda term: 1.0)
    terms = ev.query("ما الدولة التي وممن مما اقترح القرار؟").terms
    assert not set(terms) & NOT_CONTENT
    assert len(terms) == 3  # الدولة, اقترح, القرار
    assert is_question_word(normalize_arabic("والتي")) and not is_question_word("الدولة")


@pytest.mark.parametrize(
    "question", ["ومتى صدر؟", "وإلى أين ذهب؟", "وعلى ماذا نص؟", "فمن اقترحه؟", "ومِمَّ يتكون؟"]
)
def test_conjunction_openings_in_any_spelling_are_recognised(question: str) -> None:
    assert CONJUNCTION_QUESTION.match(normalize_arabic(question))


def test_a_word_that_only_contains_a_question_word_is_not_one() -> None:
    assert CONJUNCTION_QUESTION.match(normalize_arabic("ومنظمة الصحة")) is None
    assert bare("امن") == "امن"  # "safe", not "ا" + "من"


def test_the_list_is_folded_so_folded_text_matches() -> None:
    assert all(w == normalize_arabic(w) for w in INTERROGATIVES)
    assert question_type("ومتى صدر القرار؟") is AnswerType.DATE
