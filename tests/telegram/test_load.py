"""Load: fifty chats asking at once, and a long run of questions in one process: every answer comes, in order.

What these scenarios cost in time and memory is measured by the bench, with its limits, not
asserted here: the event loop's lag under fifty chats (bench/perf/load.py, at most 100 ms) and
the heap's growth over a long run (bench/perf/soak.py, at most 10 %).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.perf import soak
from tests.fake_telegram import FakeBotAPI
from tests.harness import TRUCKS, RunningBot, assert_all_valid

CHATS = 50
# Three questions whose answers share no marker, asked in a different order in each chat.
DAMASCUS = "متى أعلنت المعارضة السورية أنها حررت دمشق؟"
CORRIDOR = "بماذا وصفت المتحدثة باسم الخارجية الأميركية فكرة الممر الإنساني؟"
MARKERS = {TRUCKS: "43 شاحنة", DAMASCUS: "8 ديسمبر", CORRIDOR: "المزحة"}


@pytest.mark.network
@pytest.mark.slow
def test_fifty_chats_at_once_are_all_answered_each_in_order(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    run_bot()
    questions = list(MARKERS)
    chats = list(range(20_001, 20_001 + CHATS))
    asked: dict[int, list[str]] = {}
    # Interleaved as 50 people typing at once would: every chat's first question, then the seconds…
    for turn in range(len(questions)):
        for chat_id in chats:
            question = questions[(chat_id + turn) % len(questions)]
            fake.message(fake.private_chat(chat_id), fake.user(chat_id), question)
            asked.setdefault(chat_id, []).append(question)
    for chat_id in chats:
        sent = fake.wait_sent(chat_id, len(questions), timeout=180)
        for question, call in zip(asked[chat_id], sent, strict=True):
            text = call.params["text"]
            assert MARKERS[question] in text, (chat_id, question)  # answered in the order asked
            assert not [m for m in MARKERS.values() if m != MARKERS[question] and m in text]
    # No message lost and none doubled: one reply per question, to the chat that asked it.
    assert len(fake.sent()) == CHATS * len(questions)
    assert_all_valid(fake)


@pytest.mark.slow
def test_a_long_run_of_questions_in_one_process_answers_each_once_in_order(
    seeds_data: Path, tmp_path: Path
) -> None:
    count = 150
    questions = soak.questions(count, xquad=None)  # the seed questions, cycled, in 25 conversations
    batch = soak.write_batch(questions, tmp_path / "batch.jsonl")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "OPENAI_", "TELEGRAM_"))}
    env.update(ISNAD_DATA_DIR=str(seeds_data), ANONYMIZED_TELEMETRY="False")
    done = subprocess.run(
        [sys.executable, "-m", "isnad", "ask", "--json", "--batch", str(batch)],
        cwd=tmp_path,  # out of reach of a .env in the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a.get("id") for a in answers] == [f"q{i}" for i in range(count)]
    assert not [a for a in answers if "error" in a]
    # The last of the run is answered as the first was: nothing wears out over the run.
    trucks = [a for a, q in zip(answers, questions, strict=True) if q == TRUCKS]
    assert len(trucks) >= count // 30
    assert all(a["answered"] and "43 شاحنة" in a["answer"] for a in trucks)
