"""What an operator relies on: graceful SIGTERM, metrics and health over HTTP, quiet and JSON logs.

`isnad bot` runs as a real process (SIGTERM, restart) or in a thread (metrics, logs),
always against the fake Bot API on loopback.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Answer, Engine
from bot.qa.generative import UNAVAILABLE_NOTICE
from bot.telegram.ratelimit import UserRateLimiter
from isnad.settings import Settings
from tests.fake_telegram import FakeBotAPI
from tests.harness import (
    KUWAIT,
    TRUCKS,
    RunningBot,
    answers_to,
    buttons,
    free_port,
    scripted,
    scripted_answer,
    start_isnad_bot,
)

pytestmark = pytest.mark.network
T = TypeVar("T")

NOT_IN_ARCHIVE = "ما هي عاصمة أستراليا؟"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# -- graceful stop


def isnad_env(fake: FakeBotAPI, data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "TELEGRAM_", "OPENAI_"))}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, ISNAD_DATA_DIR=str(data))
    env.update(extra)
    return env


def test_sigterm_with_three_answers_in_flight_delivers_them_and_restart_answers_nothing_twice(
    fake: FakeBotAPI, seeds_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    env, log = isnad_env(fake, data), tmp_path / "bot.log"
    first = start_isnad_bot(env, tmp_path, log)
    chats = (901, 902, 903)
    try:
        fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), 90, "isnad bot to poll")
        fake.delay_next("sendMessage", seconds=3, times=3)  # the answers are on the wire for 3 s
        for chat_id in chats:
            fake.message(fake.private_chat(chat_id), fake.user(chat_id), TRUCKS)
        fake.wait_for(
            lambda calls: len({c.params["chat_id"] for c in calls if c.method == "sendMessage"}) == 3,
            what="three answers in flight",
        )
        assert all(c.result is None for c in fake.sent())  # none delivered yet: all three in flight
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(60)
    assert first.returncode == 0, log.read_text()[-3000:]
    for chat_id in chats:  # each finished and was delivered before the exit
        [answer] = fake.sent(chat_id)
        assert "43 شاحنة" in answer.params["text"]
    handled = max(u for c in fake.calls if c.method == "getUpdates" for u in _update_ids(c))
    confirmed = max(int(c.params.get("offset") or 0) for c in fake.calls if c.method == "getUpdates")
    assert confirmed == handled + 1  # Telegram was told before the exit

    second = start_isnad_bot(env, tmp_path, log)
    try:
        fake.message(fake.private_chat(904), fake.user(904), KUWAIT)  # after the earlier ones in the queue
        [later] = answers_to(fake, 904, 0, 1)
        assert "الكويت" in later.params["text"]
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    assert second.returncode == 0, log.read_text()[-3000:]
    for chat_id in chats:
        assert len(fake.sent(chat_id)) == 1  # nothing answered twice after the restart
    assert fake.token not in log.read_text()


def _update_ids(call: Any) -> list[int]:
    return [int(u["update_id"]) for u in (call.result or [])] if call.status == 200 else []


# -- metrics and health


@pytest.fixture
def bots() -> Iterator[list[RunningBot]]:
    started: list[RunningBot] = []
    yield started
    for bot in reversed(started):
        if bot._thread.is_alive():
            bot.__exit__()


def scraped(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    status, body = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def eventually(probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll a condition that no fake call signals (a metric updated after the last reply)."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)
    return found


def with_timings(answer: Answer) -> Answer:
    answer.timings_ms = {"retrieve": 12.0, "answer": 3.0, "total": 15.0}
    return answer


def test_metrics_after_a_known_sequence_of_questions(
    fake: FakeBotAPI, settings: Settings, base_engine: Engine, tmp_path: Path, bots: list[RunningBot]
) -> None:
    cited = [("000_b4ebc4adb0f988c0.txt", 69, "عنوان", "لدينا 43 شاحنة جاهزة")]

    def script(question: str) -> Answer:
        if question == "انفجر":
            raise RuntimeError("engine failure")
        if question == "خارج الأرشيف":
            return with_timings(scripted_answer("لا أجد في المقالات المفهرسة ما يجيب عن هذا السؤال."))
        answer = with_timings(scripted_answer("43 شاحنة جاهزة [1]", cited))
        if question == "النموذج معطل":
            answer.notice = UNAVAILABLE_NOTICE  # the LLM was down: the extractive answer with a notice
        else:
            answer.mode = "openai"
        return answer

    port = free_port()
    bot = RunningBot(
        fake,
        replace(settings, metrics_listen=f"127.0.0.1:{port}", llm="openai"),
        scripted(base_engine, script, []),
        tmp_path / "telegram.sqlite3",
        UserRateLimiter(limit=1000),
    )
    bots.append(bot.__enter__())
    chat, user = fake.private_chat(911), fake.user(911)
    before = scraped(port)
    assert before[("isnad_questions_total", (("mode", "openai"), ("outcome", "answered")))] == 0

    for question in ("سؤال", "سؤال آخر", "خارج الأرشيف", "النموذج معطل", "انفجر"):
        fake.message(chat, user, question)
    replies = answers_to(fake, 911, 0, 5)
    fake.fail_next("sendMessage", status=502)  # the next answer is retried once
    fake.message(chat, user, "سؤال ثالث")
    answers_to(fake, 911, 5)
    answer = replies[0]
    data = {b["text"]: b["callback_data"] for b in buttons(answer)}
    message = fake.stored_message(911, answer.result["message_id"])
    for label in ("👍", "👎", next(k for k in data if "[1]" in k)):
        fake.press(message, user, data[label])
    fake.wait_for(
        lambda calls: len([c for c in calls if c.method == "answerCallbackQuery"]) >= 3, what="three presses"
    )

    # PTB observes an update's time just after its handler's last call: wait for all nine.
    after = eventually(lambda: m if (m := scraped(port))[("isnad_update_seconds_count", ())] >= 9 else None)

    def value(name: str, **labels: str) -> float:
        return after[(name, tuple(sorted(labels.items())))]

    assert value("isnad_questions_total", mode="openai", outcome="answered") == 3
    assert value("isnad_questions_total", mode="openai", outcome="declined") == 1
    assert value("isnad_questions_total", mode="openai", outcome="fallback") == 1
    assert value("isnad_questions_total", mode="openai", outcome="error") == 1
    assert value("isnad_questions_total", mode="extractive", outcome="answered") == 0
    assert value("isnad_llm_fallbacks_total", reason="unavailable") == 1
    assert value("isnad_llm_fallbacks_total", reason="unverified") == 0
    assert value("isnad_retrieve_seconds_count") == 5 and value("isnad_retrieve_seconds_sum") == 5 * 0.012
    assert value("isnad_answer_seconds_count") == 5
    assert value("isnad_send_retries_total", reason="network") == 1
    assert value("isnad_send_failures_total") == 0
    # Five answers sent (the error got the generic reply instead), one of them twice: six attempts.
    assert value("isnad_telegram_send_seconds_count") == 6
    assert value("isnad_update_seconds_count") == 9  # six messages, three presses
    assert value("isnad_feedback_votes_total", vote="up") == 1
    assert value("isnad_feedback_votes_total", vote="down") == 1
    assert value("isnad_wrong_source_flags_total") == 1
    assert value("isnad_paragraphs_indexed") == bot.services.archive.paragraphs > 0
    assert value("isnad_last_index_timestamp_seconds") == 0  # no index run in this process yet

    assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
    assert get(f"http://127.0.0.1:{port}/readyz") == (200, "ready\n")
    bot.__exit__()
    with pytest.raises(urllib.error.URLError):
        get(f"http://127.0.0.1:{port}/healthz")  # the listener closes with the bot


def test_readyz_waits_for_the_engine_and_healthz_is_alive_meanwhile(
    fake: FakeBotAPI, settings: Settings, base_engine: Engine, tmp_path: Path, bots: list[RunningBot]
) -> None:
    import threading

    loading = threading.Event()

    def slow_factory(memory: ConversationMemory) -> Engine:
        assert loading.wait(60), "the test never let the engine load"
        return Engine(base_engine.retriever, base_engine.answerer, base_engine.evidence, memory=memory)

    port = free_port()
    bot = RunningBot(
        fake, replace(settings, metrics_listen=f"127.0.0.1:{port}"), slow_factory, tmp_path / "t.sqlite3"
    )
    bot._thread.start()
    bots.append(bot)

    def listening(_calls: object) -> bool:
        try:
            return get(f"http://127.0.0.1:{port}/readyz")[0] == 503
        except urllib.error.URLError:
            return False

    fake.wait_for(listening, what="the metrics listener")  # the fake's calls wake the wait
    assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok (starting)\n")
    loading.set()
    fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), what="the bot to poll")
    assert get(f"http://127.0.0.1:{port}/readyz") == (200, "ready\n")


def test_health_endpoints_on_the_webhook_listener(
    fake: FakeBotAPI, settings: Settings, base_engine: Engine, tmp_path: Path, bots: list[RunningBot]
) -> None:
    port = free_port()
    hooked = replace(
        settings,
        webhook_url="https://isnad.example/tg/hook",
        webhook_secret="s3cret",
        webhook_listen=f"127.0.0.1:{port}",
    )
    factory = lambda memory: Engine(  # noqa: E731
        base_engine.retriever, base_engine.answerer, base_engine.evidence, memory=memory
    )
    bots.append(RunningBot(fake, hooked, factory, tmp_path / "t.sqlite3").__enter__())
    assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
    assert get(f"http://127.0.0.1:{port}/readyz") == (200, "ready\n")
    status, body = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and "isnad_questions_total" in body


def test_healthz_is_503_when_the_index_cannot_be_read() -> None:
    import asyncio

    from bot.telegram.health import Health
    from bot.telegram.metrics import Metrics

    def unreadable() -> int:
        raise OSError("chroma.sqlite3: disk I/O error")

    health = Health(Metrics())
    health.index_check = unreadable
    response = asyncio.run(health.healthz(None))  # type: ignore[arg-type]
    assert response.status == 503 and "OSError" in (response.text or "")


# -- logs


def test_a_polling_outage_logs_one_warning_and_one_recovery_line(
    fake: FakeBotAPI, settings: Settings, base_engine: Engine, tmp_path: Path, bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    factory = lambda memory: Engine(  # noqa: E731
        base_engine.retriever, base_engine.answerer, base_engine.evidence, memory=memory
    )
    bots.append(RunningBot(fake, settings, factory, tmp_path / "t.sqlite3").__enter__())
    fake.fail_next("getUpdates", times=2, status=502)
    fake.drop_next("getUpdates")
    fake.reset_next("getUpdates")
    fake.fail_next("getUpdates", status=503)
    fake.wait_for(
        lambda calls: len([c for c in calls if c.method == "getUpdates" and c.status != 200]) == 5,
        what="five failed polls",
    )
    chat, user = fake.private_chat(921), fake.user(921)
    fake.message(chat, user, TRUCKS)  # the next successful poll gets it
    [answer] = answers_to(fake, 921, 0, 1)
    assert "43 شاحنة" in answer.params["text"]
    visible = [
        r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith(("telegram", "bot"))
    ]
    started = [r for r in visible if "polling Telegram failed" in r.getMessage()]
    ended = [r for r in visible if "works again after" in r.getMessage()]
    assert len(started) == 1 and started[0].levelno == logging.WARNING
    assert len(ended) == 1 and "5 failed polls" in ended[0].getMessage()
    assert not [r for r in visible if r.levelno >= logging.ERROR]
    assert not [r for r in visible if r.exc_info or r.exc_text]  # no traceback per attempt


def test_questions_are_not_logged_unless_the_operator_opts_in(
    fake: FakeBotAPI, settings: Settings, base_engine: Engine, tmp_path: Path, bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    factory = lambda memory: Engine(  # noqa: E731
        base_engine.retriever, base_engine.answerer, base_engine.evidence, memory=memory
    )
    quiet = RunningBot(fake, settings, factory, tmp_path / "a.sqlite3").__enter__()
    bots.append(quiet)
    fake.message(fake.private_chat(931), fake.user(931), TRUCKS)
    answers_to(fake, 931, 0)
    quiet.__exit__()
    assert "answered chat 931" in caplog.text
    assert TRUCKS not in caplog.text and "إيجلاند" not in caplog.text

    caplog.clear()
    told = RunningBot(
        fake, replace(settings, log_questions=True), factory, tmp_path / "b.sqlite3"
    ).__enter__()
    bots.append(told)
    fake.message(fake.private_chat(932), fake.user(932), TRUCKS)
    answers_to(fake, 932, 0)
    [line] = [r.getMessage() for r in caplog.records if "answered chat 932" in r.getMessage()]
    assert TRUCKS in line


def test_json_log_format_gives_one_object_per_line(
    fake: FakeBotAPI, seeds_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data, ignore=shutil.ignore_patterns("index.lock"))
    log = tmp_path / "bot.log"
    bot = start_isnad_bot(isnad_env(fake, data, ISNAD_LOG_FORMAT="json"), tmp_path, log)
    try:
        fake.wait_for(lambda calls: any(c.method == "getUpdates" for c in calls), 90, "isnad bot to poll")
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(60)
    assert bot.returncode == 0, log.read_text()[-2000:]
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any("is answering (polling)" in r["message"] for r in records)
    assert fake.token not in log.read_text()


def test_json_formatter_keeps_arabic_exceptions_and_newlines_on_one_line() -> None:
    from isnad.logs import JsonFormatter

    try:
        raise ValueError("سطر\nآخر")
    except ValueError:
        record = logging.LogRecord("isnad", logging.ERROR, __file__, 1, "فشل %s", ("هنا",), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "فشل هنا" and parsed["level"] == "ERROR"
    assert "ValueError: سطر\nآخر" in parsed["exception"]


def test_bad_log_format_and_metrics_listen_are_clear_errors(tmp_path: Path) -> None:
    from indexing.errors import ConfigError

    with pytest.raises(ConfigError, match="ISNAD_LOG_FORMAT"):
        Settings.from_env({"ISNAD_LOG_FORMAT": "xml"}, dotenv=None)
    settings = Settings(data_dir=tmp_path, telegram_token="1:x", metrics_listen="9464")
    from bot.telegram.app import build_application
    from isnad.wiring import bot_config, index_job

    with pytest.raises(ConfigError, match="ISNAD_METRICS_LISTEN"):
        build_application(bot_config(settings), lambda memory: None, index_job(settings))  # type: ignore[arg-type,return-value]
