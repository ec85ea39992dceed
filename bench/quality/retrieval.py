"""Retrieval quality: each system's rank of the gold paragraph for every XQuAD question."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.metrics import latency_summary, mrr_at, rank_of, recall_at
from bench.quality.systems import System
from bench.quality.xquad import Question

DEPTH = 10  # every system returns its top 10; R@k for k <= 10 and MRR@10 come from that list


@dataclass
class SystemRun:
    """One system over a question set: gold rank per question and time per search."""

    key: str
    label: str
    ranks: dict[str, int] = field(default_factory=dict)
    latency_ms: list[float] = field(default_factory=list)


def run_system(system: System, questions: Sequence[Question], progress: bool = True) -> SystemRun:
    """Search every question and record where the gold paragraph came."""
    run = SystemRun(system.key, system.label)
    system.search(questions[0].text, DEPTH)  # first call pays one-off costs (model warm-up)
    for i, q in enumerate(questions, 1):
        started = time.perf_counter()
        hits = system.search(q.text, DEPTH)
        run.latency_ms.append((time.perf_counter() - started) * 1000)
        run.ranks[q.qid] = rank_of((q.source, q.paragraph), hits)
        if progress and i % 200 == 0:
            print(f"  {system.key}: {i}/{len(questions)}", file=sys.stderr)
    return run


def scores(ranks: Sequence[int]) -> dict[str, Any]:
    """R@1, R@5, MRR@10 and the whole recall@k curve (k = 1..10)."""
    return {
        "n": len(ranks),
        "r1": recall_at(ranks, 1),
        "r5": recall_at(ranks, 5),
        "mrr10": mrr_at(ranks, DEPTH),
        "recall_curve": [recall_at(ranks, k) for k in range(1, DEPTH + 1)],
    }


def summarise(run: SystemRun, splits: Mapping[str, Sequence[Question]]) -> dict[str, Any]:
    """Scores per split plus search latency over all questions."""
    out: dict[str, Any] = {"label": run.label}
    for name, questions in splits.items():
        out[name] = scores([run.ranks[q.qid] for q in questions if q.qid in run.ranks])
    out["latency_ms"] = latency_summary(run.latency_ms)
    return out
