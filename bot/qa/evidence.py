"""How much of a question a piece of text covers, weighting rare words above common ones."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from indexing.arabic import ArabicAnalyzer, normalize_arabic

# Interrogatives carry the question's shape, not its topic.
_QUESTION_WORDS = frozenset(
    normalize_arabic(w)
    for w in [
        "ما",
        "ماذا",
        "متى",
        "كيف",
        "لماذا",
        "لم",
        "أين",
        "كم",
        "أي",
        "أية",
        "هل",
        "من",
        "الذي",
        "التي",
        "ماهو",
        "ماهي",
        "وما",
        "ومن",
        "ومتى",
        "وكم",
        "وأين",
        "وكيف",
    ]
)


_DERIVATION_PREFIXES = "امتين"


def light_stem(term: str) -> str:
    """Drop one derivational prefix so verb and participle meet (اقترح / مقترح / يقترح).

    Only for matching sentences to a question, where a false match costs little;
    the BM25 index keeps Snowball's stems.
    """
    if len(term) >= 5 and term[0] in _DERIVATION_PREFIXES:
        return term[1:]
    return term


@dataclass(frozen=True)
class QueryTerms:
    """The content terms of a question with their weights."""

    terms: dict[str, float]

    @property
    def total(self) -> float:
        """Sum of weights (at least a tiny positive number)."""
        return sum(self.terms.values()) or 1e-9

    def coverage(self, text_terms: Iterable[str]) -> float:
        """Weighted share of the question's terms that the text contains (0..1)."""
        present = {light_stem(t) for t in text_terms}
        return sum(w for t, w in self.terms.items() if light_stem(t) in present) / self.total


class Evidence:
    """Analyses questions and texts the way the lexical index does."""

    def __init__(self, analyzer: ArabicAnalyzer, idf: Callable[[str], float]) -> None:
        self.analyzer = analyzer
        self.idf = idf

    def query(self, question: str) -> QueryTerms:
        """Content terms of a question, weighted by rarity in the corpus."""
        terms = [t for t in self.analyzer.terms(question) if t not in _QUESTION_WORDS]
        return QueryTerms({t: max(self.idf(t), 0.1) for t in dict.fromkeys(terms)})

    def terms(self, text: str) -> list[str]:
        """Analysed terms of any text."""
        return self.analyzer.terms(text)


_LEADING_CONJUNCTION = re.compile(r"^[وف](?=(ما|من|متى|كم|أين|اين|كيف|لماذا|هل|أي|اي|ماذا)\b)")


def question_word(question: str) -> str:
    """The interrogative a question opens with, folded ('' when none)."""
    words = normalize_arabic(question).split()
    if not words:
        return ""
    first = _LEADING_CONJUNCTION.sub("", words[0])
    if first in ("في", "الي", "على", "علي", "منذ", "حتى", "مع", "ب", "ل") and len(words) > 1:
        first = words[1]  # "في أي عام ..." asks like "أي"
        if first in ("اي", "ايه") and len(words) > 2:
            return f"اي {words[2]}"
    return first
