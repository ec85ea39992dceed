"""Article-grouped cross-validation inside the dev half: is a change to the second stage more than noise?

`python -m bench.fit --cv K` refits each model on K−1 folds of the dev half's articles and
scores the held-out fold, so every dev question is judged by a model that never saw its
article. A question is a group of rows (a paragraph's units, or a question's candidates)
with 0/1 labels; a model is a function from training groups to a scorer of rows.
Folds are whole articles, because questions of one article share paragraphs and wording.

On XQuAD-ar's dev half the same models score unit top-1 0.746–0.753 and passage R@1
0.931–0.935 over random article layouts of the five folds (session 6): a dev-half
difference of two to four questions is not evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

Scorer = Callable[[np.ndarray], np.ndarray]


class Group(NamedTuple):
    """One question's rows: its article, feature rows and 0/1 labels."""

    article: int
    x: np.ndarray
    y: np.ndarray


def folds(articles: Iterable[int], k: int) -> dict[int, int]:
    """The fold of each article: dealt round-robin in sorted order."""
    return {a: i % k for i, a in enumerate(sorted(set(articles)))}


def stacked(groups: Sequence[Group]) -> tuple[np.ndarray, np.ndarray]:
    """All rows and labels of the groups, one matrix."""
    return np.vstack([g.x for g in groups]), np.concatenate([g.y for g in groups])


def top1(groups: Sequence[Group], fit: Callable[[Sequence[Group]], Scorer], fold_of: dict[int, int]) -> float:
    """Share of groups whose best row is labelled 1, each scored by a model fitted without its fold."""
    hits = 0.0
    for f in sorted(set(fold_of.values())):
        held = [g for g in groups if fold_of[g.article] == f]
        if held:
            score = fit([g for g in groups if fold_of[g.article] != f])
            hits += sum(float(g.y[int(np.argmax(score(g.x)))]) for g in held if len(g.y))
    return hits / max(len(groups), 1)


def abstention(
    present: np.ndarray,
    present_articles: Sequence[int],
    absent: np.ndarray,
    absent_articles: Sequence[int],
    fit: Callable[[np.ndarray, np.ndarray], Scorer],
    target: float,
    fold_of: dict[int, int],
) -> tuple[float, float]:
    """Held-out shares of answerable and of absent-article questions declined.

    One feature row per question; the model is fitted on the other folds (1 = answerable) and
    its threshold set there to decline `target` of their absent-article questions.
    """
    fold = np.array([fold_of[a] for a in [*present_articles, *absent_articles]])
    x = np.vstack([present, absent])
    label = np.concatenate([np.ones(len(present)), np.zeros(len(absent))])
    declined_present: list[bool] = []
    declined_absent: list[bool] = []
    for f in sorted(set(fold_of.values())):
        train, held = fold != f, fold == f
        if not held.any() or not (train & (label == 0)).any():
            continue
        score = fit(x[train], label[train])
        negatives = np.sort(score(x[train & (label == 0)]))
        threshold = negatives[min(int(np.ceil(target * len(negatives))), len(negatives) - 1)]
        logits = score(x[held])
        declined_present += list(logits[label[held] == 1] < threshold)
        declined_absent += list(logits[label[held] == 0] < threshold)
    return float(np.mean(declined_present)), float(np.mean(declined_absent))


__all__ = ["Group", "Scorer", "abstention", "folds", "stacked", "top1"]
