"""Two webhook replicas on one PostgreSQL: one chat's messages, sent alternately to both, in order.

Both replicas are the real Application in webhook mode (threads of this process, each with
its own listener, engine memory in the shared database and metrics), against the fake Bot
API; PostgreSQL is the real server `tests/pg_server.py` starts. The messages are posted
one after another without waiting for answers, so both replicas hold questions of the
chat at once. Every answer must come in question order, and each follow-up ("ومن اقترحه؟")
must resolve against the turn before it, which the other replica may have answered.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Engine
from bot.telegram.ratelimit import UserRateLimiter
from isnad.settings import Settings
from tests.conftest import SEEDS
from tests.fake_telegram import FakeBotAPI
from tests.harness import (
    FOLLOW_UP,
    RESOLUTION,
    TRUCKS,
    RunningBot,
    free_port,
)
from tests.pg_server import PostgresServer

pytestmark = pytest.mark.network

SECRET = "replica-secret"
QUESTIONS = (RESOLUTION, FOLLOW_UP, TRUCKS)  # a follow-up between two unrelated questions


# What the answer to each question holds; a follow-up answered out of turn does not say Kuwait.
ANSWER_HOLDS = {RESOLUTION: "2401", FOLLOW_UP: "الكويت", TRUCKS: "43 شاحنة"}


@pytest.fixture
def state_url(postgres: PostgresServer) -> str:
    """A fresh database on the module's PostgreSQL server."""
    return postgres.url(postgres.new_database())


def post(port: int, update: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/tg/hook",
        data=json.dumps(update, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def start_replicas(
    fake: FakeBotAPI, seeds_data: Path, base_engine: Engine, url: str, tmp_path: Path
) -> tuple[list[RunningBot], list[int]]:
    def factory(memory: ConversationMemory) -> Engine:
        return Engine(base_engine.retriever, base_engine.answerer, base_engine.evidence, memory=memory)

    replicas, ports = [], []
    for i in range(2):
        port = free_port()
        settings = Settings(
            data_dir=seeds_data,
            corpus_dir=SEEDS,
            telegram_token=fake.token,
            telegram_base_url=fake.base_url,
            webhook_url="https://isnad.example/tg/hook",
            webhook_secret=SECRET,
            webhook_listen=f"127.0.0.1:{port}",
            state_url=url,
        )
        bot = RunningBot(
            fake, settings, factory, tmp_path / f"unused-{i}.sqlite3", UserRateLimiter(limit=10_000)
        )
        replicas.append(bot.__enter__())
        ports.append(port)
        # Each replica registers the webhook once its engine and state are open.
        fake.wait_for(
            lambda calls, i=i: len([c for c in calls if c.method == "setWebhook"]) > i, 120, "replica"
        )
    return replicas, ports


def ask_alternately(fake: FakeBotAPI, ports: list[int], chat_id: int, count: int) -> int:
    """Post `count` questions of one chat, alternately to each replica; how many answers are out of turn."""
    chat, user = fake.private_chat(chat_id), fake.user(chat_id)
    for i in range(count):
        message = fake.message(chat, user, QUESTIONS[i % len(QUESTIONS)])
        assert post(ports[i % len(ports)], {"update_id": 50_000 + i, "message": message}) == 200
    answers = fake.wait_sent(chat_id, count, timeout=300)
    return sum(
        ANSWER_HOLDS[QUESTIONS[i % len(QUESTIONS)]] not in c.params["text"] for i, c in enumerate(answers)
    )


def test_one_chat_across_two_replicas_is_answered_in_order_with_follow_ups_resolved(
    fake: FakeBotAPI,
    seeds_data: Path,
    base_engine: Engine,
    state_url: str,
    tmp_path: Path,
) -> None:
    replicas, ports = start_replicas(fake, seeds_data, base_engine, state_url, tmp_path)
    try:
        assert all(r.services.turns is not None for r in replicas)
        count = 30
        violations = ask_alternately(fake, ports, 990_001, count)
        print(f"\n[replicas] {count} alternating messages, order violations {violations}")
        assert violations == 0
        assert len(fake.sent(990_001)) == count  # each answered once
        served = [r.services.metrics.questions.labels(mode="extractive", outcome="answered")._value.get()
                  for r in replicas]  # fmt: skip
        assert sum(served) == count and min(served) > 0  # both replicas answered
        # Every turn is handed on (the last one just after its answer was sent).
        deadline = time.monotonic() + 30
        while replicas[0].services.store.query("SELECT COUNT(*) AS n FROM chat_turns") != [{"n": 0}]:
            assert time.monotonic() < deadline, "a chat turn was never handed on"
            time.sleep(0.05)
    finally:
        for replica in reversed(replicas):
            replica.__exit__()


def test_a_turn_left_by_a_dead_replica_expires(state_url: str) -> None:
    from bot.telegram import turns
    from bot.telegram.pgstore import PostgresStore

    store = PostgresStore(state_url)
    try:
        queue = turns.ChatTurns(store)
        dead = queue.take(77, 1)
        mine = queue.take(77, 2)
        assert not queue.is_first(77, mine)  # the dead replica's ticket is ahead and fresh
        with store.dialect.transaction() as tx:  # the dead replica stopped touching its ticket
            tx.run("UPDATE chat_turns SET touched = touched - ? WHERE ticket = ?", (turns.STALE_S + 1, dead))
        assert queue.is_first(77, mine)  # stale now: removed, and the chat goes on
        queue.done(mine)
        assert store.query("SELECT COUNT(*) AS n FROM chat_turns") == [{"n": 0}]
    finally:
        store.close()
