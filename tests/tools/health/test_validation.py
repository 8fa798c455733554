"""The backtest: its statistics by hand, point-in-time scoring, no leakage, and the example portfolio."""

from __future__ import annotations

import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from customer_health.tools.base import stats
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health import validation
from customer_health.tools.health.profiles import DEFAULT_PROFILE
from customer_health.tools.health.score import score_accounts
from customer_health.tools.health.validation import validate_health_model

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample"

# ---- statistics by hand ----------------------------------------------------------------------------------


def test_average_ranks_share_ties():
    assert list(stats.average_ranks(np.array([3, 1, 3, 2]))) == [3.5, 1.0, 3.5, 2.0]


def test_auc_by_hand_with_ties_counting_one_half():
    # lost at 10 beats all three kept (3); lost at 20 ties the kept 20 (0.5) and beats 30 and 40 (2) → 5.5 / 6
    assert stats.auc([10, 20, 20, 30, 40], [1, 1, 0, 0, 0]) == pytest.approx(5.5 / 6)
    assert stats.auc([50, 50, 50], [1, 0, 0]) == 0.5
    assert stats.auc([90, 10], [1, 0]) == 0.0
    assert stats.auc([10, 20], [0, 0]) is None


def test_top_decile_lift_by_hand():
    scores = np.arange(1, 21)
    lost = np.isin(scores, [1, 2, 15, 18])  # the riskiest tenth (scores 1, 2) is all lost; base rate 4/20
    assert stats.top_decile_lift(scores, lost) == pytest.approx(1.0 / 0.2)


def test_calibration_deciles_by_hand_and_independent_of_row_order():
    scores = np.arange(1, 21, dtype=float)
    lost = np.isin(scores, [1, 2, 3, 15])
    groups = stats.deciles(scores, lost)
    assert [len(g.rows) for g in groups] == [2] * 10
    assert [g.mean_score for g in groups[:3]] == [1.5, 3.5, 5.5]
    assert [g.observed_rate for g in groups] == [1.0, 0.5, 0, 0, 0, 0, 0, 0.5, 0, 0]
    assert groups[0].lift == pytest.approx(1.0 / 0.2)
    ties = np.array([5.0, 5.0, 5.0, 9.0])
    keys = np.array(["c", "a", "b", "d"])
    perm = np.array([2, 0, 3, 1])
    first = [keys[g.rows].tolist() for g in stats.deciles(ties, np.zeros(4), keys)]
    shuffled = [keys[perm][g.rows].tolist() for g in stats.deciles(ties[perm], np.zeros(4), keys[perm])]
    assert first == shuffled == [["a"], ["b"], ["c"], ["d"]]
    assert [len(g.rows) for g in stats.deciles(np.arange(25.0), np.zeros(25))] == [3] * 5 + [2] * 5


def test_threshold_choice_follows_asymmetric_costs():
    scores, lost = [10, 20, 30, 40, 50, 60], [1, 0, 1, 0, 0, 0]
    # below 31 catches both losses for one false alarm: cheapest when a miss costs 5 false alarms
    miss_expensive = stats.best_threshold(scores, lost, fp_cost=1, fn_cost=5)
    assert (miss_expensive.threshold, miss_expensive.fp, miss_expensive.fn) == (31, 1, 0)
    assert miss_expensive.cost(1, 5) == 1
    # when a false alarm costs 5 misses, flag only the 10 (cost 1 miss) — below 11
    alarm_expensive = stats.best_threshold(scores, lost, fp_cost=5, fn_cost=1)
    assert (alarm_expensive.threshold, alarm_expensive.tp, alarm_expensive.fn) == (11, 1, 1)
    at_50 = stats.confusion(scores, lost, 50)
    assert (at_50.precision, at_50.recall) == (0.5, 1.0)


def test_pearson_by_hand():
    assert stats.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert stats.pearson([1, 2, 3], [1, 0, 1]) == pytest.approx(0.0)
    assert stats.pearson([1, 1, 1], [0, 1, 0]) is None


