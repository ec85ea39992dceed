"""Pages, exports and feed files become articles with headline, URL, outlet, author and date."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexing.articles import SkippedFile, SourceText, canonical_key, clean_field, clean_url, one_copy_each
from indexing.corpus import read_corpus
from indexing.dates import first_visible_date, is_fallback_guess, parse_machine_date, url_date, visible_dates
from indexing.pages import read_page
from indexing.paragraphs import parse_paragraphs
from tests.conftest import TESTS

FIXTURES = TESTS / "fixtures"
ARTICLES = FIXTURES / "articles"


def page(name: str) -> SourceText:
    article = read_page(name, (ARTICLES / name).read_bytes())
    assert isinstance(article, SourceText), article
    return article


def body(article: SourceText) -> list[str]:
    """The paragraphs the indexer keeps (isnad's boilerplate rules applied after extraction)."""
    return [p.text for p in parse_paragraphs(article.source, article.text, article.headline)]


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("الأحد، 04 آب/اغسطس 2013، آخر تحديث 13:20", "2013-08-04"),
        ("٢١ مارس ٢٠٢٢", "2022-03-21"),
        ("15 كانون الثاني 2019", "2019-01-15"),
        ("1 تشرين الأول 2020", "2020-10-01"),
        ("3 كانون الأول 2020", "2020-12-03"),
        ("9 أيلول 2023", "2023-09-09"),
        ("5 أغسطس (آب) 2013", "2013-08-05"),
        ("7 إبريل 2016", "2016-04-07"),
        ("30 يونيه 2013", "2013-06-30"),
        ("3 جانفي 2020", "2020-01-03"),
        ("12 أوت 2021", "2021-08-12"),
        ("2 غشت 2019", "2019-08-02"),
        ("نشر في 04/08/2013", "2013-08-04"),
        ("14 رجب 1440 هـ", "2019-03-21"),
        ("1 ذو الحجة 1440", "2019-08-02"),
        ("الأحد 26 رمضان 1434 هـ - 4 أغسطس 2013", "2013-08-04"),  # the Gregorian date wins
    ],
)
def test_visible_arabic_dates_in_every_month_family(text: str, expected: str) -> None:
    assert first_visible_date(text) == expected


def test_words_that_merely_contain_a_month_name_are_not_dates() -> None:
    assert visible_dates("تاريخ 12 أبواب 2013 و 31 شباط 2020") == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://archive.arabic.cnn.com/2013/middle_east/8/4/lebanon.power-ship/index.html", "2013-08-04"),
        ("https://www.aljazeera.net/ebusiness/2022/3/21/egypt-wheat-shipment", "2022-03-21"),
        ("https://example.news/2019/03/21/story", "2019-03-21"),
        ("https://example.news/a/20130804/b", "2013-08-04"),
        ("https://example.news/2019/about", None),
    ],
)
def test_dates_in_urls(url: str, expected: str | None) -> None:
    assert url_date(url) == expected


def test_machine_dates_keep_time_and_offset() -> None:
    assert parse_machine_date("2022-03-21T14:05:00+03:00") == "2022-03-21T14:05:00+03:00"
    assert parse_machine_date("2013-08-04 00:00:00") == "2013-08-04"
    assert parse_machine_date("Sun, 04 Aug 2013 10:00:00 GMT") == "2013-08-04T10:00:00+00:00"
    assert parse_machine_date("not a date") is None
    assert is_fallback_guess("2019-01-01") and not is_fallback_guess("2019-01-01T08:00:00")


def test_an_extractors_bare_year_guess_is_not_a_date() -> None:
    # htmldate's extensive search answers 2019-01-01 for this page (only "© 2019" on it).
    article = read_page("old.html", (FIXTURES / "year_only_page.html").read_bytes())
    assert isinstance(article, SourceText)
    assert article.published == ""
    assert article.headline == "خبر قديم عن افتتاح جسر جديد"


# -- pages ------------------------------------------------------------------------------


def test_cnn_page_gives_text_without_furniture_and_its_metadata() -> None:
    article = page("cnn_power_ship.html")
    assert article.headline == "لبنان: وصول باخرة الكهرباء التركية الثانية إلى الذوق"
    assert article.url == "http://archive.arabic.cnn.com/2013/middle_east/8/4/lebanon.power-ship/index.html"
    assert article.outlet == "CNN بالعربية"
    assert article.author == "مراسل CNN بالعربية في بيروت"
    # The visible date in the article's date line, not today's date in the site's top bar.
    assert article.published == "2013-08-04"
    paragraphs = body(article)
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("بيروت، لبنان (CNN) -- وصلت باخرة")
    text = "\n".join(paragraphs)
    for furniture in ("ترحب شبكة", "الآراء الواردة", "مواضيع ذات صلة", "تظاهرات احتجاجاً", "الشرق الأوسط",
                      "فيسبوك", "جميع الحقوق", "سياسة الخصوصية", "2026"):  # fmt: skip
        assert furniture not in text


def test_json_ld_page_gives_time_author_and_publisher() -> None:
    article = page("aljazeera_wheat.html")
    assert article.headline == "مصر تتسلم شحنة قمح روسية جديدة لتعزيز المخزون الاستراتيجي"
    assert article.url == "https://www.aljazeera.net/ebusiness/2022/3/21/egypt-wheat-shipment"
    assert (article.outlet, article.author) == ("الجزيرة نت", "محمد عبد الله")
    assert article.published == "2022-03-21T14:05:00+03:00"
    paragraphs = body(article)
    assert len(paragraphs) == 3  # the "اقرأ أيضا" teaser and the share buttons are gone
    assert not any("الأكثر قراءة" in p or "اقرأ أيضا" in p or "الذهب يقفز" in p for p in paragraphs)


