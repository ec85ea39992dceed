"""Every answer delivered: sendMessage faults on the fake Bot API, retried within a budget, in order.

The real python-telegram-bot against the fake Bot API on loopback. Faults: 502 once and
twice, the connection closed or reset before Telegram handled the call (the answer must
arrive exactly once), and a call Telegram handled whose reply never came back (a timeout
after accepting: at most twice). Buttons under the delivered answer must work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Answer, Engine
from bot.telegram import texts
from bot.telegram.delivery import RetryPolicy
from bot.telegram.ratelimit import UserRateLimiter
from isnad.settings import Settings
from tests.conftest import SEEDS
from tests.fake_telegram import NO_REPLY, RESET, Call, FakeBotAPI
from tests.harness import (
    TRUCKS,
    RunningBot,
    answers_to,
    assert_all_valid,
    buttons,
    scripted,
)
from tests.harness import scripted_answer as make_answer

pytestmark = pytest.mark.network

ANSWER_MARK = "43 شاحنة"


@pytest.fixture
def run_bot(
    fake: FakeBotAPI, seeds_data: Path, base_engine: Engine, tmp_path: Path
) -> Iterator[Callable[..., RunningBot]]:
    started: list[RunningBot] = []
    settings = Settings(
        data_dir=seeds_data, corpus_dir=SEEDS, telegram_token=fake.token, telegram_base_url=fake.base_url
    )

    def start(
        factory: Callable[[ConversationMemory], Engine] | None = None,
        policy: RetryPolicy | None = None,
        **overrides: Any,
    ) -> RunningBot:
        engine_factory = factory or (
            lambda memory: Engine(
                base_engine.retriever, base_engine.answerer, base_engine.evidence, memory=memory
            )
        )
        bot = RunningBot(
            fake, replace(settings, **overrides), engine_factory, tmp_path / "telegram.sqlite3",
            UserRateLimiter(limit=1000),
        )  # fmt: skip
        started.append(bot.__enter__())
        if policy is not None:
            bot.services.send_policy = policy
        return bot

    yield start
    for bot in reversed(started):
        bot.__exit__()


def attempts(fake: FakeBotAPI, chat_id: int) -> list[Call]:
    return [c for c in fake.calls if c.method == "sendMessage" and c.params.get("chat_id") == chat_id]


def press_and_wait(fake: FakeBotAPI, chat_id: int, answer: Call, label: str) -> str:
    """Press a button under a delivered answer; the toast Telegram showed."""
    data = next(b["callback_data"] for b in buttons(answer) if b["text"] == label)
    before = len([c for c in fake.calls if c.method == "answerCallbackQuery"])
    fake.press(fake.stored_message(chat_id, answer.result["message_id"]), fake.user(chat_id), data)
    notes = fake.wait_for(
        lambda calls: (
            n[before:]
            if len(n := [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]) > before
            else None
        ),
        what="the button's toast",
    )
    return str(notes[0])


REFUSED_FAULTS: dict[str, Callable[[FakeBotAPI], None]] = {
    "502 once": lambda fake: fake.fail_next("sendMessage", status=502),
    "502 twice": lambda fake: fake.fail_next("sendMessage", times=2, status=502),
    "503 then 500": lambda fake: (
        fake.fail_next("sendMessage", status=503),
        fake.fail_next("sendMessage", status=500),
    ),
    "closed without reply": lambda fake: fake.drop_next("sendMessage"),
    "connection reset": lambda fake: fake.reset_next("sendMessage"),
}


@pytest.mark.parametrize("fault", list(REFUSED_FAULTS))
def test_answer_arrives_exactly_once_when_telegram_refused_it(
    fault: str, fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    bot = run_bot()
    REFUSED_FAULTS[fault](fake)
    chat_id = 801
    fake.message(fake.private_chat(chat_id), fake.user(chat_id), TRUCKS)
    [answer] = answers_to(fake, chat_id, 0)
    assert ANSWER_MARK in answer.params["text"]
    tried = attempts(fake, chat_id)
    failed = [c for c in tried if c.status != 200]
    assert len(failed) == (2 if "twice" in fault or "then" in fault else 1)
    assert failed[0].status in (502, 503, NO_REPLY, RESET)
    assert all(c.params["text"] == answer.params["text"] for c in tried)  # the same answer, retried
    assert len(fake.sent(chat_id)) == 1  # delivered exactly once
    # The answer, its citations and the message id are stored: buttons and /sources work.
    assert press_and_wait(fake, chat_id, answer, "👍") == texts.THANKS_VOTE
    stored = bot.services.store.answer_of_message(chat_id, answer.result["message_id"])
    assert stored is not None and stored.citations
    fake.message(fake.private_chat(chat_id), fake.user(chat_id), "/sources")
    [sources] = answers_to(fake, chat_id, 1)
    assert stored.citations[0].source in sources.params["text"]
    assert bot.services.metrics.send_retries.labels(reason="network")._value.get() == len(failed)
    assert bot.services.metrics.send_failures._value.get() == 0
    assert_all_valid(fake)


def test_timeout_after_telegram_accepted_gives_at_most_two_copies_and_buttons_work(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    bot = run_bot()
    # Telegram handles the call but its reply is lost: PTB's read timeout (5 s) passes first.
    fake.stall_next("sendMessage", seconds=7)
    chat_id = 802
    fake.message(fake.private_chat(chat_id), fake.user(chat_id), TRUCKS)
    copies = fake.wait_for(
        lambda calls: (
            s if len(s := [c for c in calls if c.method == "sendMessage" and c.status == 200]) >= 2 else None
        ),
        timeout=60,
        what="the retry after the timeout",
    )
    assert 1 <= len(fake.sent(chat_id)) <= 2  # the stalled copy did reach the chat, and the retry
    assert copies[0].params["text"] == copies[1].params["text"]
    retried = copies[-1]
    assert press_and_wait(fake, chat_id, retried, "👍") == texts.THANKS_VOTE
    assert bot.services.metrics.send_retries.labels(reason="timeout")._value.get() == 1


def test_a_split_answer_arrives_in_order_when_a_middle_part_fails(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], base_engine: Engine
) -> None:
    sentence = "قال المبعوث إن 43 شاحنة جاهزة، وإن القرار 2401 لم يطبق بعد. "
    long_text = " ".join(f"الجملة {i}: {sentence}" for i in range(300))

    def script(question: str) -> Answer:
        return make_answer(long_text, [("000_a.txt", 3, "عنوان", sentence * 20)])

    run_bot(factory=scripted(base_engine, script, []))
    chat_id = 803
    # The first part goes through; the second meets a 502 and then a reset.
    first_sent = len([c for c in fake.calls if c.method == "sendMessage"])
    fake.message(fake.private_chat(chat_id), fake.user(chat_id), "طويل")
    fake.wait_for(
        lambda calls: len([c for c in calls if c.method == "sendMessage"]) > first_sent, what="the first part"
    )
    fake.fail_next("sendMessage", status=502)
    fake.reset_next("sendMessage")
    last = fake.wait_for(
        lambda calls: [c for c in calls if c.method == "sendMessage" and c.params.get("reply_markup")],
        timeout=60,
        what="the last part",
    )[0]
    sent = fake.sent(chat_id)
    numbers = [int(c.params["text"].split("الجملة ", 1)[1].split(":", 1)[0]) for c in sent]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # in order, none twice
    assert sent[-1] is last and all("reply_markup" not in c.params for c in sent[:-1])
    assert len([c for c in attempts(fake, chat_id) if c.status != 200]) == 2
    assert_all_valid(fake)


def test_an_answer_that_cannot_be_sent_is_logged_by_chat_id_and_counted(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = run_bot(policy=RetryPolicy(budget_s=2.0, first_wait_s=0.2))
    fake.fail_next("sendMessage", times=50, status=502)
    chat_id = 804
    fake.message(fake.private_chat(chat_id), fake.user(chat_id), TRUCKS)
    fake.wait_for(
        lambda calls: any("not delivered" in r.getMessage() for r in caplog.records), what="the give-up line"
    )
    failures = [c for c in attempts(fake, chat_id) if c.status == 502]
    assert 2 <= len(failures) <= 6  # 0.2 + 0.4 + 0.8 s of backoff fit in the 2 s budget, not more
    line = next(r.getMessage() for r in caplog.records if "not delivered" in r.getMessage())
    assert str(chat_id) in line
    assert not any(ANSWER_MARK in r.getMessage() or TRUCKS in r.getMessage() for r in caplog.records)
    assert fake.token not in caplog.text
    assert bot.services.metrics.send_failures._value.get() == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a warning, not a traceback
    # The generic error message was not attempted: it would have failed the same way.
    assert not any(texts.FAILED in c.params.get("text", "") for c in attempts(fake, chat_id))
    # The next question in the chat is answered normally once Telegram is back.
    fake.clear_faults()
    fake.message(fake.private_chat(chat_id), fake.user(chat_id), TRUCKS)
    [answer] = answers_to(fake, chat_id, 0)
    assert ANSWER_MARK in answer.params["text"]


def test_a_400_is_not_retried(fake: FakeBotAPI, run_bot: Callable[..., RunningBot]) -> None:
    run_bot()
    fake.fail_next("sendMessage", status=400)
    chat_id = 805
    fake.message(fake.private_chat(chat_id), fake.user(chat_id), TRUCKS)
    # The answer is refused once; the bot then tells the user something went wrong (that is sent).
    [reply] = answers_to(fake, chat_id, 0)
    assert texts.FAILED in reply.params["text"]
    assert len([c for c in attempts(fake, chat_id) if c.status == 400]) == 1
