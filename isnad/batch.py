"""Reading `ask --batch` input: JSON Lines, or plain lines that are bare questions."""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexing.errors import ConfigError
from indexing.untrusted import is_utf8


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
    if text.startswith("["):
        # «[عاجل] …» is a question; a line that is a whole JSON array is a mistake to report.
        try:
            json.loads(text)
        except json.JSONDecodeError:
            return BatchItem(None, text, None)
        except RecursionError:
            pass  # an array nested thousands deep: JSON, and not a question
        return BatchItem(None, "", None, f"line {number}: a JSON array; give one object per line")
    if not text.startswith("{"):
        return BatchItem(None, text, None)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return BatchItem(None, "", None, f"line {number}: not valid JSON ({exc.msg})")
    except RecursionError:  # Python's parser recurses once per level of nesting
        return BatchItem(None, "", None, f"line {number}: not valid JSON (nested too deeply)")
    qid = obj.get("id")
    qid = None if qid is None else str(qid)
    question = obj.get("question")
    conversation = obj.get("conversation")
    conversation = None if conversation is None else str(conversation)
    if not is_utf8(qid or "") or not is_utf8(conversation or ""):
        return BatchItem(None, "", None, f"line {number}: a lone surrogate (\\udXXX) in id or conversation")
    if not isinstance(question, str):
        return BatchItem(qid, "", None, f'line {number}: no "question" string')
    if not is_utf8(question):
        return BatchItem(qid, "", None, f"line {number}: a lone surrogate (\\udXXX) in the question")
    return BatchItem(qid, question, conversation)


def read_batch(path: str) -> Iterator[BatchItem]:
    """Items of a batch file, or of standard input for '-'.

    Lines are decoded one by one, so a line that is not UTF-8 is reported in its place and
    the others are still asked; a byte-order mark before the first line is dropped.
    """
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read batch file {path}: {exc.strerror or exc}") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield BatchItem(None, "", None, f"line {number}: not UTF-8 text (byte {exc.start + 1})")
            continue
        item = parse_line(line, number)
        if item is not None:
            yield item
