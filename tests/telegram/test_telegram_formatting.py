"""Telegram HTML: escaping, allowed tags only, right-to-left lines, splits within 4096 units; buttons."""

from __future__ import annotations

import html
import random
import re

import pytest

from bot.qa.engine import Answer, Citation
from bot.telegram.feedback import Feedback, feedback_keyboard
from bot.telegram.formatting import (
    MAX_MESSAGE,
    RLM,
    Block,
    answer_messages,
    pack,
    sources_messages,
    text_messages,
    utf16_len,
)
from bot.telegram.ratelimit import UserRateLimiter, Verdict
from tests.fake_telegram import telegram_html_problems

NASTY = ["<", ">", "&", "<script>alert(1)</script>", "&amp;", "&lt;", "</b>", "<b>", "\"'", "<a href=x>"]
ARABIC = "قال المبعوث الأممي إن 43 شاحنة جاهزة للذهاب إلى دوما، وإن القرار ٢٤٠١ لم يُطبَّق بعدُ ـــ"
LATIN = "UN Security Council resolution 2401 (2018)"
EMOJI = ["😀", "🇸🇾", "👍🏽", "✅", "🕌"]


def visible(message: str) -> str:
    """The text a reader sees: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text.replace(RLM, ""))


def answer(text: str, citations: list[Citation] | None = None, notice: str = "") -> Answer:
    cited = citations or []
    return Answer(text, text, text, bool(cited), "extractive", cited, [], {"total": 1.0}, notice=notice)


def citation(n: int, text: str, title: str = "عنوان <الخبر> & ملحقه", source: str = "000_x.txt") -> Citation:
    return Citation(
        n=n, paragraph_id=f"pid-{n}", source=source, title=title, paragraph=n * 7, text=text, score=0.9
    )


def assert_valid(messages: list[str], limit: int = MAX_MESSAGE) -> None:
    assert messages, "nothing to send"
    for message in messages:
        assert utf16_len(message) <= limit, utf16_len(message)
        assert telegram_html_problems(message) == [], (telegram_html_problems(message), message[:300])


def test_markup_in_answers_and_articles_is_escaped() -> None:
    text = "النتيجة <script>alert('x')</script> & <b>غير مغلقة [1]"
    messages = answer_messages(answer(text, [citation(1, "فقرة فيها <i> و & و >")]))
    assert_valid(messages)
    joined = "\n".join(messages)
    assert "&lt;script&gt;" in joined and "<script>" not in joined
    assert "&lt;b&gt;غير مغلقة" in joined
    assert "&lt;i&gt; و &amp; و &gt;" in joined
    assert "<blockquote expandable>" in joined  # the cited paragraph, one tap away


def test_every_line_starts_right_to_left() -> None:
    text = "[1] يبدأ بعلامة\n2401 يبدأ برقم\nUN يبدأ بلاتيني\nسطر عربي"
    messages = answer_messages(answer(text, [citation(1, "2018: paragraph in English\nسطر ثان")]))
    for line in visible("\n".join(messages)).split("\n"):
        if line.strip():
            assert line.startswith(RLM), repr(line)


def test_sources_list_has_file_paragraph_and_headline() -> None:
    messages = sources_messages([citation(1, "نص الفقرة كاملًا."), citation(2, "فقرة ثانية.", title="")])
    assert_valid(messages)
    seen = visible("\n".join(messages))
    assert "[1] عنوان <الخبر> & ملحقه" in seen
    assert "000_x.txt، الفقرة 7" in seen and "000_x.txt، الفقرة 14" in seen
    assert "نص الفقرة كاملًا." in seen and "فقرة ثانية." in seen


def test_sources_without_an_answer_or_citations_say_so() -> None:
    assert "لا توجد مصادر" in visible(sources_messages(None)[0])
    assert "لم تستند" in visible(sources_messages([])[0])


def test_long_answer_is_split_between_sentences_within_the_limit() -> None:
    sentences = [f"هذه الجملة رقم {i} من إجابة طويلة جدًا عن الغوطة وما جرى فيها." for i in range(400)]
    text = " ".join(sentences[:150]) + "\n" + " ".join(sentences[150:])
    messages = answer_messages(answer(text, [citation(1, "فقرة " * 900)]))
    assert len(messages) >= 4
    assert_valid(messages)
    for message in messages[:-1]:
        last = visible(message).rstrip()
        assert last.endswith((".", "ملحقه", "فقرة")), last[-40:]  # whole sentences (or blocks) only
    assert squeeze("".join(visible(m) for m in messages)).startswith(squeeze(text))


def test_giant_word_of_entities_is_cut_without_breaking_an_entity() -> None:
    messages = text_messages("&" * 9000 + "<" * 3000)
    assert len(messages) >= 12
    assert_valid(messages)
    assert "".join(visible(m) for m in messages).replace(RLM, "") == "&" * 9000 + "<" * 3000


def test_length_counts_utf16_units_like_telegram() -> None:
    messages = text_messages("😀" * 3000)  # 6000 UTF-16 units, 3000 code points
    assert len(messages) == 2
    assert_valid(messages)


def test_blocks_pack_whole_and_tags_close_in_every_part() -> None:
    blocks = [Block("س" * 1500, "blockquote expandable") for _ in range(5)]
    messages = pack(blocks, limit=2000)
    assert len(messages) == 5
    for message in messages:
        assert message.startswith("<blockquote expandable>") and message.endswith("</blockquote>")
    assert_valid(messages, 2000)


def test_unsupported_block_tag_is_refused() -> None:
    with pytest.raises(ValueError):
        Block("x", "script")


@pytest.mark.parametrize("seed", range(6))
def test_fuzzed_answers_always_give_valid_html(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = [*NASTY, ARABIC, LATIN, *EMOJI, "\n", "\n\n", " ", ". ", "؟ ", "[1]", "[2]", "\u064b", "ـ"]
    for _ in range(60):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 900)))
        if not text.strip():
            text += ARABIC
        cited = [
            citation(
                n,
                "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400))) or ARABIC,
                rng.choice(NASTY),
            )
            for n in range(1, rng.randint(1, 4))
        ]
        limit = rng.choice([300, 1000, MAX_MESSAGE])
        messages = answer_messages(
            answer(text, cited, notice=rng.choice(["", "ملاحظة <تجريبية> & مهمة"])), limit
        )
        assert_valid(messages, limit)
        assert squeeze("".join(visible(m) for m in messages)).startswith(squeeze(text))
        assert_valid(sources_messages(cited, limit), limit)


def test_callback_data_fits_64_bytes_and_round_trips() -> None:
    keyboard = feedback_keyboard(10**18 - 1, list(range(1, 13)))
    datas = [b.callback_data for row in keyboard.inline_keyboard for b in row]
    assert len(datas) == 2 + 9  # 👍 👎 and at most nine "wrong source" buttons
    for data in datas:
        assert isinstance(data, str) and len(data.encode()) <= 64
        assert Feedback.parse(data) is not None
    assert Feedback.parse("v:12:+") == Feedback(12, vote=1)
    assert Feedback.parse("v:12:-") == Feedback(12, vote=-1)
    assert Feedback.parse("w:12:3") == Feedback(12, wrong_source=3)
    for junk in (None, "", "v:12:3", "w:12:+", "w:12:0", "x:1:+", "v:abc:+", "v:1:+:extra"):
        assert Feedback.parse(junk) is None


def test_rate_limiter_warns_once_then_drops_until_the_window_passes() -> None:
    now = [0.0]
    limiter = UserRateLimiter(limit=3, period=60, clock=lambda: now[0])
    assert [limiter.check(1).verdict for _ in range(3)] == [Verdict.ALLOW] * 3
    warned = limiter.check(1)
    assert warned.verdict is Verdict.WARN and "60" in warned.message()
    assert limiter.check(1).verdict is Verdict.DROP
    assert limiter.check(2).verdict is Verdict.ALLOW  # per user
    now[0] = 60.0
    assert limiter.check(1).verdict is Verdict.ALLOW


def test_source_line_links_the_headline_and_escapes_the_url() -> None:
    from bot.telegram.formatting import citation_block, render_block

    c = Citation(
        n=2, paragraph_id="p2", source="p.html", title="عنوان <مهم>", paragraph=3, text="نص.", score=0.5,
        url='https://x.example/a?b=1&c="2"', published="2013-08-04T10:00:00+04:00", outlet="CNN بالعربية",
    )  # fmt: skip
    html_text = render_block(citation_block(c))
    assert '<a href="https://x.example/a?b=1&amp;c=&quot;2&quot;">عنوان &lt;مهم&gt;</a>' in html_text
    assert html_text.endswith(" — CNN بالعربية، 4 آب 2013")
    assert "p.html" not in html_text


def test_a_source_without_headline_or_url_shows_a_label_and_its_file() -> None:
    from bot.telegram.formatting import citation_block, render_block

    c = Citation(
        n=1,
        paragraph_id="p1",
        source="000_b4ebc4adb0f988c0.txt",
        title="",
        paragraph=4,
        text="وصفت المتحدثة " * 10,
        score=0.5,
    )
    html_text = render_block(citation_block(c))
    assert "«وصفت المتحدثة وصفت المتحدثة" in html_text and "000_b4ebc4adb0f988c0.txt، الفقرة 4" in html_text


def test_only_web_links_are_accepted() -> None:
    with pytest.raises(ValueError):
        Block("x", link="javascript:alert(1)")
