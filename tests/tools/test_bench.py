"""The benchmark's measuring sticks on tiny inputs: ranks, recall, MRR, Arabic F1, percentiles."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import metrics, report, targets
from bench.perf import growth, load
from bench.perf.fake_bot_api import FakeBotAPI
from bench.stages import Run
from indexing.paragraphs import parse_paragraphs
from tests.conftest import PROJECT_ROOT


def committed_run() -> dict[str, Any]:
    """The results tree of the full run committed in bench/results/ (2026-11-21)."""
    tree: dict[str, Any] = json.loads(
        (PROJECT_ROOT / "bench" / "results" / "2026-11-21-vm-2cpu.json").read_text()
    )
    return tree


# Every `python -m bench…` command bench/README.md documents, without its arguments.
README = (PROJECT_ROOT / "bench" / "README.md").read_text()
DOCUMENTED = sorted(set(re.findall(r"^python -m (bench(?:\.\w+)*(?: growth)?)", README, re.M)))


def test_rank_finds_gold_among_the_places_a_hit_occurs() -> None:
    hits = [frozenset({("a.txt", 2)}), frozenset({("b.txt", 3), ("c.txt", 5)}), frozenset({("d.txt", 2)})]
    assert metrics.rank_of(("a.txt", 2), hits) == 1
    assert metrics.rank_of(("c.txt", 5), hits) == 2  # a deduplicated copy still counts
    assert metrics.rank_of(("z.txt", 1), hits) == 0
    assert metrics.rank_of(("a.txt", 2), []) == 0


def test_recall_and_mrr_count_only_ranks_within_k() -> None:
    ranks = [1, 2, 5, 0, 11]
    assert metrics.recall_at(ranks, 1) == pytest.approx(1 / 5)
    assert metrics.recall_at(ranks, 5) == pytest.approx(3 / 5)
    assert metrics.recall_at(ranks, 10) == pytest.approx(3 / 5)
    assert metrics.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 2 + 1 / 5) / 5)
    assert metrics.mrr_at(ranks, 1) == pytest.approx(1 / 5)
    assert metrics.recall_at([], 5) == 0.0
    assert metrics.mrr_at([], 10) == 0.0


def test_token_f1_ignores_diacritics_tatweel_markers_and_the_article() -> None:
    assert metrics.token_f1("القاهرة", "قاهرة") == 1.0
    assert metrics.token_f1("مُحَمَّدٌ", "محمد") == 1.0
    assert metrics.token_f1("الجـــامعة [1]", "جامعة") == 1.0
    assert metrics.token_f1("والكتاب", "كتاب") == 1.0
    assert metrics.token_f1("أحمد", "احمد") == 1.0  # hamza seat folded
    assert metrics.token_f1("", "") == 1.0
    assert metrics.token_f1("شيء", "") == 0.0
    assert metrics.token_f1("مدينة بعيدة", "قرية") == 0.0


def test_token_f1_is_the_squad_harmonic_mean() -> None:
    # prediction: 4 tokens, gold: 2 tokens, 2 shared -> precision 0.5, recall 1.0
    f1 = metrics.token_f1("فاز الفريق عام 2016", "عام 2016")
    assert f1 == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert metrics.best_f1("فاز الفريق عام 2016", ["لا شيء", "عام 2016"]) == pytest.approx(f1)
    assert metrics.best_f1("نص", []) == 0.0


def test_contains_gold_matches_whole_normalised_words() -> None:
    answer = "بلغ عدد السكان ١٠٠ ألف نسمة عام 2010 [1]، حسب الإحصاء [2]."
    assert metrics.contains_gold(answer, ["100 الف"])  # digits and hamza folded
    assert metrics.contains_gold(answer, ["عام 2010"])
    assert not metrics.contains_gold(answer, ["10"])  # not a part of 100 or 2010
    assert not metrics.contains_gold(answer, ["1"])  # a citation marker is not text
    assert not metrics.contains_gold(answer, [""])
    assert metrics.contains_gold("الإحصاء", ["الاحصاء"])


def test_percentile_agrees_with_numpy_linear() -> None:
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    for q in (0, 10, 50, 95, 100):
        assert metrics.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert metrics.percentile([4.0], 95) == 4.0
    assert math.isnan(metrics.percentile([], 50))
    with pytest.raises(ValueError):
        metrics.percentile(values, 101)


def test_latency_summary_reports_p50_p95_max() -> None:
    summary = metrics.latency_summary([float(x) for x in range(1, 101)])
    assert summary["n"] == 100
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p95"] == pytest.approx(95.05)
    assert summary["max"] == 100.0
    assert metrics.latency_summary([])["n"] == 0


def test_targets_say_pass_or_miss_and_by_how_much() -> None:
    results = committed_run()  # a whole results tree, its figures then set for the test
    results["retrieval"]["isnad_hybrid"]["test"].update(r1=0.93, r5=1.0)
    results["answers"]["quality"]["test"].update(contains_gold=0.95, cites_gold=0.9)
    results["growth"]["sizes"] = {"1000": results["growth"]["sizes"]["1000"]}
    results["growth"]["sizes"]["1000"]["latency_ms"]["total"].update(p50=20.0, p95=150.0)
    results["speed"]["throughput"]["overhead"] = 0.05
    results["speed"]["engine_process"]["max_rss_mb"] = 500.0
    for absent in ("bot_process", "reindex"):
        del results["speed"][absent]
    del results["growth_reruns"]
    verdicts = {v.name: v for v in targets.check(results)}
    assert verdicts["XQuAD-ar R@1"].passed is False
    assert verdicts["XQuAD-ar R@1"].margin == pytest.approx(-0.02)
    assert verdicts["XQuAD-ar R@5"].passed is True
    assert verdicts["warm question p50"].passed is True
    assert verdicts["warm question p95"].margin == pytest.approx(-50.0)
    assert verdicts["indexing overhead over the raw embedder"].passed is True
    assert verdicts["bot RSS"].passed is False
    assert verdicts["re-index of unchanged seeds"].passed is None  # not measured in this run
    assert verdicts["event-loop lag, 50 chats at once"].value is None  # nor in that older run
    assert not [name for name in verdicts if name.startswith("warm question p50 (")]  # no rerun, no rows


def test_synthetic_corpus_is_reproducible_and_grows_by_prefix() -> None:
    pool = growth.build_pool(
        [
            "ذهب الولد إلى المدرسة صباح اليوم. ثم عاد إلى البيت بعد الظهر مع أخيه الصغير. "
            "كانت السماء صافية والطقس جميلا جدا.",
            "أعلنت الحكومة خطة جديدة للنقل العام في المدينة. وقال الوزير إن الخطة تبدأ الشهر المقبل.",
            "قصير.",
        ],
        ["عنوان أول", "عنوان ثان", ""],
    )
    assert len(pool.sentences) == 5  # the one-word sentence is too short to mix
    assert pool.titles == ("عنوان أول", "عنوان ثان")
    small = growth.synthetic_paragraphs(pool, 6, seed=7)
    large = growth.synthetic_paragraphs(pool, 9, seed=7)
    assert [p.text for p, _ in small] == [p.text for p, _ in large[:6]]
    assert len({p.text for p, _ in large}) == 9
    assert all(2 <= len(picks) <= 4 for _, picks in large)
    assert {(p.source, p.number) for p, _ in large} == {
        (f"synthetic/{i // growth.PARAGRAPHS_PER_FILE:05d}.txt", 2 * (i % growth.PARAGRAPHS_PER_FILE) + 2)
        for i in range(9)
    }
    # Written as corpus files, the mixes parse back into exactly these paragraphs.
    text = growth.corpus_text([p for p, _ in large])
    assert parse_paragraphs(large[0][0].source, text) == [p for p, _ in large]


def test_composed_vector_is_a_unit_mean_of_its_sentences() -> None:
    vectors = np.eye(4, dtype=np.float32)
    composed = np.asarray(growth.composed_vector(vectors, [0, 1]))
    assert np.linalg.norm(composed) == pytest.approx(1.0)
    assert composed == pytest.approx(np.array([1, 1, 0, 0]) / math.sqrt(2))


def test_fake_bot_api_serves_questions_and_records_replies() -> None:
    with FakeBotAPI(["سؤال؟"]) as api:

        def call(method: str, params: dict[str, object]) -> object:
            request = urllib.request.Request(
                f"{api.base_url}TOKEN/{method}",
                data=json.dumps(params).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())["result"]

        updates = call("getUpdates", {"offset": 0, "timeout": 0})
        assert isinstance(updates, list)
        assert updates[0]["message"]["text"] == "سؤال؟"
        assert call("getUpdates", {"offset": 2, "timeout": 0}) == []
        sent = call("sendMessage", {"chat_id": 4242, "text": "جواب [1]"})
        assert isinstance(sent, dict)
        assert sent["text"] == "جواب [1]"
        assert call("setMyCommands", {}) is True
        assert [(r.chat_id, r.text) for r in api.replies()] == [(4242, "جواب [1]")]
        assert api.served_at is not None


def test_fake_bot_api_serves_each_question_from_its_own_chat() -> None:
    with FakeBotAPI([(7, "أ؟"), (8, "ب؟")]) as api:
        updates = api._call("getUpdates", {"offset": 0})
        assert [(u["message"]["chat"]["id"], u["message"]["from"]["id"]) for u in updates] == [(7, 7), (8, 8)]
        api._call("sendMessage", {"chat_id": 8, "text": "ج"})
        assert [(r.chat_id, r.method, r.text) for r in api.replies()] == [(8, "sendMessage", "ج")]


def test_load_run_sends_every_chat_each_question_once_first_questions_first() -> None:
    sent = load.messages(4)
    assert len(sent) == 4 * len(load.MARKERS)
    for chat in {c for c, _ in sent}:
        assert sorted(q for c, q in sent if c == chat) == sorted(load.MARKERS)
    assert len({c for c, _ in sent[:4]}) == 4  # every chat's first question before anyone's second
    assert len({q for _, q in sent[:4]}) > 1  # and not all the same question


def test_the_documented_bench_commands_are_found() -> None:
    assert {"bench", "bench growth", "bench.quality", "bench.fit", "bench.embed"} <= set(DOCUMENTED)


@pytest.mark.parametrize("command", DOCUMENTED)
def test_a_documented_bench_command_starts(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command.split(), "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {command}")


def test_the_report_renders_a_committed_full_run_from_typed_records() -> None:
    results = committed_run()
    run = Run.of(results)
    assert run.retrieval["isnad_hybrid"].test.n == run.answers.quality["test"].n > 0
    assert run.growth is not None and [g.paragraphs for g in run.growth.by_size()] == [1_000, 10_000, 100_000]
    assert run.speed.load is None and run.answer_shape is None  # stages this older run did not have
    text = report.render(results, targets.check(results), {})
    assert text.startswith(f"# isnad benchmark — {run.meta.date}")
    for heading in ("## Headline", "## 1. Retrieval quality", "## 3. Speed and cost", "## 4. Growth"):
        assert heading in text
    assert f"| {run.growth.by_size()[-1].paragraphs:,} |" in text


def test_standalone_growth_lines_join_the_report_last_run_per_size(tmp_path: Path) -> None:
    from bench.__main__ import growth_lines

    committed = sorted((PROJECT_ROOT / "bench" / "results").glob("*-growth-s4.jsonl"))[-1]
    rows = [json.loads(line) for line in committed.read_text(encoding="utf-8").splitlines() if line.strip()]
    later = dict(rows[-1], paragraphs=1_000_000, chunks=1_182_000, ask_p50_ms=33.3, commit="abc1234")
    asked_again = dict(later, ask_p50_ms=30.0, commit="def5678", requery={"built_by": "abc1234"})
    extra = tmp_path / "one-million.jsonl"
    extra.write_text(json.dumps(later) + "\n" + json.dumps(asked_again) + "\n", encoding="utf-8")
    results = committed_run()
    results["growth_lines"] = growth_lines([committed, extra])
    sizes = [r["paragraphs"] for r in results["growth_lines"]["rows"]]
    assert sizes == [10_000, 100_000, 1_000_000]  # each size once, in order
    last_100k = [r for r in rows if r["paragraphs"] == 100_000][-1]
    assert results["growth_lines"]["rows"][1] == last_100k
    text = report.render(results, targets.check(results), {"growth_lines": "lines.png"})
    section = text[text.index("## 4b.") : text.index("## Closing note")]
    assert "`one-million.jsonl`" in section and "](lines.png)" in section
    assert "| 1,000,000 | 1,182,000 | def5678 (dir, build and refresh: abc1234) |" in section
    assert f"{30.0 / later['stock_retrieve_p50_ms']:.2f}" in section  # ask ÷ stock, from the same row


def test_a_growth_requery_needs_a_line_of_every_size(tmp_path: Path) -> None:
    lines = tmp_path / "earlier.jsonl"
    lines.write_text(json.dumps({"paragraphs": 1_000}) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "growth", "--sizes", "1000,10000", "--requery", str(lines)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "has no line for every size asked" in done.stderr and "Traceback" not in done.stderr


def test_every_native_question_has_its_gold_in_its_seed_article() -> None:
    from bench import SEEDS
    from bench.quality import native

    answerable, absent = native.load()
    assert len(answerable) >= 40 and len(absent) >= 10
    for item in answerable:
        lines = (SEEDS / item["source"]).read_text(encoding="utf-8").splitlines()
        assert any(metrics.contains_gold(line, item["golds"]) for line in lines), item["question"]
    assert len({item["question"] for item in answerable} | set(absent)) == len(answerable) + len(absent)


def test_every_seeds_conversation_turn_has_its_gold_in_its_seed_articles() -> None:
    from bench import SEEDS
    from bench.quality import native

    conversations = json.loads(native.CONVERSATIONS.read_text(encoding="utf-8"))["conversations"]
    assert len(conversations) >= 15
    for conversation in conversations:
        assert 2 <= len(conversation["turns"]) <= 4 and not conversation["turns"][0].get("new_topic")
        for turn in conversation["turns"]:
            lines = [
                line for s in turn["sources"] for line in (SEEDS / s).read_text(encoding="utf-8").splitlines()
            ]
            assert any(metrics.contains_gold(line, turn["golds"]) for line in lines), turn["question"]
    assert any(t.get("new_topic") for c in conversations for t in c["turns"])


def test_the_report_shows_the_seeds_conversations_beside_the_native_questions() -> None:
    results = committed_run()
    news: dict[str, Any] = {
        "n": 42,
        "answered": 1.0,
        "contains_gold": 0.9,
        "lead_contains_gold": 0.88,
        "lead_short_contains_gold": 0.8,
        "first_citation_right_article": 0.97,
        "median_answer_chars": 208.0,
        "absent": 12,
        "absent_declined": 1.0,
        "misses": [],
    }
    results["native_news"] = news
    assert "Conversations about the seeds" not in report.render(results, targets.check(results), {})
    news["conversations"] = {
        "conversations": 18,
        "turns": 52,
        "follow_ups": 30,
        "follow_up_answered": 1.0,
        "follow_up_contains_gold": 0.9,
        "follow_up_right_article": 0.933,
        "turns_contain_gold": 0.923,
        "new_topics": 4,
        "new_topic_left_alone": 1.0,
        "new_topic_contains_gold": 0.75,
        "misses": [
            {
                "question": "ومن قال ذلك؟",
                "standalone": "ومن قال ذلك (المراسلات)؟",
                "golds": ["الحريري"],
                "kind": "follow_up",
                "answer": "…",
            }
        ],
    }
    run = Run.of(results)
    assert run.native_news is not None and run.native_news.conversations is not None
    text = report.render(results, targets.check(results), {})
    assert "Conversations about the seeds" in text and "| 18 (52 turns) | 30 |" in text
    assert "- follow_up: «ومن قال ذلك (المراسلات)؟» (gold «الحريري»)" in text
