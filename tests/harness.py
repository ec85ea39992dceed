"""What the tests share besides fixtures: the questions they ask, a running bot, reading its replies.

Fixtures live in conftest.py; fakes of outside services in the fake_*.py modules. No test
module imports another: what two of them need is here.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Answer, Citation, Engine
from bot.qa.passage import Passage
from bot.telegram.app import build_application, serve
from bot.telegram.ratelimit import UserRateLimiter
from indexing.store.chroma import Occurrence, StoredParagraph
from isnad.settings import Settings
from isnad.wiring import bot_config, index_job
from tests.fake_telegram import Call, FakeBotAPI, telegram_html_problems, utf16_len

# -- questions the seeds answer

TRUCKS = "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟"
KUWAIT = "من اقترح القرار 2401؟"
RESOLUTION = "ما هو القرار 2401؟"
FOLLOW_UP = "ومن اقترحه؟"

# -- and odd ones

ODD_QUESTIONS = [
    "",
    "   \n\t ",
    "ق" * 4096,
    "😀😀😀🔥",
    "\u202eما هو\u200f القرار\u200b 2401\u202c؟ and what about UN?",
    "<b>ما هو</b> القرار 2401 & <script>alert(1)</script>",
    "'; DROP TABLE paragraphs; --",
    "What is the capital of Australia?",
    "**ما** _هو_ [القرار](http://x) 2401؟",
    "؟؟؟",
]


# -- loopback


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll until predicate() holds (the bound only ends a hung test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- the bot


def sharing(base: Engine) -> Callable[[ConversationMemory], Engine]:
    """Engine factory: the module's retriever and answerer, with the bot's own memory."""
    return lambda memory: Engine(base.retriever, base.answerer, base.evidence, memory=memory)


class RunningBot:
    """The real Application, run by `serve` on its own event loop in a thread."""

    def __init__(
        self,
        fake: FakeBotAPI,
        settings: Settings,
        factory: Callable[[ConversationMemory], Engine],
        store_path: Path,
        limiter: UserRateLimiter | None = None,
    ) -> None:
        self.fake = fake
        self.config = replace(bot_config(settings), state_path=store_path)
        self.application = build_application(self.config, factory, index_job(settings), limiter=limiter)
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="isnad-bot", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            await serve(self.application, self.config, self._stop, poll_timeout=1)

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc
        finally:
            self.fake.poke()

    def __enter__(self) -> RunningBot:
        self._thread.start()
        ready = "setWebhook" if self.config.webhook_url else "getUpdates"
        self.fake.wait_for(
            lambda calls: self.error is not None or any(c.method == ready for c in calls),
            what="the bot to start",
        )
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the bot did not stop"
        if self.error is not None:
            raise self.error

    @property
    def services(self) -> Any:
        return self.application.bot_data["isnad"]


def ask(fake: FakeBotAPI, chat: dict[str, Any], user: dict[str, Any], text: str, **kw: Any) -> dict[str, Any]:
    """Send a message from a user in a chat, as Telegram would deliver it."""
    return fake.message(chat, user, text, **kw)


def answers_to(fake: FakeBotAPI, chat_id: int, after: int, count: int = 1) -> list[Call]:
    """The next `count` messages the bot sends to a chat after it had sent `after`."""
    return fake.wait_sent(chat_id, after + count)[after:]


def assert_all_valid(fake: FakeBotAPI) -> None:
    """Telegram would have accepted every message the bot sent."""
    rejected = [c for c in fake.calls if c.method == "sendMessage" and c.status == 400]
    assert not rejected, rejected
    for call in fake.sent():
        assert call.params.get("parse_mode") == "HTML"
        assert utf16_len(call.params["text"]) <= 4096
        assert telegram_html_problems(call.params["text"]) == []


def buttons(call: Call) -> list[dict[str, Any]]:
    """The inline keyboard's buttons of a sent message, row after row."""
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


# -- engines with canned answers (a real Engine whose ask() follows a script)


class ScriptedEngine(Engine):
    """A real Engine whose answers come from `script`; a question in `gates` waits for its event."""

    def __init__(self, base: Engine, memory: ConversationMemory, script: Callable[[str], Answer]) -> None:
        super().__init__(base.retriever, base.answerer, base.evidence, memory=memory)
        self.script = script
        self.gates: dict[str, threading.Event] = {}
        self.log: list[tuple[str, str]] = []

    def ask(self, question: str, conversation: str | None = None) -> Answer:
        self.log.append(("start", question))
        gate = self.gates.get(question)
        if gate is not None:
            assert gate.wait(30), "gate never opened"
        answer = self.script(question)
        self.log.append(("end", question))
        return answer


def scripted_answer(text: str, cited: Sequence[tuple[str, int, str, str]] = (), notice: str = "") -> Answer:
    """An Answer with citations (source, paragraph, title, text) and matching retrieved passages."""
    passages = [
        Passage(
            StoredParagraph(f"pid-{source}-{n}", source, n, body, title, "", (Occurrence(source, n),)), 0.9
        )
        for source, n, title, body in cited
    ]
    citations = [Citation.from_passage(i, p) for i, p in enumerate(passages, 1)]
    return Answer(
        text, text, text, bool(citations), "extractive", citations, passages, {"total": 1.0}, notice
    )


def scripted(
    base: Engine, script: Callable[[str], Answer], holder: list[ScriptedEngine]
) -> Callable[..., Engine]:
    def factory(memory: ConversationMemory) -> Engine:
        engine = ScriptedEngine(base, memory, script)
        holder.append(engine)
        return engine

    return factory


def start_isnad_bot(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """`isnad -v bot` as a real process, its stderr appended to log."""
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "isnad", "-v", "bot"],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