def test_logistic_fit_matches_the_closed_form_for_one_binary_input():
    # one 0/1 input: the maximum-likelihood fit is intercept logit(p0), slope logit(p1) − logit(p0)
    x = np.array([0] * 10 + [1] * 10, dtype=float)
    y = np.array([1] * 2 + [0] * 8 + [1] * 6 + [0] * 4, dtype=float)
    a, b = stats.fit_logistic(x, y, l2=0.0)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert a == pytest.approx(logit(0.2), abs=1e-8)
    assert b[0] == pytest.approx(logit(0.6) - logit(0.2), abs=1e-8)


def _synthetic(n=3000, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    true = np.array([-2.0, 1.0, -0.3])
    y = (rng.random(n) < stats.sigmoid(0.5 + x @ true)).astype(float)
    return x, y, true


def test_auc_matches_scikit_learn_on_tied_scores():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(11)
    scores = rng.integers(0, 20, size=300).astype(float)  # few distinct values, so many ties
    lost = (rng.random(300) < 0.05 + 0.02 * (20 - scores)).astype(int)
    # a low score means risk, so churn should be predicted by the negated score
    assert stats.auc(scores, lost) == pytest.approx(roc_auc_score(lost, -scores), abs=1e-12)


def test_logistic_fit_recovers_signs_and_order_and_is_a_stationary_point():
    x, y, true = _synthetic()
    a, coef = stats.fit_logistic(x, y, l2=1.0)
    assert list(np.sign(coef)) == list(np.sign(true))
    assert list(np.argsort(-np.abs(coef))) == list(np.argsort(-np.abs(true)))
    p = stats.sigmoid(a + x @ coef)
    design = np.column_stack([np.ones(len(x)), x])
    gradient = design.T @ (p - y) + np.r_[0.0, 1.0 * coef]
    assert np.abs(gradient).max() < 1e-6


def test_logistic_fit_matches_scikit_learn():
    from sklearn import linear_model  # an independent implementation (dev extra)

    x, y, _ = _synthetic(n=500, seed=3)
    a, coef = stats.fit_logistic(x, y, l2=1.0)
    ref = linear_model.LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(x, y)
    assert coef == pytest.approx(ref.coef_[0], abs=1e-4)
    assert a == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_platt_probabilities_fall_as_the_score_rises_and_stay_finite_on_separable_data():
    scores = np.array([5, 15, 25, 40, 55, 70, 80, 95], dtype=float)
    for lost in (np.array([1, 1, 0, 1, 0, 0, 0, 0]), np.array([1, 1, 1, 0, 0, 0, 0, 0])):
        a, b = stats.platt(scores, lost)
        prob = stats.sigmoid(a + b * np.arange(0, 101))
        assert b < 0 and np.all(np.diff(prob) < 0) and np.all((prob > 0) & (prob < 1))


def test_suggested_weights_keep_protective_components_and_sum_to_100():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 100, size=(400, 3))
    lost = (rng.random(400) < stats.sigmoid(2 - 0.06 * x[:, 0] + 0.0 * x[:, 1] - 0.02 * x[:, 2])).astype(
        float
    )
    x[:5, 1] = np.nan
    coef = stats.loss_coefficients(x, lost)
    assert coef[0] < coef[2] < 0
    assert list(stats.shares_of_hundred(np.array([1.0, 1.0, 1.0]))) == [34.0, 33.0, 33.0]
    assert stats.shares_of_hundred(np.clip(-coef, 0, None)).sum() == 100
    assert np.isnan(stats.loss_coefficients(np.column_stack([x[:, 0], np.full(400, np.nan)]), lost)[1])


# ---- a small portfolio with known futures ------------------------------------------------------------------

