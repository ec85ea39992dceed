"""`python -m bench.quality`: every answer-quality figure of issue 10, for the dev and test halves.

Indexes XQuAD-ar once into the bench cache (incremental: a rerun embeds nothing), asks
every question through Engine.ask, and prints per split: R@1/R@5/MRR@10 of the engine's
ranking, whether the answer contains a gold span, whether the lead (the text before the
first [n]) does, the lead ≤ 250 characters and containing it, the median answer length,
whether the citations include the gold paragraph, and the share of answerable questions
declined. Out-of-corpus abstention is measured on four index copies, each without a quarter
of the articles (vectors copied, nothing embedded; see bench/quality/answers.py), and its curve is
the share declined on both sides at each confidence threshold.

`--dump FILE` writes one JSON line per question (answer, lead, ranks, abstention features)
for error analysis and for bench/quality/fit.py.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.metrics import contains_gold, mrr_at, rank_of, recall_at, share
from bench.quality.answers import cited_locations, copy_without
from bench.quality.systems import locations
from bench.quality.xquad import Question

LEAD_LIMIT = 250
ANSWER_LIMIT = 300
ABSTENTION_GROUPS = 4
_FIRST_MARKER = re.compile(r"\[\d+\]")


def lead_of(text: str) -> str:
    """The answer's first sentence: everything before its first [n] marker."""
    match = _FIRST_MARKER.search(text)
    return (text[: match.start()] if match else text).strip()


def record(engine: Any, q: Question, conversation: str | None = None) -> dict[str, Any]:
    """Ask one question; everything the figures need, as plain JSON."""
    answer = engine.ask(q.text, conversation)
    gold = (q.source, q.paragraph)
    text = answer.text if answer.answered else ""
    lead = lead_of(text)
    return {
        "qid": q.qid,
        "article": q.article,
        "question": q.text,
        "golds": list(q.answers),
        "answered": answer.answered,
        "answer": text,
        "lead": lead,
        "contains_gold": answer.answered and contains_gold(text, q.answers),
        "lead_contains_gold": answer.answered and contains_gold(lead, q.answers),
        "cites_gold": rank_of(gold, cited_locations(answer)) > 0,
        "rank": rank_of(gold, [locations(p.paragraph) for p in answer.retrieved]),
        "confidence": answer.confidence,
        "total_ms": answer.timings_ms.get("total", 0.0),
    }


def figures(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The issue's table for one set of answerable questions."""
    ranks = [r["rank"] for r in records]
    answered = [r for r in records if r["answered"]]
    lengths = [len(r["answer"]) for r in answered]
    return {
        "n": len(records),
        "r1": recall_at(ranks, 1),
        "r5": recall_at(ranks, 5),
        "mrr10": mrr_at(ranks, 10),
        "contains_gold": share([r["contains_gold"] for r in records]),
        "lead_contains_gold": share([r["lead_contains_gold"] for r in records]),
        "lead_short_contains_gold": share(
            [r["lead_contains_gold"] and len(r["lead"]) <= LEAD_LIMIT for r in records]
        ),
        "answer_short_contains_gold": share(
            [r["contains_gold"] and len(r["answer"]) <= ANSWER_LIMIT for r in records]
        ),
        "median_answer_chars": statistics.median(lengths) if lengths else 0.0,
        "median_lead_chars": statistics.median([len(r["lead"]) for r in answered]) if answered else 0.0,
        "cites_gold": share([r["cites_gold"] for r in records]),
        "answerable_declined": share([not r["answered"] for r in records]),
        "wrong_sentence": share([r["cites_gold"] and not r["contains_gold"] for r in records]),
        "gold_retrieved_not_cited": share(
            [r["answered"] and 1 <= r["rank"] <= 10 and not r["cites_gold"] for r in records]
        ),
        "total_ms_p50": statistics.median([r["total_ms"] for r in records]) if records else 0.0,
    }


def curve(answerable: Sequence[float | None], absent: Sequence[float | None]) -> list[dict[str, float]]:
    """Declined shares of answerable and out-of-corpus questions at a range of thresholds."""
    known = sorted({round(c, 2) for c in [*answerable, *absent] if c is not None})
    if not known:
        return []
    lo, hi = known[0], known[-1]
    steps = 20
    out = []
    for i in range(steps + 1):
        t = lo + (hi - lo) * i / steps
        out.append(
            {
                "threshold": round(t, 4),
                "answerable_declined": share([c is None or c < t for c in answerable]),
                "absent_declined": share([c is None or c < t for c in absent]),
            }
        )
    return out


class CachedQueries:
    """Query vectors kept across runs (bench/.cache/query-vectors-<embedder>.json), for the development loop.

    Only the figures are the same with it; timings then exclude the query embedding. The file
    is named by the embedder, so vectors of one are never read by another's index.
    """

    def __init__(self, embedder: Any, cache: Path) -> None:
        self.embedder = embedder
        self.path = cache / f"query-vectors-{embedder.model_name}.json"
        path = self.path
        self.vectors: dict[str, list[float]] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        )
        self.added = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.embedder, name)  # everything but the vectors is the real embedder's

    def get_query_embedding(self, query: str) -> list[float]:
        if query not in self.vectors:
            self.vectors[query] = self.embedder.get_query_embedding(query)
            self.added += 1
        return self.vectors[query]

    def save(self) -> None:
        if self.added:
            self.path.write_text(json.dumps(self.vectors), encoding="utf-8")
            self.added = 0


def cached(engine: Any, queries: CachedQueries | None) -> Any:
    """The engine with its retriever reading query vectors from the cache (when given)."""
    if queries is not None:
        engine.retriever.embedder = queries
    return engine


