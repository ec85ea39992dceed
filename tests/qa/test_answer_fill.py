"""A short answer takes the next-best sentences of its lead's paragraph while they fit.

The second stage's verdict is written by hand here (unit and paragraph log-odds), so the
answerer's composition is tested alone, on small inputs.
"""

from __future__ import annotations

from bot.qa.extractive import ExtractiveAnswerer
from bot.qa.passage import Passage, ScoredUnit, Unit
from indexing.store.chroma import StoredParagraph

Sentence = tuple[str, int, float, frozenset[str]]


def passage(text: str, units: list[Sentence], index: int, logit: float) -> Passage:
    """A reranked candidate: `units` are (sentence, its index, unit logit, content terms)."""
    paragraph = StoredParagraph(f"p{index}", f"{index}.txt", 1, text, "", "", ())
    p = Passage(paragraph, 1.0, logit=logit)
    p.units = [ScoredUnit(Unit(s, i, False), index, g, 0.5, terms) for s, i, g, terms in units]
    return p


LEAD = "افتتح المحافظ الجسر الجديد فوق النهر أمس."
ECHO = "وكان الجسر قد تأخر عامين عن موعده."
ANSWER = "وبلغت كلفته 40 مليون دينار دفعتها البلدية."


def answer_of(*passages: Passage) -> str:
    return ExtractiveAnswerer(evidence=None).answer("كم بلغت كلفة الجسر؟", list(passages)).text  # type: ignore[arg-type]


COST_TERMS = frozenset({"بلغ", "كلف", "مليون", "دينار"})


def bridge(lead: str = LEAD, answer_terms: frozenset[str] = COST_TERMS) -> Passage:
    # The answer's sentence is far less likely than the lead (log-odds 3 vs -2): no extra by margin.
    return passage(
        f"{lead} {ECHO} {ANSWER}",
        [
            (lead, 0, 3.0, frozenset({"افتتح", "محافظ", "جسر", "نهر"})),
            (ECHO, 1, -2.5, frozenset({"جسر", "تاخر", "عام", "موعد"})),
            (ANSWER, 2, -2.0, answer_terms),
        ],
        0,
        4.0,
    )


def test_a_short_answer_takes_the_next_best_sentence_of_its_paragraph() -> None:
    text = answer_of(bridge())
    assert text.startswith(LEAD) and ANSWER in text, text
    assert text.index(LEAD) < text.index(ANSWER) < text.index(ECHO)  # the likelier runner-up first
    assert len(text) <= 230


def test_a_long_answer_is_not_filled() -> None:
    long_lead = "افتتح المحافظ الجسر الجديد فوق النهر أمس في حفل حضره الوزراء والسفراء " * 3
    text = answer_of(bridge(long_lead.strip() + "."))
    assert ANSWER not in text and ECHO not in text, text


def test_the_fill_comes_from_the_leads_paragraph_only() -> None:
    lead_only = passage(LEAD, [(LEAD, 0, 3.0, frozenset({"افتتح", "محافظ", "جسر", "نهر"}))], 0, 4.0)
    other = passage(ANSWER, [(ANSWER, 0, -2.0, COST_TERMS)], 1, 4.0)
    assert answer_of(lead_only, other).strip() == f"{LEAD} [1]"


def test_a_runner_up_that_adds_no_new_words_is_left_out() -> None:
    text = answer_of(bridge(answer_terms=frozenset({"افتتح", "محافظ", "جسر", "نهر", "بلغ"})))
    assert ANSWER not in text, text


def test_a_long_runner_up_is_quoted_from_its_start() -> None:
    opening = "وبلغت كلفة الجسر 40 مليون دينار،"
    inside = "التي دفعتها البلدية من ميزانية الطرق بعد موافقة المجلس،"
    tail = "وهو ما أثار جدلا واسعا بين الأعضاء حول أولويات الإنفاق في المدينة وضواحيها " * 3
    long_sentence = f"{opening} {inside} {tail.strip()}."
    base = bridge()
    assert base.units is not None and len(long_sentence) > 240
    base.units = [u for u in base.units if u.unit.sentence != 2] + [
        ScoredUnit(Unit(long_sentence, 2, False), 0, -2.0, 0.5, COST_TERMS),
        ScoredUnit(Unit(opening.rstrip("،"), 2, True), 0, -2.2, 0.5, COST_TERMS),
        # A run from inside the sentence scores higher, but it opens with a relative pronoun.
        ScoredUnit(Unit(inside.rstrip("،"), 2, True), 0, -1.5, 0.5, frozenset({"دفع", "بلدي", "ميزان"})),
    ]
    text = answer_of(base)
    assert opening.rstrip("،") in text and inside.rstrip("،") not in text, text
