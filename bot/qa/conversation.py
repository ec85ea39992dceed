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

from bot.qa.evidence import Evidence
from indexing.arabic import strip_diacritics

_MAX_TURNS = 6
_MAX_CONVERSATIONS = 10_000
_FEW_CONTENT_TERMS = 1
_SHORT_QUESTION_WORDS = 6
_MAX_CARRIED_WORDS = 8
# Pronoun suffixes ("اقترحه", "عنها", "قادتهم"), read before folding so that a
# ta marbuta (ة) is not mistaken for the pronoun ه; and demonstratives.
_PRONOUN = re.compile(r"\w{2,}(?:ه|ها|هم|هما|هن)(?=\s|$|[؟?.!،])")
_DEMONSTRATIVE = re.compile(r"(?<!\w)(?:هذا|هذه|ذلك|تلك|هؤلاء|ذاك|نفسه|نفسها|هناك)(?!\w)")
_CONJUNCTION_QUESTION = re.compile(r"^(?:و|ف)(?:ما|من|متى|كم|أين|اين|كيف|لماذا|هل|أي|اي|ماذا)(?!\w)")
_CARRIED = re.compile(r"\((.*)\)")


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
            or _CONJUNCTION_QUESTION.match(plain) is not None
            or (short and (_PRONOUN.search(plain) is not None or _DEMONSTRATIVE.search(plain) is not None))
        )

    def rewrite(self, question: str, history: list[Turn]) -> str:
        """The standalone form of question given the conversation so far."""
        if not history or not self.is_follow_up(question):
            return question
        # The topic is what the previous standalone question carried, else its own words.
        carried_before = _CARRIED.search(history[-1].standalone)
        previous = carried_before.group(1) if carried_before else history[-1].standalone
        known = set(self.evidence.query(question).terms)
        carried: list[str] = []
        for word in previous.rstrip("؟?.! ").split():
            terms = set(self.evidence.query(word).terms)
            if terms and not terms <= known:
                carried.append(word.strip("؟?.!،"))
                known |= terms
        if not carried:
            return question
        return f"{question.rstrip('؟?.! ')} ({' '.join(carried[:_MAX_CARRIED_WORDS])})؟"
