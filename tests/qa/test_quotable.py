"""The sentences an answer quotes: the split is rejoined where an initial cut a name."""

from __future__ import annotations

import numpy as np

from bot.qa.answertypes import question_type
from bot.qa.evidence import Evidence
from bot.qa.quotable import ends_with_initial, ends_with_latin_initial, joined, joined_cosines
from bot.qa.rerank import UNIT_FEATURES, Reranker, units_of
from indexing.arabic import ArabicAnalyzer
from indexing.sentences import split_sentences

NAMED = "سُميت الجادة باسم المليونير م. ثيو كيرني الذي عاش هناك. وتمتد الجادة عشرين ميلاً."


def test_a_piece_ending_with_an_initial_is_not_a_sentence() -> None:
    assert ends_with_initial("سُميت الجادة باسم المليونير م.")
    assert ends_with_initial("ورقة كتبها ميشيل إ.")
    assert ends_with_initial("Written by John F.")
    assert ends_with_initial("د.")
    assert not ends_with_initial("جاء الرجل.")
    assert not ends_with_initial("سقطت بغداد عام 1258 م.")  # a year and its era end a sentence
    assert not ends_with_initial("بنيت المدينة سنة 500 ق.م.")


def test_a_latin_initial_spelled_in_arabic_letters_inside_a_name_is_not_a_sentence_end() -> None:
    assert ends_with_latin_initial('والتي تعرف باسم "ترجمة جون سي.', 'ميسنجر" من العنوان.')
    assert ends_with_latin_initial("ومؤلفه جيمس أو.", "ماكينزي وأرلي د. كاثي.")
    assert ends_with_latin_initial("ورقة كتبها رايموند إس.", "برادلي وزملاؤه.")
    # Sentences that end with a letter name: an acronym, a word with the article, a new sentence.
    assert not ends_with_latin_initial("تابعت شبكتا أيه بي سي ويو بي تي.", "في عام 1950 …")
    assert not ends_with_latin_initial("وهي حالة خاصة لفرضية شينزل الواسعة اتش.", "يقول تخمين بروكارد …")
    assert not ends_with_latin_initial("كذلك الذي قدمته بي سكاي بي.", "وقد وافقت كل الأطراف.")
    assert not ends_with_latin_initial("توفي عام 1963 سي.", "ثم …")
    assert not ends_with_latin_initial("جاء جون.", "ثم ذهب.")
    pieces = split_sentences("كتب الورقة جيمس أو. ماكينزي عام 1922. ثم نشرت.")
    assert [text for text, _ in joined(pieces)] == ["كتب الورقة جيمس أو. ماكينزي عام 1922.", "ثم نشرت."]


def test_pieces_are_joined_across_initials_and_keep_their_indices() -> None:
    pieces = split_sentences(NAMED)
    assert len(pieces) == 3  # the index's split cuts the name
    assert joined(pieces) == [
        ("سُميت الجادة باسم المليونير م. ثيو كيرني الذي عاش هناك.", (0, 1)),
        ("وتمتد الجادة عشرين ميلاً.", (2,)),
    ]
    assert joined(["أ.", "ب."]) == [("أ. ب.", (0, 1))]
    assert joined([]) == []
    assert joined_cosines(np.array([0.2, 0.7, 0.4]), [(0, 1), (2,)]).tolist() == [0.7, 0.4]


def test_the_second_stage_quotes_the_name_whole_and_scores_it_with_its_best_piece() -> None:
    assert [u.text for u in units_of(NAMED) if not u.clause] == [
        "سُميت الجادة باسم المليونير م. ثيو كيرني الذي عاش هناك.",
        "وتمتد الجادة عشرين ميلاً.",
    ]
    reranker = Reranker(Evidence(ArabicAnalyzer(), lambda term: 1.0))
    question = "من سميت الجادة باسمه؟"
    query = reranker.evidence.query(question)
    cosines = np.array([0.6, 0.9, 0.5], dtype=np.float32)  # one per piece of the index's split
    units, x, _, _ = reranker.unit_rows(question, query, question_type(question), NAMED, cosines, 0.5)
    cos = UNIT_FEATURES.index("sentence_cosine")
    by_sentence = {u.sentence: float(row[cos]) for u, row in zip(units, x, strict=True)}
    assert by_sentence == {0: float(np.float32(0.9)), 1: float(np.float32(0.5))}
