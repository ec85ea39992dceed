"""Answers as text for a terminal: the answer, then its numbered sources."""

from __future__ import annotations

from bot.qa.engine import Answer, Citation
from bot.qa.retrieval import Passage
from bot.qa.sources import also_carried, byline, short_label
from indexing.untrusted import printable, shown

RLM = "\u200f"  # keeps lines that start with [n], digits or Latin text right-to-left
_ASKED_CHARS = 80  # of a batch question shown above its answer


def source_line(c: Citation) -> str:
    """headline — outlet، date — URL; the file and paragraph stand in for a missing URL."""
    where = printable(c.url or "") or f"{printable(c.source)}، الفقرة {c.paragraph}"
    parts = [short_label(c), byline(c.outlet, c.published), where, also_carried(c.also_in)]
    return shown(f"{RLM}[{c.n}] " + " — ".join(filter(None, parts)))


def render_answer(answer: Answer) -> str:
    """Human-readable answer with numbered sources (headline — outlet، date — URL)."""
    lines = [RLM + shown(answer.text)]
    if answer.notice:
        lines.append(RLM + shown(answer.notice))
    if answer.citations:
        lines.append("")
        lines.append(RLM + "المصادر:")
        lines += [source_line(c) for c in answer.citations]
    return "\n".join(lines)


def render_asked(question: str, qid: object = None) -> str:
    """The line above a batch answer: what was asked (cut short when long), after its id."""
    question = " ".join(question.split())
    if len(question) > _ASKED_CHARS:
        question = question[:_ASKED_CHARS].rstrip() + "…"
    label = "" if qid is None else f"[{printable(str(qid))}] "
    return f"{RLM}؟ {label}{printable(question)}"


def render_unread(error: str, qid: object = None) -> str:
    """A batch line that could not be read, in its place (the reason as the JSON output gives it)."""
    label = "" if qid is None else f" [{printable(str(qid))}]"
    return f"{RLM}تعذّرت قراءة سطر من الدفعة{label}: {printable(error)}"


def render_sources(answer: Answer | None) -> str:
    """The whole cited paragraphs of an answer."""
    if answer is None or not answer.citations:
        return RLM + "لا توجد مصادر لآخر إجابة."
    blocks = []
    for c in answer.citations:
        blocks.append(
            f"{source_line(c)}\n{RLM}{printable(c.source)}، الفقرة {c.paragraph}\n{RLM}{shown(c.text)}"
        )
    return "\n\n".join(blocks)


def render_debug(passages: list[Passage]) -> str:
    """Retrieved paragraphs with their BM25, dense and fused scores."""
    if not passages:
        return RLM + "لا توجد فقرات مسترجعة: اسأل سؤالًا أولًا."
    rows = ["rank  fused   bm25   dense  source#paragraph  text"]
    for rank, p in enumerate(passages, 1):
        text = printable(p.paragraph.text[:60]) + ("…" if len(p.paragraph.text) > 60 else "")
        rows.append(
            f"{rank:>4}  {p.fused:+.2f}  {p.bm25:5.2f}  {p.dense:.3f}  "
            f"{printable(p.paragraph.source)}#{p.paragraph.number}  {RLM}{text}"
        )
    return "\n".join(rows)
