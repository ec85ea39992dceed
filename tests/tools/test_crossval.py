"""`python -m bench.fit --cv K`: article-grouped folds, held-out scoring, no leak across folds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.quality import crossval
from bench.quality.crossval import Group, Scorer, stacked
from bench.quality.fit import fit_logistic


def test_folds_deal_whole_articles_round_robin() -> None:
    fold_of = crossval.folds([4, 0, 2, 2, 6, 8, 0], 3)
    assert fold_of == {0: 0, 2: 1, 4: 2, 6: 0, 8: 1}


def _groups(rng: np.random.Generator, articles: int = 12, per_article: int = 5) -> list[Group]:
    """Questions of 5 candidates; the gold one (never the first) has the largest first feature."""
    out = []
    for article in range(articles):
        for _ in range(per_article):
            x = np.column_stack([np.ones(5), rng.normal(size=5), rng.normal(size=5)])
            gold = 1 + int(rng.integers(4))
            x[gold, 1] = x[:, 1].max() + 1.0
            out.append(Group(article, x, (np.arange(5) == gold).astype(float)))
    return out


def _logistic(groups: Sequence[Group]) -> Scorer:
    return fit_logistic(*stacked(groups), ("bias", "signal", "noise")).logits


def test_top1_learns_a_signal_from_the_other_folds() -> None:
    groups = _groups(np.random.default_rng(0))
    assert crossval.top1(groups, _logistic, crossval.folds(range(12), 4)) == 1.0


def test_top1_scores_each_question_with_a_model_that_never_saw_its_article() -> None:
    """A model that only recognises rows it was trained on finds no gold when nothing leaks."""
    groups = _groups(np.random.default_rng(1))

    def memorise(train: Sequence[Group]) -> Scorer:
        seen = {row.tobytes() for g in train for row, y in zip(g.x, g.y, strict=True) if y}
        return lambda x: np.array([float(row.tobytes() in seen) for row in x])

    assert crossval.top1(groups, memorise, crossval.folds(range(12), 4)) == 0.0
    # Scored by a model fitted on everything, the same scorer finds every gold row.
    assert all(g.y[int(np.argmax(memorise(groups)(g.x)))] for g in groups)


def test_abstention_sets_the_threshold_on_the_training_folds() -> None:
    rng = np.random.default_rng(2)
    n = 200
    present = np.column_stack([np.ones(n), rng.normal(2.0, 1.0, n)])
    absent = np.column_stack([np.ones(n), rng.normal(-2.0, 1.0, n)])
    articles = [i % 10 for i in range(n)]

    def fit(x: np.ndarray, y: np.ndarray) -> Scorer:
        return fit_logistic(x, y, ("bias", "evidence")).logits

    fold_of = crossval.folds(articles, 5)
    declined, absent_declined = crossval.abstention(present, articles, absent, articles, fit, 0.5, fold_of)
    assert declined < 0.05
    assert 0.3 < absent_declined < 0.7  # about half, as on the training folds
    declined, absent_declined = crossval.abstention(present, articles, absent, articles, fit, 0.99, fold_of)
    assert absent_declined > 0.9
    assert declined < 0.2
