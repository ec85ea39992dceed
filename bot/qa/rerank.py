"""The second ranking stage: sentence-level evidence decides which paragraph and sentence answer.

After fusion, every candidate paragraph is cut into units (its sentences, and for a long
sentence the runs of its clauses that fit the lead's length), and each unit gets features
that say whether it holds the answer: how much of the question it covers (rare words
weigh more, spelling folded), whether it holds a span of the type the question asks for
that the question does not already say, how long it is, whether the sentence before it
covers the question (the answer often follows the sentence that repeats the question), and
how much of the question it alone, of its paragraph's sentences, holds.
A paragraph then gets its fusion evidence, how much of the question it and its headline
cover, and its best unit's score.

Two logistic regressions turn these into probabilities: P(unit holds the answer | its
paragraph does) and P(paragraph holds the answer). Their weights are fitted on the dev half
of XQuAD-ar by `python -m bench.fit` and shipped as bot/qa/weights.json; no constant here
is hand-set. A third one, over the best paragraph's evidence, is the abstention rule.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bot.qa.answertypes import AnswerType, folded_type_matches, question_type, said_words
from bot.qa.evidence import Evidence, QueryTerms, light_stem
from bot.qa.inflected import inflected_coverage, inflected_found, question_cores
from bot.qa.passage import Passage, Ranking, ScoredUnit, Unit
from bot.qa.quotable import joined, joined_cosines
from indexing.arabic import STOPWORDS, normalize_arabic, words
from indexing.sentences import split_sentences

WEIGHTS_FILE = Path(__file__).resolve().parent / "weights.json"

# Clause boundaries: after ، ; and before the conjunctions that open a new clause.
_CLAUSE_BREAK = re.compile(
    r"(?<=[،,:])\s+"
    r"|\s+(?=(?:ثم|بينما|حيث|لكن|ولكن|إلا أن|الا ان|فيما|كما|إذ|اذ|وقد|وكان|وكانت|وهو|وهي|والتي|والذي|"
    r"وذلك|وأن|وان|وأضاف|واضاف|وقال|وأكد|واكد|وأشار|واشار|مما|بعد أن|بعد ان|قبل أن|قبل ان|حتى)(?=\s))"
)
LEAD_CHARS = 240  # a long sentence is cut to clauses that fit this
# Sentences longer than this are scored clause run by clause run too: the runs tell the unit
# model where in a sentence the question's words and the answer sit (XQuAD-ar dev half, with
# the models refitted: 240 -> 160 gave lead 0.644 -> 0.650, answer 0.750 -> 0.755; 120 was no
# better and doubles the units).
CLAUSE_FROM = 160
# Paragraphs whose analysis (units, their folded text and terms) the reranker keeps: a
# question's candidates are often paragraphs recent questions also brought up, and the
# analysis is most of the second stage's cost (the commit that added it has the figures).
ANALYSIS_CACHE = 512
# Whitespace-separated tokens whose analysis (folded form, terms, light stems) the reranker
# keeps. A text's analysis is its tokens' analyses joined, so a paragraph the cache above
# misses is mostly assembled from tokens already seen (a unit's clause runs repeat its tokens).
TOKEN_CACHE = 65_536
_MIN_WORDS = 3
_TYPED = frozenset(
    {
        AnswerType.NUMBER,
        AnswerType.DATE,
        AnswerType.PERSON,
        AnswerType.PLACE,
        AnswerType.REASON,
        AnswerType.MANNER,
        AnswerType.DEFINITION,
    }
)

UNIT_FEATURES = (
    "bias",
    "coverage",
    "density",
    "bigrams",
    "sentence_coverage",
    "type_hit",
    "hit_number_date",
    "hit_person_place",
    "hit_reason_definition",
    "type_hit_x_coverage",
    "untyped",
    "log_chars",
    "first",
    "clause",
    "previous_coverage",
    "sentence_cosine",
    "cosine_gap",
    "unique_coverage",
    "inflected_found",
)
_HIT_GROUPS = (
    frozenset({AnswerType.NUMBER, AnswerType.DATE}),
    frozenset({AnswerType.PERSON, AnswerType.PLACE}),
    frozenset({AnswerType.REASON, AnswerType.MANNER, AnswerType.DEFINITION}),
)
PASSAGE_FEATURES: tuple[str, ...] = (
    "bias",
    "fused",
    "fused_gap",
    "dense",
    "dense_gap",
    "bm25_share",
    "inverse_rank",
    "paragraph_coverage",
    "headline_coverage",
    "best_unit",
    "best_coverage",
    "best_bigrams",
    "type_present",
    "best_cosine",
    "best_cosine_gap",
    # Coverage that also counts a question word written in another inflection (bot/qa/inflected.py),
    # with its _over_siblings twin. XQuAD-ar dev half, refitted: R@1 0.936 -> 0.943, answerable
    # declined 4.7% -> 4.4%; held out (bench.fit --cv 5, four fold layouts) passage R@1 +0.2 to +0.7.
    "inflected_coverage",
)
# Most ranking misses are another paragraph of the right article: each of these says how far a
# candidate is ahead of (or behind) the best other candidate of its own article (0 when alone).
# XQuAD-ar dev half, refitted: R@1 0.931 -> 0.933, cites gold 0.917 -> 0.920, answerable declined
# 4.9% -> 4.6%.
_OVER_SIBLINGS = ("paragraph_coverage", "best_unit", "best_coverage", "best_cosine", "inflected_coverage")
PASSAGE_FEATURES = PASSAGE_FEATURES + tuple(f"{n}_over_siblings" for n in _OVER_SIBLINGS)
ABSTAIN_FEATURES = (
    "bias",
    "passage_logit",
    "dense",
    "dense_margin",
    "paragraph_coverage",
    "headline_coverage",
    "missing_idf",
    "best_unit",
    "best_coverage",
    "same_article",
    "best_cosine",
)


def _bigrams(ordered: Sequence[str], query: QueryTerms) -> set[tuple[str, str]]:
    """Adjacent pairs of the question's content terms, as they follow each other."""
    content = [t for t in ordered if t in query.terms]
    return set(itertools.pairwise(content))


