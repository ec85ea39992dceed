"""A question over the length limit is answered with a note, not searched; one at the limit is searched."""

from __future__ import annotations

from bot.qa.engine import MAX_QUESTION_CHARS, TOO_LONG, Engine

KREMLIN = "من هو الناطق باسم الكرملين؟"


def test_too_long_question_gets_the_limit_in_arabic_and_costs_no_search(base_engine: Engine) -> None:
    question = (KREMLIN + " ") * 400  # 11,200 characters (a pasted article, a runaway batch line)
    answer = base_engine.ask(question, "long")
    asked = " ".join(question.split())
    assert answer.text == TOO_LONG.format(length=len(asked), limit=MAX_QUESTION_CHARS)
    assert not answer.answered and answer.citations == [] and answer.retrieved == []
    assert answer.question == asked  # echoed, nothing lost
    # Not a turn of the conversation: the next question is not read as its follow-up.
    assert base_engine.ask(KREMLIN, "long").standalone == KREMLIN


def test_question_at_the_limit_is_still_searched(base_engine: Engine) -> None:
    question = (KREMLIN + " ") * (MAX_QUESTION_CHARS // (len(KREMLIN) + 1))
    assert len(question.strip()) <= MAX_QUESTION_CHARS
    answer = base_engine.ask(question)
    assert answer.answered and "بيسكوف" in answer.text
