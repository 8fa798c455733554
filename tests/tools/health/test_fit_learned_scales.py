"""Where the expert's scale hides signal — its clamp flattens values that still go with fewer losses — the fit may
give that metric a learned scale over its raw values, written as one band scale, and does so only when earlier time
inside the training rows supports it; the first fold trains on a fair share of the losses.

The history is a metrics frame built here (test_fit_expert_prior's): losses fall with the expert's own score and
with tenure_months over its whole range 1–72, while the enterprise preset scores tenure linearly from 0 to 24 months
and clamps above (two in three accounts; 26 and 34 months both score 100 there).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from customer_health.tools.health import fit
from customer_health.tools.health.profiles import MetricSpec
from customer_health.tools.health.score import normalize

from tests.tools.health.test_fit_expert_prior import EXPERT, history


@pytest.fixture(scope="module")
def tenure_matters():
    return history(per_day=60, n_days=12, ignored=1.5, seed=5, driver="tenure_months", tenure_to=72)


def _points(spec: dict, values: list[float]) -> list[float]:
    series = pd.Series(values, dtype=float)
    return normalize(series, MetricSpec(**spec), pd.Series("(none)", index=series.index)).tolist()


def test_the_experts_tenure_scale_is_flat_beyond_24_months():
    spec = EXPERT.components["financial"].metrics["tenure_months"].model_dump()
    assert _points(spec, [12, 26, 34]) == [50.0, 100.0, 100.0]  # 12 / 24 × 100, then the clamp


def test_when_losses_keep_falling_past_the_experts_clamp_the_fit_learns_a_band_scale_for_it(tenure_matters):
    h = tenure_matters
    every = np.ones(len(h.y), dtype=bool)
    model = fit.learn(h, every)
    assert model.l2 is not None and model.scales
    doc, _ = fit.profile_document(h, model, every)
    tenure = doc["components"]["financial"]["metrics"]["tenure_months"]
    assert tenure["method"] == "bands"
    low, mid, high = _points(tenure, [12, 26, 34])
    assert low < mid < high  # the learned scale keeps rising where the expert's stopped
    assert tenure["bands"][0][0] < h.x[:, h.names.index("tenure_months")].min()  # every value is on a band


def test_the_band_scale_keeps_the_profile_a_straight_line_in_the_models_log_odds(tenure_matters):
    h = tenure_matters
    every = np.ones(len(h.y), dtype=bool)
    model = fit.learn(h, every)
    doc, _ = fit.profile_document(h, model, every)
    scores = fit.scores_by_day(h.frame, fit.profile_from_dict(doc, "learned"), h.days)
    risk = model.intercept + fit._design(h, model.spec, every) @ model.coef
    # no value is missing: the score falls as the log-odds rise, up to the bands' 40 steps and the clamps
    assert np.corrcoef(scores, -risk)[0, 1] > 0.98
    assert sum(c["weight"] for c in doc["components"].values()) == pytest.approx(100)
    result = fit._fitted(h, model, doc)
    row = next(m for m in result if m.metric == "tenure_months")
    assert row.learned_scale and row.method == "bands" and row.direction == "higher_is_better"
    assert row.coefficient < 0  # more tenure, lower log-odds of loss


def test_the_learned_scale_beats_the_expert_on_held_out_later_time(tenure_matters):
    folds = fit.cross_validate(tenure_matters)
    assert len(folds) >= 2
    learned = np.mean([f.auc for f in folds])
    expert = np.mean([f.expert_auc for f in folds])
    assert learned > expert + 0.02
    assert any(f.learned_scales and f.l2 is not None for f in folds)


def test_the_first_fold_trains_on_at_least_half_an_even_share_of_the_losses(tenure_matters):
    h = tenure_matters
    folds = fit.cross_validate(h)
    # an even split of the history's losses into MAX_FOLDS + 1 parts, halved
    need = math.ceil(0.5 * int(h.y.sum()) / (fit.MAX_FOLDS + 1))
    assert folds[0].train_lost >= need
    first_dates = sorted(set(h.days.tolist()))
    # the earliest date whose decided renewals hold that many losses starts the first fold, not an earlier one
    earlier = [d for d in first_dates[1:] if d < folds[0].test_from]
    assert all(int(h.y[h.decided <= d].sum()) < need for d in earlier)


def test_inner_folds_choose_without_the_outer_held_out_rows(tenure_matters):
    h = tenure_matters
    start = fit.cross_validate(h)[-1].test_from
    train = h.decided <= start
    flipped = h._replace(y=np.where(train, h.y, ~h.y))  # every outcome outside the training rows reversed
    assert fit._choose_penalty(h, train) == fit._choose_penalty(flipped, train)


def test_inside_a_folds_training_rows_every_outcome_is_known_so_inner_folds_reach_back_past_the_horizon(
    tenure_matters,
):
    h = tenure_matters
    first = fit.cross_validate(h)[0]
    train = h.decided <= first.test_from  # the rows of as-of dates up to 100 days before the fold
    # waiting for decisions inside them as well leaves no inner fold to choose the penalty with
    assert fit.time_blocks(h, train, fit.INNER_FOLDS) == []
    # trained on the as-of dates before it, an inner fold tests a later date of the training rows
    blocks = fit.time_blocks(h, train, fit.INNER_FOLDS, known=True)
    assert blocks and all(h.days[train].min() < b[0] <= h.days[train].max() for b in blocks)
    assert first.l2 is not None  # so the first fold can already depart
