"""Answer quality through Engine.ask, and abstention when the gold article is not indexed.

Abstention is tested fairly: the test indexes are copies of the XQuAD index with a
quarter of the articles taken out (vectors copied, nothing re-embedded), so the
remaining 36 articles still offer plausible distractors, and each question is asked of
the copy that lacks its own article.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.metrics import best_f1, contains_gold, latency_summary, rank_of, share
from bench.quality.systems import Location, locations
from bench.quality.xquad import Question
from bot.qa.engine import Answer, Engine, build
from indexing.store import lexical, table
from indexing.store.chroma import ParagraphStore, chroma_client

ABSTENTION_GROUPS = 4  # article % 4: groups 0 and 2 are dev articles, 1 and 3 held-out ones
_COPY_BATCH = 1000


@dataclass(frozen=True)
class AskRecord:
    """What one Engine.ask did for one question."""

    qid: str
    article: int
    answered: bool
    contains_gold: bool
    cites_gold: bool
    f1: float
    rank: int
    retrieve_ms: float
    answer_ms: float
    total_ms: float


def cited_locations(answer: Answer) -> list[frozenset[Location]]:
    """Places each citation points at, with the copies its paragraph has elsewhere."""
    known = {(p.paragraph.source, p.paragraph.number): locations(p.paragraph) for p in answer.retrieved}
    return [
        known.get((c.source, c.paragraph), frozenset({(c.source, c.paragraph)})) for c in answer.citations
    ]


def record(engine: Engine, q: Question) -> AskRecord:
    """Ask one question and score the answer against the gold paragraph and spans."""
    answer = engine.ask(q.text)
    gold = (q.source, q.paragraph)
    text = answer.text if answer.answered else ""
    return AskRecord(
        qid=q.qid,
        article=q.article,
        answered=answer.answered,
        contains_gold=answer.answered and contains_gold(text, q.answers),
        cites_gold=rank_of(gold, cited_locations(answer)) > 0,
        f1=best_f1(text, q.answers) if answer.answered else 0.0,
        rank=rank_of(gold, [locations(p.paragraph) for p in answer.retrieved]),
        retrieve_ms=answer.timings_ms.get("retrieve", 0.0),
        answer_ms=answer.timings_ms.get("answer", 0.0),
        total_ms=answer.timings_ms.get("total", 0.0),
    )


def ask_all(
    engine: Engine, questions: Sequence[Question], label: str, progress: bool = True
) -> list[AskRecord]:
    """Warm the engine up on one question, then ask every question once."""
    if questions:
        engine.ask(questions[0].text)
    out = []
    for i, q in enumerate(questions, 1):
        out.append(record(engine, q))
        if progress and i % 200 == 0:
            print(f"  {label}: {i}/{len(questions)}", file=sys.stderr)
    return out


def quality(records: Sequence[AskRecord]) -> dict[str, Any]:
    """Answer figures over a set of questions whose gold paragraph is indexed."""
    answered = [r for r in records if r.answered]
    return {
        "n": len(records),
        "answered": share([r.answered for r in records]),
        "contains_gold": share([r.contains_gold for r in records]),
        "cites_gold": share([r.cites_gold for r in records]),
        "f1": sum(r.f1 for r in records) / len(records) if records else 0.0,
        "contains_gold_when_answered": share([r.contains_gold for r in answered]),
        "cites_gold_when_answered": share([r.cites_gold for r in answered]),
        "f1_when_answered": sum(r.f1 for r in answered) / len(answered) if answered else 0.0,
    }


def misses(records: Sequence[AskRecord]) -> dict[str, Any]:
    """Why answers lack the gold span: declined, cited another paragraph, or quoted the wrong sentence."""
    lacking = [r for r in records if not r.contains_gold]
    return {
        "n": len(records),
        "without_gold": len(lacking),
        "declined": sum(1 for r in lacking if not r.answered),
        "gold_paragraph_not_cited": sum(1 for r in lacking if r.answered and not r.cites_gold),
        "gold_cited_span_not_quoted": sum(1 for r in lacking if r.answered and r.cites_gold),
        "gold_retrieved_first": sum(1 for r in records if r.rank == 1),
        "gold_retrieved_top10": sum(1 for r in records if r.rank > 0),
        "cites_gold_but_not_first": sum(1 for r in records if r.cites_gold and r.rank != 1),
        "gold_first_not_cited": sum(1 for r in records if r.rank == 1 and not r.cites_gold),
    }


def latency(records: Sequence[AskRecord]) -> dict[str, Any]:
    """Warm per-question time of retrieval, answer composition and the whole ask."""
    return {
        "retrieve": latency_summary([r.retrieve_ms for r in records]),
        "answer": latency_summary([r.answer_ms for r in records]),
        "total": latency_summary([r.total_ms for r in records]),
    }


def copy_without(source_dir: Path, target_dir: Path, removed: Iterable[str]) -> int:
    """Copy an index's chunks (vectors included) except those of the removed files."""
    removed = set(removed)
    source = ParagraphStore(chroma_client(source_dir))
    target = ParagraphStore(chroma_client(target_dir))
    copied = 0
    for ids, vectors, metas, _ in source.scan():
        keep = [i for i, meta in enumerate(metas) if str(meta["source"]) not in removed]
        for start in range(0, len(keep), _COPY_BATCH):
            rows = keep[start : start + _COPY_BATCH]
            target.add([ids[i] for i in rows], vectors[rows], [metas[i] for i in rows])
        copied += len(keep)
    rows_table, _ = table.load_or_build(target, target_dir / "table")
    lexical.load_or_build(rows_table, target_dir / "lexical")
    if (source_dir / "embedder.json").is_file():  # the copy's vectors are the source's embedder's
        shutil.copy2(source_dir / "embedder.json", target_dir / "embedder.json")
    if (source_dir / "sentences").is_dir():  # keyed by paragraph id: extra paragraphs cost nothing
        shutil.copytree(source_dir / "sentences", target_dir / "sentences", dirs_exist_ok=True)
    return copied


def abstention(
    data_dir: Path,
    questions: Sequence[Question],
    article_sources: Mapping[int, str],
    work_dir: Path,
    splits: Mapping[str, Sequence[Question]],
    progress: bool = True,
) -> dict[str, Any]:
    """Share of questions declined when their article is out of the index, per split."""
    declined: dict[str, bool] = {}
    records: list[AskRecord] = []
    for group in range(ABSTENTION_GROUPS):
        asked = [q for q in questions if q.article % ABSTENTION_GROUPS == group]
        if not asked:
            continue
        removed = {src for a, src in article_sources.items() if a % ABSTENTION_GROUPS == group}
        target = work_dir / f"without-group-{group}"
        copy_without(data_dir, target, removed)
        engine = build(target)
        group_records = ask_all(engine, asked, f"abstention group {group}", progress)
        records.extend(group_records)
        declined.update({r.qid: not r.answered for r in group_records})
    out: dict[str, Any] = {}
    for name, split in splits.items():
        flags = [declined[q.qid] for q in split if q.qid in declined]
        out[name] = {"n": len(flags), "declined": share(flags)}
    out["latency_ms"] = latency(records)
    return out