@lru_cache(maxsize=64)
def _said_words(question: str) -> frozenset[str]:
    return said_words(question)


def clauses(sentence: str) -> list[str]:
    """A sentence's clauses, each quoted from its start; joining them gives the sentence back."""
    out, start = [], 0
    for match in _CLAUSE_BREAK.finditer(sentence):
        piece = sentence[start : match.start()].strip()
        if piece:
            out.append(piece)
        start = match.end()
    tail = sentence[start:].strip()
    if tail:
        out.append(tail)
    return out


def _trim(text: str) -> str:
    return text.strip().rstrip("،,:؛").strip()


@lru_cache(maxsize=4096)
def units_of(text: str) -> tuple[Unit, ...]:
    """Every unit of a paragraph: its sentences, plus clause runs (≤ LEAD_CHARS) of those over CLAUSE_FROM."""
    return _units_of_sentences([sentence for sentence, _ in joined(split_sentences(text))])


def _units_of_sentences(sentences: Sequence[str]) -> tuple[Unit, ...]:
    """`units_of` a paragraph already split into sentences."""
    out: list[Unit] = []
    for i, sentence in enumerate(sentences):
        out.extend(unit for unit, _, _, _ in _sentence_units(i, sentence, len(sentence.split())))
    return tuple(out)


