"""The issue's targets, checked against a run's figures: PASS or MISS, and by how much."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.stages import GrowthRerun, Run


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


def check(results: dict[str, Any]) -> list[Verdict]:
    """Every target of issue 5 against this run (held-out test half for quality)."""
    from bench.stages import Run

    run = Run.of(results)
    speed = run.speed
    sizes = run.growth.sizes if run.growth else {}
    largest = max(sizes, key=int) if sizes else None  # the size asked for, as the report names it
    at = f"{int(largest):,} paragraphs" if largest else "not measured"
    total = sizes[largest].latency_ms["total"] if largest else None
    bot_label = (
        "`isnad bot`, fake Bot API, 3 questions"
        if speed.bot_process
        else "engine process as the bot builds it"
    )
    process = speed.bot_process or speed.engine_process
    hybrid = run.retrieval["isnad_hybrid"].test if "isnad_hybrid" in run.retrieval else None
    quality = run.answers.quality.get("test")
    return (
        [
            Verdict("XQuAD-ar R@1", "isnad hybrid, test half", 0.95, hybrid.r1 if hybrid else None, True),
            Verdict("XQuAD-ar R@5", "isnad hybrid, test half", 0.995, hybrid.r5 if hybrid else None, True),
            Verdict(
                "answer contains gold",
                "Engine.ask, test half",
                0.90,
                quality.contains_gold if quality else None,
                True,
            ),
            Verdict(
                "citation includes gold paragraph",
                "Engine.ask, test half",
                0.97,
                quality.cites_gold if quality else None,
                True,
            ),
            Verdict(
                "warm question p50",
                f"Engine.ask total at {at}",
                30.0,
                total.p50 if total else None,
                False,
                "ms",
            ),
            Verdict(
                "warm question p95",
                f"Engine.ask total at {at}",
                100.0,
                total.p95 if total else None,
                False,
                "ms",
            ),
            Verdict(
                "indexing overhead over the raw embedder",
                "isnad index job vs its embedder alone, same texts",
                0.10,
                speed.throughput.overhead if speed.throughput else None,
                False,
                "ratio",
            ),
            Verdict(
                "re-index of unchanged seeds",
                "`isnad index` wall time, median",
                2.0,
                speed.reindex.wall_seconds_median if speed.reindex else None,
                False,
                "s",
            ),
            Verdict("bot RSS", bot_label, 400.0, process.max_rss_mb if process else None, False, "MB"),
            Verdict(
                "event-loop lag, 50 chats at once",
                "`isnad bot` with a heartbeat, fake Bot API (bench/perf/load.py), max",
                100.0,
                speed.load.lag_max_ms if speed.load else None,
                False,
                "ms",
            ),
            Verdict(
                "heap growth over a long run",
                "`isnad ask --batch`, RssAnon after warm-up vs the end (bench/perf/soak.py)",
                10.0,
                speed.soak.anon_growth_pct if speed.soak else None,
                False,
                "%",
            ),
        ]
        + _answer_shape_verdicts(run)
        + [verdict for rerun in run.growth_reruns for verdict in _latency_verdicts(rerun)]
    )


def _answer_shape_verdicts(run: Run) -> list[Verdict]:
    """Issue 10's targets on the held-out half (bench.quality)."""
    on = "bench.quality, test half"
    shape = run.answer_shape.test if run.answer_shape else None

    def value(key: str) -> float | None:
        figure: float | None = getattr(shape, key) if shape else None
        return figure

    return [
        Verdict("lead contains gold", on, 0.75, value("lead_contains_gold"), True),
        Verdict("lead ≤ 250 chars and contains gold", on, 0.70, value("lead_short_contains_gold"), True),
        Verdict("median answer length", on, 250.0, value("median_answer_chars"), False, "chars"),
        Verdict("cites the gold paragraph (issue 10)", on, 0.95, value("cites_gold"), True),
        Verdict("answerable declined", on, 0.02, value("answerable_declined"), False),
        Verdict("out-of-corpus declined", on, 0.95, value("absent_declined"), True),
    ]


def _latency_verdicts(rerun: GrowthRerun) -> list[Verdict]:
    """The latency targets again, for a growth rerun under other settings."""
    if not rerun.sizes:
        return []
    largest = max(rerun.sizes, key=int)
    at = f"Engine.ask total at {int(largest):,} paragraphs, {rerun.label}"
    total = rerun.sizes[largest].latency_ms["total"]
    return [
        Verdict(f"warm question p50 ({rerun.label})", at, 30.0, total.p50, False, "ms"),
        Verdict(f"warm question p95 ({rerun.label})", at, 100.0, total.p95, False, "ms"),
    ]
