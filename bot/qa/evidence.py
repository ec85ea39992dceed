"""How much of a question a piece of text covers, weighting rare words above common ones."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass

from bot.qa.questionwords import NOT_CONTENT, is_question_word
from indexing.arabic import ArabicAnalyzer, normalize_arabic


def _without_question_words(text: str) -> str:
    """The text without its interrogatives, also when a conjunction or preposition is glued on (وبماذا)."""
    return " ".join(w for w in text.split() if not is_question_word(normalize_arabic(w).strip("؟?.!،")))


_DERIVATION_PREFIXES = "امتين"
# One-letter proclitics the stemmer leaves on a name or a noun without the article (لأبولو, كمدينة).
_PROCLITICS = "لبكفو"
_CARRIED = re.compile(r"\(([^()]*)\)[؟?.!\s]*$")
CARRIED_WEIGHT = 0.1


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
        return self.coverage_of_stems({light_stem(t) for t in text_terms})

    def coverage_of_stems(self, present: Set[str]) -> float:
        """`coverage` of a text given the light stems of its terms."""
        return sum(w for t, w in self.terms.items() if light_stem(t) in present) / self.total


class Evidence:
    """Analyses questions and texts the way the lexical index does."""

    def __init__(self, analyzer: ArabicAnalyzer, idf: Callable[[str], float]) -> None:
        self.analyzer = analyzer
        self.idf = idf

    @property
    def unseen_idf(self) -> float:
        """The weight of a term the index never saw (the largest it gives)."""
        return self.idf("")

    def resolve(self, term: str) -> str:
        """A question term the index never saw, read without a one-letter proclitic when the rest is known.

        Snowball leaves ل/ب/ك/ف/و on words without the article (لأبولو stems to لابول); when the
        bare word is in the index, that is the word the question means.
        """
        if len(term) >= 4 and term[0] in _PROCLITICS:
            unseen = self.unseen_idf
            if self.idf(term) >= unseen and self.idf(term[1:]) < unseen:
                return term[1:]
        return term

    def query(self, question: str) -> QueryTerms:
        """Content terms of a question, weighted by rarity in the corpus.

        Words a follow-up carried over from the conversation, in parentheses at its end
        ("وبماذا حذّر (مارك لوكوك)؟"), name the topic rather than what is asked: they count
        CARRIED_WEIGHT as much, so the sentence that answers the follow-up's own words wins.
        """
        carried = _CARRIED.search(question)
        own = question[: carried.start()] if carried else question
        weights: dict[str, float] = {}
        for t in map(self.resolve, self.analyzer.terms(_without_question_words(own))):
            if t not in NOT_CONTENT:
                weights.setdefault(t, max(self.idf(t), 0.1))
        if carried:
            for t in map(self.resolve, self.analyzer.terms(_without_question_words(carried.group(1)))):
                if t not in NOT_CONTENT:
                    weights.setdefault(t, CARRIED_WEIGHT * max(self.idf(t), 0.1))
        return QueryTerms(weights)

    def query_order(self, question: str) -> list[str]:
        """The question's analysed terms in their order (question words included)."""
        return [self.resolve(t) for t in self.analyzer.terms(question)]

    def terms(self, text: str) -> list[str]:
        """Analysed terms of any text."""
        return self.analyzer.terms(text)
