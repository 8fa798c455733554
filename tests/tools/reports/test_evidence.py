"""The at-risk line and the priority levels, judged by the renewal history: hand-worked on a book whose score is one
column, and checked on the bundled example where the seed's line of 50 flags none of the losses."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.validation import validate_health_model
from customer_health.tools.reports.evidence import at_risk_line, priority_backtest, validate_with_priorities
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.reports.portfolio import portfolio_summary

from tests.tools.reports.test_portfolio import PROFILE  # health = features_used: each score is that column

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample"

LOST = [30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 75]  # L1 … L11, churned on 2026-06-30
KEPT = [40, 44, 60, 62, 64, 66, 68, 70, 72, 74, 76, 78]  # K1 … K12, renewed on 2026-06-30
ACCOUNTS = [["account_id", "name", "arr", "features_used", "start_date"]]
ACCOUNTS += [[f"L{i}", f"Lost {i}", "10000", str(s), "2025-01-01"] for i, s in enumerate(LOST, 1)]
ACCOUNTS += [[f"K{i}", f"Kept {i}", str(1000 * i), str(s), "2025-01-01"] for i, s in enumerate(KEPT, 1)]
OUTCOMES = [["account_id", "outcome", "date"]]
OUTCOMES += [[f"L{i}", "churned", "2026-06-30"] for i in range(1, len(LOST) + 1)]
OUTCOMES += [[f"K{i}", "renewed", "2026-06-30"] for i in range(1, len(KEPT) + 1)]


@pytest.fixture
def book(tmp_path):
    (tmp_path / "data").mkdir()
    for name, rows in {"accounts": ACCOUNTS, "outcomes": OUTCOMES}.items():
        with (tmp_path / "data" / f"{name}.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    with ExitStack() as stack:
        ws = stack.enter_context(Workspace(tmp_path / "ws"))
        yield ws.dataset(ws.load([tmp_path / "data"], roots=AllowedRoots([tmp_path.resolve()])))


def test_the_at_risk_line_is_the_cheapest_threshold_on_the_renewals_decided_by_then(book):
    line = at_risk_line(book, "2026-07-15", PROFILE)
    # Cost = 1 × kept flagged + 5 × lost missed. Below 49: flags L1–L10 and K1, K2 (40, 44), misses L11 (75):
    # 2 + 5 = 7. Below 48 also misses L10 (12); from 50 to 60 the cost stays 7, so the lowest, 49, wins; below 76
    # would catch L11 too but flag ten kept accounts (10). Precision 10 / 12, recall 10 / 11.
    assert (line.value, line.source, line.renewals, line.lost) == (49, "backtest", 23, 11)
    assert (line.precision, line.recall) == (round(10 / 12, 4), round(10 / 11, 4))
    assert "49" in line.basis and "91% of losses at 83% precision" in line.basis


def test_outcomes_after_the_date_are_never_read(book):
    # On 2026-06-01 none of the renewals is decided yet: the profile's band, said as such.
    line = at_risk_line(book, "2026-06-01", PROFILE)
    assert (line.value, line.source, line.precision) == (50, "profile", None)
    assert line.basis.startswith("At-risk line 50: profile features's band, not tested against outcomes")


def test_the_portfolio_counts_at_risk_arr_below_the_backtest_line(book):
    p = portfolio_summary(book, as_of="2026-07-15", profile=PROFILE)
    # On 2026-07-15 the customers are K1–K12 (the lost ones churned on 2026-06-30). Below 49: K1 (40, $1,000 ARR)
    # and K2 (44, $2,000). The seed's 50 would give the same two, so the line shows in the summary by value.
    assert p.customers == 12 and p.at_risk_line.value == 49
    assert p.at_risk_arr == 3000 and [a.account_id for a in p.top_red_accounts.accounts] == ["K2", "K1"]
    assert "below the at-risk line of 49" in p.summary


def test_without_outcomes_the_seed_band_is_used_and_said(tmp_path):
    (tmp_path / "data").mkdir()
    with (tmp_path / "data" / "accounts.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(ACCOUNTS)
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([tmp_path / "data"], roots=AllowedRoots([tmp_path.resolve()])))
        line = portfolio_summary(ds, as_of="2026-07-15").at_risk_line
    assert (line.value, line.source) == (50, "profile")
    assert line.basis.startswith("At-risk line 50: the seed's band, not tested against outcomes")


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence")
    with Workspace(root / "ws") as ws:
        yield ws.dataset(ws.load([SAMPLE], roots=AllowedRoots([SAMPLE.parent, root])))


def test_on_the_example_the_line_comes_from_the_backtest_not_the_seed(example):
    # The finding: validate says no lost account scored below 50, yet 50 was the demo's at-risk line.
    day = date(2026, 8, 31)
    backtest = validate_health_model(example)
    assert backtest.recall == 0  # the seed's line catches none of the losses
    line = at_risk_line(example, day)
    assert line.source == "backtest" and line.value == backtest.recommended_threshold != 50
    assert line.recall > 0.5
    scores = analyze(example, as_of=day).scores.accounts
    arr = {a.account_id: a.arr or 0 for a in scores if a.status == "customer" and a.health_score < line.value}
    p = portfolio_summary(example, as_of=day)
    assert p.at_risk_line == line and p.at_risk_arr == pytest.approx(sum(arr.values()), abs=0.01)
    assert p.top_red_accounts.count == len(arr)


def test_each_priority_level_has_its_churn_rate_over_the_backtest_renewals(example):
    v = validate_health_model(example)
    b = priority_backtest(example, v)
    by = {lv.priority: lv for lv in b.levels}
    assert [lv.priority for lv in b.levels] == ["urgent", "high", "watch", "ok"]
    assert sum(lv.renewals for lv in b.levels) == b.renewals == v.n_accounts
    assert sum(lv.lost for lv in b.levels) == b.lost == v.n_churned
    # recomputed here from the priorities the pipeline gives on each backtest date
    rows = v.evaluated_rows()
    levels = {
        (a.account_id, d): a.priority
        for d in {d for _, d, _ in rows}
        for a in analyze(example, as_of=d, everyone=True).scores.accounts
    }
    for p, lv in by.items():
        mine = [lost for acct, d, lost in rows if levels[(acct, d)] == p]
        assert (lv.renewals, lv.lost) == (len(mine), sum(mine))
    assert by["ok"].recall_at_or_above == 1.0 and by["ok"].precision_at_or_above == b.base_rate
    # the call list orders risk: each more pressing level lost a larger share than the calmer ones
    assert by["high"].churn_rate > by["watch"].churn_rate > by["ok"].churn_rate
    assert by["urgent"].share <= 0.1  # urgent stays a short list


def test_validate_reports_the_priority_levels_beside_the_score(example):
    report = validate_with_priorities(example)
    assert report.priorities is not None and report.priorities.renewals == report.n_accounts
    assert report.summary.endswith(report.priorities.summary)


def test_every_preset_says_its_band_is_the_seeds(tmp_path):
    (tmp_path / "data").mkdir()
    with (tmp_path / "data" / "accounts.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(ACCOUNTS)
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([tmp_path / "data"], roots=AllowedRoots([tmp_path.resolve()])))
        lines = [at_risk_line(ds, "2026-07-15", name) for name in ("self_serve", "usage_based", "high_touch")]
    assert all(line.basis.startswith("At-risk line 50: the seed's band") for line in lines)
