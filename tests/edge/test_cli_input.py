"""Bad input on the command line: a clear message in its place, nothing else lost, no traceback.

The real `python -m isnad` over the seeds index. Standard streams are strict UTF-8 here
(PYTHONIOENCODING), as on a desktop whose locale is en_US.UTF-8 or ar_SA.UTF-8; under the
C locale Python would instead pass undecodable bytes through and write invalid UTF-8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from isnad.batch import BatchItem, parse_line

KREMLIN = "من هو الناطق باسم الكرملين؟"


def isnad(*args: str | bytes, data: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ISNAD_DATA_DIR": str(data), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "isnad", *args], input=stdin, capture_output=True, env=env, timeout=300
    )


def test_batch_lines_that_cannot_be_read_are_reported_in_place(seeds_data: Path) -> None:
    question = KREMLIN.encode()
    lines = [
        b"\xef\xbb\xbf" + json.dumps({"id": "bom", "question": KREMLIN}).encode(),  # Windows editors
        b'{"id": "latin1", "question": "\xe3\xf3"}',  # not UTF-8
        b"\xff\xfe plain text in another encoding",
        json.dumps([{"id": "array", "question": KREMLIN}]).encode(),
        b"[\xd8\xb9\xd8\xa7\xd8\xac\xd9\x84] " + question,  # «[عاجل] …» is a plain question
        json.dumps({"id": "sep", "question": KREMLIN.replace(" ", "\u2028", 1)}, ensure_ascii=False).encode(),
        b'{"id": "surrogate", "question": "\\udcff"}',
        json.dumps({"id": "last", "question": KREMLIN}).encode(),
    ]
    result = isnad("ask", "--json", "--batch", "-", data=seeds_data, stdin=b"\r\n".join(lines) + b"\r\n")
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]  # strict UTF-8
    assert len(out) == len(lines)  # one line per input line, in order
    assert out[0]["id"] == "bom" and out[0]["answered"] is True
    assert out[1] == {"id": None, "error": "line 2: not UTF-8 text (byte 31)"}
    assert out[2]["error"].startswith("line 3: not UTF-8")
    assert out[3]["error"].startswith("line 4: a JSON array")
    assert out[4]["question"].startswith("[عاجل]") and out[4]["answered"] is True
    assert out[5]["id"] == "sep" and out[5]["answered"] is True  # U+2028 is not a line break
    assert out[6]["id"] == "surrogate" and "surrogate" in out[6]["error"]
    assert out[7]["id"] == "last" and out[7]["answered"] is True


def test_batch_file_with_a_bad_line_still_answers_the_rest(seeds_data: Path, tmp_path: Path) -> None:
    batch = tmp_path / "questions.jsonl"
    batch.write_bytes(b"\xe3\xf3?\n" + KREMLIN.encode() + b"\n")
    result = isnad("ask", "--json", "--batch", str(batch), data=seeds_data)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    first, second = (json.loads(line) for line in result.stdout.decode().splitlines())
    assert first["error"].startswith("line 1: not UTF-8")
    assert second["answered"] is True


def test_question_argument_that_is_not_utf8_is_a_one_line_error(seeds_data: Path) -> None:
    result = isnad("ask", "--json", b"\xd9\x85\xd9\x86 \xff", data=seeds_data)
    assert result.returncode == 2
    assert result.stderr.decode() == "isnad: error: QUESTION is not UTF-8 text\n"
    assert result.stdout == b""


def test_question_and_batch_together_is_a_one_line_error(seeds_data: Path) -> None:
    result = isnad("ask", KREMLIN, "--batch", "-", data=seeds_data, stdin=b"\xd9\x85\xd9\x86\n")
    assert result.returncode == 2
    assert result.stderr.decode() == "isnad: error: give a QUESTION or --batch FILE, not both\n"
    assert result.stdout == b""


def test_repl_answers_after_a_line_that_is_not_utf8(seeds_data: Path) -> None:
    script = b"/debug\n\xff\xfe\n/\x1b[2Jfoo\n" + KREMLIN.encode() + b"\n"
    result = isnad("repl", data=seeds_data, stdin=script)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = result.stdout.decode("utf-8")
    assert "لا توجد فقرات مسترجعة" in out  # /debug before any question, in Arabic
    assert "ليس نصًّا بترميز UTF-8" in out
    assert "أمر غير معروف: /\\x1b[2Jfoo" in out and "\x1b" not in out  # no escape reaches the terminal
    assert "بيسكوف" in out  # the next question is still answered


def test_data_dir_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("x")
    for args in (("index",), ("ask", KREMLIN), ("repl",)):
        result = isnad(*args, data=not_a_folder)
        assert result.returncode == 2, args
        assert result.stderr.decode() == f"isnad: error: the data dir {not_a_folder} is not a folder\n"


def test_batch_line_nested_thousands_deep_is_an_error_line_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    as_field = parse_line('{"id": "x", "question": "س", "extra": ' + deep + "}", 1)
    assert as_field == BatchItem(None, "", None, "line 1: not valid JSON (nested too deeply)")
    as_line = parse_line(deep, 2)
    assert as_line is not None and as_line.error == "line 2: a JSON array; give one object per line"


def test_batch_id_is_echoed_as_the_json_value_given(seeds_data: Path) -> None:
    """A string or a number comes back as the same JSON value; null is no id; any other id is an
    error in its line's place (as JSON-RPC does), and the other lines are still answered."""
    asked = {"question": KREMLIN}
    lines = [
        json.dumps({"id": 5, **asked}),
        json.dumps({"id": 2.5, **asked}),
        json.dumps({"id": 12345678901234567890123, **asked}),
        json.dumps({"id": "s01", **asked}),
        json.dumps({"id": None, **asked}),
        json.dumps({"id": True, **asked}),
        json.dumps({"id": [1], **asked}),
        json.dumps({"id": {"a": 1}, **asked}),
        '{"id": NaN, "question": "س"}',
        '{"id": 1e400, "question": "س"}',
        '{"id": ' + "1" * 5000 + ', "question": "س"}',
        json.dumps({"id": 7, "question": 1}),
        json.dumps({"id": 0, **asked}),
    ]
    result = isnad("ask", "--json", "--batch", "-", data=seeds_data, stdin="\n".join(lines).encode())
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(out) == len(lines)
    assert [o["id"] for o in out[:5]] == [5, 2.5, 12345678901234567890123, "s01", None]
    assert type(out[0]["id"]) is int and all(o["answered"] for o in out[:5])
    for number, kind in ((6, "a boolean"), (7, "an array"), (8, "an object"), (9, "NaN"), (10, "infinite")):
        error = out[number - 1]
        assert error["id"] is None and error["error"].startswith(f'line {number}: "id" must be'), error
        assert kind in error["error"]
    assert out[10] == {"id": None, "error": "line 11: not valid JSON (a number longer than 4300 digits)"}
    assert out[11] == {"id": 7, "error": 'line 12: no "question" string'}
    assert out[12]["id"] == 0 and out[12]["answered"] is True


