"""The Telegram bot end to end: real python-telegram-bot, real HTTP, a fake Bot API on loopback.

The engine is the real one over the seeds (indexed once per module); a `ScriptedEngine`
(a real Engine subclass with canned answers and gates) stands in only where a test needs
answers the seeds cannot give: fuzzed markup, very long text, a slow first answer.
"""

from __future__ import annotations

import html
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Answer, Engine, build
from bot.telegram import texts
from bot.telegram.app import build_application
from bot.telegram.ratelimit import UserRateLimiter
from bot.telegram.store import BotStore
from indexing.errors import ConfigError
from isnad.settings import Settings
from isnad.wiring import bot_config
from tests.conftest import PROJECT_ROOT, SEEDS
from tests.fake_telegram import FakeBotAPI, iter_texts
from tests.harness import (
    FOLLOW_UP,
    KUWAIT,
    RESOLUTION,
    TRUCKS,
    RunningBot,
    ScriptedEngine,
    answers_to,
    ask,
    assert_all_valid,
    buttons,
    scripted,
    scripted_answer,
    sharing,
    start_isnad_bot,
)

pytestmark = pytest.mark.network


# -- private chats


def test_private_question_gets_a_cited_answer_with_buttons(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    run_bot()
    chat, user = fake.private_chat(501), fake.user(501)
    ask(fake, chat, user, TRUCKS)
    [answer] = answers_to(fake, 501, 0)
    text = answer.params["text"]
    assert "43 شاحنة" in text and "[1]" in text
    assert "المصادر" in text and "الفقرة 69" in text and "000_b4ebc4adb0f988c0.txt" in text
    assert "<blockquote expandable>" in text  # the cited paragraph is one tap away
    assert "reply_parameters" not in answer.params  # private chats are not quoted
    labels = [b["text"] for b in buttons(answer)]
    assert labels[:2] == ["👍", "👎"] and any("[1]" in label for label in labels[2:])
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons(answer))
    assert any(c.method == "sendChatAction" and c.params["action"] == "typing" for c in fake.calls)
    assert {c["command"] for c in fake.commands} >= {"start", "help", "reset", "sources"}
    assert_all_valid(fake)


def test_start_help_sources_and_reset(fake: FakeBotAPI, run_bot: Callable[..., RunningBot]) -> None:
    bot = run_bot()
    chat, user = fake.private_chat(502), fake.user(502)
    ask(fake, chat, user, "/start")
    ask(fake, chat, user, "/help")
    ask(fake, chat, user, "/sources")
    start, help_, none = (c.params["text"] for c in answers_to(fake, 502, 0, 3))
    assert "إسناد" in start and "/sources" in start and "/reset" in start and "ملفات" in start
    assert "كيف تسأل" in help_ and "@isnad_test_bot" in help_ and "/stats" not in help_
    assert "لا توجد مصادر" in none

    ask(fake, chat, user, RESOLUTION)
    ask(fake, chat, user, "/sources")
    _, sources = answers_to(fake, 502, 3, 2)
    cited = bot.services.store.last_answer(502).citations
    assert cited
    for c in cited:  # whole paragraphs with file, paragraph number and headline
        assert html.escape(c.text, quote=False) in sources.params["text"]
        assert f"{c.source}، الفقرة {c.paragraph}" in sources.params["text"]

    ask(fake, chat, user, "/reset")
    [reset] = answers_to(fake, 502, 5)
    assert "محادثة جديدة" in reset.params["text"]
    assert bot.services.memory.history("tg:502") == []
    assert_all_valid(fake)


