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
from bot.qa.questionwords import CONJUNCTION_QUESTION
from indexing.arabic import normalize_arabic, strip_diacritics

_MAX_TURNS = 6
_MAX_CONVERSATIONS = 10_000
_FEW_CONTENT_TERMS = 1
_SHORT_QUESTION_WORDS = 6
_MAX_CARRIED_WORDS = 8
_ANSWER_WORDS = 3  # rarest words of the previous answer's lead carried into a follow-up
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
        return (
            len(content) <= _FEW_CONTENT_TERMS
            or CONJUNCTION_QUESTION.match(normalize_arabic(question)) is not None
            or (short and (_PRONOUN.search(plain) is not None or _DEMONSTRATIVE.search(plain) is not None))
        )

    def rewrite(self, question: str, history: list[Turn]) -> str:
        """The standalone form of question given the conversation so far.

        The topic comes from the previous turn: what its standalone question carried (or its
        own words), and when that question asked who or where, the rarest words of its
        answer's lead, so a follow-up whose subject only the answer named still finds it.
        """
        if not history or not self.is_follow_up(question):
            return question
        last = history[-1]
        carried_before = _CARRIED.search(last.standalone)
        previous = carried_before.group(1) if carried_before else last.standalone
        known = set(self.evidence.query(question).terms)
        carried: list[str] = []
        for word in previous.rstrip("؟?.! ").split():
            terms = set(self.evidence.query(word).terms)
            if terms and not terms <= known:
                carried.append(word.strip("؟?.!،"))
                known |= terms
        if question_type(last.standalone) in (AnswerType.PERSON, AnswerType.PLACE):
            # The previous answer named who or where; the follow-up may be about them.
            carried.extend(self._answer_words(last, known))
        if not carried:
            return question
        return f"{question.rstrip('؟?.! ')} ({' '.join(carried[:_MAX_CARRIED_WORDS])})؟"

    def _answer_words(self, turn: Turn, known: set[str]) -> list[str]:
        """The rarest content words of the previous answer's lead that the topic lacks."""
        if not turn.citations:
            return []
        lead = _MARKER.split(turn.answer, maxsplit=1)[0]
        words = list(dict.fromkeys(w.strip(_PUNCTUATION) for w in lead.split()))
        scored: dict[str, float] = {}
        for word in words:
            terms = set(self.evidence.query(word).terms)
            if terms and not terms <= known:
                scored[word] = max(self.evidence.idf(t) for t in terms)
        best = set(sorted(scored, key=lambda w: -scored[w])[:_ANSWER_WORDS])
        return [w for w in words if w in best]  # in reading order, so names stay whole
