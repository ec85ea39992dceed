"""The figures the benchmark reports, as pure functions: ranks, recall, MRR, F1, percentiles.

Kept free of I/O and of the engine so tests can pin their behaviour on tiny inputs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Sequence

from indexing.arabic import normalize_arabic, words

_MARKER = re.compile(r"\[\d+\]")
_ARTICLE = "ال"


def rank_of(gold: Hashable, hits: Sequence[Collection[Hashable]]) -> int:
    """1-based rank of the first hit that holds gold (each hit is a set of locations); 0 if none."""
    for rank, locations in enumerate(hits, 1):
        if gold in locations:
            return rank
    return 0


def recall_at(ranks: Sequence[int], k: int) -> float:
    """Share of questions whose gold is within the top k (rank 0 means not retrieved)."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if 1 <= r <= k) / len(ranks)


def mrr_at(ranks: Sequence[int], k: int) -> float:
    """Mean reciprocal rank, counting only ranks 1..k."""
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if 1 <= r <= k) / len(ranks)


def strip_markers(text: str) -> str:
    """Answer text without its [n] citation markers."""
    return " ".join(_MARKER.sub(" ", text).split())


def answer_tokens(text: str) -> list[str]:
    """SQuAD-style normalised tokens for Arabic.

    Markers, punctuation, diacritics and letter variants go (normalize_arabic); the
    definite article is the Arabic counterpart of SQuAD's dropped a/an/the, but it is
    a prefix, so it is cut off a word (ال, and وال/بال/فال/كال/لل) rather than dropped.
    """
    out = []
    for word in words(normalize_arabic(strip_markers(text))):
        if word.startswith(_ARTICLE) and len(word) > 3:
            word = word[2:]
        elif word[:1] in "وبفك" and word[1:3] == _ARTICLE and len(word) > 4:
            word = word[3:]
        elif word.startswith("لل") and len(word) > 3:
            word = word[2:]
        out.append(word)
    return out


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 between an answer and one gold answer (SQuAD v1.1 definition)."""
    pred, ref = answer_tokens(prediction), answer_tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Iterable[str]) -> float:
    """F1 against the closest of several gold answers."""
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def contains_gold(answer: str, golds: Iterable[str]) -> bool:
    """Whether the answer text holds a gold answer as whole words, both normalize_arabic'd."""
    padded = f" {' '.join(words(normalize_arabic(strip_markers(answer))))} "
    for gold in golds:
        needle = " ".join(words(normalize_arabic(gold)))
        if needle and f" {needle} " in padded:
            return True
    return False


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError("percentile must be within 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95, max and mean of per-question times, in milliseconds."""
    if not values_ms:
        return {"n": 0, "p50": math.nan, "p95": math.nan, "max": math.nan, "mean": math.nan}
    return {
        "n": len(values_ms),
        "p50": percentile(values_ms, 50),
        "p95": percentile(values_ms, 95),
        "max": max(values_ms),
        "mean": sum(values_ms) / len(values_ms),
    }


def share(flags: Sequence[bool]) -> float:
    """Fraction of true flags (0.0 for none)."""
    return sum(1 for f in flags if f) / len(flags) if flags else 0.0
