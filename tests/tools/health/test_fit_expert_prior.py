"""The fit starts from the expert profile: on a small history the expert is right about it keeps the expert's
ranking; where a metric the expert ignores drives losses it adds that metric and beats the expert on later time;
the held-out rows' outcomes never reach a fold's model.

The histories are metrics frames built here (one row per snapshot), so every input is known: the expert is the
enterprise preset, and losses are drawn from a logistic curve in the expert's own score and, in the second
history, in present_utilization, which the expert leaves out.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from customer_health.tools.base import stats
from customer_health.tools.health import fit
from customer_health.tools.health.profiles import preset

EXPERT = preset("enterprise")


def month_ends(n: int) -> list[date]:
    return [d.date() for d in pd.date_range("2025-01-31", periods=n, freq="ME")]


def metrics_frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n accounts' metrics, each drawn on its own (no metric follows another)."""
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    return pd.DataFrame(
        {
            "segment": "SMB",
            "adopted_utilization": u(0, 0.9),
            "present_utilization": u(0, 1),
            "breadth": u(0.1, 1),
            "core_depth": u(0, 0.7),
            "core_actions_per_seat": u(0, 40),
            "top1_share": u(0.3, 1),
            "days_since_last_activity": u(0, 40),
            "nps": rng.integers(0, 11, n).astype(float),
            "champion_active": rng.integers(0, 2, n).astype(float),
            "sponsor_active": rng.integers(0, 2, n).astype(float),
            "core_trend": u(-0.6, 0.3),
            "present_trend": u(-0.5, 0.2),
            "mrr_change_90d": u(-0.3, 0.15),
            "open_tickets": rng.integers(0, 8, n).astype(float),
            "escalations_90d": rng.integers(0, 4, n).astype(float),
            "csat_90d": u(0.3, 1),
            "mrr_change_180d": u(-0.35, 0.1),
            "tenure_months": u(1, 36),
        }
    )


def history(
    per_day: int,
    n_days: int,
    ignored: float,
    seed: int,
    driver: str = "present_utilization",
    tenure_to: float = 36,
) -> fit.History:
    """Snapshots on `n_days` month ends, `per_day` each, decided 100 days later; lost with probability
    sigmoid(−1.6 − 1.5 · z(expert score) − ignored · z(driver)), z standardised over every row (the driver:
    present_utilization, which the expert leaves out, unless told otherwise); tenure runs from 1 to `tenure_to`
    months."""
    rng = np.random.default_rng(seed)
    days = month_ends(n_days)
    frame = pd.concat([metrics_frame(per_day, rng) for _ in days], ignore_index=True)
    frame["tenure_months"] = (
        1 + (frame["tenure_months"] - 1) * (tenure_to - 1) / 35
    )  # u(1, 36) → u(1, tenure_to)
    as_of = np.repeat(days, per_day)
    frame.index = [f"A{i}|{d}" for i, d in enumerate(as_of)]
    score = fit.scores_by_day(frame, EXPERT, as_of)
    present = frame[driver].to_numpy()
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    lost = rng.uniform(0, 1, len(frame)) < stats.sigmoid(-1.6 - 1.5 * z(score) - ignored * z(present))
    snaps = [
        fit.Snapshot(acct.split("|")[0], d, d + timedelta(days=100), bool(x))
        for acct, d, x in zip(frame.index, as_of, lost, strict=True)
    ]
    return fit.history_from_frame(frame, snaps, EXPERT)


@pytest.fixture(scope="module")
def expert_is_right():
    return history(per_day=16, n_days=10, ignored=0.0, seed=11)


@pytest.fixture(scope="module")
def ignored_metric_matters():
    return history(per_day=60, n_days=12, ignored=1.5, seed=5)


def test_on_a_small_history_the_expert_is_right_about_the_learned_profile_ranks_like_the_expert(
    expert_is_right,
):
    h = expert_is_right
    folds = fit.cross_validate(h)
    assert len(folds) >= 2  # the comparison is not one fold
    for fold in folds:
        assert fold.l2 is None  # no departure was supported
        pred, _ = fit.fold_scores(h, fold.test_from, fold.test_to)
        test = (h.days >= fold.test_from) & (h.days <= fold.test_to)
        # the same order on the held-out rows: every pair ordered as the expert orders it
        assert np.array_equal(stats.average_ranks(pred), stats.average_ranks(h.e[test]))
        assert fold.auc == fold.expert_auc


