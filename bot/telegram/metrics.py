"""Prometheus metrics of the bot: what it answered, how fast, what failed, what readers said.

Each `Metrics` has its own `CollectorRegistry` rather than prometheus-client's global
one, so two bots in one process (the replica tests) keep separate counts, and importing
this module registers nothing. Label values come from small fixed sets (mode, outcome,
stage, reason); never a chat id or a question, which would make one series per reader.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from bot.qa.engine import Answer
    from indexing.pipeline import IndexReport

CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOMES = ("answered", "declined", "fallback", "error")
FALLBACK_REASONS = ("unavailable", "unverified")
# Seconds: an extractive answer takes tens of ms, an LLM one seconds, a retried send up to 30 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)


def fallback_reason(answer: Answer) -> str | None:
    """Why an LLM answer fell back to the extractive one, read from the notice it carries."""
    from bot.qa.generative import UNAVAILABLE_NOTICE, UNVERIFIED_NOTICE

    if answer.mode != "extractive" or not answer.notice:
        return None
    if UNAVAILABLE_NOTICE in answer.notice:
        return "unavailable"
    if UNVERIFIED_NOTICE in answer.notice:
        return "unverified"
    return None


def outcome(answer: Answer) -> str:
    """answered (with citations), declined (the sources do not answer), or fallback."""
    if fallback_reason(answer) is not None:
        return "fallback"
    return "answered" if answer.answered else "declined"


class Metrics:
    """Every metric the bot exports, in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.questions = Counter(
            "isnad_questions",
            "Questions handled, by answering mode (extractive, openai) and outcome"
            " (answered, declined, fallback, error).",
            ["mode", "outcome"],
            registry=r,
        )
        self.retrieve_seconds = Histogram(
            "isnad_retrieve_seconds", "Time to retrieve passages for a question.", buckets=LATENCY_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.answer_seconds = Histogram(
            "isnad_answer_seconds", "Time to compose the answer from the passages (extractive or LLM).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.send_seconds = Histogram(
            "isnad_telegram_send_seconds", "Time of one sendMessage attempt (each retry observed too).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.update_seconds = Histogram(
            "isnad_update_seconds", "Time from receiving an update to finishing with it (waits included).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.llm_fallbacks = Counter(
            "isnad_llm_fallbacks",
            "LLM answers replaced by the extractive one, by reason (unavailable: timeout, connection,"
            " 5xx, 429; unverified: the reply cited no source or leaked its instructions).",
            ["reason"],
            registry=r,
        )
        self.send_retries = Counter(
            "isnad_send_retries",
            "sendMessage attempts retried, by reason (network, timeout, retry_after).",
            ["reason"],
            registry=r,
        )
        self.send_failures = Counter(
            "isnad_send_failures", "Replies that could not be delivered after retrying.", registry=r
        )
        self.votes = Counter(
            "isnad_feedback_votes", "Feedback votes recorded, by vote.", ["vote"], registry=r
        )
        self.wrong_sources = Counter(
            "isnad_wrong_source_flags", "Citations flagged as a wrong source.", registry=r
        )
        self.paragraphs = Gauge(
            "isnad_paragraphs_indexed", "Paragraphs in the index being served.", registry=r
        )
        self.last_index = Gauge(
            "isnad_last_index_timestamp_seconds",
            "Unix time the index last finished building or refreshing in this process (0: not yet).",
            registry=r,
        )
        self.last_index_duration = Gauge(
            "isnad_last_index_duration_seconds", "How long that index run took.", registry=r
        )
        for mode in ("extractive", "openai"):  # series exist (at 0) before the first question
            for result in OUTCOMES:
                self.questions.labels(mode=mode, outcome=result)
        for reason in FALLBACK_REASONS:
            self.llm_fallbacks.labels(reason=reason)
        for vote in ("up", "down"):
            self.votes.labels(vote=vote)

    def answered(self, answer: Answer, llm: str) -> None:
        """Count one engine answer and its timings; `llm` is the configured mode (ISNAD_LLM)."""
        reason = fallback_reason(answer)
        self.questions.labels(mode=llm, outcome=outcome(answer)).inc()
        if reason is not None:
            self.llm_fallbacks.labels(reason=reason).inc()
        timings = answer.timings_ms
        if "retrieve" in timings:
            self.retrieve_seconds.observe(timings["retrieve"] / 1000)
        if "answer" in timings:
            self.answer_seconds.observe(timings["answer"] / 1000)

    def failed(self, llm: str) -> None:
        """A question the engine raised on."""
        self.questions.labels(mode=llm, outcome="error").inc()

    def voted(self, vote: int) -> None:
        """👍 (+1) or 👎 (-1) recorded."""
        self.votes.labels(vote="up" if vote > 0 else "down").inc()

    def indexed(self, report: IndexReport, finished_at: float | None = None) -> None:
        """An index or refresh run finished."""
        self.paragraphs.set(report.paragraphs)
        self.last_index.set(finished_at if finished_at is not None else time.time())
        self.last_index_duration.set(report.seconds)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