START, END = date(2025, 1, 1), date(2025, 8, 31)
HEALTHY = [f"H{i}" for i in range(1, 7)]
FADING = [f"L{i}" for i in range(1, 5)]  # core use stops on Apr 1; logins carry on
OUTCOMES = (
    [(a, "renewed", "2025-08-15") for a in HEALTHY[:4]]
    + [(a, "renewed", "2025-07-15") for a in HEALTHY[4:]]
    + [(a, "churned", "2025-08-20") for a in FADING[:3]]
    + [
        ("L4", "contracted", "2025-08-20"),
        ("COLLAPSE", "churned", "2025-08-29"),
        ("T1", "renewed", "2025-04-15"),
    ]
)


def _events(account: str, until: date | None = None, core_until: date | None = None) -> list[str]:
    out, day = [], START
    while day <= END and (until is None or day <= until):
        for u in range(1, 4):
            out.append(f"{day}T09:0{u}:00,{account}-u{u},login")
            if core_until is None or day < core_until:
                out.append(f"{day}T10:0{u}:00,{account}-u{u},build_report")
                if day.day % 3 == u - 1:
                    out.append(f"{day}T11:0{u}:00,{account}-u{u},share_report")
        day += timedelta(days=1)
    return out


def write_backtest(folder: Path, *, collapse_after: date | None = date(2025, 6, 10), outcomes=True) -> Path:
    """Six healthy accounts, four whose core use stops on Apr 1, COLLAPSE (all activity stops after
    `collapse_after`) and T1, whose renewal is too early to score."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [*HEALTHY, *FADING, "COLLAPSE", "T1"]
    (folder / "accounts.csv").write_text(
        "account_id,segment,seats_purchased,contract_start\n"
        + "".join(f"{a},SMB,3,2024-06-01\n" for a in ids)
    )
    (folder / "users.csv").write_text(
        "user_id,account_id,role\n" + "".join(f"{a}-u{u},{a},analyst\n" for a in ids for u in range(1, 4))
    )
    rows = [e for a in [*HEALTHY, "T1"] for e in _events(a)]
    rows += [e for a in FADING for e in _events(a, core_until=date(2025, 4, 1))]
    rows += _events("COLLAPSE", until=collapse_after)
    (folder / "events.csv").write_text("timestamp,user_id,event\n" + "\n".join(rows) + "\n")
    (folder / "customer-health.yaml").write_text(
        "core_features: [build_report, share_report]\npassive_events: [login]\n"
    )
    if outcomes:
        (folder / "outcomes.csv").write_text(
            "account_id,outcome,date\n" + "".join(f"{a},{o},{d}\n" for a, o, d in OUTCOMES)
        )
    return folder


def _load(ws: Workspace, folder: Path, root: Path):
    return ws.dataset(ws.load([folder], roots=AllowedRoots([root.resolve()])))


@pytest.fixture(scope="module")
def backtest(tmp_path_factory):
    root = tmp_path_factory.mktemp("backtest")
    ws = Workspace(root / "ws")
    yield _load(ws, write_backtest(root / "data"), root)
    ws.close()


def test_each_outcome_is_scored_once_per_month_end_as_of(backtest, monkeypatch):
    calls = []
    real = validation.account_metrics
    monkeypatch.setattr(
        validation,
        "account_metrics",
        lambda ds, day, sem, **kw: calls.append(day) or real(ds, day, sem, **kw),
    )
    result = validate_health_model(backtest)
    # back to the month end on or before outcome − 90 days: Jul 15 → Apr 16 → Mar 31; Aug 15 and Aug 20 →
    # May 17 and May 22 → Apr 30; Aug 29 → May 31, itself a month end
    assert result.as_of_dates == [date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]
    assert calls == result.as_of_dates
    assert {a.account_id: a.as_of for a in result.accounts}["H5"] == date(2025, 3, 31)
    assert (result.n_accounts, result.n_churned) == (11, 5)
    assert [(s.n, s.examples) for s in result.skipped] == [(1, ["T1"])]  # Apr 15 − 90 → Dec 31, before events
    assert "60 days of events" in result.skipped[0].reason


def test_an_account_that_collapses_after_the_as_of_date_keeps_its_high_score(backtest, tmp_path):
    result = validate_health_model(backtest)
    collapse = next(a for a in result.accounts if a.account_id == "COLLAPSE")
    assert collapse.as_of == date(2025, 5, 31) and collapse.health_score >= 70
    # lost on Aug 29, so listed on Aug 31 only beside every account
    everyone = score_accounts(backtest, as_of="2025-08-31", history=False, everyone=True)
    assert everyone.accounts[0].account_id == "COLLAPSE" and everyone.accounts[0].status == "churned"
    # the same score from data that physically ends at the as-of date
    with Workspace(tmp_path / "ws") as ws:
        cut = _load(ws, write_backtest(tmp_path / "cut", collapse_after=date(2025, 5, 31)), tmp_path)
        truncated = {a.account_id: a.health_score for a in score_accounts(cut, as_of="2025-05-31").accounts}
    assert collapse.health_score == truncated["COLLAPSE"]


def test_the_adoption_score_separates_fading_accounts_that_logins_miss(backtest):
    result = validate_health_model(backtest)
    assert {a.account_id for a in result.accounts[:4]} == set(FADING)
    # the four fading accounts score below all six kept ones (24 of 30 pairs); COLLAPSE, a surprise churn,
    # scores above all of them (0 pairs) → AUC 24/30. Everyone logs in daily, so logins alone are a coin toss.
    assert result.auc == 0.8 and result.baseline.auc == 0.5
    assert (result.surprise_churn_rate, result.recall, result.precision) == (0.2, 0.8, 1.0)
    # the cheapest line flags exactly the four fading accounts, no false alarm: the lowest integer above them
    fading_top = max(a.health_score for a in result.accounts if a.account_id in FADING)
    assert result.recommended_threshold == int(fading_top) + 1
    tiers = {a.account_id: a.probability_tier for a in result.accounts}
    assert {tiers[a] for a in FADING} == {"high"} and {tiers[a] for a in HEALTHY} == {"medium"}
    probs = [a.churn_probability for a in result.accounts]
    assert probs == sorted(probs, reverse=True)


def test_the_positive_class_decides_whether_contraction_counts_as_lost(backtest):
    churn_only = validate_health_model(backtest, positive_class="churn")
    both = validate_health_model(backtest)
    assert (churn_only.n_churned, both.n_churned) == (4, 5)
    assert churn_only.positive_outcomes == ["churned"] and both.positive_outcomes == ["churned", "contracted"]
    assert next(a for a in both.accounts if a.account_id == "L4").lost


def test_a_cutoff_scores_everyone_once_against_later_outcomes(backtest):
    result = validate_health_model(backtest, cutoff="2025-07-31")
    assert result.as_of_dates == [date(2025, 7, 31)] and result.cutoff == date(2025, 7, 31)
    assert result.n_accounts == 9  # the July renewals and T1 are decided before the cutoff
    assert {s.reason for s in result.skipped} == {"decided on or before the cutoff"}
    assert next(a for a in result.accounts if a.account_id == "COLLAPSE").health_score < 50


def test_the_result_carries_the_contract_keys(backtest):
    data = validate_health_model(backtest).model_dump(mode="json")
    keys = (
        "auc top_decile_lift precision recall surprise_churn_rate false_alarm_rate calibration "
        "recommended_threshold suggested_weights n_accounts n_churned correlation baseline positive_class "
        "horizon_days as_of_dates skipped accounts total_rows truncated summary caveats"
    )
    assert set(keys.split()) <= set(data)
    assert sum(data["suggested_weights"].values()) == 100
    assert set(data["baseline"]) >= {"auc", "top_decile_lift"}
    assert set(data["accounts"][0]) >= {
        "account_id",
        "as_of",
        "health_score",
        "outcome",
        "churn_probability",
        "probability_tier",
    }
    assert any("low confidence" in c for c in data["caveats"])  # 5 lost renewals
    assert "AUC" in data["summary"] and str(data["n_accounts"]) in data["summary"]


def test_outcomes_derived_from_churn_columns_when_there_is_no_outcomes_table(tmp_path):
    folder = write_backtest(tmp_path / "data", outcomes=False)
    accounts = pd.read_csv(folder / "accounts.csv")
    accounts["churned"] = accounts["account_id"].isin(FADING[:2])
    accounts["churn_date"] = np.where(accounts["churned"], "2025-08-30", "")
    accounts.to_csv(folder / "accounts.csv", index=False)
    with Workspace(tmp_path / "ws") as ws:
        result = validate_health_model(_load(ws, folder, tmp_path))
    assert (result.n_accounts, result.n_churned) == (12, 2)
    assert result.as_of_dates == [date(2025, 5, 31)]  # Aug 30 and Aug 31 (the latest data date) − 90
    assert any("No outcomes table" in c for c in result.caveats)


def test_no_outcomes_at_all_is_an_error_that_says_what_to_load(portfolio):
    with pytest.raises(InputError, match="outcomes table"):
        validate_health_model(portfolio)


def test_a_single_class_is_an_error(backtest):
    kept = pd.DataFrame({"account_id": HEALTHY, "outcome": "renewed", "date": "2025-08-15"})
    with pytest.raises(InputError, match="both kept and lost"):
        validate_health_model(backtest, outcomes_path_frame=kept)


# ---- the example portfolio ----------------------------------------------------------------------------------


def _copy_without_outcomes(dest: Path) -> Path:
    dest.mkdir()
    for f in SAMPLE.iterdir():
        if f.name == "accounts.csv":
            pd.read_csv(f).drop(columns=["churned", "churn_date"]).to_csv(dest / f.name, index=False)
        elif f.name != "outcomes.csv":
            shutil.copy(f, dest / f.name)
    return dest


def test_outcome_columns_never_change_a_score(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        full = _load(ws, SAMPLE, SAMPLE.parent)
        blind = _load(ws, _copy_without_outcomes(tmp_path / "blind"), tmp_path)
        assert blind.has("outcomes") is False and "churned" not in blind.columns("accounts")
        for as_of in ("2025-12-31", "2026-06-30"):
            # every account: without outcome columns nobody is known to have churned, so the default lists differ
            with_outcomes = score_accounts(full, as_of=as_of, everyone=True)
            without = score_accounts(blind, as_of=as_of, everyone=True)
            assert {
                a.account_id: (a.health_score, a.previous_score, a.components) for a in with_outcomes.accounts
            } == {a.account_id: (a.health_score, a.previous_score, a.components) for a in without.accounts}


def test_on_the_example_the_score_beats_logins_alone(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        ds = _load(ws, SAMPLE, SAMPLE.parent)
        started = time.perf_counter()
        result = validate_health_model(ds)
        seconds = time.perf_counter() - started
    print(
        f"\nexample, {result.profile} profile: AUC {result.auc} (logins only {result.baseline.auc}), "
        f"top-decile lift {result.top_decile_lift} (logins only {result.baseline.top_decile_lift}), "
        f"recommended threshold {result.recommended_threshold}, suggested weights {result.suggested_weights}, "
        f"{result.n_accounts} renewals ({result.n_churned} lost) at {len(result.as_of_dates)} as-of dates, "
        f"{seconds:.1f} s"
    )
    assert result.profile == DEFAULT_PROFILE
    assert result.auc > 0.70 and result.auc > result.baseline.auc
    assert result.top_decile_lift > result.baseline.top_decile_lift
    assert (result.total_rows, len(result.accounts), result.truncated) == (result.n_accounts, 50, True)
    assert len(result.model_dump_json()) < 20_000
