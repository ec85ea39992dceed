"""What the bot must not forget, as a protocol; implementations import this module, never the reverse.

`BotState` is everything the handlers keep between updates: conversation turns (through the
`ConversationMemory` it hands out), answers with their cited paragraph ids, which sent
message carried which answer, votes and wrong-source flags. One implementation serves it
(`sqlstate.SqlState`) on two databases: a SQLite file in the data dir (`store.BotStore`) for
one process, or PostgreSQL (`pgstore.PostgresStore`, picked by `ISNAD_STATE_URL`) that several
bot replicas behind a load balancer share, so any replica can continue a conversation begun
on another. Every method is synchronous and thread-safe: the handlers call them from worker
threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Answer


@dataclass(frozen=True)
class StoredCitation:
    """A cited paragraph as recorded with an answer, with the index's paragraph id."""

    n: int
    paragraph_id: str
    source: str
    paragraph: int
    title: str
    text: str


@dataclass(frozen=True)
class StoredAnswer:
    """An answer the bot sent: what feedback buttons and /sources refer to."""

    id: int
    chat_id: int
    conversation: str
    question: str
    text: str
    answered: bool
    citations: tuple[StoredCitation, ...]


@dataclass(frozen=True)
class Stats:
    """Usage and feedback counts for /stats."""

    chats: int
    conversations: int
    answers: int
    answered: int
    up: int
    down: int
    wrong_sources: int
    flagged: tuple[tuple[str, int, int], ...]  # (source, paragraph, flags), most flagged first
    slowest_seconds: float


class BotState(Protocol):
    """The bot's durable state; each write is one transaction."""

    def memory(
        self, max_turns: int | None = None, max_conversations: int | None = None
    ) -> ConversationMemory:
        """The conversation memory kept in this store, bounded like the in-memory one."""
        ...

    def record_answer(
        self, chat_id: int, user_id: int | None, conversation: str, answer: Answer, seconds: float
    ) -> int:
        """Keep an answer and its citations (with paragraph ids); returns its id."""
        ...

    def link_messages(self, chat_id: int, message_ids: list[int], answer_id: int, conversation: str) -> None:
        """Remember which answer (and conversation) each sent message belongs to."""
        ...

    def conversation_of(self, chat_id: int, message_id: int) -> str | None:
        """The conversation a bot message belongs to, if it carried an answer."""
        ...

    def answer_of_message(self, chat_id: int, message_id: int) -> StoredAnswer | None:
        """The answer a bot message carried."""
        ...

    def last_answer(self, chat_id: int) -> StoredAnswer | None:
        """The chat's most recent answer."""
        ...

    def answer(self, answer_id: int) -> StoredAnswer | None:
        """One recorded answer with its citations."""
        ...

    def vote(self, answer_id: int, user_id: int, vote: int) -> bool:
        """Record 👍 (+1) or 👎 (-1), replacing the user's earlier vote; False if no such answer."""
        ...

    def wrong_source(self, answer_id: int, n: int, user_id: int) -> str | None:
        """Flag citation n of an answer as a wrong source; returns the paragraph id flagged."""
        ...

    def feedback_by_paragraph(self) -> dict[str, tuple[int, int, int]]:
        """Paragraph id -> (👍 on answers citing it, 👎 on answers citing it, wrong-source flags)."""
        ...

    def stats(self, top: int = 5) -> Stats:
        """Counts for the admins."""
        ...

    def reset_chat(self, chat_key: str) -> None:
        """Forget a chat's conversation and, in a group, every thread under it."""
        ...

    def close(self) -> None:
        """Release files or connections; safe to call twice."""
        ...


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by ***, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