def test_feedback_buttons_are_recorded_against_paragraph_ids(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], base_engine: Engine
) -> None:
    bot = run_bot()
    chat, user = fake.private_chat(503), fake.user(503)
    ask(fake, chat, user, TRUCKS)
    [answer] = answers_to(fake, 503, 0)
    message = fake.stored_message(503, answer.result["message_id"])
    data = {b["text"]: b["callback_data"] for b in buttons(answer)}
    wrong = next(v for k, v in data.items() if "[1]" in k)
    for pressed in (data["👎"], data["👍"], wrong, "v:999999:+", "garbage"):
        fake.press(message, user, pressed)
    notes = fake.wait_for(
        lambda calls: (
            n
            if len(n := [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]) >= 5
            else None
        ),
        what="five callback answers",
    )
    assert notes[:3] == [texts.THANKS_VOTE, texts.THANKS_VOTE, texts.THANKS_WRONG_SOURCE.format(n=1)]
    assert notes[3:] == [texts.STALE_BUTTON, texts.STALE_BUTTON]

    expected = next(
        p.paragraph.paragraph_id
        for p in base_engine.ask(TRUCKS).retrieved
        if (p.paragraph.source, p.paragraph.number) == ("000_b4ebc4adb0f988c0.txt", 69)
    )
    db = sqlite3.connect(bot.services.store.path)
    assert db.execute("SELECT user_id, vote FROM votes").fetchall() == [(503, 1)]  # the later vote wins
    assert db.execute("SELECT n, user_id, paragraph_id FROM wrong_sources").fetchall() == [(1, 503, expected)]
    assert bot.services.store.feedback_by_paragraph()[expected] == (1, 0, 1)


# -- groups


