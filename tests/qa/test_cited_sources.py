"""A folder mixing the seeds, saved pages, exports and feed files: indexed once, cited with real sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.qa.config import EngineConfig
from bot.qa.engine import Engine, build
from bot.telegram.formatting import answer_messages
from bot.terminal.render import render_answer
from indexing.pipeline import build_indexer
from tests.conftest import SEEDS, TESTS

pytestmark = pytest.mark.slow  # every test here indexes with the real embedder

ARTICLES = TESTS / "fixtures" / "articles"
WIRE = (
    "وقالت وكالة الأنباء إن محطة الطاقة الشمسية الجديدة في وادي النطرون ستنتج 300 ميغاواط"
    " عند اكتمالها في 2027."
)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    corpus = tmp_path_factory.mktemp("mixed-corpus")
    data = tmp_path_factory.mktemp("mixed-data")
    shutil.copy(SEEDS / "000_b4ebc4adb0f988c0.txt", corpus)
    for item in ARTICLES.iterdir():
        shutil.copy(item, corpus / item.name)
    own = "خبر خاص بالصحيفة عن المحطة الشمسية.\n"
    records = [
        {
            "title": "مصر: محطة شمسية",
            "url": "https://a.example/s",
            "date": "2024-05-02",
            "source": "وكالة أ",
            "text": WIRE,
        },
        {
            "title": "محطة شمسية",
            "url": "https://b.example/s",
            "date": "2024-05-03",
            "source": "صحيفة ب",
            "text": own + WIRE,
        },
    ]
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    indexer = build_indexer(data, progress=False)
    reports = [indexer.run(corpus).as_dict(), indexer.run(corpus).as_dict()]
    return corpus, data, reports


@pytest.fixture(scope="module")
def engine(mixed: tuple[Path, Path, list[dict]]) -> Engine:
    return build(mixed[1])


def test_one_run_reads_every_format_and_a_second_adds_nothing(mixed: tuple[Path, Path, list[dict]]) -> None:
    _, _, (first, second) = mixed
    # 1 seed file, 3 pages (+1 copy), news-please JSON, JSONL (2 of 3 records), CSV, RSS (2), Atom,
    # wire.jsonl (2)
    assert first["files"] == 11 and first["articles"] == 13 and first["duplicates"] == 1
    assert first["skipped"] == [{"file": "exports_gulf.jsonl#2", "reason": "record has no text"}]
    assert (second["added"], second["removed"], second["updated"], second["embedded"]) == (0, 0, 0, 0)
    assert (second["paragraphs"], second["chunks"]) == (first["paragraphs"], first["chunks"])


def test_answer_json_cli_and_telegram_carry_headline_outlet_date_and_url(engine: Engine) -> None:
    answer = engine.ask("كم ميغاواط ستضيف الباخرتان إلى إنتاج مؤسسة كهرباء لبنان؟")
    out = answer.as_dict("q1")
    first = out["citations"][0]
    assert first["title"] == "لبنان: وصول باخرة الكهرباء التركية الثانية إلى الذوق"
    assert first["outlet"] == "CNN بالعربية"
    assert first["published"] == "2013-08-05"  # the copy saved again, the newer one, won
    assert first["url"] == "http://archive.arabic.cnn.com/2013/middle_east/8/4/lebanon.power-ship/index.html"
    assert first["source"] == "cnn_power_ship (saved again).html"
    assert "450 ميغاواط" in first["text"]
    assert out["answer"].startswith("بحسب CNN بالعربية، 5 آب 2013: ")
    for item in out["retrieved"]:
        assert {"url", "published", "outlet"} <= item.keys()

    cli = render_answer(answer)
    assert (
        "[1] لبنان: وصول باخرة الكهرباء التركية الثانية إلى الذوق — CNN بالعربية، 5 آب 2013 — "
        "http://archive.arabic.cnn.com/2013/middle_east/8/4/lebanon.power-ship/index.html"
    ) in cli

    html = "\n".join(answer_messages(answer))
    assert (
        '<a href="http://archive.arabic.cnn.com/2013/middle_east/8/4/lebanon.power-ship/index.html">'
        "لبنان: وصول باخرة الكهرباء التركية الثانية إلى الذوق</a> — CNN بالعربية، 5 آب 2013"
    ) in html
    assert "cnn_power_ship" not in html  # no file name when there is a headline and a URL


def test_untitled_seed_paragraph_gets_a_label_and_nulls(engine: Engine) -> None:
    answer = engine.ask("ماذا وصفت هيذر ناورت بالمزحة؟")
    assert answer.answered
    cited = answer.as_dict()["citations"][0]
    assert cited["source"] == "000_b4ebc4adb0f988c0.txt"
    assert (cited["url"], cited["published"], cited["outlet"]) == (None, None, None)
    assert not answer.text.startswith("بحسب")  # an undated lead is not attributed
    html = "\n".join(answer_messages(answer))
    assert "«وصفت المتحدثة باسم الخارجية" in html and "000_b4ebc4adb0f988c0.txt، الفقرة" in html


def test_wire_copy_names_the_other_outlet(engine: Engine) -> None:
    answer = engine.ask("كم ميغاواط ستنتج محطة الطاقة الشمسية في وادي النطرون؟")
    cited = next(c for c in answer.as_dict()["citations"] if c["text"] == WIRE)
    assert cited["outlet"] == "وكالة أ" and cited["also_in"] == ["صحيفة ب"]
    assert "ونشرتها أيضًا: صحيفة ب" in render_answer(answer)


def test_openai_answers_are_attributed_too(mixed: tuple[Path, Path, list[dict]]) -> None:
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        server.enqueue(["ستضيف الباخرتان نحو 450 ميغاواط [1]."])
        engine = build(
            EngineConfig(
                mixed[1], llm="openai", openai_base_url=server.base_url, openai_api_key="k", llm_model="m"
            )
        )
        answer = engine.ask("كم ميغاواط ستضيف الباخرتان إلى إنتاج مؤسسة كهرباء لبنان؟")
    assert answer.mode == "openai"
    assert answer.text == "بحسب CNN بالعربية، 5 آب 2013: ستضيف الباخرتان نحو 450 ميغاواط [1]."
    assert answer.citations[0].outlet == "CNN بالعربية"
