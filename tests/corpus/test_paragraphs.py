"""Paragraph splitting, numbering, headlines and boilerplate, on the seeds and beyond."""

from __future__ import annotations

import pytest

from indexing.boilerplate import is_boilerplate
from indexing.paragraphs import parse_paragraphs, split_lines
from tests.conftest import SEEDS

BODY = "وقال المتحدث باسم الوزارة إن الاجتماع انتهى دون اتفاق على جدول زمني للمفاوضات المقبلة."


OTHER = BODY.replace("الوزارة", "الرئاسة")


def seed(name: str) -> str:
    return next(SEEDS.glob(f"{name}_*.txt")).read_text(encoding="utf-8")


def test_numbering_counts_non_empty_lines_and_treats_nbsp_lines_as_empty() -> None:
    text = f"عنوان الخبر\n\n\u00a0\n\n{BODY}\n   \n{BODY.replace('الوزارة', 'الحكومة')}\n"
    lines = split_lines(text)
    assert [line.number for line in lines] == [1, 2, 3]
    paragraphs = parse_paragraphs("a.txt", text)
    assert [p.number for p in paragraphs] == [2, 3]
    assert all(p.headline == "عنوان الخبر" for p in paragraphs)


def test_file_with_two_articles_gives_each_paragraph_its_own_headline() -> None:
    paragraphs = parse_paragraphs("004.txt", seed("004"))
    by_number = {p.number: p for p in paragraphs}
    assert by_number[5].headline == "سجال غربي ـ روسي حول استخدام «الكيماوي»"
    assert by_number[5].section == "موسكو تتحدث عن خسائر كبرى للمسلحين في جنوب إدلب"
    assert by_number[27].headline.startswith("بيان منسوب لبشار الأسد")
    assert by_number[34].headline.startswith("بيان منسوب لبشار الأسد")
    # Headlines, their repeats, "TT" and the doubled photo caption are not paragraphs.
    assert set(by_number).isdisjoint({1, 2, 3, 4, 22, 23, 24, 25, 26})


def test_second_article_after_wide_gap_and_section_headings() -> None:
    paragraphs = {p.number: p for p in parse_paragraphs("002.txt", seed("002"))}
    assert paragraphs[2].headline.startswith("تقرير يكشف.. كوريا الشمالية تساعد")
    assert paragraphs[9].section == "دعم كوريا الشمالية العسكري للأسد"
    assert paragraphs[21].headline.startswith("تقرير يكشف عن قيام كوريا الشمالية بتمويل")
    assert paragraphs[21].section == ""


def test_file_without_headline_uses_section_headings_as_titles() -> None:
    paragraphs = {p.number: p for p in parse_paragraphs("001.txt", seed("001"))}
    assert paragraphs[1].title == ""
    assert paragraphs[4].title == "خبراء من كوريا الشمالية في جبهات ريف إدلب ودير الزور"


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_no_seed_paragraph_is_page_furniture(path) -> None:
    for p in parse_paragraphs(path.name, path.read_text(encoding="utf-8")):
        assert not is_boilerplate(p.text), p.text
        for phrase in ("اترك تعليق", "زر الذهاب", "اقرأ أيضا", "قد يهمك", "بريدك الإلكتروني", "نشرتنا"):
            assert phrase not in p.text


@pytest.mark.parametrize(
    "line",
    [
        "اترك رداً",
        "أضف تعليقاً",
        "العودة إلى الأعلى",
        "شاهد أيضاً: الجيش يعلن السيطرة على المدينة",
        "إقرأ أيضاً - مباحثات جديدة في جنيف",
        "اشترك الآن في نشرتنا الإخبارية لتصلك آخر الأخبار",
        "سجّل بريدك الإلكتروني لتصلك أهم الأخبار يومياً",
        "AA",
        "|",
        "وزير الخارجية خلال المؤتمر الصحفي (أ ف ب)",
    ],
)
def test_boilerplate_rules_generalise_beyond_the_seeds(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        BODY,
        "وقال الوزير إن المواطنين مدعوون إلى الاشتراك في الانتخابات المقبلة، داعياً إلى المشاركة الواسعة.",
        "وكتب أحد المستخدمين تحت المنشور: اترك تعليقاً إن كنت توافق، فانهالت آلاف التعليقات خلال ساعة واحدة.",
        "ارتفع عدد القتلى إلى 38 (بحسب المرصد)، فيما أصيب العشرات بجروح متفاوتة.",
    ],
)
def test_real_paragraphs_are_kept(line: str) -> None:
    assert not is_boilerplate(line)
    assert [p.text for p in parse_paragraphs("x.txt", f"{BODY}\n{line}")][-1] == line


def test_caption_printed_twice_is_dropped_but_text_is_kept() -> None:
    text = f"عنوان\n\n{BODY}\n\nصورة من موقع الانفجار في المدينة\nصورة من موقع الانفجار في المدينة\n\n{OTHER}"
    texts = [p.text for p in parse_paragraphs("x.txt", text)]
    assert texts == [BODY, OTHER]
