"""The second stage's paragraph analysis, built from cached token analyses, equals the whole text's."""

from __future__ import annotations

import math
from pathlib import Path

from bot.qa.answertypes import question_type
from bot.qa.evidence import Evidence, light_stem
from bot.qa.quotable import joined
from bot.qa.rerank import Reranker, _AnalysedParagraph, _AnalysedUnit, units_of
from indexing.arabic import ArabicAnalyzer, normalize_arabic
from indexing.sentences import split_sentences

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
# Whitespace and characters whose folding could differ between a token and the whole text.
EDGES = [
    "ﷺ قال: نعم، ثم عاد",  # a ligature NFKC expands to four words
    "x ﹶكلمة ً وأخرى",  # an isolated haraka form (NFKC gives a space and a fatha), a lone haraka
    "a\u00a0b  \u3000c\u2028d",  # NBSP, ideographic space, line separator
    "ΑΣ ΒΣ ΓΣΔ",  # Greek final sigma is lower-cased by context
    "الخارجية، ثم قال المتحدث: إن الأمر؛ وقد انتهى.",
    "\u0640\u064e",
    "",
]


def whole_text(analyzer: ArabicAnalyzer, text: str) -> tuple[_AnalysedParagraph, frozenset[str]]:
    """What the reranker computed before it analysed tokens: every unit's text folded and stemmed whole."""
    analysed = []
    for unit in units_of(text):
        folded = normalize_arabic(unit.text)
        terms = tuple(analyzer.folded_terms(folded))
        term_set = frozenset(terms)
        stems = frozenset(light_stem(t) for t in terms)
        stems = term_set if stems == term_set else stems
        analysed.append(_AnalysedUnit(folded, terms, term_set, stems, math.log(max(len(unit.text), 1))))
    pieces = split_sentences(text)
    groups = tuple(group for _, group in joined(pieces))
    stems = frozenset(light_stem(t) for t in analyzer.terms(text))
    paragraph = _AnalysedParagraph(
        units_of(text), tuple(analysed), len(pieces), groups if len(groups) < len(pieces) else None, stems
    )
    return paragraph, stems


def test_token_built_analysis_equals_the_whole_texts() -> None:
    analyzer = ArabicAnalyzer()
    reranker = Reranker(Evidence(analyzer, lambda term: 1.0))
    texts = list(EDGES)
    for path in sorted(SEEDS.glob("*.txt")):
        texts += [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    assert len(texts) > 50
    for text in texts:
        paragraph, stems = whole_text(analyzer, text)
        assert reranker._paragraph(text) == paragraph, text
        assert reranker._analyse_stems(text) == stems, text


def test_paragraph_stems_equal_the_headline_and_texts() -> None:
    analyzer = ArabicAnalyzer()
    reranker = Reranker(Evidence(analyzer, lambda term: 1.0))
    texts = [
        p.strip()
        for p in sorted(SEEDS.glob("*.txt"))[1].read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]
    for headline in ["", "ﷺ عنوان: الخبر،", *EDGES[:4]]:
        for text in [*EDGES, *texts]:
            joined = reranker._analyse_stems(f"{headline} {text}")
            assert reranker._paragraph_stems(headline, text) == joined, (headline, text)


def test_unit_rows_coverage_and_density_are_the_evidences() -> None:
    """The second stage's per-question shortcuts give QueryTerms' own coverage and the term density."""
    analyzer = ArabicAnalyzer()
    idf = {
        t: 1.0 + (len(t) % 5) / 3 for p in SEEDS.glob("*.txt") for t in analyzer.terms(p.read_text("utf-8"))
    }
    evidence = Evidence(analyzer, lambda term: idf.get(term, 9.0))
    reranker = Reranker(evidence)
    texts = [
        p.strip()
        for p in sorted(SEEDS.glob("*.txt"))[2].read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]
    questions = [" ".join(text.split()[i : i + 6]) + "؟" for text in texts for i in (0, 7)]
    for question in questions:
        query = evidence.query(question)
        for text in texts:
            _, rows, covs, terms_of = reranker.unit_rows(question, query, question_type(question), text)
            analysed = reranker._paragraph(text).analysed
            assert covs == [query.coverage_of_stems(a.stems) for a in analysed]
            assert rows[:, 1].tolist() == covs
            density = [sum(1 for t in a.terms if t in query.terms) / max(len(a.terms), 1) for a in analysed]
            assert rows[:, 2].tolist() == density
            assert terms_of == [a.term_set for a in analysed]
