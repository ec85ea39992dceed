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


def test_layouts_deal_the_same_articles_in_other_orders() -> None:
    articles = list(range(0, 48, 2))
    layouts = [crossval.folds(articles, 5, layout) for layout in range(4)]
    assert layouts[0] == crossval.folds(articles, 5)
    assert len({tuple(sorted(fold_of.items())) for fold_of in layouts}) == 4
    for fold_of in layouts:
        assert sorted(fold_of) == articles
        sizes = np.bincount(list(fold_of.values()))
        assert sizes.max() - sizes.min() <= 1  # still dealt round-robin
    assert crossval.folds(articles, 5, 3) == crossval.folds(articles, 5, 3)  # seeded


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


def _evidence(rng: np.random.Generator, centre: float, n: int) -> np.ndarray:
    """Abstention rows: a bias column and one feature drawn around `centre`."""
    return np.column_stack([np.ones(n), rng.normal(centre, 1.0, n)])


def _fit(x: np.ndarray, y: np.ndarray) -> Scorer:
    return fit_logistic(x, y, ("bias", "evidence")).logits


def test_abstention_sets_the_threshold_on_the_training_folds() -> None:
    rng = np.random.default_rng(2)
    n = 200
    present, absent = _evidence(rng, 2.0, n), _evidence(rng, -2.0, n)
    articles = [i % 10 for i in range(n)]
    fit = _fit
    fold_of = crossval.folds(articles, 5)
    declined, absent_declined, _ = crossval.abstention(present, articles, absent, articles, fit, 0.5, fold_of)
    assert declined < 0.05
    assert 0.3 < absent_declined < 0.7  # about half, as on the training folds
    held = crossval.abstention(present, articles, absent, articles, fit, 0.99, fold_of)
    declined, absent_declined = held.declined, held.absent_declined
    assert absent_declined > 0.9
    assert declined < 0.2


def test_declined_at_target_reads_the_pooled_curve_at_one_point() -> None:
    """Answerable and absent evidence overlap: the pooled point is the share of answerable
    questions below the level that declines `target` of the absent ones, whatever the folds' own
    thresholds declined."""
    rng = np.random.default_rng(3)
    n = 2000
    present, absent = _evidence(rng, 1.0, n), _evidence(rng, -1.0, n)
    articles = [i % 20 for i in range(n)]
    fit = _fit
    held = crossval.abstention(present, articles, absent, articles, fit, 0.9, crossval.folds(articles, 5))
    # One feature, so the pooled confidences order questions as the feature does: the cut sits at
    # the absent ones' 90th percentile (about 0.28), which declines about 24% of answerable ones.
    cut = np.sort(absent[:, 1])[int(np.ceil(0.9 * n))]
    assert abs(held.declined_at_target - float(np.mean(present[:, 1] < cut))) < 0.02
    assert 0.18 < held.declined_at_target < 0.3
    # An uninformative feature declines answerable questions as often as absent ones at that point.
    same = [_evidence(rng, 0.0, n) for _ in range(2)]
    held = crossval.abstention(same[0], articles, same[1], articles, fit, 0.9, crossval.folds(articles, 5))
    assert 0.85 < held.declined_at_target < 0.95


def test_declined_at_target_cuts_every_fold_at_one_level() -> None:
    """Folds whose evidence sits higher than the rest get a threshold set too low by the other
    folds; the pooled point cuts each held-out confidence (score minus its fold's threshold) once."""
    articles = [a for a in range(5) for _ in range(20)]
    shift = np.array([3.0 * (a == 4) for a in articles])  # the fifth fold sits 3 higher
    evidence = np.tile(np.linspace(0.0, 1.0, 20), 5)
    present = np.column_stack([np.ones(100), evidence + 0.5 + shift])
    absent = np.column_stack([np.ones(100), evidence + shift])

    def raw(x: np.ndarray, y: np.ndarray) -> Scorer:
        return lambda rows: rows[:, 1]  # the evidence itself, whatever the training folds say

    fold_of = crossval.folds(range(5), 5)
    held = crossval.abstention(present, articles, absent, articles, raw, 0.5, fold_of)
    confidence, answerable = [], []
    for f in range(5):
        train = [i for i, a in enumerate(articles) if fold_of[a] != f]
        negatives = np.sort(absent[train, 1])
        threshold = negatives[int(np.ceil(0.5 * len(negatives)))]
        mine = [i for i, a in enumerate(articles) if fold_of[a] == f]
        confidence += [*(present[mine, 1] - threshold), *(absent[mine, 1] - threshold)]
        answerable += [True] * len(mine) + [False] * len(mine)
    pooled, is_answerable = np.array(confidence), np.array(answerable)
    cut = np.sort(pooled[~is_answerable])[50]
    assert held.declined_at_target == float(np.mean(pooled[is_answerable] < cut))
    assert held.declined_at_target != held.declined  # the folds' own thresholds decline otherwise