def _sentence_units(i: int, sentence: str, words: int) -> Iterator[tuple[Unit, int, int, bool]]:
    """The units of sentence `i` (of `words` words) in `units_of`'s order, each with its words:
    `sentence.split()[start:end]`, the last one with _trim's trailing ، , : ؛ removed when trimmed.

    A clause break is whitespace only, so a sentence's words are its clauses' words in order,
    and a run of clauses joined by spaces is a run of words; _trim only strips the run's last
    word (dropping it when nothing else is left of it).
    """
    if words < _MIN_WORDS:
        return
    yield Unit(sentence, i, False), 0, words, False
    if len(sentence) <= CLAUSE_FROM:
        return
    parts = clauses(sentence)
    starts = [0, *itertools.accumulate(len(part.split()) for part in parts)]
    for a in range(len(parts)):
        run = parts[a]
        for b in range(a + 1, len(parts) + 1):
            if b > a + 1:
                run = f"{run} {parts[b - 1]}"
            if len(run) > LEAD_CHARS:
                break
            if starts[b] - starts[a] >= _MIN_WORDS and (a, b) != (0, len(parts)):
                text = _trim(run)
                yield Unit(text, i, True), starts[a], starts[b], len(text) != len(run)


class _AnalysedUnit(NamedTuple):
    """What the features need of a unit that does not depend on the question."""

    folded: str  # normalize_arabic of its text
    terms: tuple[str, ...]
    term_set: frozenset[str]
    stems: frozenset[str]  # light stems of its terms, what coverage compares
    log_chars: float


_TokenAnalysis = tuple[str, tuple[str, ...], tuple[str, ...]]  # folded form, terms, their light stems


@dataclass(frozen=True)
class _AnalysedParagraph:
    units: tuple[Unit, ...]
    analysed: tuple[_AnalysedUnit, ...]
    pieces: int  # how many sentences split_sentences finds (the sentence vectors' count)
    # The split's pieces each quoted sentence joins (bot/qa/quotable.py); None when none is joined.
    groups: tuple[tuple[int, ...], ...] | None
    stems: frozenset[str]  # `_analyse_stems` of the whole text


@dataclass
class Model:
    """A logistic regression over named features."""

    features: tuple[str, ...]
    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    threshold: float = 0.0  # on the logit; used by the abstention model

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """Logit per row of raw features."""
        if rows.size == 0:
            return np.zeros(0)
        return ((rows - self.mean) / self.scale) @ self.weights

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Model:
        """Inverse of as_dict."""
        names = tuple(raw["features"])
        return cls(
            names,
            np.array([raw["weights"][n] for n in names], dtype=np.float64),
            np.array([raw["mean"][n] for n in names], dtype=np.float64),
            np.array([raw["scale"][n] for n in names], dtype=np.float64),
            float(raw.get("threshold", 0.0)),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form: weights, and the standardisation they apply to."""
        return {
            "features": list(self.features),
            "weights": dict(zip(self.features, self.weights.round(6).tolist(), strict=True)),
            "mean": dict(zip(self.features, self.mean.round(6).tolist(), strict=True)),
            "scale": dict(zip(self.features, self.scale.round(6).tolist(), strict=True)),
            "threshold": round(self.threshold, 6),
        }


@dataclass
class Models:
    """The three fitted models the engine uses."""

    unit: Model
    passage: Model
    abstain: Model

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Models:
        """The shipped weights."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            Model.from_dict(raw["unit"]), Model.from_dict(raw["passage"]), Model.from_dict(raw["abstain"])
        )


