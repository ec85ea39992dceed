"""`python -m bench.perf.load [--chats 50]`: is the bot's event loop responsive while many chats ask at once?

Every chat sends the same three questions about the seeds, each chat in another order,
all at once, to the real `isnad bot` (bench/perf/heartbeat_bot.py: the bot as `isnad bot`
wires it, plus a task that sleeps 10 ms at a time and records how late it wakes) long-polling
a fake Bot API on loopback. Reported: whether every chat got its three answers in the order
asked, the slowest answer, and the event loop's lag (max, p99, median) over the run; the
limit is a maximum lag of 100 ms, a stall a user would not notice. The bot runs in its own
process, so its loop competes for the GIL only with its own worker threads. The tests check
the same scenario's behaviour (tests/telegram/test_load.py); this measures its timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import PROJECT_ROOT
from bench.perf.fake_bot_api import FakeBotAPI

CHATS = 50
MAX_LAG_MS = 100.0
FIRST_CHAT = 20_001
# Three questions whose answers share no marker: each reply shows which question it answers.
MARKERS = {
    "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟": "43 شاحنة",
    "متى أعلنت المعارضة السورية أنها حررت دمشق؟": "8 ديسمبر",
    "بماذا وصفت المتحدثة باسم الخارجية الأميركية فكرة الممر الإنساني؟": "المزحة",
}


@dataclass(frozen=True)
class LoadFigures:
    """One load run: how the chats were answered and how late the bot's event loop ran."""

    chats: int
    questions: int
    replies: int
    chats_in_order: int  # chats that got every answer, in the order asked
    seconds: float
    last_reply_s: float  # after the questions went out
    lag_max_ms: float
    lag_p99_ms: float
    lag_median_ms: float
    beats: int  # heartbeats of 10 ms during the run
    max_lag_limit_ms: float
    loadavg_start: list[float]
    loadavg_end: list[float]

    @property
    def passed(self) -> bool:
        """Every chat answered in order, and the loop never stalled past the limit."""
        return self.chats_in_order == self.chats and self.lag_max_ms <= self.max_lag_limit_ms


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def messages(chats: int) -> list[tuple[int, str]]:
    """(chat, question) as many people typing at once would send them: every chat's first, then seconds…"""
    questions = list(MARKERS)
    return [
        (chat, questions[(chat + turn) % len(questions)])
        for turn in range(len(questions))
        for chat in range(FIRST_CHAT, FIRST_CHAT + chats)
    ]


def run(data_dir: Path, chats: int = CHATS, timeout: float = 300.0) -> LoadFigures:
    """One load run against a bot over a copy of data_dir (an indexed seeds data dir)."""
    asked = messages(chats)
    loadavg_start = list(os.getloadavg())
    with FakeBotAPI(asked) as api, tempfile.TemporaryDirectory(prefix="isnad-bench-load-") as tmp:
        work = Path(tmp)
        data = work / "data"  # a copy: the bot keeps its state in the data dir
        shutil.copytree(data_dir, data, ignore=shutil.ignore_patterns("index.lock", "telegram.sqlite3*"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "TELEGRAM_", "OPENAI_"))}
        env.update(
            TELEGRAM_BOT_TOKEN="123456:bench-fake-token",
            TELEGRAM_BASE_URL=api.base_url,
            ISNAD_DATA_DIR=str(data),
            ANONYMIZED_TELEMETRY="False",
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
        lag_file = work / "lags.json"
        with (work / "bot.log").open("w+") as log:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bench.perf.heartbeat_bot", str(lag_file)],
                cwd=work,  # out of reach of a .env in the checkout
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            try:
                deadline = time.monotonic() + timeout
                while len(api.replies()) < len(asked) and bot.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                finished = time.monotonic()
            finally:
                bot.send_signal(signal.SIGTERM)
                bot.wait(60)
            log.seek(0)
            tail = log.read()[-2000:]
        replies = api.replies()
        if bot.returncode != 0 or not lag_file.exists() or api.served_at is None:
            raise RuntimeError(f"the bot exited {bot.returncode} after {len(replies)} replies: {tail}")
        served = api.served_at
        # The heartbeat stamps time.monotonic(); the fake counts perf_counter seconds since its start.
        started = served + time.monotonic() - (time.perf_counter() - api.started)
        lags = [lag for at, lag in json.loads(lag_file.read_text()) if started <= at <= finished]
    in_order = 0
    for chat in range(FIRST_CHAT, FIRST_CHAT + chats):
        expected = [MARKERS[q] for c, q in asked if c == chat]
        got = [r.text for r in replies if r.chat_id == chat and r.method == "sendMessage"]
        in_order += len(got) == len(expected) and all(m in t for m, t in zip(expected, got, strict=True))
    lag_ms = [lag * 1000 for lag in lags] or [0.0]
    return LoadFigures(
        chats=chats,
        questions=len(asked),
        replies=len(replies),
        chats_in_order=in_order,
        seconds=finished - started,
        last_reply_s=max((r.at for r in replies), default=served) - served,
        lag_max_ms=max(lag_ms),
        lag_p99_ms=percentile(lag_ms, 0.99),
        lag_median_ms=statistics.median(lag_ms),
        beats=len(lags),
        max_lag_limit_ms=MAX_LAG_MS,
        loadavg_start=loadavg_start,
        loadavg_end=list(os.getloadavg()),
    )


def main(argv: list[str] | None = None) -> int:
    """Print the figures as JSON; exit 1 when a chat went unanswered or out of order, or the loop stalled."""
    from bench.perf import soak

    parser = argparse.ArgumentParser(prog="python -m bench.perf.load", description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=CHATS, help=f"chats asking at once (default {CHATS})")
    parser.add_argument(
        "--data-dir", type=Path, help="an indexed seeds data dir (default: index the seeds afresh)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="isnad-load-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            print(f"[load] indexing the seeds into {data_dir}", file=sys.stderr, flush=True)
            soak.index_seeds(data_dir)
        figures = run(data_dir.resolve(), args.chats)
    print(json.dumps(asdict(figures)))
    return 0 if figures.passed else 1


if __name__ == "__main__":
    sys.exit(main())
