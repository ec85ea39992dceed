"""What an answerer produces, and the interface every answerer follows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.qa.retrieval import Passage

NOT_IN_SOURCES = "لا أجد في المقالات المفهرسة ما يجيب عن هذا السؤال."


@dataclass
class Draft:
    """An Arabic answer whose [n] markers point into `cited` (marker n is cited[n-1]).

    Markers are numbered 1..k in order of first use, and `cited` holds only passages
    the text cites. `notice` is an Arabic line for the reader (e.g. a fallback).
    """

    text: str
    cited: list[Passage] = field(default_factory=list)
    mode: str = "extractive"
    notice: str = ""


class Answerer(Protocol):
    """Composes a cited answer from retrieved passages (best first)."""

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        """Answer the question from the passages only."""
        ...