class Reranker:
    """Scores units and paragraphs with the fitted models and reorders the candidates."""

    def __init__(self, evidence: Evidence, models: Models | None = None) -> None:
        self.evidence = evidence
        self.models = models or Models.load()
        # Bounded caches of what depends on a paragraph's text only, never on the question.
        self._paragraph = lru_cache(maxsize=ANALYSIS_CACHE)(self._analyse_paragraph)
        self._stems = lru_cache(maxsize=ANALYSIS_CACHE)(self._analyse_stems)
        self._paragraph_stems = lru_cache(maxsize=ANALYSIS_CACHE)(self._analyse_paragraph_stems)
        self._query_order = lru_cache(maxsize=64)(self._analyse_query_order)
        self._words = lru_cache(maxsize=ANALYSIS_CACHE)(self._analyse_words)
        self._cores = lru_cache(maxsize=64)(self._analyse_cores)
        self._query = lru_cache(maxsize=64)(self.evidence.query)  # asked twice per question
        self._token = lru_cache(maxsize=TOKEN_CACHE)(self._analyse_token)

    def _analyse_token(self, token: str) -> _TokenAnalysis:
        """A whitespace-free token's folded form, terms and their light stems."""
        folded = normalize_arabic(token)
        terms = tuple(self.evidence.analyzer.folded_terms(folded))
        return folded, terms, tuple(light_stem(t) for t in terms)

    def _analyse_text(self, text: str) -> tuple[str, tuple[str, ...], frozenset[str]]:
        """normalize_arabic(text), its terms and their light stems, from the text's tokens.

        The same values as analysing the whole text: normalize_arabic maps each character on
        its own (NFKC does not compose across whitespace; a whitespace character stays
        whitespace) and collapses whitespace, and a term never spans whitespace.
        """
        parts = [self._token(token) for token in text.split()]
        folded = " ".join([part[0] for part in parts if part[0]])
        terms = tuple(itertools.chain.from_iterable(part[1] for part in parts))
        return folded, terms, frozenset(itertools.chain.from_iterable(part[2] for part in parts))

    def _analyse_paragraph(self, text: str) -> _AnalysedParagraph:
        """Each unit's `_analyse_text`, assembled from its sentence's word analyses by slicing.

        A unit is a run of its sentence's words (`_sentence_units`) and a text's analysis is
        its words' analyses joined, so a unit's folded text, terms and stems are slices of its
        sentence's; the one word _trim shortened is analysed on its own.
        """
        pieces = split_sentences(text)
        sentences = joined(pieces)
        token = self._token
        units, analysed = [], []
        text_stems: set[str] = set()
        for i, (sentence, _) in enumerate(sentences):
            words = sentence.split()
            parts = [token(word) for word in words]
            terms: list[str] = []
            stems: list[str] = []
            at = [0]
            for part in parts:
                terms += part[1]
                stems += part[2]
                at.append(len(terms))
            text_stems.update(stems)  # the text's words are its sentences' words
            if len(words) < _MIN_WORDS:
                continue
            folded_words = [part[0] for part in parts]
            for unit, start, end, trimmed in _sentence_units(i, sentence, len(words)):
                if trimmed:  # the run's words, the last one shortened (or gone)
                    end = start + len(unit.text.split()) - 1
                    tail = token(unit.text.rsplit(None, 1)[-1])
                    folded = " ".join(filter(None, [*folded_words[start:end], tail[0]]))
                    unit_terms = (*terms[at[start] : at[end]], *tail[1])
                    unit_stems = frozenset(itertools.chain(stems[at[start] : at[end]], tail[2]))
                else:
                    folded = " ".join(filter(None, folded_words[start:end]))
                    unit_terms = tuple(terms[at[start] : at[end]])
                    unit_stems = frozenset(stems[at[start] : at[end]])
                term_set = frozenset(unit_terms)
                # one set kept when they agree
                unit_stems = term_set if unit_stems == term_set else unit_stems
                units.append(unit)
                analysed.append(
                    _AnalysedUnit(folded, unit_terms, term_set, unit_stems, math.log(max(len(unit.text), 1)))
                )
        groups = tuple(group for _, group in sentences) if len(sentences) < len(pieces) else None
        return _AnalysedParagraph(tuple(units), tuple(analysed), len(pieces), groups, frozenset(text_stems))

    def _analyse_query_order(self, question: str) -> tuple[str, ...]:
        return tuple(self.evidence.query_order(question))

    def _analyse_words(self, headline: str, text: str) -> frozenset[str]:
        """The folded content words of a headline and its paragraph."""
        folded = f"{self._analyse_text(headline)[0]} {self._analyse_text(text)[0]}"
        return frozenset(words(folded)) - STOPWORDS

    def _analyse_cores(self, question: str) -> tuple[tuple[str, str], ...]:
        return question_cores(self.evidence, question, self._query(question))

    def _analyse_paragraph_stems(self, headline: str, text: str) -> frozenset[str]:
        """`_analyse_stems(f"{headline} {text}")`: the words of both, so the union of their stems."""
        return self._stems(headline) | self._paragraph(text).stems

    def _analyse_stems(self, text: str) -> frozenset[str]:
        """Light stems of a text's terms (what QueryTerms.coverage compares)."""
        return self._analyse_text(text)[2]

    # -- features ------------------------------------------------------------------

    def unit_rows(
        self,
        question: str,
        query: QueryTerms,
        kind: AnswerType,
        text: str,
        cosines: np.ndarray | None = None,
        dense: float = 0.0,
    ) -> tuple[list[Unit], np.ndarray, list[float], list[frozenset[str]]]:
        """Units of a paragraph, their feature rows, coverages and analysed terms.

        `cosines` are the question's similarities with the paragraph's sentences (from the
        index job's sentence vectors); without them every sentence gets the paragraph's `dense`.
        """
        paragraph = self._paragraph(text)
        units = paragraph.units
        if cosines is not None and len(cosines) != paragraph.pieces:
            cosines = None  # vectors of another split: rank without them
        if cosines is not None and paragraph.groups is not None:
            cosines = joined_cosines(cosines, paragraph.groups)
        top_cosine = float(np.max(cosines)) if cosines is not None else dense
        sentence_cov: dict[int, float] = {}
        pairs = _bigrams(self._query_order(question), query)
        typed = kind in _TYPED
        said = _said_words(question) if typed else frozenset()
        # Per question, not per unit: the kind's groups, the cosines as floats, and the question's
        # stems and weights in QueryTerms.coverage_of_stems's order (so the same sums).
        group = [float(kind in g) for g in _HIT_GROUPS]
        sentence_cosine = cosines.tolist() if cosines is not None else None
        stemmed = [(light_stem(t), w) for t, w in query.terms.items()]
        total = query.total
        # The question's words that only one sentence of the paragraph holds: the sentence that
        # echoes the question's topic shares its words with its neighbours, the one that answers
        # usually carries a word of the question no other sentence has (the predicate). XQuAD-ar
        # dev half, refitted: answer contains gold 0.768 -> 0.786, lead 0.667 -> 0.676, answerable
        # declined 4.4% -> 4.7% (held-out unit top-1 in the gold paragraph 0.748 -> 0.754).
        sentence_stems = [a.stems for u, a in zip(units, paragraph.analysed, strict=True) if not u.clause]
        unique = [(stem, w) for stem, w in stemmed if sum(stem in stems for stems in sentence_stems) == 1]
        # A question word the unit writes in another inflection (bot/qa/inflected.py). XQuAD-ar dev
        # half, refitted: answer contains gold 0.788 -> 0.791, lead 0.678 -> 0.683 (held-out unit
        # top-1, bench.fit --cv 5 over four fold layouts, +0.5 to +0.7 point).
        cores = self._cores(question)
        rows, covs, terms_of = [], [], []
        for unit, analysed in zip(units, paragraph.analysed, strict=True):
            terms = analysed.terms
            present = analysed.stems
            coverage = sum(w for stem, w in stemmed if stem in present) / total
            hit = float(typed and folded_type_matches(kind, analysed.folded, said) > 0)
            if not unit.clause:
                sentence_cov[unit.sentence] = coverage
            matched = sum(map(query.terms.__contains__, terms))
            bigrams = len(pairs & set(itertools.pairwise(terms))) / len(pairs) if pairs else 0.0
            rows.append(
                [
                    1.0,
                    coverage,
                    matched / max(len(terms), 1),
                    bigrams,
                    0.0,
                    hit,
                    hit * group[0],
                    hit * group[1],
                    hit * group[2],
                    hit * coverage,
                    float(not typed),
                    analysed.log_chars,
                    float(unit.sentence == 0),
                    float(unit.clause),
                    0.0,
                    sentence_cosine[unit.sentence] if sentence_cosine is not None else dense,
                    sentence_cosine[unit.sentence] - top_cosine if sentence_cosine is not None else 0.0,
                    sum(w for stem, w in unique if stem in present) / total,
                    inflected_found(query, cores, present, analysed.folded.__contains__),
                ]
            )
            covs.append(coverage)
            terms_of.append(analysed.term_set)
        for row, unit in zip(rows, units, strict=True):
            row[4] = sentence_cov.get(unit.sentence, row[1])
            row[14] = sentence_cov.get(unit.sentence - 1, 0.0)
        return list(units), np.array(rows, dtype=np.float64).reshape(-1, len(UNIT_FEATURES)), covs, terms_of

    def passage_rows(
        self, question: str, passages: Sequence[Passage]
    ) -> tuple[np.ndarray, list[list[ScoredUnit]]]:
        """Feature rows of the candidates (in fusion order) and their scored units."""
        query = self._query(question)
        kind = question_type(question)
        fused = np.array([p.fused for p in passages], dtype=np.float64)
        dense = np.array([p.dense for p in passages], dtype=np.float64)
        bm25 = np.array([p.bm25 for p in passages], dtype=np.float64)
        top_bm25 = float(bm25.max()) if len(bm25) and bm25.max() > 0 else 1.0
        best_cosine = np.array(
            [
                float(np.max(p.sentence_cosines)) if p.sentence_cosines is not None else p.dense
                for p in passages
            ],
            dtype=np.float64,
        )
        cores = self._cores(question)
        rows, scored = [], []
        for i, passage in enumerate(passages):
            units, unit_x, covs, terms = self.unit_rows(
                question, query, kind, passage.paragraph.text, passage.sentence_cosines, passage.dense
            )
            logits = self.models.unit.logits(unit_x)
            mine = [
                ScoredUnit(u, i, float(g), c, t)
                for u, g, c, t in zip(units, logits, covs, terms, strict=True)
            ]
            scored.append(mine)
            headline = passage.paragraph.title
            rows.append(
                [
                    1.0,
                    fused[i],
                    fused[i] - fused.max(),
                    dense[i],
                    dense[i] - dense.max(),
                    bm25[i] / top_bm25,
                    1.0 / (i + 1),
                    query.coverage_of_stems(self._paragraph_stems(headline, passage.paragraph.text)),
                    query.coverage_of_stems(self._stems(headline)) if headline else 0.0,
                    max((s.logit for s in mine), default=-5.0),
                    max(covs, default=0.0),
                    float(unit_x[:, 3].max()) if len(unit_x) else 0.0,
                    float(unit_x[:, 5].max()) if len(unit_x) else 0.0,
                    best_cosine[i],
                    best_cosine[i] - best_cosine.max(),
                    inflected_coverage(
                        query,
                        cores,
                        self._paragraph_stems(headline, passage.paragraph.text),
                        self._words(headline, passage.paragraph.text),
                    ),
                ]
            )
        sources = [p.paragraph.source for p in passages]
        columns = [PASSAGE_FEATURES.index(n) for n in _OVER_SIBLINGS]
        for i, row in enumerate(rows):
            siblings = [other for j, other in enumerate(rows) if j != i and sources[j] == sources[i]]
            row.extend(row[c] - max(s[c] for s in siblings) if siblings else 0.0 for c in columns)
        return np.array(rows, dtype=np.float64).reshape(-1, len(PASSAGE_FEATURES)), scored

    # -- ranking -------------------------------------------------------------------

    def rank(self, question: str, passages: Sequence[Passage]) -> Ranking:
        """Candidates reordered by P(answer here); each gets its logit and scored units attached."""
        if not passages:
            return Ranking([], [], [], {}, -math.inf)
        rows, scored = self.passage_rows(question, passages)
        logits = self.models.passage.logits(rows)
        order = sorted(range(len(passages)), key=lambda i: (-logits[i], i))
        reranked = [passages[i] for i in order]
        for new, old in enumerate(order):
            reranked[new].logit = float(logits[old])
            for unit in scored[old]:  # this call's own objects: renumbered in place
                unit.passage = new
            reranked[new].units = scored[old]
        best = order[0]
        top = passages[best]
        others = sorted((p.dense for i, p in enumerate(passages) if i != best), reverse=True)
        query = self._query(question)
        present = self._paragraph_stems(top.paragraph.title, top.paragraph.text)
        column = PASSAGE_FEATURES.index
        unseen = max(self.evidence.unseen_idf, 1e-9)
        features = {
            "bias": 1.0,
            "passage_logit": float(logits[best]),
            "dense": float(top.dense),
            "dense_margin": float(top.dense - others[0]) if others else 0.0,
            "paragraph_coverage": float(rows[best][column("paragraph_coverage")]),
            "headline_coverage": float(rows[best][column("headline_coverage")]),
            # A rare question word (a name) missing from the best paragraph says the article is not here;
            # as a share of the largest weight the index can give, so it means the same at any size.
            "missing_idf": max(
                (w for t, w in query.terms.items() if light_stem(t) not in present), default=0.0
            )
            / unseen,
            "best_unit": float(rows[best][column("best_unit")]),
            "best_coverage": float(rows[best][column("best_coverage")]),
            # An indexed story usually brings several of its paragraphs near the top.
            "same_article": sum(1 for p in reranked[1:5] if p.paragraph.source == top.paragraph.source) / 4,
            "best_cosine": float(rows[best][column("best_cosine")]),
        }
        abstain = self.models.abstain
        x = np.array([[features[n] for n in abstain.features]])
        confidence = float(abstain.logits(x)[0]) - abstain.threshold
        return Ranking(
            reranked, [float(logits[i]) for i in order], ranked_units(reranked), features, confidence
        )


