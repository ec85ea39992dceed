"""The second stage's paragraph analysis, built from cached token analyses, equals the whole text's."""

from __future__ import annotations

import math
from pathlib import Path

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
    paragraph = _AnalysedParagraph(
        units_of(text), tuple(analysed), len(pieces), groups if len(groups) < len(pieces) else None
    )
    return paragraph, frozenset(light_stem(t) for t in analyzer.terms(text))


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
