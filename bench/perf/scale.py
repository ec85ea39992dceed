"""`python -m bench growth --sizes N[,N…] --json`: one JSON object per corpus size.

Each size is a fresh data dir: the 240 real XQuAD paragraphs (real vectors) plus
synthetic fillers (see `bench.perf.growth`), written through the real store, with the
fillers also written as corpus files so the indexing job can run over the result.
Per size it measures: warm `Engine.ask` over held-out questions (hybrid), and in the
same loop, rotating which goes first, the hybrid search without the second stage
(`HybridRetriever.fuse`) and llama-index's stock `VectorStoreIndex` retriever over the
same Chroma collection (dense only, same embedder), so both the search and the whole
question are stated as ratios to it; each retrieval step on its own; the index on disk; the
build; the first `Indexer.run` over the built corpus (nothing to change, but it reads
and plans every article once and writes the per-article manifest, as the first index
after an upgrade does); a refresh (`Indexer.run` with 100 new paragraphs: read,
plan the changed articles, embed with the default embedder, write, patch the caches);
and the peak RSS of a fresh process that builds the engine and answers three questions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import DEFAULT_CACHE
from bench.metrics import latency_summary
from bench.perf import growth
from bench.quality import answers
from bench.quality.xquad import Question

REFRESH = 100
# The order the timed calls run in, question by question (no side always first or last).
ROTATIONS = (("stock", "ask", "search"), ("ask", "search", "stock"), ("search", "stock", "ask"))


def parse_sizes(text: str) -> list[int]:
    """`10000,100000` -> [10000, 100000]."""
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def timed_ms(call: Callable[[str], Any], text: str) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    call(text)
    return (time.perf_counter() - started) * 1000


def timed_questions(
    engine: Any, stock: Any, questions: Sequence[Question]
) -> tuple[list[answers.AskRecord], list[float], list[float]]:
    """Each question asked, searched without the second stage, and put to the stock retriever."""
    records: list[answers.AskRecord] = []
    stock_ms: list[float] = []
    search_ms: list[float] = []
    runs: dict[str, Callable[[Question], None]] = {
        "stock": lambda q: stock_ms.append(timed_ms(stock.retriever.retrieve, q.text)),
        "ask": lambda q: records.append(answers.record(engine, q)),
        "search": lambda q: search_ms.append(timed_ms(engine.retriever.fuse, q.text)),
    }
    for i, q in enumerate(questions):  # each of the three goes first, second and third in turn
        for name in ROTATIONS[i % len(ROTATIONS)]:
            runs[name](q)
    return records, stock_ms, search_ms


def measure(
    size: int,
    cache: Path,
    pool: growth.SentencePool,
    vectors: np.ndarray,
    questions: Sequence[Question],
    breakdown_questions: int,
    keep: bool = False,
) -> dict[str, Any]:
    """Build a corpus of `size` paragraphs and measure it (see the module docstring)."""
    from bench.perf import speed
    from indexing.pipeline import build_indexer
    from indexing.store.table import ParagraphTable

    loadavg_start = os.getloadavg()[0]
    work = cache / "scale" / f"growth-{size}"
    shutil.rmtree(work, ignore_errors=True)
    data_dir, corpus_dir = work / "data", work / "corpus"
    real_table = ParagraphTable.load(cache / "xquad-data" / "table")
    real = real_table.paragraph_count if real_table is not None else 0
    stream = growth.iter_synthetic(pool)
    fillers = itertools.islice(stream, max(size - real, 0))

    started = time.perf_counter()
    build_times = growth.build_corpus(
        cache / "xquad-data", fillers, vectors, data_dir, True, corpus_dir, cache / "xquad-corpus", pool
    )
    build_s = time.perf_counter() - started
    print(f"  {size:,}: built in {build_s:.0f} s", file=sys.stderr, flush=True)
    paragraphs = max(size - real, 0) + real
    t = time.perf_counter()
    first = build_indexer(data_dir, progress=False).run(corpus_dir)
    first_index_s = time.perf_counter() - t
    print(f"  {size:,}: first index run {first_index_s:.0f} s", file=sys.stderr, flush=True)
    parts = ("chroma", "table", "lexical", "sources", "sentences")
    disk = {part: growth.disk_bytes(data_dir / part) for part in parts}
    disk["total"] = growth.disk_bytes(data_dir)

    asked = ask_figures(data_dir, questions, breakdown_questions)
    print(f"  {size:,}: {asked['questions']} questions asked", file=sys.stderr, flush=True)

    # Refresh: the next 100 paragraphs of the stream appear as corpus files.
    new = list(itertools.islice(stream, REFRESH))
    by_file: dict[str, list[Any]] = {}
    for p, _ in new:
        by_file.setdefault(p.source, []).append(p)
    for source, items in by_file.items():
        path = corpus_dir / source
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            if path.stat().st_size:
                handle.write("\n\n")
            handle.write(growth.corpus_text(items))
    t = time.perf_counter()
    report = build_indexer(data_dir, progress=False).run(corpus_dir)
    refresh_s = time.perf_counter() - t
    print(f"  {size:,}: refresh of {REFRESH} in {refresh_s:.1f} s", file=sys.stderr, flush=True)
    process = speed.engine_process(data_dir, [q.text for q in questions[:3]])
    out = {
        "paragraphs": paragraphs,
        "chunks": int(build_times["chunks"]),
        **asked,
        "bytes_per_paragraph": disk["total"] / paragraphs,
        "disk_bytes": disk,
        "build_s": build_s,
        "build": build_times,
        "first_index_s": first_index_s,
        "first_index": {k: v for k, v in first.as_dict().items() if k != "skipped"},
        "refresh_100_s": refresh_s,
        "refresh": {k: v for k, v in report.as_dict().items() if k != "skipped"},
        "rss_mb": process["max_rss_mb"],
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_1min": [loadavg_start, os.getloadavg()[0]],
    }
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return out


def ask_figures(data_dir: Path, questions: Sequence[Question], breakdown_questions: int) -> dict[str, Any]:
    """A fresh engine on `data_dir`: its build time, the timed questions beside the stock
    retriever, both ratios, recall and the per-step breakdown."""
    from bench.quality.systems import LlamaIndexStock
    from bot.qa.engine import build

    t = time.perf_counter()
    engine = build(data_dir)
    engine_build_s = time.perf_counter() - t
    stock = LlamaIndexStock(engine.retriever)
    engine.ask(questions[0].text)  # warm both
    stock.retriever.retrieve(questions[0].text)
    records, stock_ms, search_ms = timed_questions(engine, stock, questions)
    steps = growth.retrieval_breakdown(engine, questions[:breakdown_questions])
    del engine, stock
    latency = answers.latency(records)
    stock_summary = latency_summary(stock_ms)
    search = latency_summary(search_ms)
    ranks = [r.rank for r in records]
    return {
        "ask_p50_ms": latency["total"]["p50"],
        "ask_p95_ms": latency["total"]["p95"],
        "retrieve_p50_ms": latency["retrieve"]["p50"],
        "retrieve_p95_ms": latency["retrieve"]["p95"],
        "stock_retrieve_p50_ms": stock_summary["p50"],
        "stock_retrieve_p95_ms": stock_summary["p95"],
        "hybrid_to_stock_p50": latency["retrieve"]["p50"] / stock_summary["p50"],
        "hybrid_to_stock_p95": latency["retrieve"]["p95"] / stock_summary["p95"],
        # The two ratios the targets name: the hybrid search alone (BM25 + dense, fused; no
        # second stage) and the whole question (second stage and answer included), each ÷ stock.
        "search_p50_ms": search["p50"],
        "search_p95_ms": search["p95"],
        "search_to_stock_p50": search["p50"] / stock_summary["p50"],
        "search_to_stock_p95": search["p95"] / stock_summary["p95"],
        "ask_to_stock_p50": latency["total"]["p50"] / stock_summary["p50"],
        "ask_to_stock_p95": latency["total"]["p95"] / stock_summary["p95"],
        "engine_build_s": engine_build_s,
        "questions": len(records),
        "r1": sum(1 for r in ranks if r == 1) / len(ranks),
        "r5": sum(1 for r in ranks if 1 <= r <= 5) / len(ranks),
        "answered": sum(r.answered for r in records) / len(records),
        "latency_ms": latency,
        "steps": steps,
    }


# What a requery takes over from the run that built the data dir.
CARRIED = ("paragraphs", "chunks", "bytes_per_paragraph", "disk_bytes", "build_s", "build")
CARRIED += ("first_index_s", "first_index", "refresh_100_s", "refresh")


def requery(
    size: int, cache: Path, questions: Sequence[Question], breakdown_questions: int, base: dict[str, Any]
) -> dict[str, Any]:
    """The data dir an earlier `--keep` run of `size` left, asked again by this checkout's code.

    The question figures, the engine's build and its RSS are measured again; the corpus, its
    size on disk, the build and the refresh are the earlier run's (listed in `requery`, with
    the commit that built it). The dir holds the refresh's 100 paragraphs on top of `size`.
    """
    from bench.perf import speed

    data_dir = cache / "scale" / f"growth-{size}" / "data"
    if not data_dir.is_dir():
        raise SystemExit(f"bench growth: no kept data dir for {size:,} paragraphs at {data_dir}")
    loadavg_start = os.getloadavg()[0]
    asked = ask_figures(data_dir, questions, breakdown_questions)
    print(f"  {size:,}: {asked['questions']} questions asked again", file=sys.stderr, flush=True)
    process = speed.engine_process(data_dir, [q.text for q in questions[:3]])
    return {
        **{key: base[key] for key in CARRIED},
        **asked,
        "rss_mb": process["max_rss_mb"],
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_1min": [loadavg_start, os.getloadavg()[0]],
        "requery": {"built_by": base.get("commit"), "carried": list(CARRIED)},
    }


def checkout_commit() -> str | None:
    """The short commit of the code being measured (None outside a git checkout)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def main(argv: Sequence[str], prepare: Callable[[Path, Path, bool], tuple[Any, Any, Any]]) -> int:
    """Parse the growth flags, prepare XQuAD and the sentence pool, measure each size."""
    from bench.quality import xquad

    parser = argparse.ArgumentParser(prog="python -m bench growth", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[10_000, 100_000], help="e.g. 10000,100000")
    parser.add_argument("--json", action="store_true", help="one JSON object per size on stdout")
    parser.add_argument("--questions", type=int, default=200, help="held-out questions timed per size")
    parser.add_argument("--breakdown", type=int, default=50, help="questions for the per-step timings")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--xquad", type=Path, default=xquad.DEFAULT_XQUAD)
    parser.add_argument("--out", type=Path, help="also append each JSON object to this file")
    parser.add_argument("--keep", action="store_true", help="keep each size's data dir and corpus")
    parser.add_argument(
        "--requery",
        type=Path,
        metavar="JSONL",
        help="ask the data dirs an earlier --keep run left again (its lines in JSONL), without building",
    )
    parser.add_argument("--plot", type=Path, help="draw the growth plot (PNG) of the JSON lines in --out")
    parser.add_argument("--plot-only", action="store_true", help="draw --plot from --out only")
    args = parser.parse_args(list(argv))
    if args.plot_only:
        return plot(args.out, args.plot)
    earlier = last_per_size(args.requery) if args.requery and args.requery.is_file() else {}
    if args.requery and not set(args.sizes) <= set(earlier):
        print(f"bench growth: {args.requery} has no line for every size asked", file=sys.stderr)
        return 2
    if not args.xquad.is_file():
        print(f"bench: XQuAD-ar not found at {args.xquad} (use --xquad PATH)", file=sys.stderr)
        return 2
    cache = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    articles, questions, _ = prepare(args.xquad.resolve(), cache, sys.stderr.isatty())
    pool = growth.pool_for(articles)
    vectors = growth.sentence_vectors(pool, cache, progress=True)
    _, test = xquad.split(questions)
    timed = test[:: max(1, len(test) // args.questions)][: args.questions]
    for size in args.sizes:
        print(f"growth: {size:,} paragraphs", file=sys.stderr, flush=True)
        if args.requery:
            result = requery(size, cache, timed, args.breakdown, earlier[size])
        else:
            result = measure(size, cache, pool, vectors, timed, args.breakdown, args.keep)
        result["commit"] = checkout_commit()
        line = json.dumps(result, ensure_ascii=False)
        if args.out:
            with args.out.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        if args.json:
            print(line, flush=True)
        else:
            print(
                f"{result['paragraphs']:,} paragraphs: ask p50 {result['ask_p50_ms']:.1f} ms, "
                f"p95 {result['ask_p95_ms']:.1f} ms; {result['bytes_per_paragraph']:.0f} B/paragraph; "
                f"refresh {result['refresh_100_s']:.1f} s",
                flush=True,
            )
    if args.plot and args.out:
        plot(args.out, args.plot)
    return 0


def last_per_size(lines: Path) -> dict[int, dict[str, Any]]:
    """The JSON lines of a growth run's `--out` file, the last one of each size, by size."""
    by_size: dict[int, dict[str, Any]] = {}
    for line in lines.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_size[int(row["paragraphs"])] = row
    return by_size


def plot(lines: Path | None, path: Path | None) -> int:
    """The growth plot of a JSON-lines file (the last object per size counts)."""
    from bench import plots

    if lines is None or path is None or not lines.is_file():
        print("bench growth: --plot needs --out FILE.jsonl with measured sizes", file=sys.stderr)
        return 2
    by_size = last_per_size(lines)
    plots.growth_lines(list(by_size.values()), path, lines.stem)
    print(f"growth plot: {path}", file=sys.stderr)
    return 0