def promote(ranking: Ranking, index: int) -> None:
    """Move one candidate to the front with the best log-odds, renumbering every attached unit."""
    order = [index] + [i for i in range(len(ranking.passages)) if i != index]
    best = max(ranking.passage_logits)
    ranking.passages = [ranking.passages[i] for i in order]
    ranking.passage_logits = [best] + [ranking.passage_logits[i] for i in order[1:]]
    ranking.passages[0].logit = best
    for new, passage in enumerate(ranking.passages):
        passage.units = [ScoredUnit(s.unit, new, s.logit, s.coverage, s.terms) for s in passage.units or []]
    ranking.units = ranked_units(ranking.passages)


def log_sigmoid(x: float) -> float:
    """log P for a logit, without overflow."""
    return -math.log1p(math.exp(-x)) if x > -30 else x


def combined(unit: ScoredUnit, passage_logit: float) -> float:
    """log P(the unit holds the answer and its paragraph does)."""
    return log_sigmoid(unit.logit) + log_sigmoid(passage_logit)


def ranked_units(passages: Sequence[Passage]) -> list[ScoredUnit]:
    """Every unit attached to reranked passages, best combined score first."""
    units = [s for p in passages for s in (p.units or [])]
    # combined(s, logit) = log_sigmoid(s.logit) + log_sigmoid(logit), the second once per passage
    passage_part = [log_sigmoid(p.logit if p.logit is not None else 0.0) for p in passages]
    return sorted(
        units,
        key=lambda s: (
            -(log_sigmoid(s.logit) + passage_part[s.passage]),
            s.passage,
            s.unit.sentence,
            len(s.unit.text),
        ),
    )


__all__ = [
    "ABSTAIN_FEATURES",
    "PASSAGE_FEATURES",
    "UNIT_FEATURES",
    "Model",
    "Models",
    "Ranking",
    "Reranker",
    "ScoredUnit",
    "Unit",
    "clauses",
    "combined",
    "log_sigmoid",
    "promote",
    "ranked_units",
    "split_sentences",
    "units_of",
]
