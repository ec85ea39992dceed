"""`python -m bench.fit`: refit the second stage's weights (bot/qa/weights.json) on XQuAD-ar's dev half.

Three logistic regressions, fitted in order because each uses the one before:

1. unit: P(a sentence or clause run holds a gold answer span | its paragraph is the gold one),
   over the units of the gold paragraph when fusion retrieved it;
2. passage: P(a fused top-10 candidate is the gold paragraph), over every candidate;
3. abstain: P(the question's article is indexed), over the reranked best candidate, for each
   dev question asked of the full index and of an index copy without its article
   (bench/quality/figures.py's copies). Its threshold is the lowest that still declines
   ABSTAIN_TARGET of the dev questions whose article is absent.

Only the dev half (even articles) is read; the test half stays held out for the report.
The fit is Newton's method on standardised features with a small L2 penalty (numpy only).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics import contains_gold
from bench.quality import crossval
from bench.quality.crossval import Group, stacked
from bench.quality.systems import locations
from bench.quality.xquad import Question
from bot.qa.rerank import (
    ABSTAIN_FEATURES,
    PASSAGE_FEATURES,
    UNIT_FEATURES,
    WEIGHTS_FILE,
    Model,
    Models,
    Reranker,
)
from bot.qa.retrieval import HybridRetriever, Passage

ABSTAIN_TARGET = 0.96  # share of out-of-corpus dev questions the threshold must decline
L2 = 1.0
DEPTH = 10
Fused = dict[str, list[Passage]]  # each question's fused candidates, by question id


def fit_logistic(x: np.ndarray, y: np.ndarray, features: Sequence[str], l2: float = L2) -> Model:
    """L2-penalised logistic regression by Newton's method; column 0 is the bias."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    mean[0], scale[0] = 0.0, 1.0
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Model(tuple(features), w, mean, scale)


def _placeholder(features: Sequence[str]) -> Model:
    n = len(features)
    return Model(tuple(features), np.zeros(n), np.zeros(n), np.ones(n))


def gold_index(q: Question, passages: Sequence[Passage]) -> int:
    """Position of the gold paragraph among the candidates, -1 when absent."""
    for i, p in enumerate(passages):
        if (q.source, q.paragraph) in locations(p.paragraph):
            return i
    return -1


def unit_groups(reranker: Reranker, dev: Sequence[Question], fused: Fused) -> list[Group]:
    """Per dev question whose gold paragraph was retrieved: its unit rows, labelled by gold span."""
    from bot.qa.answertypes import question_type

    out = []
    for q in dev:
        g = gold_index(q, fused[q.qid])
        if g < 0:
            continue
        query = reranker.evidence.query(q.text)
        gold = fused[q.qid][g]
        units, x, _, _ = reranker.unit_rows(
            q.text, query, question_type(q.text), gold.paragraph.text, gold.sentence_cosines, gold.dense
        )
        out.append(Group(q.article, x, np.array([float(contains_gold(u.text, q.answers)) for u in units])))
    return out


def passage_groups(reranker: Reranker, dev: Sequence[Question], fused: Fused) -> list[Group]:
    """Per dev question: its fused candidates' rows, the gold paragraph labelled 1."""
    out = []
    for q in dev:
        x, _ = reranker.passage_rows(q.text, fused[q.qid])
        g = gold_index(q, fused[q.qid])
        out.append(Group(q.article, x, np.array([float(i == g) for i in range(len(fused[q.qid]))])))
    return out


def fit_unit(reranker: Reranker, dev: Sequence[Question], fused: dict[str, list[Passage]]) -> Model:
    """Model 1 over the gold paragraphs' units."""
    return fit_logistic(*stacked(unit_groups(reranker, dev, fused)), UNIT_FEATURES)


def fit_passage(reranker: Reranker, dev: Sequence[Question], fused: dict[str, list[Passage]]) -> Model:
    """Model 2 over every fused candidate."""
    return fit_logistic(*stacked(passage_groups(reranker, dev, fused)), PASSAGE_FEATURES)


def abstain_rows(retriever: HybridRetriever, questions: Sequence[Question]) -> np.ndarray:
    """Abstention features of the reranked best candidate, one row per question."""
    assert retriever.reranker is not None
    out = []
    for q in questions:
        ranking = retriever.reranker.rank(q.text, retriever.fuse(q.text, DEPTH))
        out.append([ranking.abstain_features[n] for n in ABSTAIN_FEATURES])
    return np.array(out, dtype=np.float64)


