"""Load: 50 chats asking at once through the loopback Bot API, and memory over a long run of questions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.perf import soak
from tests.conftest import PROJECT_ROOT
from tests.fake_telegram import FakeBotAPI
from tests.harness import TRUCKS, assert_all_valid

CHATS = 50
MAX_LAG_S = 0.100
# Three questions whose answers share no marker, asked in a different order in each chat.
DAMASCUS = "متى أعلنت المعارضة السورية أنها حررت دمشق؟"
CORRIDOR = "بماذا وصفت المتحدثة باسم الخارجية الأميركية فكرة الممر الإنساني؟"
MARKERS = {TRUCKS: "43 شاحنة", DAMASCUS: "8 ديسمبر", CORRIDOR: "المزحة"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.mark.network
@pytest.mark.slow
def test_fifty_chats_at_once_all_answered_in_order_with_a_responsive_loop(
    fake: FakeBotAPI, seeds_data: Path, tmp_path: Path
) -> None:
    # The bot runs in its own process (tests/heartbeat_bot.py: `isnad bot` plus a heartbeat
    # task on its loop), so its loop competes for the GIL only with its own worker threads,
    # not with the fake Bot API's request threads as it would inside this process.
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "TELEGRAM_", "OPENAI_"))}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, ISNAD_DATA_DIR=str(data))
    env["PYTHONPATH"] = str(PROJECT_ROOT)  # for `tests.heartbeat_bot`; cwd stays clear of any .env
    lag_file = tmp_path / "lags.json"
    with (tmp_path / "bot.log").open("w") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "tests.heartbeat_bot", str(lag_file)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), 90, "the bot to poll")
            questions = list(MARKERS)
            chats = list(range(20_001, 20_001 + CHATS))
            asked: dict[int, list[tuple[str, float]]] = {}
            started = time.monotonic()
            # Interleaved as 50 people typing at once would: every chat's first question, then the seconds…
            for turn in range(len(questions)):
                for chat_id in chats:
                    question = questions[(chat_id + turn) % len(questions)]
                    fake.message(fake.private_chat(chat_id), fake.user(chat_id), question)
                    asked.setdefault(chat_id, []).append((question, time.monotonic()))
            slowest, answered = 0.0, 0
            for chat_id in chats:
                sent = fake.wait_sent(chat_id, len(questions), timeout=120)
                for (question, pushed), call in zip(asked[chat_id], sent, strict=True):
                    text = call.params["text"]
                    assert MARKERS[question] in text, (chat_id, question)  # answered in the order asked
                    assert not [m for m in MARKERS.values() if m != MARKERS[question] and m in text]
                    slowest = max(slowest, call.at - pushed)
                answered += 1
            finished = time.monotonic()
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(30)
    assert bot.returncode == 0, (tmp_path / "bot.log").read_text()[-2000:]
    assert_all_valid(fake)
    assert answered == CHATS and len(fake.sent()) == CHATS * len(questions)
    # Monotonic time is one clock for every process on the machine: keep the beats of the run.
    lags = [lag for at, lag in json.loads(lag_file.read_text()) if started <= at <= finished]
    assert len(lags) > 100, "the heartbeat did not run"
    print(
        f"\n[load] {answered}/{CHATS} chats answered, {CHATS * len(questions)} questions in"
        f" {finished - started:.1f} s, each chat in order; slowest answer {slowest:.2f} s;"
        f" event-loop lag max {max(lags) * 1000:.0f} ms, p99 {percentile(lags, 0.99) * 1000:.0f} ms,"
        f" median {statistics.median(lags) * 1000:.1f} ms over {len(lags)} beats of 10 ms"
    )
    assert max(lags) <= MAX_LAG_S, f"the event loop stalled {max(lags) * 1000:.0f} ms"


@pytest.mark.slow
def test_memory_stays_flat_over_150_questions_in_a_row(seeds_data: Path, tmp_path: Path) -> None:
    count = 150
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    run = soak.run(soak.questions(count), data, tmp_path, interval=0.1)
    # The first third (after 10 answers have warmed the models and caches) against the last third.
    report = run.report(warmup=10, span=count // 3 - 10)
    print(f"\n[soak] {report.summary()}")
    assert run.errors == 0 and len(run.samples) >= 10
    assert report.answered == count
    # The heap is where a leak shows; mapped model pages grow with the words seen (bench/perf/soak.py).
    assert report.anon_growth_pct <= soak.MAX_GROWTH_PCT, report.summary()
    assert report.passed
