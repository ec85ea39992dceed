"""Keep secrets (the bot token) out of every log record, whichever library writes it.

Quieting `httpx` is not enough: python-telegram-bot logs its API URL (token included) at
DEBUG, and `InvalidToken` carries the token in its message. A log record factory sees
every record before any handler does, so the token is replaced in the message and in the
formatted traceback for all handlers alike, pytest's caplog included.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

MASK = "<TELEGRAM_BOT_TOKEN>"
_secrets: tuple[str, ...] = ()  # replaced whole, so readers never see it change size
_lock = threading.Lock()
_installed = False


def _mask(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, MASK)
    return text


def scrub(text: str) -> str:
    """The text with every secret hidden so far replaced by a placeholder (for messages, not logs)."""
    return _mask(text)


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's to report, not ours
        return
    if any(secret in message for secret in _secrets):
        record.msg, record.args = _mask(message), None
    if record.exc_info and record.exc_info[1] is not None:
        formatted = logging.Formatter().formatException(record.exc_info)
        if any(secret in formatted for secret in _secrets):
            # Formatters print exc_text when it is set; the exception object itself (which
            # still holds the secret) is dropped so no handler can format it again.
            record.exc_text, record.exc_info = _mask(formatted), None


def hide_in_logs(secret: str) -> None:
    """From now on, `secret` appears in no log record of this process."""
    global _installed, _secrets
    if not secret:
        return
    # A bot token is "<bot id>:<secret>"; the secret half alone is hidden too, so a URL-encoded
    # echo of the token ("%3A" for the colon) gives nothing away either.
    _, _, half = secret.partition(":")
    with _lock:
        for value in (secret, half if len(half) >= 16 else ""):
            if value and value not in _secrets:
                _secrets = (*_secrets, value)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _secrets:
                _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
