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
# Affixes Snowball leaves on a question word (after spelling folding): imperfect and future
# prefixes, one-letter proclitics (لأبولو, كمدينة), person, number and pronoun suffixes, and the
# ت of a feminine ة before a pronoun (شركته).
_PREFIXES = ("", *"يتناسلبكفو", "سي", "ست", "سن", "وي", "وت", "في", "فت", "لي", "لت")
_SUFFIXES = ("", "ون", "ين", "ان", "وا", "ت", "ه", "ها", "هم", "هن", "كم", "نا", "ي", "ات", "تم", "وه", "يه")
# What is left must be a word, not a particle (XQuAD-ar dev half: 3 letters gave answerable
# declined 4.9% against 5.1% for 2, at the same out-of-corpus share).
_MIN_REST = 3
_CARRIED = re.compile(r"\(([^()]*)\)[؟?.!\s]*$")
CARRIED_WEIGHT = 0.1
# A word of six letters or more that may hold two glued words (see Evidence.unglued).
_LONG_WORD = re.compile(r"[\u0621-\u064a]{6,}")
# Standalone prepositions a typist glues to the next word's article («فيالمدينة», «علىالحدود»),
# with an optional conjunction before them; other short words glued to «ال» read as one word
# too often (كم + الية would split «كمالية»).
_GLUED_PREPOSITIONS = frozenset(
    normalize_arabic(f"{c}{p}") for c in ("", "و", "ف") for p in ("في", "من", "على", "عن", "إلى", "مع")
)


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
        """A question term the index never saw, read as the indexed word it inflects, when there is one.

        Snowball leaves ل/ب/ك/ف/و on words without the article (لأبولو stems to لابول) and keeps
        the prefixes and suffixes of verbs (يكتبون, تصنف) that the corpus writes in another person
        or tense. The term is read as the indexed word left after the fewest affix letters are
        stripped (the most frequent on a tie); a term with no such reading stays unseen.
        """
        unseen = self.unseen_idf
        if self.idf(term) < unseen:
            return term
        best: tuple[int, float, str] | None = None
        for prefix in _PREFIXES:
            if not term.startswith(prefix):
                continue
            for suffix in _SUFFIXES:
                if (suffix and not term.endswith(suffix)) or not (prefix or suffix):
                    continue
                rest = term[len(prefix) : len(term) - len(suffix)]
                if len(rest) < _MIN_REST or rest in NOT_CONTENT:
                    continue
                weight = self.idf(rest)
                if weight < unseen:
                    key = (len(prefix) + len(suffix), weight, rest)
                    best = key if best is None or key < best else best
        return best[2] if best else term

    def known(self, word: str) -> bool:
        """Whether the index holds every content term of a word (read as `resolve` reads it)."""
        terms = self.analyzer.terms(word)
        unseen = self.unseen_idf
        return bool(terms) and all(self.idf(self.resolve(t)) < unseen for t in terms)

    def unglued(self, text: str) -> str:
        """The text with a missing space put back before a glued article: «تشتهرالبلد» -> «تشتهر البلد».

        A typist often leaves out the space before «ال»; the glued token is then a word the
        index never saw, and neither BM25 nor the question's coverage can match either half.
        A word the index does not hold is cut before an inner «ال» when both halves are words
        it holds (the left one may also be a preposition). Words the index holds are never cut,
        so the corpus's own spellings («عبدالله») stay whole. Hand-written because it is about
        Arabic orthography and this index's vocabulary; no library does it.
        """
        return _LONG_WORD.sub(lambda m: self._unglued_word(m.group(0)), text)

    def _unglued_word(self, word: str) -> str:
        if self.known(word):
            return word
        for at in range(2, len(word) - 3):
            if word[at : at + 2] != "ال":
                continue
            left, right = word[:at], word[at:]
            left_ok = normalize_arabic(left) in _GLUED_PREPOSITIONS or (len(left) >= 3 and self.known(left))
            if left_ok and self.known(right):
                return f"{left} {right}"
        return word

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
