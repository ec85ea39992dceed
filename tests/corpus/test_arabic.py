"""Arabic normalisation: folding for search, display text left alone."""

from __future__ import annotations

import pytest

from indexing.arabic import ArabicAnalyzer, dedupe_key, normalize_arabic, strip_diacritics


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("مُحَمَّدٌ", "محمد"),
        ("الإمـــارات", "الامارات"),  # tatweel and hamza below
        ("أحمد وآمنة وإيمان", "احمد وامنه وايمان"),
        ("مستشفى", "مستشفي"),
        ("مدرسة", "مدرسه"),
        ("مسؤول وشؤون", "مسيول وشيون"),
        ("مسئول", "مسيول"),
        ("رئيس", "رييس"),
        ("عام ٢٠١٨ و۱۹۷۴", "عام 2018 و1974"),
        ("ﻻ", "لا"),  # presentation-form ligature
        ("  القرار\u00a0 2401\n", "القرار 2401"),
        ("Reuters رويترز", "reuters رويترز"),
    ],
)
def test_normalize_arabic_folds_spelling_variants(raw: str, folded: str) -> None:
    assert normalize_arabic(raw) == folded


def test_normalisation_is_idempotent_on_real_text() -> None:
    text = 'وقالت ناورت، مساء الخميس، إن قرار وقف إطلاق النار في سوريا معطَّل، وأضافت "أن السكان يخشون"'
    once = normalize_arabic(text)
    assert normalize_arabic(once) == once


def test_display_text_round_trips_untouched() -> None:
    # Folding happens on copies; the original keeps every diacritic and hamza.
    original = "وشكَّلت المعارضة السورية بقيادة «هيئة تحرير الشام» حكومةً انتقالية"
    kept = str(original)
    normalize_arabic(original)
    assert original == kept
    assert strip_diacritics(original) == "وشكلت المعارضة السورية بقيادة «هيئة تحرير الشام» حكومة انتقالية"


def test_dedupe_key_ignores_diacritics_and_spacing_but_not_letters() -> None:
    assert dedupe_key("ولم تُسجل  عمليات إجلاء.") == dedupe_key("ولم تسجل عمليات إجلاء.")
    assert dedupe_key("قرية") != dedupe_key("قريه")


def test_analyzer_matches_inflected_forms_and_drops_function_words() -> None:
    analyzer = ArabicAnalyzer()
    doc = analyzer.terms("الأسلحة الكيماوية في سوريا")
    query = analyzer.terms("بالأسلحة الكيميائية؟")
    assert "في" not in doc
    assert set(query) & set(doc)
    assert analyzer.terms("مُحَمَّد") == analyzer.terms("محمد")


@pytest.mark.parametrize(
    ("with_article", "bare"),
    [("والجنوب", "جنوب"), ("الكرة", "كرة"), ("بالسجن", "سجن"), ("للسكان", "سكان"), ("الكيان", "كيان")],
)
def test_a_word_with_the_article_gives_the_term_of_the_bare_word(with_article: str, bare: str) -> None:
    # Snowball keeps ال on short words and after و/ف; the analyzer takes it off so both meet.
    analyzer = ArabicAnalyzer()
    assert analyzer.terms(with_article) == analyzer.terms(bare)
    assert analyzer.terms(with_article) == analyzer.terms(bare.join(["ال", ""]))