def prepare(xquad_path: Path, cache: Path) -> list[Question]:
    """XQuAD-ar corpus and index in the cache, up to date."""
    from bench.__main__ import prepare_xquad

    _, questions, info = prepare_xquad(xquad_path, cache, sys.stderr.isatty())
    print(f"index: {json.dumps(info['report'])}", file=sys.stderr)
    return questions


def index_copies(cache: Path, questions: Sequence[Question]) -> dict[int, Path]:
    """One index copy per article group, without that group's articles; rebuilt when the index changed."""
    from bench.quality.xquad import article_sources
    from indexing.store import snapshots
    from indexing.store.chroma import ParagraphStore, chroma_client

    fingerprint = ParagraphStore(chroma_client(cache / "xquad-data")).fingerprint()
    # The copies carry the embedder and sentence vectors too: a change of either makes new copies.
    sentences = snapshots.current(cache / "xquad-data" / "sentences")
    embedder = (cache / "xquad-data" / "embedder.json").read_text(encoding="utf-8").strip()
    fingerprint += f" {sentences.name if sentences else ''} {embedder}"
    sources = article_sources(list(questions))
    out: dict[int, Path] = {}
    for group in range(ABSTENTION_GROUPS):
        target = cache / "quality-copies" / f"without-group-{group}"
        stamp = target / "FINGERPRINT"
        if not stamp.exists() or stamp.read_text() != fingerprint:
            import shutil

            shutil.rmtree(target, ignore_errors=True)
            removed = {s for a, s in sources.items() if a % ABSTENTION_GROUPS == group}
            copy_without(cache / "xquad-data", target, removed)
            stamp.write_text(fingerprint)
        out[group] = target
    return out


def run(
    xquad_path: Path, cache: Path, stride: int = 1, dump: Path | None = None, reuse_queries: bool = False
) -> dict[str, Any]:
    """Every figure, per split, plus the abstention curve."""
    from bench.quality import xquad
    from bot.qa.engine import build

    questions = prepare(xquad_path, cache)
    asked = questions[::stride]
    dev, test = xquad.split(asked)
    started = time.perf_counter()
    engine = build(cache / "xquad-data")
    base_embedder = engine.retriever.embedder
    queries = CachedQueries(engine.retriever.embedder, cache) if reuse_queries else None
    cached(engine, queries)
    engine.ask(asked[0].text)
    records = [record(engine, q) for q in asked]
    print(f"answerable: {len(records)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    absent: list[dict[str, Any]] = []
    for group, path in index_copies(cache, questions).items():
        copy_engine = cached(build(path, embedder=base_embedder), queries)
        absent.extend(record(copy_engine, q) for q in asked if q.article % ABSTENTION_GROUPS == group)
    if queries is not None:
        queries.save()
    by_qid = {r["qid"]: r for r in absent}
    out: dict[str, Any] = {}
    for name, split in (("dev", dev), ("test", test)):
        ids = {q.qid for q in split}
        mine = [r for r in records if r["qid"] in ids]
        gone = [by_qid[q.qid] for q in split if q.qid in by_qid]
        out[name] = figures(mine)
        out[name]["absent_declined"] = share([not r["answered"] for r in gone])
        out[name]["abstention_curve"] = curve(
            [r["confidence"] for r in mine], [r["confidence"] for r in gone]
        )
    if dump is not None:
        with dump.open("w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps({**r, "absent": False}, ensure_ascii=False) + "\n")
            for r in absent:
                f.write(json.dumps({**r, "absent": True}, ensure_ascii=False) + "\n")
    return out


ROWS = (
    ("r1", "R@1", "f3"),
    ("r5", "R@5", "f3"),
    ("mrr10", "MRR@10", "f3"),
    ("cites_gold", "cites the gold paragraph", "f3"),
    ("contains_gold", "answer contains gold", "f3"),
    ("lead_contains_gold", "lead contains gold", "f3"),
    ("lead_short_contains_gold", f"lead ≤ {LEAD_LIMIT} chars and contains gold", "f3"),
    ("answer_short_contains_gold", f"answer ≤ {ANSWER_LIMIT} chars and contains gold", "f3"),
    ("median_answer_chars", "median answer (chars)", "int"),
    ("median_lead_chars", "median lead (chars)", "int"),
    ("answerable_declined", "answerable declined", "pct"),
    ("absent_declined", "out-of-corpus declined", "pct"),
    ("wrong_sentence", "gold cited, span not quoted", "pct"),
    ("gold_retrieved_not_cited", "gold in top 10, not cited", "pct"),
    ("total_ms_p50", "Engine.ask p50 (ms)", "f1"),
)


def table(results: dict[str, Any]) -> str:
    """Markdown table: one row per figure, dev and test columns."""
    fmt = {
        "f3": lambda x: f"{x:.3f}",
        "int": lambda x: f"{x:.0f}",
        "pct": lambda x: f"{100 * x:.1f}%",
        "f1": lambda x: f"{x:.1f}",
    }
    lines = ["| figure | dev | test |", "|---|---|---|"]
    for key, label, kind in ROWS:
        cells = [fmt[kind](results[s][key]) if key in results[s] else "—" for s in ("dev", "test")]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table (and the JSON with --json)."""
    from bench.__main__ import DEFAULT_CACHE
    from bench.quality.xquad import DEFAULT_XQUAD

    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD)
    parser.add_argument("--stride", type=int, default=1, help="ask every n-th question only")
    parser.add_argument("--dump", type=Path, help="write one JSON line per question here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--reuse-queries",
        action="store_true",
        help="keep query vectors in the cache between runs (figures only; timings then exclude embedding)",
    )
    args = parser.parse_args(argv)
    results = run(args.xquad.resolve(), args.cache_dir.resolve(), args.stride, args.dump, args.reuse_queries)
    print(table(results))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
