"""Conversation memory and the rewrite of follow-up questions into standalone ones.

Without a model, a follow-up ("ومن اقترحه؟") is recognised by its shape: it is short
in content words, or leans on a pronoun or demonstrative, or opens with a
conjunction. It is then completed with the content words of the conversation's
last standalone question, which is what both BM25 and the embedder need to find
the paragraph again. Memory is bounded per conversation and in number of
conversations (least recently used are forgotten first).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from bot.qa.answertypes import AnswerType, question_type
from bot.qa.evidence import Evidence
from bot.qa.questionwords import CONJUNCTION_QUESTION, standard_question_words
from indexing.arabic import normalize_arabic, strip_diacritics

_MAX_TURNS = 6
_MAX_CONVERSATIONS = 10_000
_FEW_CONTENT_TERMS = 1
_SHORT_QUESTION_WORDS = 6
_MAX_CARRIED_WORDS = 8
_ANSWER_WORDS = 3  # words of the previous answer's lead carried into a follow-up
# A name stands in apposition right after its title («الناطق باسم الكرملين ديميتري بيسكوف»,
# «في منطقة عفرين»): the content words this close after the previous question's words are
# the answer's person or place, before any other rare word of the lead.
_APPOSITION_WORDS = 3
# A question with this many content words of its own and nothing pointing back names its own
# topic even when it opens with a conjunction («وكم جنديا تركيا قتل في عملية غصن الزيتون؟»).
_OWN_TOPIC_TERMS = 5
# Pronoun suffixes ("اقترحه", "عنها", "قادتهم"), read before folding so that a
# ta marbuta (ة) is not mistaken for the pronoun ه; and demonstratives.
_PRONOUN = re.compile(r"\w{2,}(?:ه|ها|هم|هما|هن)(?=\s|$|[؟?.!،])")
_DEMONSTRATIVE = re.compile(r"(?<!\w)(?:هذا|هذه|ذلك|تلك|هؤلاء|ذاك|نفسه|نفسها|هناك)(?!\w)")
_CARRIED = re.compile(r"\((.*)\)")
_MARKER = re.compile(r"\[\d+\]")
_PUNCTUATION = '؟?.!،,«»"()[]:؛'


@dataclass
class Turn:
    """One question and what the engine answered."""

    question: str
    standalone: str
    answer: str
    citations: list[dict[str, object]] = field(default_factory=list)


class ConversationMemory:
    """Recent turns per conversation key, bounded and thread-safe."""

    def __init__(self, max_turns: int = _MAX_TURNS, max_conversations: int = _MAX_CONVERSATIONS) -> None:
        self.max_turns = max_turns
        self.max_conversations = max_conversations
        self._turns: OrderedDict[str, deque[Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, key: str) -> list[Turn]:
        """Turns of a conversation, oldest first."""
        with self._lock:
            turns = self._turns.get(key)
            if turns is None:
                return []
            self._turns.move_to_end(key)
            return list(turns)

    def add(self, key: str, turn: Turn) -> None:
        """Remember a turn, forgetting the oldest beyond the bounds."""
        with self._lock:
            turns = self._turns.setdefault(key, deque(maxlen=self.max_turns))
            turns.append(turn)
            self._turns.move_to_end(key)
            while len(self._turns) > self.max_conversations:
                self._turns.popitem(last=False)

    def reset(self, key: str) -> None:
        """Forget a conversation."""
        with self._lock:
            self._turns.pop(key, None)


class FollowUpRewriter:
    """Turns a follow-up into a question that stands on its own."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence

    def is_follow_up(self, question: str) -> bool:
        """Shape of a question that depends on an earlier turn."""
        plain = strip_diacritics(question)
        content = self.evidence.query(question).terms
        short = len(plain.split()) <= _SHORT_QUESTION_WORDS
        points_back = _PRONOUN.search(plain) is not None or _DEMONSTRATIVE.search(plain) is not None
        if len(content) >= _OWN_TOPIC_TERMS and not points_back:
            return False
        return (
            len(content) <= _FEW_CONTENT_TERMS
            or CONJUNCTION_QUESTION.match(normalize_arabic(question)) is not None
            or (short and points_back)
        )

    def rewrite(self, question: str, history: list[Turn]) -> str:
        """The standalone form of question given the conversation so far.

        The topic comes from the previous turn: its own words, then what it carried when it was
        a follow-up itself («ومتى كان ذلك؟» after «وعلى ماذا تفاوض في دمشق؟» is about the
        negotiation, not only about the smuggler before it), and when that question asked who
        or where, the person or place its answer's lead named, so a follow-up whose subject
        only the answer named still finds it.
        """
        if not history or not self.is_follow_up(question):
            return question
        last = history[-1]
        carried_before = _CARRIED.search(last.standalone)
        previous = f"{last.question} {carried_before.group(1)}" if carried_before else last.standalone
        # Spoken question words (وين، مين، شو) are shape, not topic: not carried.
        previous = standard_question_words(previous)
        known = set(self.evidence.query(question).terms)
        carried: list[str] = []
        for word in previous.rstrip("؟?.! ").split():
            terms = set(self.evidence.query(word).terms)
            if terms and not terms <= known:
                carried.append(word.strip("؟?.!،"))
                known |= terms
        if question_type(standard_question_words(last.standalone)) in (AnswerType.PERSON, AnswerType.PLACE):
            # The previous answer named who or where; the follow-up may be about them.
            carried.extend(self._answer_words(last, known))
        if not carried:
            return question
        return f"{question.rstrip('؟?.! ')} ({' '.join(carried[:_MAX_CARRIED_WORDS])})؟"

    def _answer_words(self, turn: Turn, known: set[str]) -> list[str]:
        """The person or place the previous answer's lead named: the content words that stand
        right after the previous question's own words (a name after its title), then the
        rarest ones; only words the topic lacks.

        Rarity alone picks the words a paragraph uses once («كلمة», «يحضرون») over the name
        the article keeps repeating («إيجلاند»), which is the one the follow-up is about.
        """
        if not turn.citations:
            return []
        lead = _MARKER.split(turn.answer, maxsplit=1)[0]
        asked = set(self.evidence.query(turn.standalone).terms)
        scored: dict[str, tuple[bool, float]] = {}
        since_asked = _APPOSITION_WORDS  # content words read since the last word of the question
        lead_words = [w.strip(_PUNCTUATION) for w in lead.split()]
        for word in lead_words:
            terms = set(self.evidence.query(word).terms)
            if not terms:
                continue
            if terms & asked:
                since_asked = 0
                continue
            since_asked += 1
            if terms <= known:
                continue
            score = (since_asked <= _APPOSITION_WORDS, max(self.evidence.idf(t) for t in terms))
            scored[word] = max(score, scored.get(word, score))
        best = set(sorted(scored, key=lambda w: scored[w], reverse=True)[:_ANSWER_WORDS])
        return [w for w in dict.fromkeys(lead_words) if w in best]  # in reading order, so names stay whole
