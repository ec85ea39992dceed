"""A fake OpenAI-compatible chat server on loopback: canned replies in, requests recorded.

Real HTTP on 127.0.0.1 with an ephemeral port, so tests exercise the real client stack
(llama-index, openai, httpx) instead of patched internals. Replies are served in the
order enqueued; a request that finds the queue empty gets HTTP 500 and is counted in
`unexpected`, so a test that makes more calls than it planned fails visibly.

    with FakeOpenAI() as server:
        server.enqueue(["جواب [1]", FakeReply(status=500)])
        ... point a client at server.base_url ...
        assert server.history[0]["messages"]
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class FakeReply:
    """One canned response: assistant content, or an HTTP error, optionally delayed.

    `delay` holds the response back that many seconds, to make a client time out;
    `retry_after` is sent as the Retry-After header; `body` replaces the JSON body, and
    `raw` the whole body with bytes sent as they are (say, JSON cut short).
    """

    content: str | None = None
    status: int = 200
    retry_after: float | str | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None
    echo: bool = False  # reply with every message it was sent, like a model that leaks its prompt
    raw: bytes | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping out a delay must not block shutdown
    fake: FakeOpenAI


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines of http.server."""

    def _send_json(
        self, status: int, payload: dict[str, Any] | bytes, headers: dict[str, str] | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timed out) before the reply was ready

    def do_GET(self) -> None:
        """GET /v1/models lists the one fake model."""
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        model = {"id": self.server.fake.model, "object": "model", "created": 0, "owned_by": "fake"}
        self._send_json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        """POST /v1/chat/completions serves the next canned reply."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        fake = self.server.fake
        reply = fake._record(json.loads(raw or b"{}"), {k.lower(): v for k, v in self.headers.items()})
        if reply is None:
            self._send_json(
                500, {"error": {"message": "fake server: no reply enqueued", "type": "server_error"}}
            )
            return
        if reply.delay and fake._stopping.wait(reply.delay):
            return  # server stopping: drop the request
        headers = {} if reply.retry_after is None else {"Retry-After": str(reply.retry_after)}
        if reply.raw is not None:
            self._send_json(reply.status, reply.raw, headers)
        elif reply.body is not None:
            self._send_json(reply.status, reply.body, headers)
        elif reply.status >= 400:
            error = {"message": f"fake error {reply.status}", "type": "server_error", "code": None}
            self._send_json(reply.status, {"error": error}, headers)
        elif reply.echo:
            sent = json.loads(raw or b"{}").get("messages", [])
            echoed = "\n".join(str(m.get("content", "")) for m in sent)
            self._send_json(reply.status, fake._completion(echoed + "\n" + (reply.content or "")), headers)
        else:
            self._send_json(reply.status, fake._completion(reply.content or ""), headers)


class FakeOpenAI:
    """The fake server; start it with `with` (or start()/stop())."""

    def __init__(self, model: str = "fake-model") -> None:
        self.model = model
        self.history: list[dict[str, Any]] = []  # JSON bodies of chat requests, in order
        self.headers: list[dict[str, str]] = []  # their HTTP headers, names lower-cased
        self.unexpected = 0  # requests that found no canned reply
        self._queue: deque[FakeReply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The ephemeral port the server listens on."""
        if self._server is None:
            raise RuntimeError("fake server not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL would be for this server."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pending(self) -> int:
        """Canned replies not served yet."""
        with self._lock:
            return len(self._queue)

    def enqueue(self, replies: Iterable[str | FakeReply]) -> None:
        """Queue replies: a string is the assistant's content, a FakeReply anything else."""
        with self._lock:
            self._queue.extend(r if isinstance(r, FakeReply) else FakeReply(content=r) for r in replies)

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> FakeReply | None:
        with self._lock:
            self.history.append(body)
            self.headers.append(headers)
            if not self._queue:
                self.unexpected += 1
                return None
            return self._queue.popleft()

    def _completion(self, content: str) -> dict[str, Any]:
        with self._lock:
            number = len(self.history)
        message = {"role": "assistant", "content": content}
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    def start(self) -> FakeOpenAI:
        """Listen on 127.0.0.1 and serve from a background thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._stopping.clear()
        # A short poll keeps shutdown() (which waits for the next poll) from costing each test 0.5 s.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed handlers, and close the socket."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
