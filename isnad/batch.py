"""Reading `ask --batch` input: JSON Lines, or plain lines that are bare questions."""

from __future__ import annotations

import codecs
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexing.errors import ConfigError
from indexing.untrusted import is_utf8

# A batch line's id as it is echoed: the JSON string or number given, or null.
QuestionId = str | float | None  # float takes an int too


@dataclass(frozen=True)
class BatchItem:
    """One question of a batch; `error` is set when its line could not be read."""

    qid: QuestionId
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
        except (RecursionError, ValueError):
            pass  # an array nested thousands deep, or with a number too long to convert
        return BatchItem(None, "", None, f"line {number}: a JSON array; give one object per line")
    if not text.startswith("{"):
        return BatchItem(None, text, None)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return BatchItem(None, "", None, f"line {number}: not valid JSON ({exc.msg})")
    except RecursionError:  # Python's parser recurses once per level of nesting
        return BatchItem(None, "", None, f"line {number}: not valid JSON (nested too deeply)")
    except ValueError:  # Python converts no integer longer than this (a denial-of-service guard)
        limit = sys.get_int_max_str_digits()
        return BatchItem(
            None, "", None, f"line {number}: not valid JSON (a number longer than {limit} digits)"
        )
    qid = obj.get("id")
    wrong_id = _wrong_id(qid)
    if wrong_id:
        return BatchItem(None, "", None, f'line {number}: "id" must be a string or a number, not {wrong_id}')
    question = obj.get("question")
    conversation = obj.get("conversation")
    conversation = None if conversation is None else str(conversation)
    if not is_utf8(qid if isinstance(qid, str) else "") or not is_utf8(conversation or ""):
        return BatchItem(None, "", None, f"line {number}: a lone surrogate (\\udXXX) in id or conversation")
    if not isinstance(question, str):
        return BatchItem(qid, "", None, f'line {number}: no "question" string')
    if not is_utf8(question):
        return BatchItem(qid, "", None, f"line {number}: a lone surrogate (\\udXXX) in the question")
    return BatchItem(qid, question, conversation)


def _wrong_id(qid: object) -> str | None:
    """What is wrong with an id that cannot be echoed as given, or None.

    As in JSON-RPC, an id is a string or a number (or null, no id); a boolean, array or object
    is refused rather than echoed, and so are Python's extensions NaN and Infinity (and a
    number too large for a float), which written back would not be JSON.
    """
    if isinstance(qid, bool):  # before int: True is an int in Python
        return "a boolean"
    if isinstance(qid, list):
        return "an array"
    if isinstance(qid, dict):
        return "an object"
    if isinstance(qid, float) and not math.isfinite(qid):
        return "NaN" if math.isnan(qid) else "an infinite number"
    return None


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