def test_when_a_metric_the_expert_ignores_drives_losses_the_fit_adds_it_and_beats_the_expert(
    ignored_metric_matters,
):
    h = ignored_metric_matters
    folds = fit.cross_validate(h)
    assert len(folds) >= 3
    learned = np.mean([f.auc for f in folds])
    expert = np.mean([f.expert_auc for f in folds])
    assert learned > expert + 0.03
    for fold in folds:  # a fold with too little training keeps the expert; the others rank better
        assert (fold.l2 is None and fold.auc == fold.expert_auc) or fold.auc > fold.expert_auc
    assert folds[-1].l2 is not None and folds[-1].auc > folds[-1].expert_auc + 0.05
    model = fit.learn(h, np.ones(len(h.y), dtype=bool))
    doc, _ = fit.profile_document(h, model, np.ones(len(h.y), dtype=bool))
    usage = doc["components"]["usage"]["metrics"]
    assert usage["present_utilization"]["floor"] < usage["present_utilization"]["target"]  # higher is better
    assert "nps" in doc["components"]["engagement"]["metrics"]  # the expert's view stays


def test_a_fold_model_never_reads_the_outcomes_of_the_rows_it_is_tested_on(ignored_metric_matters):
    h = ignored_metric_matters
    folds = fit.cross_validate(h)
    for fold in folds:
        later = h.decided > fold.test_from  # every row outside the fold's training set
        flipped = h._replace(y=np.where(later, ~h.y, h.y))
        before, m1 = fit.fold_scores(h, fold.test_from, fold.test_to)
        after, m2 = fit.fold_scores(flipped, fold.test_from, fold.test_to)
        assert np.array_equal(before, after) and m1.l2 == m2.l2
    # and the training rows' outcomes do reach it
    last = folds[-1]
    train = h.decided <= last.test_from
    changed = h._replace(y=np.where(train, ~h.y, h.y))
    assert not np.array_equal(
        fit.fold_scores(h, last.test_from, last.test_to)[0],
        fit.fold_scores(changed, last.test_from, last.test_to)[0],
    )


def test_with_no_departure_the_profile_written_is_the_experts_own_scoring(expert_is_right):
    h = expert_is_right
    every = np.ones(len(h.y), dtype=bool)
    model = fit.learn(h, every)
    assert model.l2 is None
    doc, _ = fit.profile_document(h, model, every)
    assert doc["components"] == EXPERT.model_dump(mode="json", exclude_none=True)["components"]
    learned = fit.profile_from_dict(doc, "learned")
    assert np.array_equal(fit.scores_by_day(h.frame, learned, h.days), h.e)


def test_the_written_profile_ranks_rows_as_the_model_does(ignored_metric_matters):
    h = ignored_metric_matters
    every = np.ones(len(h.y), dtype=bool)
    model = fit.learn(h, every)
    assert model.l2 is not None
    doc, _ = fit.profile_document(h, model, every)
    scores = fit.scores_by_day(h.frame, fit.profile_from_dict(doc, "learned"), h.days)
    risk = model.intercept + fit._design(h, model.spec, every) @ model.coef
    # no value is missing here, so the score falls as the log-odds rise (up to the scale's clamps and rounding)
    assert np.corrcoef(scores, -risk)[0, 1] > 0.99
    assert sum(c["weight"] for c in doc["components"].values()) == pytest.approx(100)


def test_on_the_example_history_fit_says_keep_the_expert_and_matches_it_on_held_out_time(tmp_path):
    from customer_health.tools.data.workspace import AllowedRoots, Workspace, example_dir

    folder = example_dir()
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.parent.resolve()])))
        result = fit.fit_health_profile(ds)
    assert result.kept_expert and result.l2 is None
    assert [f.auc for f in result.folds] == [f.expert_auc for f in result.folds]
    assert result.cv_auc_mean == result.expert_auc_mean and not result.better_than_expert
    assert fit.KEEP_EXPERT in result.summary
