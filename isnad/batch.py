"""Reading `ask --batch` input: JSON Lines, or plain lines that are bare questions."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexing.errors import ConfigError


@dataclass(frozen=True)
class BatchItem:
    """One question of a batch; `error` is set when its line could not be read."""

    qid: str | None
    question: str
    conversation: str | None
    error: str | None = None


def parse_line(line: str, number: int) -> BatchItem | None:
    """One input line as a question; blank lines are skipped (None)."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("{"):
        return BatchItem(None, text, None)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return BatchItem(None, "", None, f"line {number}: not valid JSON ({exc.msg})")
    qid = obj.get("id")
    qid = None if qid is None else str(qid)
    question = obj.get("question")
    if not isinstance(question, str):
        return BatchItem(qid, "", None, f'line {number}: no "question" string')
    conversation = obj.get("conversation")
    return BatchItem(qid, question, None if conversation is None else str(conversation))


def read_batch(path: str) -> Iterator[BatchItem]:
    """Items of a batch file, or of standard input for '-'."""
    try:
        if path == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read batch file {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        item = parse_line(line, number)
        if item is not None:
            yield item
