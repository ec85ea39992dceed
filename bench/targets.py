"""The issue's targets, checked against a run's figures: PASS or MISS, and by how much."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """One target and what the run measured for it."""

    name: str
    measured_on: str
    target: float
    value: float | None
    higher_is_better: bool
    unit: str = ""

    @property
    def passed(self) -> bool | None:
        """None when the figure was not measured in this run."""
        if self.value is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def margin(self) -> float | None:
        """How far past the target (positive) or short of it (negative), in the figure's unit."""
        if self.value is None:
            return None
        return self.value - self.target if self.higher_is_better else self.target - self.value

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the verdict."""
        out = asdict(self)
        out["passed"] = self.passed
        out["margin"] = self.margin
        return out


def _get(tree: dict[str, Any], *path: str) -> float | None:
    node: Any = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) else None


def check(results: dict[str, Any]) -> list[Verdict]:
    """Every target of issue 5 against this run (held-out test half for quality)."""
    growth = results.get("growth", {}).get("sizes", {})
    largest = max(growth, key=int) if growth else None
    at = f"{int(largest):,} paragraphs" if largest else "not measured"
    speed = results.get("speed", {})
    measured_bot = bool(speed.get("bot_measured"))
    bot_label = (
        "`isnad bot`, fake Bot API, 3 questions" if measured_bot else "engine process as the bot builds it"
    )
    bot_rss = _get(speed, "bot_process" if measured_bot else "engine_process", "max_rss_mb")
    return (
        [
            Verdict(
                "XQuAD-ar R@1",
                "isnad hybrid, test half",
                0.95,
                _get(results, "retrieval", "isnad_hybrid", "test", "r1"),
                True,
            ),
            Verdict(
                "XQuAD-ar R@5",
                "isnad hybrid, test half",
                0.995,
                _get(results, "retrieval", "isnad_hybrid", "test", "r5"),
                True,
            ),
            Verdict(
                "answer contains gold",
                "Engine.ask, test half",
                0.90,
                _get(results, "answers", "quality", "test", "contains_gold"),
                True,
            ),
            Verdict(
                "citation includes gold paragraph",
                "Engine.ask, test half",
                0.97,
                _get(results, "answers", "quality", "test", "cites_gold"),
                True,
            ),
            Verdict(
                "warm question p50",
                f"Engine.ask total at {at}",
                30.0,
                _get(growth, str(largest), "latency_ms", "total", "p50") if largest else None,
                False,
                "ms",
            ),
            Verdict(
                "warm question p95",
                f"Engine.ask total at {at}",
                100.0,
                _get(growth, str(largest), "latency_ms", "total", "p95") if largest else None,
                False,
                "ms",
            ),
            Verdict(
                "indexing overhead over the raw embedder",
                "isnad index job vs its embedder alone, same texts",
                0.10,
                _get(speed, "throughput", "overhead"),
                False,
                "ratio",
            ),
            Verdict(
                "re-index of unchanged seeds",
                "`isnad index` wall time, median",
                2.0,
                _get(speed, "reindex", "wall_seconds_median"),
                False,
                "s",
            ),
            Verdict("bot RSS", bot_label, 400.0, bot_rss, False, "MB"),
            Verdict(
                "event-loop lag, 50 chats at once",
                "`isnad bot` with a heartbeat, fake Bot API (bench/perf/load.py), max",
                100.0,
                _get(speed, "load", "lag_max_ms"),
                False,
                "ms",
            ),
            Verdict(
                "heap growth over a long run",
                "`isnad ask --batch`, RssAnon after warm-up vs the end (bench/perf/soak.py)",
                10.0,
                _get(speed, "soak", "anon_growth_pct"),
                False,
                "%",
            ),
        ]
        + _answer_shape_verdicts(results)
        + [verdict for rerun in results.get("growth_reruns", []) for verdict in _latency_verdicts(rerun)]
    )


def _answer_shape_verdicts(results: dict[str, Any]) -> list[Verdict]:
    """Issue 10's targets on the held-out half (bench.quality)."""
    on = "bench.quality, test half"
    shape = results.get("answer_shape", {}).get("test", {})

    def value(key: str) -> float | None:
        return float(shape[key]) if key in shape else None

    return [
        Verdict("lead contains gold", on, 0.75, value("lead_contains_gold"), True),
        Verdict("lead ≤ 250 chars and contains gold", on, 0.70, value("lead_short_contains_gold"), True),
        Verdict("median answer length", on, 250.0, value("median_answer_chars"), False, "chars"),
        Verdict("cites the gold paragraph (issue 10)", on, 0.95, value("cites_gold"), True),
        Verdict("answerable declined", on, 0.02, value("answerable_declined"), False),
        Verdict("out-of-corpus declined", on, 0.95, value("absent_declined"), True),
    ]


def _latency_verdicts(rerun: dict[str, Any]) -> list[Verdict]:
    """The latency targets again, for a growth rerun under other settings."""
    sizes = rerun.get("sizes", {})
    if not sizes:
        return []
    largest = max(sizes, key=int)
    at = f"Engine.ask total at {int(largest):,} paragraphs, {rerun['label']}"
    total = sizes[largest]["latency_ms"]["total"]
    return [
        Verdict(f"warm question p50 ({rerun['label']})", at, 30.0, total["p50"], False, "ms"),
        Verdict(f"warm question p95 ({rerun['label']})", at, 100.0, total["p95"], False, "ms"),
    ]
