"""A fake Telegram Bot API on 127.0.0.1: real HTTP, an update queue to feed, a record of every call.

The real python-telegram-bot talks to it through `TELEGRAM_BASE_URL=http://127.0.0.1:PORT/bot`
(the token is appended, as against api.telegram.org). Like Telegram it long-polls
getUpdates, confirms updates by offset, rejects HTML it cannot parse and texts over 4096
characters with 400, and when told to answers 429 with `retry_after` or a proxy's 502
(`fail_next`), closes the connection without a reply (`drop_next`), resets it (`reset_next`),
or handles the call and then stalls past the client's timeout (`stall_next`).
Tests wait on conditions (`wait_for`), never on sleeps.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs

T = TypeVar("T")

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
ENTITIES = {"lt", "gt", "amp", "quot"}
# Parameters Telegram takes as strings; everything else arrives JSON-encoded from PTB.
_STRING_PARAMS = {
    "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "action",
    "description", "short_description", "language_code", "inline_message_id", "name",
}  # fmt: skip


class _TelegramHTML(HTMLParser):
    """Checks text the way Bot API HTML parsing does: known tags, balanced, all else escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.visible: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        elif tag == "blockquote":
            if attrs not in ([], [("expandable", None)]):
                self.problems.append(f"blockquote attributes {attrs}")
        elif tag not in ("a", "span", "tg-emoji", "code", "pre") and attrs:
            self.problems.append(f"<{tag}> takes no attributes")
        if tag == "blockquote" and "blockquote" in self.stack:
            self.problems.append("nested blockquote")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unbalanced </{tag}> (open: {self.stack})")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for char in "<>&":
            if char in data:
                self.problems.append(f"unescaped {char!r} in text")
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ENTITIES:
            self.problems.append(f"unknown entity &{name};")
        self.visible.append("x")

    def handle_charref(self, name: str) -> None:
        self.visible.append("x")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("unknown declaration")


def telegram_html_problems(text: str) -> list[str]:
    """Why Telegram would refuse this `parse_mode=HTML` text; empty when it is fine."""
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    problems = list(parser.problems)
    if parser.rawdata:
        problems.append(f"unparsed tail {parser.rawdata[:20]!r}")
    if parser.stack:
        problems.append(f"unclosed tags {parser.stack}")
    visible = "".join(parser.visible)
    if not visible.strip():
        problems.append("message text is empty")
    if len(visible.encode("utf-16-le")) // 2 > 4096:
        problems.append("message is too long")
    return problems


def utf16_len(text: str) -> int:
    """Offsets and lengths of entities are in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    result: Any = None


@dataclass(frozen=True)
class Fault:
    """How to fail one call: an HTTP status (429 with retry_after, 502 from a proxy) or no reply.

    `drop` closes the connection before the call is handled, `reset` sends a TCP reset
    instead, and `stall` handles the call (the message is sent) but keeps the reply back
    for that many seconds and then hangs up, as when Telegram's answer is lost on the way.
    `delay` is no fault: the reply comes, that many seconds late (a slow network).
    """

    status: int = 429
    retry_after: int = 1
    drop: bool = False
    reset: bool = False
    stall: float = 0.0
    delay: float = 0.0


NO_REPLY = 0  # Call.status of a call whose connection was closed without a reply
RESET = -1  # Call.status of a call whose connection was reset


class ApiError(Exception):
    """An error reply, as Telegram sends it."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of sends on a busy machine overflowed
    # it and connections were reset, a failure the real Bot API does not have.
    request_queue_size = 128


