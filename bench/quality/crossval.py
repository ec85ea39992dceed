"""Article-grouped cross-validation inside the dev half: is a change to the second stage more than noise?

`python -m bench.fit --cv K` refits each model on K−1 folds of the dev half's articles and
scores the held-out fold, so every dev question is judged by a model that never saw its
article. A question is a group of rows (a paragraph's units, or a question's candidates)
with 0/1 labels; a model is a function from training groups to a scorer of rows.
Folds are whole articles, because questions of one article share paragraphs and wording.

On XQuAD-ar's dev half the same models score unit top-1 0.746–0.753 and passage R@1
0.931–0.935 over random article layouts of the five folds (session 6): a dev-half
difference of two to four questions is not evidence. `--layouts N` repeats the folds over N
layouts of the articles; a change counts when it gains in every layout.

The abstention rule's held-out shares move both at once (a threshold set on the training
folds lands a little differently on each held-out fold), so they are also read at one point
of the curve: the share of answerable questions declined where `target` of the absent-article
ones are, all folds' held-out confidences pooled.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

Scorer = Callable[[np.ndarray], np.ndarray]


class Group(NamedTuple):
    """One question's rows: its article, feature rows and 0/1 labels."""

    article: int
    x: np.ndarray
    y: np.ndarray


def folds(articles: Iterable[int], k: int, layout: int = 0) -> dict[int, int]:
    """The fold of each article: dealt round-robin in sorted order, or for layout > 0 in the
    order a random shuffle seeded with `layout` gives."""
    ordered = sorted(set(articles))
    if layout:
        random.Random(layout).shuffle(ordered)
    return {a: i % k for i, a in enumerate(ordered)}


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


class Abstention(NamedTuple):
    """Held-out abstention figures."""

    declined: float  # answerable questions declined, each fold at its training folds' threshold
    absent_declined: float  # absent-article questions declined, likewise
    declined_at_target: float  # answerable declined where `target` of absent ones are, pooled


def abstention(
    present: np.ndarray,
    present_articles: Sequence[int],
    absent: np.ndarray,
    absent_articles: Sequence[int],
    fit: Callable[[np.ndarray, np.ndarray], Scorer],
    target: float,
    fold_of: dict[int, int],
) -> Abstention:
    """Held-out shares of answerable and of absent-article questions declined.

    One feature row per question; the model is fitted on the other folds (1 = answerable) and
    its threshold set there to decline `target` of their absent-article questions. Each
    held-out question's confidence is its logit minus that threshold; `declined_at_target`
    cuts all of them at the one level that declines `target` of the absent ones.
    """
    fold = np.array([fold_of[a] for a in [*present_articles, *absent_articles]])
    x = np.vstack([present, absent])
    label = np.concatenate([np.ones(len(present)), np.zeros(len(absent))])
    declined_present: list[bool] = []
    declined_absent: list[bool] = []
    confidence: list[np.ndarray] = []
    held_label: list[np.ndarray] = []
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
        confidence.append(logits - threshold)
        held_label.append(label[held])
    pooled, answerable = np.concatenate(confidence), np.concatenate(held_label) == 1
    absent = np.sort(pooled[~answerable])
    cut = absent[min(int(np.ceil(target * len(absent))), len(absent) - 1)]
    return Abstention(
        float(np.mean(declined_present)),
        float(np.mean(declined_absent)),
        float(np.mean(pooled[answerable] < cut)),
    )


__all__ = ["Abstention", "Group", "Scorer", "abstention", "folds", "stacked", "top1"]
