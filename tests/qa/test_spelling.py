"""The embedder reads a question in the corpus's spelling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.qa.engine import build
from bot.qa.spelling import corpus_spelling
from indexing.store.spellings import Spellings

TEXTS = ["قالت المتحدثة باسم الخارجية الأمريكية إن الفكرة مزحة.", "أين المتحدثة؟ إلى الخارجية."]


def spelled(question: str, texts: list[str]) -> str:
    return corpus_spelling(question, Spellings.of(texts))


def test_each_word_is_written_as_the_texts_write_it() -> None:
    assert spelled("بماذا وصفت المتحدثه باسم الخارجيه الامريكيه الفكره؟", TEXTS) == (
        "بماذا وصفت المتحدثة باسم الخارجية الأمريكية الفكرة؟"
    )
    assert spelled("اين ذهبت الي الخارجيه", TEXTS) == "أين ذهبت إلى الخارجية"
    # Words the texts do not hold, or also write as the question does, are left as they are.
    assert spelled("متى عادت المتحدثة من السفر؟", TEXTS) == "متى عادت المتحدثة من السفر؟"
    assert spelled("الخارجيه", [*TEXTS, "الخارجيه"]) == "الخارجيه"
    assert spelled("سؤال", []) == "سؤال"


def test_the_most_frequent_spelling_wins_and_ties_are_stable() -> None:
    assert spelled("الامم", ["الأمم الآمم الأمم", "الأمم"]) == "الأمم"
    assert spelled("اعلن", ["أعلن إعلن"]) == spelled("اعلن", ["إعلن أعلن"])


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