def cross_validated(
    reranker: Reranker,
    dev: Sequence[Question],
    fused: dict[str, list[Passage]],
    abstain: tuple[np.ndarray, list[int], np.ndarray, list[int]],
    k: int,
    layouts: int = 1,
) -> dict[str, Any]:
    """Held-out dev figures of each model, article-grouped K-fold (bench/quality/crossval.py),
    one value per fold layout of the articles.

    The passage model of a fold ranks with the unit model of the same fold. The abstention rows
    are the full fit's (its passage logit saw every dev article), so that figure is a little
    optimistic.
    """
    units = unit_groups(reranker, dev, fused)
    figures: dict[str, Any] = {"cv_folds": k, "cv_layouts": layouts}
    for layout in range(layouts):
        fold_of = crossval.folds((q.article for q in dev), k, layout)
        hits = 0.0
        for f in sorted(set(fold_of.values())):
            unit = fit_logistic(*stacked([g for g in units if fold_of[g.article] != f]), UNIT_FEATURES)
            models = Models(unit, _placeholder(PASSAGE_FEATURES), reranker.models.abstain)
            groups = passage_groups(Reranker(reranker.evidence, models), dev, fused)
            passage = fit_logistic(*stacked([g for g in groups if fold_of[g.article] != f]), PASSAGE_FEATURES)
            held = [g for g in groups if fold_of[g.article] == f]
            hits += sum(float(g.y[int(np.argmax(passage.logits(g.x)))]) for g in held)
        held_out = crossval.abstention(
            *abstain, lambda x, y: fit_logistic(x, y, ABSTAIN_FEATURES).logits, ABSTAIN_TARGET, fold_of
        )
        values = {
            "cv_unit_top1": crossval.top1(
                units, lambda groups: fit_logistic(*stacked(groups), UNIT_FEATURES).logits, fold_of
            ),
            "cv_passage_r1": hits / max(len(dev), 1),
            "cv_answerable_declined": held_out.declined,
            "cv_absent_declined": held_out.absent_declined,
            # at ABSTAIN_TARGET of the absent-article questions declined, all folds pooled
            "cv_declined_at_target": held_out.declined_at_target,
        }
        for name, value in values.items():
            figures.setdefault(name, []).append(round(value, 4))
    return figures


def fit(xquad_path: Path, cache: Path, cv: int = 0, layouts: int = 1) -> tuple[Models, dict[str, Any]]:
    """All three models, and the dev figures of the fit (with `cv` folds, the held-out ones too,
    over `layouts` fold layouts)."""
    from bench.quality import figures as quality
    from bench.quality import xquad
    from bot.qa.engine import build

    questions = quality.prepare(xquad_path, cache)
    engine = build(cache / "xquad-data")
    # Each question as Engine.ask searches and reranks it.
    dev = [replace(q, text=engine.searched(q.text)) for q in xquad.split(questions)[0]]
    base_embedder = engine.retriever.embedder
    queries = quality.CachedQueries(engine.retriever.embedder, cache)
    quality.cached(engine, queries)
    retriever = engine.retriever
    fused = {q.qid: retriever.fuse(q.text, DEPTH) for q in dev}
    evidence = engine.evidence
    reranker = Reranker(
        evidence,
        Models(_placeholder(UNIT_FEATURES), _placeholder(PASSAGE_FEATURES), _placeholder(ABSTAIN_FEATURES)),
    )
    unit = fit_unit(reranker, dev, fused)
    reranker.models.unit = unit
    passage = fit_passage(reranker, dev, fused)
    reranker.models.passage = passage
    retriever.reranker = reranker
    present = abstain_rows(retriever, dev)
    absent_parts, absent_articles = [], []
    for group, path in quality.index_copies(cache, questions).items():
        copy = quality.cached(build(path, embedder=base_embedder), queries).retriever
        copy.reranker = Reranker(copy.reranker.evidence if copy.reranker else evidence, reranker.models)
        asked = [q for q in dev if q.article % quality.ABSTENTION_GROUPS == group]
        if asked:
            absent_parts.append(abstain_rows(copy, asked))
            absent_articles += [q.article for q in asked]
    queries.save()
    absent = np.vstack(absent_parts)
    x = np.vstack([present, absent])
    y = np.concatenate([np.ones(len(present)), np.zeros(len(absent))])
    abstain = fit_logistic(x, y, ABSTAIN_FEATURES)
    absent_logits = np.sort(abstain.logits(absent))
    # Lowest threshold that declines ABSTAIN_TARGET of the absent questions (logit < threshold).
    cut = int(np.ceil(ABSTAIN_TARGET * len(absent_logits)))
    abstain.threshold = float(absent_logits[min(cut, len(absent_logits) - 1)]) if cut else 0.0
    present_logits = abstain.logits(present)
    figures = {
        "dev_questions": len(dev),
        "unit_rows": int(sum(1 for _ in dev)),
        "abstain_dev_answerable_declined": float(np.mean(present_logits < abstain.threshold)),
        "abstain_dev_absent_declined": float(np.mean(abstain.logits(absent) < abstain.threshold)),
    }
    if cv:
        rows = (present, [q.article for q in dev], absent, absent_articles)
        figures |= cross_validated(reranker, dev, fused, rows, cv, layouts)
    return Models(unit, passage, abstain), figures


def main(argv: list[str] | None = None) -> int:
    """Fit and write the weights file."""
    from bench.__main__ import DEFAULT_CACHE
    from bench.quality.xquad import DEFAULT_XQUAD

    parser = argparse.ArgumentParser(prog="python -m bench.fit", description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD)
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument(
        "--cv",
        type=int,
        default=0,
        metavar="K",
        help="report the held-out figures of article-grouped K-fold in the dev half; write nothing",
    )
    parser.add_argument(
        "--layouts",
        type=int,
        default=1,
        metavar="N",
        help="with --cv: repeat over N layouts of the articles in the folds (one figure per layout)",
    )
    args = parser.parse_args(argv)
    models, figures = fit(args.xquad.resolve(), args.cache_dir.resolve(), args.cv, args.layouts)
    if args.cv:
        print(json.dumps(figures))
        return 0
    payload = {
        "fitted_by": "python -m bench.fit (XQuAD-ar dev half: even articles)",
        "fit": figures,
        "unit": models.unit.as_dict(),
        "passage": models.passage.as_dict(),
        "abstain": models.abstain.as_dict(),
    }
    args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(figures), file=sys.stderr)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
