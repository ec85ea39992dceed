"""Question words that a paragraph writes in another inflection.

A question often conjugates or derives a word differently from the paragraph that answers it
(تفاوض / المفاوضات, يصدرون / إصدار): the stems differ, so the word counts as missing. Its core
(clitics, one verb prefix and one ending taken off) still stands inside one of the paragraph's
words. The core must keep MIN_CORE letters: shorter ones match by chance in any paragraph
(XQuAD-ar dev half, out-of-corpus top paragraphs: a 4-letter core is found for 2% of
questions, against 11% of answerable ones).
"""

from __future__ import annotations

from collections.abc import Callable, Set

from bot.qa.evidence import Evidence, QueryTerms, light_stem
from bot.qa.questionwords import is_question_word
from indexing.arabic import STOPWORDS, normalize_arabic, words

_CLITICS = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك", "س")
_VERB_PREFIXES = "يتنا"
_ENDINGS = ("ون", "ين", "ان", "ات", "وا", "ت", "ه", "ي")
MIN_CORE = 4


def core(word: str) -> str:
    """A folded word without its clitics, one imperfect prefix and one ending (what inflection leaves)."""
    for clitic in _CLITICS:
        if word.startswith(clitic) and len(word) - len(clitic) >= 3:
            word = word[len(clitic) :]
            break
    if len(word) >= 4 and word[0] in _VERB_PREFIXES:
        word = word[1:]
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def question_cores(evidence: Evidence, question: str, query: QueryTerms) -> tuple[tuple[str, str], ...]:
    """(term, core) for each content term of the question whose word has a core of MIN_CORE letters."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for word in words(normalize_arabic(question)):
        if word in STOPWORDS or is_question_word(word):
            continue
        for term in map(evidence.resolve, evidence.analyzer.folded_terms(word)):
            if term in query.terms and term not in seen:
                seen.add(term)
                stripped = core(word)
                if len(stripped) >= MIN_CORE:
                    out.append((term, stripped))
    return tuple(out)


def inflected_found(
    query: QueryTerms, cores: tuple[tuple[str, str], ...], stems: Set[str], holds: Callable[[str], bool]
) -> float:
    """The share of the question's weight in words a text (its light stems) lacks but whose core
    it `holds` (a text's folded words, or a unit's folded text, checked for the core inside them)."""
    return (
        sum(
            query.terms[term] for term, stripped in cores if light_stem(term) not in stems and holds(stripped)
        )
        / query.total
    )


def inflected_coverage(
    query: QueryTerms, cores: tuple[tuple[str, str], ...], stems: Set[str], folded_words: Set[str]
) -> float:
    """Coverage of a text (its light stems and folded words) that also counts a missing question
    word whose core stands inside one of the text's words."""
    found = inflected_found(
        query, cores, stems, lambda stripped: any(stripped in word for word in folded_words)
    )
    return query.coverage_of_stems(stems) + found