def test_group_answers_only_mentions_replies_and_commands(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    bot = run_bot()
    group, alice, bob = fake.group_chat(-1001), fake.user(601, "علياء"), fake.user(602, "باسل")
    ask(fake, group, alice, TRUCKS)  # not addressed: ignored
    ask(fake, group, alice, "/help@another_bot")  # a command for someone else
    question = ask(fake, group, alice, f"@isnad_test_bot {RESOLUTION}")
    [first] = answers_to(fake, -1001, 0)
    assert first.params["reply_parameters"]["message_id"] == question["message_id"]  # quoted in groups
    assert "43 شاحنة" not in first.params["text"]

    # A reply to the bot's answer continues that thread: the follow-up resolves.
    bot_message = fake.stored_message(-1001, first.result["message_id"])
    ask(fake, group, alice, FOLLOW_UP, reply_to=bot_message)
    [follow] = answers_to(fake, -1001, 1)
    assert "الكويت" in follow.params["text"]

    # Someone else's fresh mention opens a thread of its own.
    ask(fake, group, bob, f"@isnad_test_bot {TRUCKS}")
    [other] = answers_to(fake, -1001, 2)
    assert "43 شاحنة" in other.params["text"]
    ask(fake, group, bob, "@isnad_test_bot")  # a mention with no question
    [empty] = answers_to(fake, -1001, 3)
    assert texts.EMPTY_QUESTION in empty.params["text"]
    conversations = bot.services.store.query("SELECT key FROM conversations WHERE key LIKE 'tg:-1001:%'")
    assert len(conversations) == 2

    ask(fake, group, bob, "/reset@isnad_test_bot")
    answers_to(fake, -1001, 4)
    assert bot.services.store.query("SELECT key FROM conversations WHERE key LIKE 'tg:-1001%'") == []
    assert len(fake.sent(-1001)) == 5  # nothing for the two messages not meant for the bot
    assert_all_valid(fake)


# -- access and limits


def test_allowlist_refuses_others_with_no_content(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    run_bot(allowed_chats=frozenset({701, -1002}), admins=frozenset({909}))
    stranger, chat = fake.user(702), fake.private_chat(702)
    for text in (TRUCKS, "/start", "/sources", "/help"):
        ask(fake, chat, stranger, text)
    refusals = answers_to(fake, 702, 0, 4)
    assert {c.params["text"] for c in refusals} == {"\u200f" + texts.REFUSED}
    other_group = fake.group_chat(-1003)
    ask(fake, other_group, stranger, TRUCKS)  # not addressed: silence even for a refusal
    ask(fake, other_group, stranger, f"@isnad_test_bot {TRUCKS}")
    [group_refusal] = answers_to(fake, -1003, 0)
    assert texts.REFUSED in group_refusal.params["text"] and "reply_markup" not in group_refusal.params

    ask(fake, fake.private_chat(701), fake.user(701), TRUCKS)  # allowed user
    ask(fake, fake.group_chat(-1002), stranger, f"@isnad_test_bot {TRUCKS}")  # allowed group
    ask(fake, fake.private_chat(909), fake.user(909), TRUCKS)  # admins are let in
    for chat_id in (701, -1002, 909):
        assert "43 شاحنة" in answers_to(fake, chat_id, 0)[0].params["text"]
    assert len(fake.sent(-1003)) == 1
    assert not any("43" in t for c in fake.sent(702) + fake.sent(-1003) for t in [c.params["text"]])


def test_admin_commands(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], seeds_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"  # a copy: /reindex writes, and the session's seeds index is read-only
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    bot = run_bot(admins=frozenset({801}), data_dir=data, factory=lambda memory: build(data, memory=memory))
    admin, chat = fake.user(801), fake.private_chat(801)
    ask(fake, fake.private_chat(802), fake.user(802), "/stats")
    assert texts.ADMINS_ONLY in answers_to(fake, 802, 0)[0].params["text"]
    ask(fake, chat, admin, TRUCKS)
    ask(fake, chat, admin, "/help")
    ask(fake, chat, admin, "/stats")
    _, help_, stats = answers_to(fake, 801, 0, 3)
    assert "/reindex" in help_.params["text"]
    assert "الإجابات: 1 (منها 1 بمصادر)" in stats.params["text"]
    old_engine = bot.services.engine
    ask(fake, chat, admin, "/reindex")
    started, done = answers_to(fake, 801, 3, 2)
    assert "بدأت" in started.params["text"] and "اكتملت الفهرسة" in done.params["text"]
    assert "أضيفت 0، حُذفت 0" in done.params["text"]  # the seeds did not change
    assert bot.services.engine is not old_engine
    ask(fake, chat, admin, KUWAIT)
    assert "الكويت" in answers_to(fake, 801, 5)[0].params["text"]


def test_rate_limit_says_slow_down_once(fake: FakeBotAPI, run_bot: Callable[..., RunningBot]) -> None:
    now = [0.0]
    run_bot(limiter=UserRateLimiter(limit=2, period=600, clock=lambda: now[0]))
    chat, user = fake.private_chat(511), fake.user(511)
    for _ in range(4):
        ask(fake, chat, user, TRUCKS)
    ask(fake, chat, user, "/help")  # commands count too: silence
    replies = answers_to(fake, 511, 0, 3)
    assert ["43 شاحنة" in c.params["text"] for c in replies[:2]] == [True, True]
    assert "تمهّل" in replies[2].params["text"] and "ثانية" in replies[2].params["text"]
    now[0] = 600.0  # the window has passed
    ask(fake, chat, user, "/help")
    [help_] = answers_to(fake, 511, 3)
    assert "كيف تسأل" in help_.params["text"]  # the fourth question and the first /help got silence


def test_non_text_edited_empty_and_long_messages_get_polite_replies(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    run_bot()
    chat, user = fake.private_chat(521), fake.user(521)
    sticker = {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": False}  # fmt: skip
    fake.message(chat, user, sticker=sticker)
    fake.message(chat, user, voice={"file_id": "v1", "file_unique_id": "u2", "duration": 3})
    fake.message(chat, user, TRUCKS, kind="edited_message")
    ask(fake, chat, user, "س" * 1500)
    ask(fake, chat, user, "/nosuchcommand")
    group = fake.group_chat(-1004)
    fake.message(group, user, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])
    ask(fake, chat, user, TRUCKS)
    replies = [c.params["text"] for c in answers_to(fake, 521, 0, 6)]
    assert texts.NOT_TEXT in replies[0] and texts.NOT_TEXT in replies[1]
    assert texts.EDITED in replies[2]
    assert "طويل جدًا" in replies[3] and "1500" in replies[3]
    assert texts.UNKNOWN_COMMAND in replies[4]
    assert "43 شاحنة" in replies[5]
    assert fake.sent(-1004) == []  # a photo in a group, not addressed: silence
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_question_limit_counts_the_question_not_the_mention(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    """A group question of 990 characters after «@bot » is within the limit and is searched."""
    run_bot()
    group, user = fake.group_chat(-1005), fake.user(522)
    question = TRUCKS + " " + "ق" * (990 - len(TRUCKS) - 1)
    ask(fake, group, user, "@isnad_test_bot " + question)
    ask(fake, group, user, "@isnad_test_bot " + question + "ق" * 11)  # 1,001: over it
    within, over = (c.params["text"] for c in answers_to(fake, -1005, 0, 2))
    assert "طويل جدًا" not in within and "43 شاحنة" in within
    assert "طويل جدًا (1001 حرفًا)" in over  # the question's length, without the mention
    assert_all_valid(fake)


def test_engine_failure_is_logged_and_the_user_told(
    fake: FakeBotAPI,
    run_bot: Callable[..., RunningBot],
    base_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def script(question: str) -> Answer:
        raise RuntimeError(f"engine exploded near {fake.token}")

    run_bot(factory=scripted(base_engine, script, []))
    caplog.set_level(logging.DEBUG, logger="httpx")  # build_application quiets it; prove the scrubbing too
    ask(fake, fake.private_chat(531), fake.user(531), TRUCKS)
    [reply] = answers_to(fake, 531, 0)
    assert texts.FAILED in reply.params["text"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_text]
    assert errors and "RuntimeError" in caplog.text and "engine exploded" in caplog.text
    # The token is in the exception, in PTB's debug lines and in httpx's URLs: never in a log.
    assert fake.token not in caplog.text
    for record in caplog.records:
        assert fake.token not in record.getMessage()
        assert fake.token not in (record.exc_text or "")


def test_missing_token_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        build_application(bot_config(Settings(data_dir=tmp_path)), lambda memory: None, lambda: None)  # type: ignore[arg-type,return-value]
    from isnad.cli import main

    assert main(["bot", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "TELEGRAM_BOT_TOKEN is not set" in err[0]


def test_rejected_token_is_a_clear_error(
    fake: FakeBotAPI, settings: Settings, base_engine: Engine, tmp_path: Path
) -> None:
    wrong = replace(settings, telegram_token="1:wrong-token-value")
    bot = RunningBot(fake, wrong, sharing(base_engine), tmp_path / "s.sqlite3")
    with pytest.raises(ConfigError, match="rejected") as caught:
        bot.__enter__()
    assert "wrong-token-value" not in str(caught.value)


# -- formatting through the wire


def test_long_answer_is_split_and_fuzzed_answers_are_valid_html(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], base_engine: Engine
) -> None:
    import random

    rng = random.Random(4)
    nasty = ["<", ">", "&", "<script>alert(1)</script>", "&amp;", "</blockquote>", "<b>", "😀", "🇸🇾", "\n"]
    arabic = "قال المبعوث إن 43 شاحنة جاهزة، وإن القرار ٢٤٠١ لم يُطبَّق. "

    def fuzz() -> str:
        return "".join(rng.choice([*nasty, arabic, "UN 2401 ", "[1] "]) for _ in range(rng.randint(1, 300)))

    long_text = " ".join(f"الجملة {i}: {arabic}" for i in range(300))

    def script(question: str) -> Answer:
        if question == "طويل":
            return scripted_answer(long_text, [("000_a.txt", 3, "عنوان", arabic * 20)])
        return scripted_answer(
            fuzz() + arabic, [("001_<b>.txt", n, fuzz(), fuzz() + "ن") for n in (1, 2, 3)], fuzz()
        )

    run_bot(factory=scripted(base_engine, script, []), limiter=UserRateLimiter(limit=1000))
    chat, user = fake.private_chat(541), fake.user(541)
    ask(fake, chat, user, "طويل")
    parts = fake.wait_for(
        lambda calls: [c for c in calls if c.method == "sendMessage" and c.params.get("reply_markup")],
        what="the long answer's last part",
    )
    sent = fake.sent(541)
    assert len(sent) >= 4 and sent[-1] is parts[0]
    assert all("reply_markup" not in c.params for c in sent[:-1])  # buttons under the last part only
    for i in range(25):
        ask(fake, chat, user, f"سؤال {i}")
    fake.wait_for(
        lambda calls: (
            len([c for c in calls if c.method == "sendMessage" and c.params.get("reply_markup")]) >= 26
        ),
        what="26 answers",
    )
    assert len(fake.sent(541)) > 26  # some fuzzed answers needed several messages
    assert_all_valid(fake)


def test_429_is_retried_after_retry_after_and_sent_once(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    run_bot()
    fake.fail_next("sendMessage", times=1, retry_after=1)
    ask(fake, fake.private_chat(551), fake.user(551), TRUCKS)
    [answer] = answers_to(fake, 551, 0)
    limited = [c for c in fake.calls if c.method == "sendMessage" and c.status == 429]
    assert len(limited) == 1
    assert answer.at - limited[0].at >= 1.0  # waited retry_after before sending again
    assert [c.params["text"] for c in fake.sent(551)] == [limited[0].params["text"]]  # delivered once
    assert "43 شاحنة" in answer.params["text"]


# -- concurrency and order


def test_twenty_chats_at_once_all_answered_in_order(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], capsys: pytest.CaptureFixture[str]
) -> None:
    run_bot()
    chats = list(range(10_001, 10_021))
    pushed: dict[tuple[int, int], float] = {}
    for chat_id in chats:
        for i, question in enumerate((TRUCKS, KUWAIT)):
            ask(fake, fake.private_chat(chat_id), fake.user(chat_id), question)
            pushed[(chat_id, i)] = time.monotonic()
    slowest = 0.0
    for chat_id in chats:
        first, second = fake.wait_sent(chat_id, 2, timeout=60)
        assert "43 شاحنة" in first.params["text"] and "الكويت" in second.params["text"]  # in order
        slowest = max(slowest, first.at - pushed[(chat_id, 0)], second.at - pushed[(chat_id, 1)])
    assert_all_valid(fake)
    with capsys.disabled():
        print(f"\n[telegram] {len(chats)} chats x 2 questions, slowest answer {slowest:.2f} s")


def test_one_slow_answer_holds_its_chat_but_not_others(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], base_engine: Engine
) -> None:
    engines: list[ScriptedEngine] = []
    run_bot(factory=scripted(base_engine, lambda q: scripted_answer(f"جواب {q}"), engines))
    [engine] = engines
    engine.gates["بطيء"] = threading.Event()
    slow_chat, fast_chat = fake.private_chat(561), fake.private_chat(562)
    ask(fake, slow_chat, fake.user(561), "بطيء")
    ask(fake, slow_chat, fake.user(561), "سريع")
    ask(fake, fast_chat, fake.user(562), "آخر")
    [other] = answers_to(fake, 562, 0)  # answered while the slow one is still stuck
    assert "جواب آخر" in other.params["text"] and fake.sent(561) == []
    engine.gates["بطيء"].set()
    slow, fast = answers_to(fake, 561, 0, 2)
    assert "جواب بطيء" in slow.params["text"] and "جواب سريع" in fast.params["text"]
    assert engine.log.index(("end", "بطيء")) < engine.log.index(("start", "سريع"))


# -- persistence


def test_restart_keeps_the_conversation(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot], tmp_path: Path
) -> None:
    chat, user = fake.private_chat(571), fake.user(571)
    first = run_bot()
    ask(fake, chat, user, RESOLUTION)
    answers_to(fake, 571, 0)
    first.__exit__()
    run_bot()  # a new Application, engine and store over the same files
    ask(fake, chat, user, FOLLOW_UP)
    [follow] = answers_to(fake, 571, 1)
    assert "الكويت" in follow.params["text"]
    ask(fake, chat, user, "/sources")
    assert "الكويت" in answers_to(fake, 571, 2)[0].params["text"]


@pytest.mark.slow  # a second Python process loads the whole stack
def test_store_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    script = f"""
import os, signal
from pathlib import Path
from bot.qa.conversation import Turn
from bot.telegram.store import BotStore
memory = BotStore(Path({str(path)!r})).memory()
memory.add("tg:1", Turn("سؤال", "سؤال", "جواب", [{{"n": 1}}]))
memory.add("tg:1", Turn("سؤال 2", "سؤال 2", "جواب 2", []))
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    history = BotStore(path).memory().history("tg:1")
    assert [t.answer for t in history] == ["جواب", "جواب 2"] and history[0].citations == [{"n": 1}]


def test_memory_is_bounded_like_the_in_memory_one(tmp_path: Path) -> None:
    from bot.qa.conversation import Turn

    memory = BotStore(tmp_path / "m.sqlite3").memory(max_turns=2, max_conversations=3)
    for key in ("a", "b", "c", "d"):
        for i in range(3):
            memory.add(key, Turn(f"q{i}", f"q{i}", f"a{i}", []))
    assert memory.history("a") == []  # least recently used conversation forgotten
    assert [t.answer for t in memory.history("d")] == ["a1", "a2"]
    memory.reset("d")
    assert memory.history("d") == []


# -- webhook


def test_webhook_mode_checks_the_secret_token(fake: FakeBotAPI, run_bot: Callable[..., RunningBot]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run_bot(
        webhook_url="https://isnad.example/tg/hook",
        webhook_secret="s3cret-token_1",
        webhook_listen=f"127.0.0.1:{port}",
    )
    assert fake.webhook is not None
    assert (
        fake.webhook["url"] == "https://isnad.example/tg/hook"
        and fake.webhook["secret_token"] == "s3cret-token_1"
    )
    chat, user = fake.private_chat(581), fake.user(581)
    update = {
        "update_id": 1,
        "message": {"message_id": 5, "date": 0, "chat": chat, "from": user, "text": TRUCKS},
    }

    def post(secret: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/tg/hook",
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post("wrong") == 403
    assert post("s3cret-token_1") == 200
    [answer] = answers_to(fake, 581, 0)
    assert "43 شاحنة" in answer.params["text"]
    assert not any(c.method == "getUpdates" for c in fake.calls)


# -- the command line


def test_isnad_bot_command_answers_and_stops_on_sigterm(
    fake: FakeBotAPI, seeds_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "TELEGRAM_"))}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, ISNAD_DATA_DIR=str(data))
    log = tmp_path / "bot.log"
    process = start_isnad_bot(env, tmp_path, log)
    try:
        fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), 60, "isnad bot to poll")
        ask(fake, fake.private_chat(591), fake.user(591), TRUCKS)
        [answer] = answers_to(fake, 591, 0)
        assert "43 شاحنة" in answer.params["text"] and "<blockquote expandable>" in answer.params["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    stderr = log.read_text()
    assert process.returncode == 0, stderr[-2000:]
    assert "is answering (polling)" in stderr and "answered chat 591" in stderr
    assert fake.token not in stderr
    assert (data / "telegram.sqlite3").is_file()


# -- what a hostile user tries (issue 16)


def callback_notes(fake: FakeBotAPI, count: int) -> list[str]:
    """The texts of the first `count` answerCallbackQuery calls, in order."""
    return fake.wait_for(
        lambda calls: (
            n
            if len(n := [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]) >= count
            else None
        ),
        what=f"{count} callback answers",
    )


def test_forged_buttons_from_other_chats_and_messages_count_for_nothing(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    bot = run_bot()
    alice, alice_chat = fake.user(611), fake.private_chat(611)
    ask(fake, alice_chat, alice, TRUCKS)
    ask(fake, alice_chat, alice, KUWAIT)
    first, second = answers_to(fake, 611, 0, 2)
    first_data = {b["text"]: b["callback_data"] for b in buttons(first)}
    first_id = bot.services.store.last_answer(611).id - 1
    assert first_data["👎"] == f"v:{first_id}:-"  # small sequential ids: easy to guess

    # Mallory never saw Alice's answers; he presses forged buttons from his own chat.
    mallory, mallory_chat = fake.user(612), fake.private_chat(612)
    ask(fake, mallory_chat, mallory, RESOLUTION)
    [own] = answers_to(fake, 612, 0)
    own_message = fake.stored_message(612, own.result["message_id"])
    for forged in (f"v:{first_id}:-", f"w:{first_id}:1", "v:999999:-", "w:999999:1"):
        fake.press(own_message, mallory, forged)
    # Even in Alice's chat, a button names only the answer on its own message.
    second_message = fake.stored_message(611, second.result["message_id"])
    fake.press(second_message, alice, f"v:{first_id}:-")
    notes = callback_notes(fake, 5)
    assert notes == [texts.STALE_BUTTON] * 5  # one reply whatever the id: nothing to count answers by
    assert bot.services.store.stats().down == 0 and bot.services.store.stats().wrong_sources == 0

    # The genuine buttons work, and a second press changes the vote instead of adding one.
    first_message = fake.stored_message(611, first.result["message_id"])
    fake.press(first_message, alice, first_data["👎"])
    fake.press(first_message, alice, first_data["👍"])
    assert callback_notes(fake, 7)[5:] == [texts.THANKS_VOTE, texts.THANKS_VOTE]
    stats = bot.services.store.stats()
    assert (stats.up, stats.down) == (1, 0)


def test_group_members_vote_once_each_on_the_group_answer(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    bot = run_bot()
    group = fake.group_chat(-1011)
    members = [fake.user(621 + i) for i in range(3)]
    ask(fake, group, members[0], f"@isnad_test_bot {TRUCKS}")
    [answer] = answers_to(fake, -1011, 0)
    message = fake.stored_message(-1011, answer.result["message_id"])
    down = next(b["callback_data"] for b in buttons(answer) if b["text"] == "👎")
    for member in members:
        fake.press(message, member, down)
        fake.press(message, member, down)  # pressing again does not count twice
    assert callback_notes(fake, 6) == [texts.THANKS_VOTE] * 6
    assert bot.services.store.stats().down == 3


def test_command_flood_in_a_group_gets_one_slow_down_then_silence(
    fake: FakeBotAPI, run_bot: Callable[..., RunningBot]
) -> None:
    run_bot(limiter=UserRateLimiter(limit=3, period=600))
    group, flooder, other = fake.group_chat(-1012), fake.user(631, "مزعج"), fake.user(632)
    for _ in range(12):
        ask(fake, group, flooder, "/help")
    ask(fake, group, flooder, "/sources@isnad_test_bot")
    ask(fake, group, flooder, "/nosuchcommand@isnad_test_bot")
    ask(fake, group, other, f"@isnad_test_bot {TRUCKS}")
    fake.wait_for(
        lambda calls: any("43 شاحنة" in t for t in iter_texts(calls)), what="the other member's answer"
    )
    sent = [c.params["text"] for c in fake.sent(-1012)]
    assert len(sent) == 3 + 1 + 1, sent  # three /help, one «تمهّل», the other member's answer
    assert sum("كيف تسأل" in t for t in sent) == 3
    assert sum("تمهّل" in t for t in sent) == 1
    # The flooder's private chat shares his budget: still silence there.
    ask(fake, fake.private_chat(631), flooder, "/start")
    ask(fake, fake.private_chat(633), fake.user(633), "/start")  # someone else is answered
    answers_to(fake, 633, 0)
    assert fake.sent(631) == []


class ReindexGate:
    """An engine factory whose rebuilds (after the first) hang until released: a stuck /reindex."""

    def __init__(self, base: Engine) -> None:
        self.base = base
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, memory: ConversationMemory) -> Engine:
        self.calls += 1
        if self.calls > 1:
            self.release.wait()
        return sharing(self.base)(memory)


def test_a_hung_reindex_holds_no_chat_and_does_not_keep_the_bot_alive(
    fake: FakeBotAPI,
    run_bot: Callable[..., RunningBot],
    base_engine: Engine,
    seeds_data: Path,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    stuck = ReindexGate(base_engine)
    try:
        bot = run_bot(admins=frozenset({641}), data_dir=data, factory=stuck)
        bot.services.reindex_timeout = 1.0
        admin, chat = fake.user(641), fake.private_chat(641)
        ask(fake, chat, admin, "/reindex")
        ask(fake, chat, admin, TRUCKS)  # answered while the re-index hangs: the chat is not held
        started, answer = answers_to(fake, 641, 0, 2)
        assert "بدأت" in started.params["text"] and "43 شاحنة" in answer.params["text"]
        [gave_up] = answers_to(fake, 641, 2)
        assert "لم تنتهِ إعادة الفهرسة" in gave_up.params["text"]
        ask(fake, chat, admin, KUWAIT)  # the old index still answers
        assert "الكويت" in answers_to(fake, 641, 3)[0].params["text"]
        bot.__exit__()  # stops within RunningBot's 30 s although the re-index thread never returns
        assert stuck.calls == 2 and not stuck.release.is_set()
    finally:
        stuck.release.set()


class OneReplyAPI:
    """A Bot API stand-in that answers every request with one canned status and body."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        reply = (status, body, content_type)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body, content_type = reply
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


TOKEN = "7654321098:AAF4ke-T0ken_for_isnad_startup_9"
JSON = "application/json"


def api_error(status: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": status, "description": description}).encode()


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (403, api_error(403, f"Forbidden: POST /bot{TOKEN}/getMe\nis blocked"), JSON),
        (200, f"<html><body><h1>Welcome to nginx!</h1>\n<p>{TOKEN}</p></body></html>".encode(), "text/html"),
        (500, api_error(500, "Internal Server Error"), JSON),
        (409, api_error(409, TOKEN.replace(":", "%3A")), JSON),
    ],
    ids=["403-echoes-token", "200-html", "500", "409-url-encoded-token"],
)
def test_bot_api_start_up_failures_are_one_scrubbed_line(
    status: int, body: bytes, content_type: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "TELEGRAM_"))}
    with OneReplyAPI(status, body, content_type) as base_url:
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=base_url, ISNAD_DATA_DIR=str(tmp_path / "d"))
        result = subprocess.run(
            [sys.executable, "-m", "isnad", "bot"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    err = result.stderr
    assert result.returncode == 2
    assert len(err.strip().splitlines()) == 1, err  # was a 64- or 93-line traceback
    assert err.startswith("isnad: error: ") and "Bot API" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err


def test_reindex_of_a_corpus_with_a_fifo_finishes_and_sigint_stops_the_bot(
    fake: FakeBotAPI, seeds_data: Path, tmp_path: Path
) -> None:
    # The attack as reported: a link to a FIFO in the corpus hung /reindex, kept the data-dir
    # lock, left the admin's chat unanswered, and the bot then ignored SIGINT.
    data, corpus = tmp_path / "data", tmp_path / "corpus"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    shutil.copytree(SEEDS, corpus)
    os.mkfifo(tmp_path / "pipe")
    (corpus / "pipe.txt").symlink_to(tmp_path / "pipe")
    os.mkfifo(corpus / "fifo.md")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        ISNAD_DATA_DIR=str(data),
        ISNAD_CORPUS_DIR=str(corpus),
        ISNAD_ADMINS="651",
    )
    log = tmp_path / "bot.log"
    process = start_isnad_bot(env, tmp_path, log)
    try:
        fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), 90, "isnad bot to poll")
        admin, chat = fake.user(651), fake.private_chat(651)
        ask(fake, chat, admin, "/reindex")
        _, done = answers_to(fake, 651, 0, 2)
        assert "اكتملت الفهرسة" in done.params["text"] and "تخطّيت 2" in done.params["text"]
        ask(fake, chat, admin, TRUCKS)
        assert "43 شاحنة" in answers_to(fake, 651, 2)[0].params["text"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("isnad bot did not stop on SIGINT within 30 s")
    stderr = log.read_text()
    assert process.returncode in (0, 130), stderr[-2000:]
    assert "FIFO" in stderr and fake.token not in stderr
