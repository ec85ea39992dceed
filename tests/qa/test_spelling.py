"""The embedder reads a question in the spelling of the paragraphs BM25 finds for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.qa.engine import build
from bot.qa.spelling import corpus_spelling

TEXTS = ["قالت المتحدثة باسم الخارجية الأمريكية إن الفكرة مزحة.", "أين المتحدثة؟ إلى الخارجية."]


def test_each_word_is_written_as_the_texts_write_it() -> None:
    assert corpus_spelling("بماذا وصفت المتحدثه باسم الخارجيه الامريكيه الفكره؟", TEXTS) == (
        "بماذا وصفت المتحدثة باسم الخارجية الأمريكية الفكرة؟"
    )
    assert corpus_spelling("اين ذهبت الي الخارجيه", TEXTS) == "أين ذهبت إلى الخارجية"
    # Words the texts do not hold, or also write as the question does, are left as they are.
    assert corpus_spelling("متى عادت المتحدثة من السفر؟", TEXTS) == "متى عادت المتحدثة من السفر؟"
    assert corpus_spelling("الخارجيه", [*TEXTS, "الخارجيه"]) == "الخارجيه"
    assert corpus_spelling("سؤال", []) == "سؤال"


def test_the_most_frequent_spelling_wins_and_ties_are_stable() -> None:
    assert corpus_spelling("الامم", ["الأمم الآمم الأمم", "الأمم"]) == "الأمم"
    assert corpus_spelling("اعلن", ["أعلن إعلن"]) == corpus_spelling("اعلن", ["إعلن أعلن"])


class Recording:
    """The engine's embedder, noting the texts it embeds as queries."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.queries: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.embedder, name)

    def get_query_embedding(self, query: str) -> list[float]:
        self.queries.append(query)
        return self.embedder.get_query_embedding(query)


def test_an_everyday_spelled_question_is_embedded_in_the_corpus_spelling(seeds_data: Path) -> None:
    engine = build(seeds_data)
    recording = Recording(engine.retriever.embedder)
    engine.retriever.embedder = recording  # type: ignore[assignment]
    everyday = engine.ask("بماذا وصفت المتحدثه باسم الخارجيه الامريكيه فكره الممر الانساني؟")
    standard = engine.ask("بماذا وصفت المتحدثة باسم الخارجية الأميركية فكرة الممر الإنساني؟")
    assert "المتحدثة" in recording.queries[0] and "الخارجية" in recording.queries[0]
    assert "المتحدثه" not in recording.queries[0]
    assert everyday.question.startswith("بماذا وصفت المتحدثه")  # shown as asked
    assert everyday.answered and standard.answered
    assert everyday.citations[0].paragraph_id == standard.citations[0].paragraph_id
