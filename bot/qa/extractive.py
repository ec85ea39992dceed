"""The default answerer: the best sentences of the top paragraphs, each with its [n].

No model is involved, so nothing is invented: every word of the answer is a quote.
A sentence is scored by how much of the question it covers (rare words count more),
whether it holds what the question asks for (a number for كم, a date for متى, ...)
and the rank of its paragraph. Up to three sentences are kept, and only those close
to the best one, so answers stay short.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.qa.answer import NOT_IN_SOURCES, Draft
from bot.qa.evidence import Evidence, QueryTerms, question_word
from bot.qa.retrieval import Passage
from indexing.arabic import normalize_arabic
from indexing.untrusted import quoted

_SENTENCE_END = re.compile(r"(?<=[.!?؟…؛])\s+")
_CLAUSE_END = re.compile(r"(?<=،)\s+")
_LONG_SENTENCE_WORDS = 45
_MIN_WORDS = 3

_NUMBER = re.compile(
    r"\d|[٠-٩]|\b(?:واحد|اثن|ثلاث|اربع|خمس|ست|سبع|ثمان|تسع|عشر|مئ|ما[يئ]ه|الف|الاف|مليون|ملايين|مليار)"
)
_DATE = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d)\b|يناير|فبراير|مارس|ابريل|مايو|يونيو|يوليو|اغسطس|سبتمبر|اكتوبر|نوفمبر|ديسمبر"
    r"|كانون|شباط|اذار|نيسان|ايار|حزيران|تموز|اب\b|ايلول|تشرين|الاحد|الاثنين|الثلاثاء|الاربعاء|الخميس"
    r"|الجمعه|السبت|عام|سنه|القرن|امس|اليوم|الماضي|شهر|اسبوع|مساء|صباح"
)
_REASON = re.compile(r"بسبب|لان|لانه|نتيجه|بهدف|من اجل|ادي|بعد ان|حيث|كي\b|لكي")
_PLACE = re.compile(r"\bفي\b|مدينه|منطقه|بلده|محافظه|شمال|جنوب|شرق|غرب|ريف")

_TYPE_BONUS = 0.25
_RANK_DECAY = 0.2
_KEEP_RATIO = 0.3
_MAX_SENTENCES = 3
# A "sentence" of an article without punctuation can be the whole paragraph (900 words);
# each quote is cut at a word boundary after this many characters, so an answer stays short.
MAX_QUOTE_CHARS = 400
_TOP_PARAGRAPHS = 3


def split_sentences(text: str) -> list[str]:
    """Sentences on . ! ? ؟ … ؛; overlong ones are cut again at the Arabic comma."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence.split()) > _LONG_SENTENCE_WORDS:
            out.extend(part.strip() for part in _CLAUSE_END.split(sentence) if part.strip())
        else:
            out.append(sentence)
    return out


def expects(question: str) -> re.Pattern[str] | None:
    """The kind of span the question asks for, as a pattern over folded text."""
    word = question_word(question)
    if word == "كم":
        return _NUMBER
    if word == "متي" or word in ("اي عام", "اي سنه", "اي يوم", "اي شهر", "اي تاريخ"):
        return _DATE
    if word in ("لماذا", "لم"):
        return _REASON
    if word in ("اين", "اي مدينه", "اي بلد", "اي منطقه"):
        return _PLACE
    return None


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence of one passage with its score."""

    text: str
    passage: int  # index into the passages list
    position: int
    score: float
    coverage: float


class ExtractiveAnswerer:
    """Answers with quoted sentences from the top passages, citing each."""

    def __init__(self, evidence: Evidence, max_sentences: int = _MAX_SENTENCES) -> None:
        self.evidence = evidence
        self.max_sentences = max_sentences

    def score(self, question: str, passages: Sequence[Passage]) -> list[ScoredSentence]:
        """Every sentence of the top passages, best first."""
        query: QueryTerms = self.evidence.query(question)
        wanted = expects(question)
        scored: list[ScoredSentence] = []
        for rank, passage in enumerate(passages[:_TOP_PARAGRAPHS]):
            for position, sentence in enumerate(split_sentences(passage.paragraph.text)):
                if len(sentence.split()) < _MIN_WORDS:
                    continue
                coverage = query.coverage(self.evidence.terms(sentence))
                score = coverage - _RANK_DECAY * rank
                if wanted is not None and wanted.search(normalize_arabic(sentence)):
                    score += _TYPE_BONUS
                scored.append(ScoredSentence(sentence, rank, position, score, coverage))
        return sorted(scored, key=lambda s: (-s.score, s.passage, s.position))

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        """Up to three of the best sentences, in reading order per paragraph, cited."""
        ranked = self.score(question, passages)
        if not ranked:
            return Draft(NOT_IN_SOURCES, [], "extractive")
        best = ranked[0].score
        chosen = [ranked[0]]
        for candidate in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if candidate.score >= best * _KEEP_RATIO and candidate.coverage > 0:
                chosen.append(candidate)
        # Read each paragraph's sentences in their own order; paragraphs by first use.
        order: list[int] = list(dict.fromkeys(s.passage for s in chosen))
        chosen.sort(key=lambda s: (order.index(s.passage), s.position))
        cited = [passages[i] for i in order]
        # Quoted text is data: a "[3]" inside it must not read as one of the markers added here.
        parts = [f"{quoted(s.text, MAX_QUOTE_CHARS)} [{order.index(s.passage) + 1}]" for s in chosen]
        return Draft(" ".join(parts), cited, "extractive")