def test_batch_array_of_huge_numbers_is_an_error_line_not_a_crash() -> None:
    line = parse_line("[" + "1" * 5000 + "]", 3)
    assert line is not None and line.error == "line 3: a JSON array; give one object per line"


def test_text_batch_shows_each_answer_under_its_question(seeds_data: Path) -> None:
    """Without --json, a batch (say, an article pasted line by line) reads as a transcript: each
    answer under what was asked, a blank line between them, an unreadable line noted in Arabic."""
    pasted = "واعتمد مجلس الأمن القرار 2401 بالإجماع. " * 30
    lines = [
        json.dumps({"id": "s01", "question": KREMLIN}, ensure_ascii=False),
        pasted,
        "{not json",
        "كم شاحنة قال إيجلاند إنها جاهزة؟",
    ]
    result = isnad("ask", "--batch", "-", data=seeds_data, stdin="\n".join(lines).encode())
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = result.stdout.decode()
    assert out.startswith(f"\u200f؟ [s01] {KREMLIN}\n") and '"error"' not in out
    order = [
        "بيسكوف",
        "\n\n\u200f؟ واعتمد مجلس الأمن القرار 2401 بالإجماع.",
        "…\n",  # the pasted text's header is cut short
        "سؤالك طويل جدًا",
        "\n\n\u200fتعذّرت قراءة سطر من الدفعة: line 3: not valid JSON",
        "\n\n\u200f؟ كم شاحنة قال إيجلاند إنها جاهزة؟\n",
        "43 شاحنة",
    ]
    at = [out.find(piece) for piece in order]
    assert -1 not in at and at == sorted(at), out
