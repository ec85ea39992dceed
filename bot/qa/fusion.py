"""Fusion of the two rankings as pure functions over score arrays (no store, no model).

Both sides' scores are z-normalised over the candidate set and summed with weights.
Unlike reciprocal rank fusion this keeps the margins: a paragraph far ahead on one
side is not pulled level with the runner-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def zscores(values: np.ndarray) -> np.ndarray:
    """Values centred on their mean in units of their spread (zeros when all are equal)."""
    spread = float(values.std())
    if spread < 1e-9:
        return np.zeros_like(values)
    return (values - float(values.mean())) / spread


def fuse(bm25: np.ndarray, cosine: np.ndarray, bm25_weight: float, dense_weight: float) -> np.ndarray:
    """Weighted sum of the z-normalised BM25 and cosine scores of the same candidates."""
    return bm25_weight * zscores(bm25) + dense_weight * zscores(cosine)


def ranked(ids: Sequence[str], fused: np.ndarray, k: int) -> list[int]:
    """Positions of the k best fused scores, best first; ties broken by id for stable output."""
    return sorted(range(len(ids)), key=lambda i: (-fused[i], ids[i]))[:k]


def display_score(fused: float) -> float:
    """A fused score squashed to 0..1 for display."""
    return 1.0 / (1.0 + math.exp(-fused))
