"""Log lines for people (the default) or for log shippers (ISNAD_LOG_FORMAT=json, one object a line)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # set (and exc_info dropped) when a secret was scrubbed from it
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        # Newlines inside values are escaped by json.dumps, so one record stays one line.
        return json.dumps(out, ensure_ascii=False, default=str)


def use_format(log_format: str) -> None:
    """Switch the root logger's handlers to the chosen format ("text" leaves them as they are)."""
    if log_format != "json":
        return
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
