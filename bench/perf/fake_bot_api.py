"""A minimal Telegram Bot API on loopback, so the real `isnad bot` can be run and measured.

It serves a fixed list of private-chat questions through getUpdates (long polling,
confirmed by offset), all of them from one chat or each from the chat it names, and
records what the bot sends back; every other method succeeds. Only what a measurement
needs: the full protocol fake lives with the tests.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs

CHAT_ID = 4242
_BOT = {
    "id": 777,
    "is_bot": True,
    "first_name": "isnad bench",
    "username": "isnad_bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_USER = {"id": CHAT_ID, "is_bot": False, "first_name": "bench"}


class Reply(NamedTuple):
    """A message the bot sent or edited: when (seconds since start), how, to whom, what."""

    at: float
    method: str
    text: str
    chat_id: int = CHAT_ID


class FakeBotAPI:
    """Serves questions as updates (a str from CHAT_ID, or (chat id, text)); `sent` holds the replies."""

    def __init__(self, questions: list[str] | list[tuple[int, str]]) -> None:
        self.started = time.perf_counter()
        asked = [(CHAT_ID, q) if isinstance(q, str) else q for q in questions]
        self.updates: list[dict[str, Any]] = [
            {
                "update_id": i,
                "message": {
                    "message_id": i,
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private", "first_name": "bench"},
                    "from": {**_USER, "id": chat},
                    "text": q,
                },
            }
            for i, (chat, q) in enumerate(asked, 1)
        ]
        self.served_at: float | None = None  # when the first questions went out (seconds since start)
        self.sent: list[Reply] = []
        self.lock = threading.Lock()
        self._next_message_id = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What TELEGRAM_BASE_URL should be (the token is appended to it)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def __enter__(self) -> FakeBotAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def replies(self) -> list[Reply]:
        """Messages sent or edited so far."""
        with self.lock:
            return list(self.sent)

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return _BOT
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            pending = [u for u in self.updates if int(u["update_id"]) >= offset]
            if pending:
                with self.lock:
                    self.served_at = self.served_at or time.perf_counter() - self.started
                return pending
            time.sleep(min(float(params.get("timeout") or 0), 0.5))
            return []
        if method in ("sendMessage", "editMessageText"):
            with self.lock:
                chat = int(params.get("chat_id") or CHAT_ID)
                self.sent.append(
                    Reply(time.perf_counter() - self.started, method, str(params.get("text", "")), chat)
                )
                self._next_message_id += 1
                message_id = self._next_message_id
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": _BOT,
                "text": str(params.get("text", "")),
            }
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(body or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(body).items()}
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                payload = json.dumps({"ok": True, "result": api._call(method, params)}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot hung up on a long poll while shutting down

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