def test_windows_1256_page_with_only_a_hijri_date() -> None:
    article = page("okaz_hijri.html")
    assert article.headline == "جدة: افتتاح أكبر مصنع لتدوير البلاستيك في المملكة"
    assert (article.outlet, article.url, article.published) == ("صحيفة عكاظ", "", "2019-03-21")
    paragraphs = body(article)
    assert len(paragraphs) == 2 and "120 ألف طن" in paragraphs[0]


def test_page_without_article_text_is_skipped_with_a_reason() -> None:
    result = read_page("blank.html", b"<html><body><script>var x = 1;</script></body></html>")
    assert isinstance(result, SkippedFile) and "no article text" in result.reason


# -- exports and feeds ------------------------------------------------------------------


def corpus_of(*names: str, tmp_path: Path) -> list[SourceText | SkippedFile]:
    root = tmp_path / "corpus"
    root.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(ARTICLES / name, root / name)
    return list(read_corpus(root))


def test_news_please_json(tmp_path: Path) -> None:
    [article] = corpus_of("newsplease_reuters_gold.json", tmp_path=tmp_path)
    assert isinstance(article, SourceText)
    assert article.source == "newsplease_reuters_gold.json"
    assert article.headline == "الذهب يسجل مستوى قياسيا فوق 1940 دولارا للأوقية"
    assert article.url == "https://www.reuters.com/article/gold-record-idARAKCN24S2AB"
    assert (article.outlet, article.author, article.published) == (
        "ara.reuters.com",
        "رويترز",
        "2020-07-27T18:40:00",
    )
    assert len(body(article)) == 3


def test_jsonl_with_html_body_and_a_record_without_text(tmp_path: Path) -> None:
    first, missing, third = corpus_of("exports_gulf.jsonl", tmp_path=tmp_path)
    assert isinstance(first, SourceText) and isinstance(third, SourceText)
    assert first.source == "exports_gulf.jsonl#1" and third.source == "exports_gulf.jsonl#3"
    assert first.text.splitlines()[1].startswith("وقالت الهيئة الملكية")  # <p> became lines
    assert "<p>" not in first.text
    assert (first.outlet, first.author, first.published) == (
        "صحيفة الرياض الإلكترونية",
        "فهد العتيبي",
        "2024-12-01T08:00:00+03:00",
    )
    assert missing == SkippedFile("exports_gulf.jsonl#2", "record has no text")
    assert (third.headline, third.published, third.outlet) == (
        "أمطار غزيرة تغلق طرقا في عمّان",
        "2023-01-15",
        "أخبار الأردن",
    )


def test_csv_export(tmp_path: Path) -> None:
    [article] = corpus_of("exports_maghreb.csv", tmp_path=tmp_path)
    assert isinstance(article, SourceText)
    assert article.headline == "تونس تطلق أول محطة لتحلية مياه البحر بالطاقة الشمسية"
    assert (article.outlet, article.author, article.published) == (
        "example-tn.news",
        "سامي بن علي",
        "2022-06-14",
    )
    assert len(body(article)) == 2


def test_rss_and_atom_files(tmp_path: Path) -> None:
    atom, quake, sudan = corpus_of("feed_bbc.xml", "feed_atom.atom", tmp_path=tmp_path)
    assert isinstance(quake, SourceText) and isinstance(sudan, SourceText) and isinstance(atom, SourceText)
    assert quake.source == "feed_bbc.xml#1" and quake.outlet == "بي بي سي نيوز عربي"
    assert quake.published == "2023-09-09T06:15:00+00:00"
    assert len(body(quake)) == 2  # content:encoded, share button dropped
    assert sudan.text.startswith("وقع طرفا النزاع")  # only a summary: the file is read as it is
    assert atom.published == "2024-02-10T09:30:00+03:00"  # the publisher's offset is kept
    assert atom.author == "مراسل الشرق الأوسط في الكويت" and atom.outlet == "الشرق الأوسط"


def test_a_file_that_is_not_a_feed_is_reported(write_corpus) -> None:
    root = write_corpus({"sitemap.xml": "<urlset><url><loc>https://x.example/</loc></url></urlset>"})
    [skipped] = list(read_corpus(root))
    assert isinstance(skipped, SkippedFile)


# -- one article, once ------------------------------------------------------------------


def test_same_article_saved_twice_keeps_the_newest_copy(tmp_path: Path) -> None:
    read = corpus_of("cnn_power_ship.html", "cnn_power_ship (saved again).html", tmp_path=tmp_path)
    kept, dropped = one_copy_each([a for a in read if isinstance(a, SourceText)])
    assert [a.source for a in kept] == ["cnn_power_ship (saved again).html"]
    assert [a.source for a in dropped] == ["cnn_power_ship.html"]
    assert kept[0].published == "2013-08-05"
    assert "utm_source" not in kept[0].url


def test_urls_are_compared_without_scheme_www_tracking_or_final_slash() -> None:
    assert canonical_key("https://www.x.example/a/b/?utm_source=t#top") == canonical_key(
        "http://x.example/a/b"
    )
    assert canonical_key("https://x.example/a?id=1") != canonical_key("https://x.example/a?id=2")


def test_metadata_cannot_carry_controls_or_odd_urls() -> None:
    assert clean_field("CNN\u202e بالعربية\n[1]") == "CNN بالعربية [1]"
    assert clean_url("javascript:alert(1)") == "" and clean_url("/relative/path") == ""
    assert clean_url("https://x.example/a?utm_medium=x&id=3#frag") == "https://x.example/a?id=3"
