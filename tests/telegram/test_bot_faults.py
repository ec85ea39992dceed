"""The bot under faults and hostile input: Telegram errors, a failing LLM, odd questions, strangers, kill -9.

Everything runs on loopback: the real python-telegram-bot against the fake Bot API
(`tests/fake_telegram.py`), and for the LLM the fake OpenAI-compatible server
(`tests/fake_openai.py`), routed per question so one chat can fail while another succeeds.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Engine
from bot.qa.generative import (
    MAX_RETRY_WAIT_S,
    RETRY_WAIT_S,
    UNAVAILABLE_NOTICE,
    UNVERIFIED_NOTICE,
    OpenAIAnswerer,
    build_llm,
)
from bot.telegram import texts
from bot.telegram.ratelimit import UserRateLimiter
from tests.fake_openai import FakeOpenAI, FakeReply
from tests.fake_telegram import NO_REPLY, Call, FakeBotAPI
from tests.harness import (
    FOLLOW_UP,
    ODD_QUESTIONS,
    RESOLUTION,
    TRUCKS,
    RunningBot,
    answers_to,
    assert_all_valid,
    buttons,
    free_port,
    start_isnad_bot,
)

pytestmark = pytest.mark.network

DAMASCUS = "متى أعلنت المعارضة السورية أنها حررت دمشق؟"
LLM_KEY = "sk-test-isnad-faults-0001"
LLM_TIMEOUT_S = 1.5
ARABIC = re.compile("[\u0600-\u06ff]")


def texts_to(fake: FakeBotAPI, chat_id: int) -> list[str]:
    return [str(c.params["text"]) for c in fake.sent(chat_id)]


# -- Telegram faults


def test_429_twice_waits_both_times_and_each_answer_is_delivered_once(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    run_bot()
    fake.fail_next("sendMessage", times=2, retry_after=1)
    fake.message(fake.private_chat(611), fake.user(611), TRUCKS)
    fake.message(fake.private_chat(612), fake.user(612), DAMASCUS)
    [trucks] = answers_to(fake, 611, 0)
    [damascus] = answers_to(fake, 612, 0)
    assert "43 شاحنة" in trucks.params["text"] and "8 ديسمبر" in damascus.params["text"]
    limited = [c for c in fake.calls if c.method == "sendMessage" and c.status == 429]
    assert len(limited) == 2
    for refused in limited:  # each refused message went out once, after Telegram's retry_after
        [delivered] = [c for c in fake.sent(refused.params["chat_id"]) if c.params == refused.params]
        assert delivered.at - refused.at >= 1.0
    assert_all_valid(fake)


def test_polling_survives_502s_and_dropped_connections(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    run_bot()
    chat, user = fake.private_chat(621), fake.user(621)
    fake.message(chat, user, TRUCKS)
    answers_to(fake, 621, 0)
    # The next polls fail: a proxy's 502, then a connection closed without a reply.
    fake.fail_next("getUpdates", status=502)
    fake.drop_next("getUpdates")
    fake.wait_for(
        lambda calls: any(c.method == "getUpdates" and c.status == 502 for c in calls), what="a 502 poll"
    )
    fake.message(chat, user, DAMASCUS)  # arrives while the bot is backing off
    [later] = answers_to(fake, 621, 1)
    assert "8 ديسمبر" in later.params["text"]
    failed = [c.status for c in fake.calls if c.method == "getUpdates" and c.status != 200]
    assert failed == [502, NO_REPLY]
    assert len(fake.sent(621)) == 2  # nothing lost, nothing answered twice
    assert "polling" in caplog.text.lower()  # the errors were logged…
    assert fake.token not in caplog.text  # …without the token


# -- the LLM fails: the reader still gets the extractive answer, others are still served


class RoutedOpenAI(FakeOpenAI):
    """The fake LLM, replying by the question asked, so one chat's request can fail while another's works."""

    def __init__(self, routes: dict[str, FakeReply], default: FakeReply) -> None:
        super().__init__()
        self.routes = routes
        self.default = default
        self._asked = threading.Condition()

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> FakeReply | None:
        with self._lock:
            self.history.append(body)
            self.headers.append(headers)
        with self._asked:
            self._asked.notify_all()
        sent = json.dumps(body, ensure_ascii=False)
        return next((reply for question, reply in self.routes.items() if question in sent), self.default)

    def wait_asked(self, question: str, times: int = 1, timeout: float = 30.0) -> None:
        """Block until the model has been asked `question` `times` times (retries count)."""

        def asked() -> bool:
            with self._lock:
                return sum(question in json.dumps(b, ensure_ascii=False) for b in self.history) >= times

        with self._asked:
            assert self._asked.wait_for(asked, timeout), f"the model was not asked {question!r} {times}x"


GOOD_REPLY = FakeReply(content="أعلنت المعارضة السورية أنها حررت دمشق يوم 8 ديسمبر [1].")
LLM_FAULTS: dict[str, tuple[FakeReply | None, str]] = {
    "down": (None, UNAVAILABLE_NOTICE),
    "hanging": (FakeReply(delay=60), UNAVAILABLE_NOTICE),
    "500": (FakeReply(status=500), UNAVAILABLE_NOTICE),
    "429": (FakeReply(status=429, retry_after=2), UNAVAILABLE_NOTICE),
    "malformed JSON": (FakeReply(raw=b'{"object": "chat.completion", "choices": [{"ind'), UNAVAILABLE_NOTICE),
    "not a completion": (FakeReply(body={"choices": [{"index": 0}]}), UNAVAILABLE_NOTICE),
    "no citations": (FakeReply(content="حررت المعارضة دمشق، هذا ما أعرفه دون مصادر."), UNVERIFIED_NOTICE),
}


def test_llm_timeouts_keep_the_fallback_within_30_s(base_engine: Engine) -> None:
    """The timeout path for real: a hanging model is asked twice, waited for once, then bypassed."""
    waits: list[float] = []
    server = RoutedOpenAI({TRUCKS: FakeReply(delay=60)}, FakeReply(status=429, retry_after=60))
    with server:
        llm = build_llm(server.base_url, LLM_KEY, "fake-model", timeout_s=LLM_TIMEOUT_S)
        answerer = OpenAIAnswerer(llm, fallback=base_engine.answerer, sleep=waits.append)
        hung = answerer.answer(TRUCKS, base_engine.retriever.search(TRUCKS, 10))
        server.wait_asked(TRUCKS, times=2)
        limited = answerer.answer(DAMASCUS, base_engine.retriever.search(DAMASCUS, 10))
        with server._lock:
            asked = [json.dumps(body, ensure_ascii=False) for body in server.history]
    assert sum(TRUCKS in a for a in asked) == 2 and sum(DAMASCUS in a for a in asked) == 2  # one retry each
    assert "43 شاحنة" in hung.text and hung.notice.startswith(UNAVAILABLE_NOTICE)  # the extractive answer
    assert limited.notice.startswith(UNAVAILABLE_NOTICE)
    # After a timeout the short wait; a Retry-After of a minute is capped.
    assert waits == [RETRY_WAIT_S, MAX_RETRY_WAIT_S]
    # The client itself never retries, so the worst case is what was just seen: two attempts, each
    # cut at the timeout, and the longest wait between them. With the production timeout that
    # leaves the reader's answer two seconds to spare for retrieval and sending within 30 s.
    production = build_llm("http://127.0.0.1:9/v1", LLM_KEY, "fake-model")  # never called
    assert llm.max_retries == production.max_retries == 0 and llm.timeout == LLM_TIMEOUT_S
    assert 2 * production.timeout + max(waits) < 30 - 2


@pytest.mark.parametrize("fault", list(LLM_FAULTS))
def test_llm_fault_gives_the_extractive_answer_and_other_chats_are_served(
    fault: str, fake: FakeBotAPI, run_bot: Callable[..., RunningBot], base_engine: Engine
) -> None:
    failing, notice = LLM_FAULTS[fault]
    server = RoutedOpenAI({TRUCKS: failing or GOOD_REPLY}, GOOD_REPLY)
    with server:
        url = f"http://127.0.0.1:{free_port()}/v1" if fault == "down" else server.base_url
        llm = build_llm(url, LLM_KEY, "fake-model", timeout_s=LLM_TIMEOUT_S)

        def factory(memory: ConversationMemory) -> Engine:
            answerer = OpenAIAnswerer(llm, fallback=base_engine.answerer)
            return Engine(base_engine.retriever, answerer, base_engine.evidence, memory=memory)

        run_bot(factory=factory)
        asked = time.monotonic()
        fake.message(fake.private_chat(631), fake.user(631), TRUCKS)
        if fault != "down":
            server.wait_asked(TRUCKS)
        fake.message(fake.private_chat(632), fake.user(632), DAMASCUS)
        [fallback] = answers_to(fake, 631, 0)
        [other] = answers_to(fake, 632, 0)
    waited = fallback.at - asked
    print(f"\n[llm {fault}] extractive answer with notice after {waited:.2f} s")
    text = fallback.params["text"]
    assert "43 شاحنة" in text and "[1]" in text  # the extractive answer, cited
    assert f"<i>\u200f{notice}" in text  # marked as such, in Arabic
    assert waited <= 30
    if fault == "down":
        assert UNAVAILABLE_NOTICE in other.params["text"] and "8 ديسمبر" in other.params["text"]
    else:
        assert GOOD_REPLY.content and GOOD_REPLY.content in other.params["text"]
        assert "<i>" not in other.params["text"]  # the model's answer, no notice
    if fault in ("hanging", "429"):
        assert other.at < fallback.at  # served while the first chat was still waiting on the model
    assert_all_valid(fake)


def test_a_hanging_llm_holding_many_chats_does_not_hold_up_the_others(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], base_engine: Engine
) -> None:
    hanging = 8  # more questions than the default thread pool's 6 workers
    server = RoutedOpenAI({TRUCKS: FakeReply(delay=60)}, GOOD_REPLY)
    with server:
        llm = build_llm(server.base_url, LLM_KEY, "fake-model", timeout_s=LLM_TIMEOUT_S)

        def factory(memory: ConversationMemory) -> Engine:
            answerer = OpenAIAnswerer(llm, fallback=base_engine.answerer)
            return Engine(base_engine.retriever, answerer, base_engine.evidence, memory=memory)

        run_bot(factory=factory, llm="openai")
        for i in range(hanging):
            fake.message(fake.private_chat(650 + i), fake.user(650 + i), TRUCKS)
        server.wait_asked(TRUCKS, times=hanging)  # every chat is waiting on the model
        fake.message(fake.private_chat(660), fake.user(660), DAMASCUS)
        fake.message(fake.private_chat(661), fake.user(661), "/reset")
        [served] = answers_to(fake, 660, 0)
        [reset] = answers_to(fake, 661, 0)
        fallbacks = [answers_to(fake, 650 + i, 0)[0] for i in range(hanging)]
    assert GOOD_REPLY.content and GOOD_REPLY.content in served.params["text"]
    assert texts.RESET_DONE in reset.params["text"]
    assert max(served.at, reset.at) < min(c.at for c in fallbacks)  # while all eight still waited
    assert all(UNAVAILABLE_NOTICE in c.params["text"] for c in fallbacks)


# -- hostile questions through the bot

HOSTILE = [
    *ODD_QUESTIONS,
    "\u200b\u200f\u202e\u2066\u2069",  # only zero-width and bidi controls
    "</blockquote><b>",
    "&amp; &lt; &#x3C; &",
    "SELECT * FROM answers WHERE 1=1; DELETE FROM votes; --",
]


def test_hostile_questions_get_a_sane_arabic_reply_in_valid_html(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    run_bot()
    first = 700_001
    for i, question in enumerate(HOSTILE):  # one chat each: a reply per question, in any order
        fake.message(fake.private_chat(first + i), fake.user(first + i), question)
    for i, question in enumerate(HOSTILE):
        replies = answers_to(fake, first + i, 0)
        text = replies[0].params["text"]
        assert ARABIC.search(text), (question, text)
        assert texts.FAILED not in text, question  # handled, not an error
    for i, question in enumerate(HOSTILE):
        assert len(fake.sent(first + i)) == 1, question
    assert texts.EMPTY_QUESTION in texts_to(fake, first + 1)[0]  # whitespace only
    assert "طويل جدًا" in texts_to(fake, first + 2)[0]  # 4,096 characters: over the question limit
    assert_all_valid(fake)  # Telegram accepted every message: allowed tags only, the rest escaped
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [c for c in fake.calls if c.status >= 400]


# -- the allowlist


def test_allowlist_gives_strangers_no_content_not_even_through_buttons_or_commands(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    run_bot(allowed_chats=frozenset({711}), admins=frozenset({719}), limiter=UserRateLimiter(limit=1000))
    friend, friend_chat = fake.user(711), fake.private_chat(711)
    fake.message(friend_chat, friend, TRUCKS)
    [answer] = answers_to(fake, 711, 0)
    data = {b["text"]: b["callback_data"] for b in buttons(answer)}
    bot_message = fake.stored_message(711, answer.result["message_id"])

    stranger, chat, group = fake.user(712), fake.private_chat(712), fake.group_chat(-1_712)
    for text in ("/start", "/help", "/sources", "/reset", "/stats", "/reindex", "/nosuch", TRUCKS):
        fake.message(chat, stranger, text)
    fake.message(chat, stranger, RESOLUTION, kind="edited_message")
    fake.message(chat, stranger, voice={"file_id": "v", "file_unique_id": "v", "duration": 1})
    fake.message(group, stranger, f"@isnad_test_bot {TRUCKS}")
    fake.message(group, stranger, "/sources@isnad_test_bot")
    # Buttons under the friend's answer, as if the stranger had got hold of them.
    stranger_copy = {**bot_message, "chat": chat}
    queries = [fake.press(stranger_copy, stranger, value) for value in data.values()]
    fake.wait_for(
        lambda calls: (
            len([c for c in calls if c.method == "answerCallbackQuery"]) >= len(queries)
            and len([c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == 712]) >= 9
            and any(c.method == "sendMessage" and c.params["chat_id"] == -1_712 for c in calls)
        ),
        what="the refusals",
    )
    fake.message(friend_chat, friend, "/stats")
    fake.message(fake.private_chat(719), fake.user(719), "/stats")
    [stats] = answers_to(fake, 719, 0)
    answers_to(fake, 711, 1)  # the friend's /stats is answered concurrently with the admin's

    to_strangers = [c for c in fake.calls if c.params.get("chat_id") in (712, -1_712)]
    assert {c.method for c in to_strangers} == {"sendMessage"}  # not even "typing…"
    assert {c.params["text"] for c in to_strangers} == {"\u200f" + texts.REFUSED}
    assert len([c for c in to_strangers if c.params["chat_id"] == 712]) == 9  # all but the edit
    assert len([c for c in to_strangers if c.params["chat_id"] == -1_712]) == 2  # mention and command
    notes = [c.params.get("text") for c in fake.calls if c.method == "answerCallbackQuery"]
    assert notes == [texts.REFUSED] * len(queries)
    assert "👍 0 — 👎 0 — مصادر خاطئة: 0" in stats.params["text"]  # no press was recorded
    assert "الإجابات: 1 (" in stats.params["text"]  # and the stranger's questions were never answered
    assert len(fake.sent(711)) == 2  # the friend: the answer, then /stats ("admins only")


def test_allowlist_fails_closed_when_the_refusal_cannot_be_sent(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    run_bot(allowed_chats=frozenset({721}), limiter=UserRateLimiter(limit=1000))
    friend, friend_chat = fake.user(721), fake.private_chat(721)
    fake.message(friend_chat, friend, TRUCKS)
    [answer] = answers_to(fake, 721, 0)
    vote = next(b["callback_data"] for b in buttons(answer) if b["text"] == "👍")
    stranger, chat = fake.user(722), fake.private_chat(722)
    # Telegram rejects the refusals (the stranger blocked the bot, the button expired…).
    fake.fail_next("sendMessage", status=400)
    fake.fail_next("answerCallbackQuery", status=400)
    fake.message(chat, stranger, TRUCKS)
    fake.press({**fake.stored_message(721, answer.result["message_id"]), "chat": chat}, stranger, vote)

    def refusals_failed(_calls: list[Call]) -> bool:
        return len([r for r in caplog.records if "could not send the refusal" in r.getMessage()]) == 2

    # Once the gate has logged the failure it stops the update: nothing else can handle it after that.
    fake.wait_for(refusals_failed, what="both refusals to fail")
    fake.message(friend_chat, friend, "/sources")
    answers_to(fake, 721, 1)
    assert [c for c in fake.calls if c.params.get("chat_id") == 722 and c.status == 200] == []
    assert [c for c in fake.calls if c.method == "answerCallbackQuery" and c.status == 200] == []
    db = sqlite3.connect(tmp_path / "telegram.sqlite3")  # where run_bot keeps the bot's store
    assert db.execute("SELECT COUNT(*) FROM votes").fetchone() == (0,)


# -- kill -9 and restart


def polls_after(fake: FakeBotAPI, update_id: int) -> Callable[[list[Call]], bool]:
    """True once a getUpdates call confirmed the update (offset past it): Telegram will not resend it."""
    return lambda calls: any(
        c.method == "getUpdates" and int(c.params.get("offset") or 0) > update_id for c in calls
    )


def test_kill_9_and_restart_keeps_conversation_and_feedback(
    fake: FakeBotAPI, seeds_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "TELEGRAM_", "OPENAI_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        ISNAD_DATA_DIR=str(data),
        ISNAD_ADMINS="641",
    )
    log = tmp_path / "bot.log"
    chat, user = fake.private_chat(641), fake.user(641)
    first = start_isnad_bot(env, tmp_path, log)
    try:
        fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), 90, "isnad bot to poll")
        fake.message(chat, user, RESOLUTION)
        [answer] = answers_to(fake, 641, 0)
        thumbs_up = next(b["callback_data"] for b in buttons(answer) if b["text"] == "👍")
        fake.press(fake.stored_message(641, answer.result["message_id"]), user, thumbs_up)
        fake.wait_for(
            lambda calls: [c for c in calls if c.params.get("text") == texts.THANKS_VOTE],
            what="the vote to be thanked",
        )
        last_update = max(fake_update_ids(fake))
        fake.wait_for(polls_after(fake, last_update), what="the press to be confirmed")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert first.returncode == -signal.SIGKILL

    fake.message(chat, user, FOLLOW_UP)  # asked while the bot is down: Telegram keeps it
    second = start_isnad_bot(env, tmp_path, log)
    try:
        [follow] = answers_to(fake, 641, 1)
        assert "الكويت" in follow.params["text"]  # the conversation survived: the follow-up resolved
        fake.message(chat, user, "/stats")
        [stats] = answers_to(fake, 641, 2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert second.returncode == 0, log.read_text()[-2000:]
    assert "👍 1 — 👎 0" in stats.params["text"] and "الإجابات: 2 (" in stats.params["text"]
    assert len(fake.sent(641)) == 3  # nothing answered twice after the restart
    db = sqlite3.connect(data / "telegram.sqlite3")
    assert db.execute("SELECT user_id, vote FROM votes").fetchall() == [(641, 1)]
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert fake.token not in log.read_text()


def fake_update_ids(fake: FakeBotAPI) -> list[int]:
    """Ids of every update the bot has been handed so far."""
    return [
        int(update["update_id"])
        for c in list(fake.calls)
        if c.method == "getUpdates" and c.status == 200
        for update in (c.result or [])
    ]