class FakeBotAPI:
    """The Bot API methods isnad uses, served on an ephemeral loopback port."""

    def __init__(
        self,
        token: str = "7654321098:AAF4ke-T0ken_for_isnad_tests_xyz123",
        bot_id: int = 7654321098,
        username: str = "isnad_test_bot",
    ) -> None:
        self.token = token
        self.username = username
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "إسناد", "username": username}
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self.commands: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1000
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._failures: dict[str, list[Fault]] = {}
        self._closed = False
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-bot-api",
            daemon=True,
        )

    # -- lifecycle

    @property
    def base_url(self) -> str:
        """What TELEGRAM_BASE_URL should be."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeBotAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests feed in

    def user(self, user_id: int, name: str = "قارئ") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "ar"}

    def private_chat(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "type": "private", "first_name": "قارئ"}

    def group_chat(self, chat_id: int, title: str = "مجموعة الأخبار") -> dict[str, Any]:
        return {"id": chat_id, "type": "supergroup", "title": title}

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self._cond:
            update = {"update_id": self._next_update, **update}
            self._next_update += 1
            self._pending.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    def message(
        self,
        chat: dict[str, Any],
        user: dict[str, Any],
        text: str | None = None,
        *,
        reply_to: dict[str, Any] | None = None,
        kind: str = "message",
        **fields: Any,
    ) -> dict[str, Any]:
        """Send a message as a user (text with command and mention entities, or other fields)."""
        with self._cond:
            self._chats[chat["id"]] = chat
            message: dict[str, Any] = {
                "message_id": self._new_message_id(),
                "date": int(time.time()),
                "chat": chat,
                "from": user,
                **fields,
            }
            if text is not None:
                message["text"] = text
                entities = self._entities(text)
                if entities:
                    message["entities"] = entities
            if reply_to is not None:
                message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
            self._messages[(chat["id"], message["message_id"])] = message
        if kind == "edited_message":
            message["edit_date"] = int(time.time())
        self.push_update({kind: message})
        return message

    def press(self, message: dict[str, Any], user: dict[str, Any], data: str) -> str:
        """Press an inline button under one of the bot's messages; returns the query id."""
        query_id = f"cq{time.monotonic_ns()}"
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "chat_instance": str(message["chat"]["id"]),
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    def fail_next(self, method: str, times: int = 1, retry_after: int = 1, status: int = 429) -> None:
        """Answer the next `times` calls of `method` with 429 Too Many Requests (or `status`)."""
        with self._cond:
            self._failures.setdefault(method, []).extend([Fault(status, retry_after)] * times)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection of the next `times` calls of `method` without replying."""
        with self._cond:
            self._failures.setdefault(method, []).extend([Fault(drop=True)] * times)

    def clear_faults(self) -> None:
        """Forget the faults not used yet."""
        with self._cond:
            self._failures.clear()

    def reset_next(self, method: str, times: int = 1) -> None:
        """Reset the connection (TCP RST) of the next `times` calls of `method`, unhandled."""
        with self._cond:
            self._failures.setdefault(method, []).extend([Fault(reset=True)] * times)

    def stall_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Handle the next `times` calls of `method` (they take effect), then withhold the reply."""
        with self._cond:
            self._failures.setdefault(method, []).extend([Fault(stall=seconds)] * times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Reply to the next `times` calls of `method` normally, but `seconds` late."""
        with self._cond:
            self._failures.setdefault(method, []).extend([Fault(delay=seconds)] * times)

    def _entities(self, text: str) -> list[dict[str, Any]]:
        entities = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        for match in re.finditer(r"@\w+", text):
            offset = utf16_len(text[: match.start()])
            entities.append({"type": "mention", "offset": offset, "length": utf16_len(match.group())})
        return entities

    def _new_message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    # -- what tests read back

    def wait_for(self, predicate: Callable[[list[Call]], T], timeout: float = 30.0, what: str = "") -> T:
        """Block until predicate(calls) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self.calls)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    methods = [c.method for c in self.calls][-15:]
                    raise AssertionError(f"timed out waiting for {what or predicate}; last calls {methods}")
                self._cond.wait(remaining)

    def poke(self) -> None:
        """Wake waiters (e.g. when the bot thread died) so they re-check."""
        with self._cond:
            self._cond.notify_all()

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        """Successful calls of a method (to a chat)."""
        with self._cond:
            return [
                c
                for c in self.calls
                if c.method == method
                and c.status == 200
                and (chat_id is None or c.params.get("chat_id") == chat_id)
            ]

    def wait_sent(self, chat_id: int, count: int, timeout: float = 30.0) -> list[Call]:
        """Block until the bot has sent `count` messages to the chat; returns them in order."""
        return self.wait_for(
            lambda calls: found if len(found := self._sent_in(calls, chat_id)) >= count else None,
            timeout,
            f"{count} messages to chat {chat_id}",
        )

    @staticmethod
    def _sent_in(calls: list[Call], chat_id: int) -> list[Call]:
        return [
            c
            for c in calls
            if c.method == "sendMessage" and c.status == 200 and c.params["chat_id"] == chat_id
        ]

    def stored_message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A message as the fake holds it (for replies and button presses)."""
        with self._cond:
            return self._messages[(chat_id, message_id)]

    # -- the API

    def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None, Fault | None]:
        """Status, JSON body and fault of one call; a None body means "close without replying"."""
        call = Call(method, params)
        fault: Fault | None = None
        try:
            with self._cond:
                self.calls.append(call)
                self._cond.notify_all()
                failures = self._failures.get(method)
                fault = failures.pop(0) if failures else None
            if fault is not None and (fault.drop or fault.reset):
                call.status = RESET if fault.reset else NO_REPLY
                return call.status, None, fault
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
                fault = None
            if fault is not None and fault.status == 429 and not fault.stall:
                retry_after = fault.retry_after
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
            if fault is not None and not fault.stall:
                raise ApiError(fault.status, f"fake proxy error {fault.status}")
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            call.result = handler(params)
            body: dict[str, Any] = {"ok": True, "result": call.result}
        except ApiError as exc:
            call.status = exc.status
            body = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
        with self._cond:
            self._cond.notify_all()
        return call.status, body, fault

    def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False}

    def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            while not self._pending and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self._pending[:limit])

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            problems = telegram_html_problems(text)
            if problems:
                raise ApiError(400, f"Bad Request: can't parse entities: {problems[0]}")
        elif utf16_len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        with self._cond:
            chat = self._chats.get(chat_id) or self.private_chat(chat_id)
            message: dict[str, Any] = {
                "message_id": self._new_message_id(),
                "date": int(time.time()),
                "chat": chat,
                "from": self.bot_user,
                "text": text,
            }
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            reply = params.get("reply_parameters") or {}
            original = self._messages.get((chat_id, int(reply.get("message_id", 0))))
            if original is not None:
                message["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
            self._messages[(chat_id, message["message_id"])] = message
            return message

    def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            message = self._messages[(int(params["chat_id"]), int(params["message_id"]))]
            message["text"] = params["text"]
            return message

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            message = self._messages[(int(params["chat_id"]), int(params["message_id"]))]
            message["reply_markup"] = params.get("reply_markup")
            return message

    def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = params
        return True

    def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        url = (self.webhook or {}).get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._pending)}

    def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands

    def _api_deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands = []
        return True

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    def _api_logout(self, params: dict[str, Any]) -> bool:
        return True

    # -- HTTP

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def do_GET(self) -> None:
                self._serve(b"")

            def _serve(self, raw: bytes) -> None:
                prefix = f"/bot{api.token}/"
                body: dict[str, Any] | None
                fault = None
                if not self.path.startswith(prefix):
                    status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                else:
                    method = self.path[len(prefix) :].split("?")[0]
                    status, body, fault = api._call(
                        method, _params(self.headers.get("Content-Type", ""), raw)
                    )
                    if fault is not None and fault.stall:
                        time.sleep(fault.stall)  # the call took effect; its reply never comes
                        body = None
                    if fault is not None and fault.reset:
                        # SO_LINGER 0: close() sends RST, not FIN.
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        self.connection.close()
                        self.close_connection = True
                        return
                if body is None:
                    self.close_connection = True  # the client sees the server hang up
                    return
                payload = json.dumps(body, ensure_ascii=False).encode()
                content_type = "application/json"
                if status == 502:  # a proxy in front of the Bot API answers in HTML, not JSON
                    payload, content_type = b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot gave up on a long poll while stopping

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines carry the token; the record in `calls` is enough

        return Handler


def _params(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(raw))
    out: dict[str, Any] = {}
    for key, values in parse_qs(raw.decode(), keep_blank_values=True).items():
        value = values[-1]
        if key in _STRING_PARAMS:
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def iter_texts(calls: list[Call]) -> Iterator[str]:
    """Texts of the successful sendMessage calls."""
    for call in calls:
        if call.method == "sendMessage" and call.status == 200:
            yield str(call.params["text"])
