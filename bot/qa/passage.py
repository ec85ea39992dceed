"""What retrieval hands on: a candidate paragraph with its evidence, and the second stage's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from indexing.store.chroma import StoredParagraph


@dataclass
class Passage:
    """A retrieved paragraph with the evidence for its rank."""

    paragraph: StoredParagraph
    score: float  # fused, squashed to 0..1 for display
    bm25: float = 0.0
    dense: float = 0.0
    fused: float = 0.0
    logit: float | None = None  # second stage: log-odds that this paragraph holds the answer
    units: list[ScoredUnit] | None = None  # second stage: its scored sentences and clause runs
    # Question-sentence similarity per sentence (indexing.sentences order); None: one sentence or no vectors.
    sentence_cosines: np.ndarray | None = None


@dataclass(frozen=True)
class Unit:
    """A quotable piece of one paragraph: a sentence, or a run of clauses of a long one."""

    text: str
    sentence: int  # index of its sentence in the paragraph
    clause: bool  # cut from a longer sentence


@dataclass
class ScoredUnit:
    """A unit of one candidate paragraph with its fitted score."""

    unit: Unit
    passage: int  # index into the reranked passages
    logit: float
    coverage: float
    terms: frozenset[str] = field(default_factory=frozenset)


@dataclass
class Ranking:
    """The second stage's verdict over one question's candidates."""

    passages: list[Passage]  # best first
    passage_logits: list[float]
    units: list[ScoredUnit]  # of every passage, best combined score first
    abstain_features: dict[str, float]
    confidence: float  # abstention logit minus its threshold: answer when >= 0


__all__ = ["Passage", "Ranking", "ScoredUnit", "StoredParagraph", "Unit"]
