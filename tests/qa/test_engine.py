"""The QA engine on the seeds: cited extractive answers, abstention, follow-ups, JSON shape."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.qa.answer import NOT_IN_SOURCES
from bot.qa.engine import EMPTY_QUESTION, IN_ARABIC, Engine


def cited(answer) -> list[tuple[str, int]]:
    return [(c.source[:3], c.paragraph) for c in answer.citations]


def test_number_question_gets_the_sentence_and_its_paragraph(base_engine: Engine) -> None:
    answer = base_engine.ask("كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟")
    assert answer.answered
    assert "43 شاحنة" in answer.text
    assert ("000", 69) in cited(answer)
    first = answer.text.split("[1]")[0]
    assert "43 شاحنة" in first


def test_question_outside_the_archive_is_declined(base_engine: Engine) -> None:
    answer = base_engine.ask("ما هي عاصمة أستراليا؟")
    assert not answer.answered
    assert answer.citations == []
    assert "لا أجد" in answer.text
    assert len(answer.retrieved) == 10  # still shows what was considered


@pytest.mark.parametrize(
    ("question", "needle", "place"),
    [
        ("من اقترح القرار 2401؟", "الكويت", ("000", 4)),
        ("متى أعلنت المعارضة السورية أنها حررت دمشق؟", "8 ديسمبر", ("004", 32)),
        ("كم عدد المحاصرين في الغوطة؟", "400 ألف", None),
    ],
)
def test_answers_hold_what_the_question_asks(base_engine: Engine, question: str, needle: str, place) -> None:
    answer = base_engine.ask(question)
    assert needle in answer.text
    if place:
        assert place in cited(answer)


def test_every_marker_has_a_citation_numbered_in_order_of_first_use(base_engine: Engine) -> None:
    for question in ("ما هو القرار 2401؟", "ماذا قال دي ميستورا عن الغوطة؟", "من هو حسين العلي؟"):
        answer = base_engine.ask(question)
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
        assert sorted(set(markers)) == [c.n for c in answer.citations]
        assert list(dict.fromkeys(markers)) == sorted(set(markers))
        ranked = {p.paragraph.paragraph_id: p.paragraph for p in answer.retrieved}
        for c in answer.citations:
            assert c.text and c.source.endswith(".txt") and c.paragraph >= 1
            # The paragraph id is the index's own, of the ranked paragraph the citation quotes.
            assert (ranked[c.paragraph_id].source, ranked[c.paragraph_id].number) == (c.source, c.paragraph)


def test_follow_up_is_rewritten_from_the_conversation(base_engine: Engine) -> None:
    base_engine.ask("ما هو القرار 2401؟", conversation="t1")
    follow = base_engine.ask("ومن اقترحه؟", conversation="t1")
    assert "2401" in follow.standalone
    assert "الكويت" in follow.text and follow.citations
    # A new topic in the same conversation is not glued to the old one.
    other = base_engine.ask("ما هي عاصمة أستراليا؟", conversation="t1")
    assert other.standalone == "ما هي عاصمة أستراليا؟" and not other.answered
    # Other conversations are unaffected, and reset forgets.
    alone = base_engine.ask("ومن اقترحه؟", conversation="t2")
    assert alone.standalone == "ومن اقترحه؟"
    base_engine.reset("t1")
    assert base_engine.memory.history("t1") == []


def test_memory_is_bounded(base_engine: Engine) -> None:
    for i in range(base_engine.memory.max_turns + 3):
        base_engine.ask(f"ما هو القرار 2401؟ {i}", conversation="long")
    assert len(base_engine.memory.history("long")) == base_engine.memory.max_turns


def test_empty_question_gets_a_polite_arabic_reply(base_engine: Engine) -> None:
    answer = base_engine.ask("   ")
    assert not answer.answered and "اكتب سؤالك" in answer.text


@pytest.mark.parametrize("typed", ["؟", "...", "!!", "\u200f", "\x00", "😀🔥", "ـــ"])
def test_a_line_without_letters_or_digits_is_asked_for_a_question_not_taken_as_a_follow_up(
    base_engine: Engine, typed: str
) -> None:
    """«؟» after an answer has nothing to search: it is not the previous question asked again."""
    key = f"nothing-{typed!r}"
    base_engine.ask("من هو الناطق باسم الكرملين؟", key)
    answer = base_engine.ask(typed, key)
    assert not answer.answered and answer.text == EMPTY_QUESTION and answer.citations == []
    assert len(base_engine.memory.history(key)) == 1  # no turn for it either


def test_a_question_without_arabic_that_is_declined_says_to_ask_in_arabic(base_engine: Engine) -> None:
    english = base_engine.ask("Who is the Kremlin spokesman?")
    assert not english.answered and english.text == f"{NOT_IN_SOURCES}\n{IN_ARABIC}"
    arabic = base_engine.ask("ما هي عاصمة أستراليا؟")
    assert not arabic.answered and arabic.text == NOT_IN_SOURCES


def test_answer_json_follows_the_contract(base_engine: Engine) -> None:
    out = base_engine.ask("كم شاحنة قال إيجلاند إنها جاهزة؟").as_dict("s01")
    assert out["id"] == "s01"
    for key in ("question", "answer", "answered", "mode", "citations", "retrieved", "timings_ms"):
        assert key in out
    assert out["mode"] == "extractive"
    assert set(out["timings_ms"]) >= {"retrieve", "answer", "total"}
    assert {"n", "source", "title", "paragraph", "text", "score"} <= set(out["citations"][0])
    assert len(out["retrieved"]) >= 10
    keys = [(r["source"], r["paragraph"]) for r in out["retrieved"]]
    assert len(keys) == len(set(keys))  # distinct paragraphs
    json.dumps(out, ensure_ascii=False)


def isnad(
    *args: str, data: Path, stdin: str | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    """`python -m isnad ARGS` on data, with extra environment settings (NAME=value)."""
    import os

    env = {**os.environ, "ISNAD_DATA_DIR": str(data), **settings}
    return subprocess.run(
        [sys.executable, "-m", "isnad", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_batch_keeps_order_ids_and_conversations(seeds_data: Path) -> None:
    lines = [
        json.dumps({"id": "a", "question": "ما هو القرار 2401؟", "conversation": "k"}, ensure_ascii=False),
        json.dumps({"id": "b", "question": "ومن اقترحه؟", "conversation": "k"}, ensure_ascii=False),
        "ما هي عاصمة أستراليا؟",
        "{not json",
    ]
    result = isnad("ask", "--json", "--batch", "-", data=seeds_data, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a", "b", None, None]
    assert "الكويت" in out[1]["answer"]
    assert out[2]["answered"] is False
    assert "error" in out[3]


def test_cli_output_closed_early_stops_quietly(seeds_data: Path) -> None:
    """`isnad ask --batch … | head -1`: no traceback when the reader goes, SIGPIPE's exit status."""
    import os
    import signal

    questions = "".join("ما هو القرار 2401؟\n" for _ in range(300))
    env = {**os.environ, "ISNAD_DATA_DIR": str(seeds_data)}
    with subprocess.Popen(
        [sys.executable, "-m", "isnad", "ask", "--json", "--batch", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as child:
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        child.stdin.write(questions.encode())
        child.stdin.close()
        assert json.loads(child.stdout.readline())["answered"] is True
        child.stdout.close()  # the reader goes, as head does after its lines
        stderr = child.stderr.read().decode()
        assert child.wait(timeout=300) == 128 + signal.SIGPIPE
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_cli_text_output_lists_sources(seeds_data: Path) -> None:
    result = isnad("ask", "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟", data=seeds_data)
    assert result.returncode == 0, result.stderr
    assert "43 شاحنة" in result.stdout
    assert "000_b4ebc4adb0f988c0.txt، الفقرة 69" in result.stdout


def test_cli_ask_without_question_is_a_one_line_error(seeds_data: Path) -> None:
    result = isnad("ask", data=seeds_data)
    assert result.returncode != 0 and result.stderr.count("\n") == 1


@pytest.mark.slow  # embeds a corpus of its own
def test_cli_ask_on_empty_data_dir_indexes_first(tmp_path: Path, write_corpus) -> None:
    corpus = write_corpus(
        {"a.txt": "افتتاح معرض الكتاب\n\nافتتح معرض الكتاب الدولي أبوابه أمس بمشاركة أكثر من 900 دار نشر.\n"}
    )
    question = "كم دار نشر تشارك في معرض الكتاب؟"
    result = isnad("ask", "--json", question, data=tmp_path / "fresh", ISNAD_CORPUS_DIR=str(corpus))
    assert result.returncode == 0, result.stderr
    assert "indexing" in result.stderr
    assert "900 دار نشر" in json.loads(result.stdout)["answer"]


def test_repl_from_piped_stdin(seeds_data: Path) -> None:
    script = "ما هو القرار 2401؟\n/sources\n/debug\nومن اقترحه؟\n/reset\n/unknown\n/quit\nلن يُقرأ\n"
    result = isnad("repl", data=seeds_data, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "الفقرة 43" in result.stdout
    assert "fused" in result.stdout  # /debug table
    assert "الكويت" in result.stdout  # follow-up answered
    assert "محادثة جديدة" in result.stdout
    assert "أمر غير معروف" in result.stdout


def test_cli_openai_mode_cites_through_a_real_http_endpoint(seeds_data: Path) -> None:

    from tests.fake_openai import FakeOpenAI, FakeReply

    with FakeOpenAI() as server:
        server.enqueue(["أعلن إيجلاند أن 43 شاحنة جاهزة [1]، وأكد ذلك لاحقاً [42]."])
        openai = {
            "ISNAD_LLM": "openai",
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test-secret-0042",
            "ISNAD_LLM_MODEL": "fake-model",
        }
        trucks = "كم شاحنة قال إيجلاند إنها جاهزة؟"
        result = isnad("ask", "--json", trucks, data=seeds_data, **openai)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["mode"] == "openai"
        assert out["answer"] == "أعلن إيجلاند أن 43 شاحنة جاهزة [1]، وأكد ذلك لاحقاً."
        assert len(out["citations"]) == 1 and out["citations"][0]["paragraph"] == 69
        prompt = json.dumps(server.history[0], ensure_ascii=False)
        assert "كم شاحنة" in prompt and "[1]" in prompt

        server.enqueue([FakeReply(status=500), FakeReply(status=500)])
        result = isnad("ask", "--json", trucks, data=seeds_data, **openai)
        out = json.loads(result.stdout)
        assert out["mode"] == "extractive" and out["notice"] and "43 شاحنة" in out["answer"]
        assert "sk-test-secret-0042" not in result.stderr + result.stdout
