"""Portfolio KPIs on tiny hand-worked books: every expected number is derived in a comment."""

from __future__ import annotations

import csv
import json
import re
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.profiles import profile_from_dict
from customer_health.tools.health.score import score_accounts
from customer_health.tools.reports.portfolio import portfolio_summary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample"

# health = features_used, so every score below is the features_used column and every tier can be read off it
PROFILE = profile_from_dict(
    {
        "name": "features",
        "components": {
            "usage": {
                "weight": 100,
                "metrics": {"features_used": {"method": "linear", "weight": 1, "floor": 0, "target": 100}},
            }
        },
    },
    "test",
)


def _months(first: str, last: str) -> list[str]:
    return [f"{m:%Y-%m-%d}" for m in pd.date_range(first, last, freq="MS")]


# Revenue over 13 months, 2025-03 … 2026-03. A1 flat; A2 pays 0 from 2025-11 (explicit zero rows);
# A3 contracts 4000 → 3000 from 2025-09; A4 expands 3000 → 4500 from 2026-01; A5 starts in 2025-08 at 500,
# 800 from 2026-01; A6 stops after 2025-06 (no rows at all after).
REVENUE = [["account_id", "month", "mrr"]]
REVENUE += [["A1", m, "1000"] for m in _months("2025-03-01", "2026-03-01")]
REVENUE += [["A2", m, "2000" if m < "2025-11" else "0"] for m in _months("2025-03-01", "2026-03-01")]
REVENUE += [["A3", m, "4000" if m < "2025-09" else "3000"] for m in _months("2025-03-01", "2026-03-01")]
REVENUE += [["A4", m, "3000" if m < "2026-01" else "4500"] for m in _months("2025-03-01", "2026-03-01")]
REVENUE += [["A5", m, "500" if m < "2026-01" else "800"] for m in _months("2025-08-01", "2026-03-01")]
REVENUE += [["A6", m, "1000"] for m in _months("2025-03-01", "2025-06-01")]
REV_ACCOUNTS = [
    ["account_id", "name", "segment", "arr", "features_used", "churn_date"],
    ["A1", "Alder", "SMB", "12000", "80", ""],
    ["A2", "Birch", "SMB", "24000", "10", "2025-10-31"],
    ["A3", "Cedar", "Mid-Market", "36000", "45", ""],
    ["A4", "Dogwood", "Enterprise", "54000", "90", ""],
    ["A5", "Elm", "SMB", "9600", "60", ""],
    ["A6", "Fir", "SMB", "12000", "5", "2025-06-30"],
]

# A book as of 2026-03-31 (health = features_used). B9 and K1 are lost (churn dates), so 9 customers remain.
# Days to renewal: B1 60, B2 61, B3 90, B4 91, B5 10, B6 −1 (passed), B7 15, B8 154, B10 20.
BOOK = [
    [
        "account_id",
        "name",
        "segment",
        "csm_owner",
        "arr",
        "renewal_date",
        "contract_start",
        "features_used",
        "churn_date",
    ],
    ["B1", "Aspen", "Enterprise", "Ana", "120000", "2026-05-30", "", "40", ""],
    ["B2", "Basalt", "Enterprise", "Ana", "80000", "2026-05-31", "", "55", ""],
    ["B3", "Cobalt", "SMB", "Ben", "10000", "2026-06-29", "", "20", ""],
    ["B4", "Dune", "SMB", "Ben", "20000", "2026-06-30", "", "10", ""],
    ["B5", "Ember", "SMB", "Ana", "30000", "2026-04-10", "", "60", ""],
    ["B6", "Flint", "Mid-Market", "", "50000", "2026-03-30", "", "30", ""],
    ["B7", "Garnet", "Mid-Market", "Ben", "100000", "2026-04-15", "", "90", ""],
    ["B8", "Haze", "Enterprise", "Cy", "70000", "2026-09-01", "", "75", ""],
    ["B9", "Iris", "SMB", "Cy", "15000", "2026-04-01", "", "5", "2026-02-15"],
    ["B10", "Jade", "SMB", "Ben", "25000", "2026-04-20", "2025-10-01", "50", ""],
    ["K1", "Kelp", "SMB", "Cy", "5000", "2025-01-10", "", "0", "2025-01-10"],
]
# The 12 months to 2026-03-31 start on 2025-04-01: B5's decision (03-31) falls before, B6's (04-05) after.
OUTCOMES = [
    ["account_id", "outcome", "date"],
    ["B1", "renewed", "2025-05-30"],
    ["B2", "contracted", "2025-05-31"],
    ["B3", "expanded", "2025-06-29"],
    ["B4", "renewed", "2025-06-30"],
    ["B5", "renewed", "2025-03-31"],
    ["B6", "renewed", "2026-04-05"],
    ["B7", "expanded", "2026-01-15"],
    ["B8", "renewed", "2025-04-01"],
    ["B8", "expanded", "2026-03-31"],
    ["B9", "churned", "2026-02-15"],
]
AS_OF = "2026-03-31"


def _load(stack: ExitStack, root: Path, tables: dict[str, list[list[str]]]) -> Dataset:
    """Write the tables as CSV files under root and load them; the workspace closes with the stack."""
    (root / "data").mkdir(parents=True)
    for name, rows in tables.items():
        with (root / "data" / f"{name}.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    ws = stack.enter_context(Workspace(root / "ws"))
    return ws.dataset(ws.load([root / "data"], roots=AllowedRoots([root.resolve()])))


@pytest.fixture
def load(tmp_path):
    counter = iter(range(1000))
    with ExitStack() as stack:
        yield lambda tables: _load(stack, tmp_path / f"case{next(counter)}", tables)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    with ExitStack() as stack:
        ds = _load(stack, tmp_path_factory.mktemp("book"), {"accounts": BOOK, "outcomes": OUTCOMES})
        yield portfolio_summary(ds, as_of=AS_OF, profile=PROFILE, top_n=2)


@pytest.mark.parametrize("as_of", ["2026-03-31", "2026-03-01"])
def test_revenue_kpis_split_churn_contraction_expansion_and_new_by_hand(load, as_of):
    ds = load({"accounts": REV_ACCOUNTS, "revenue": REVENUE})
    result = portfolio_summary(ds, as_of=as_of, profile=PROFILE)
    k = result.revenue_kpis
    # 2025-03 vs 2026-03 (the month as_of falls in). Paying at the start: A1 1000, A2 2000, A3 4000, A4 3000,
    # A6 1000 = 11000. Churn: A2 (pays 0) + A6 (no row) = 3000; contraction A3 1000; expansion A4 1500;
    # A5 started inside the period: new MRR 800, outside GRR and NRR.
    assert k.source == "revenue"
    movements = (k.start_mrr, k.churned_mrr, k.contraction_mrr, k.expansion_mrr, k.new_mrr)
    assert movements == (11000, 3000, 1000, 1500, 800)
    assert k.end_mrr == 1000 + 3000 + 4500 + 800 == 11000 - 3000 - 1000 + 1500 + 800
    assert k.grr == round((11000 - 3000 - 1000) / 11000, 4) == 0.6364
    assert k.nrr == round((11000 + 1500 - 1000 - 3000) / 11000, 4) == 0.7727
    assert (k.logo_retention, k.expansion_rate) == (0.6, round(1500 / 11000, 4))  # A1, A3, A4 of 5
    assert (k.start_accounts, k.retained_accounts, k.new_accounts) == (5, 3, 1)
    p = result.period
    assert (p.start_month, p.end_month, p.months) == (date(2025, 3, 1), date(2026, 3, 1), 12)
    assert result.caveats[0] == "Revenue KPIs from the revenue table: MRR in 2025-03 vs 2026-03."


def test_as_of_cuts_revenue_months_after_it(load):
    ds = load({"accounts": REV_ACCOUNTS, "revenue": REVENUE})
    k = portfolio_summary(ds, as_of="2025-12-15", period_months=6, profile=PROFILE).revenue_kpis
    # 2025-06 vs 2025-12: A4's January expansion and A5's January step-up lie after as_of. Start 11000;
    # churn A2 2000 + A6 1000 (June was its last month); contraction A3 1000; no expansion; new A5 500.
    movements = (k.start_mrr, k.churned_mrr, k.contraction_mrr, k.expansion_mrr, k.new_mrr)
    assert movements == (11000, 3000, 1000, 0, 500)
    assert k.grr == k.nrr == round(7000 / 11000, 4)
    assert k.end_mrr == 1000 + 3000 + 3000 + 500


def test_a_period_longer_than_the_revenue_is_shortened_and_says_so(load):
    result = portfolio_summary(load({"revenue": REVENUE}), as_of=AS_OF, period_months=24)
    # 2024-03 is wanted, the data starts 2025-03: the same comparison as the 12-month one.
    assert (result.period.months, result.period.requested_months, result.revenue_kpis.grr) == (12, 24, 0.6364)
    assert "The revenue table starts in 2025-03: the KPIs span 12 months, not 24." in result.caveats


def test_revenue_that_stops_before_as_of_ends_the_period_there(load):
    result = portfolio_summary(load({"revenue": REVENUE}), as_of="2026-05-20")
    # End month 2026-03 (the last with data), start 2025-05: every start-paying account pays as in 2025-03.
    p = result.period
    assert (p.start_month, p.end_month, p.months) == (date(2025, 5, 1), date(2026, 3, 1), 10)
    assert (result.revenue_kpis.grr, result.revenue_kpis.nrr) == (0.6364, 0.7727)
    assert any("ends in 2026-03" in c for c in result.caveats)


def test_revenue_alone_gives_kpis_without_health(load):
    result = portfolio_summary(load({"revenue": REVENUE}), as_of=AS_OF)
    assert (result.customers, result.at_risk_arr, result.at_risk_share) == (0, None, None)
    assert result.revenue_kpis.nrr == 0.7727 and not result.top_red_accounts.accounts
    expected = "The portfolio as of 2026-03-31; NRR 77%, GRR 64%, logo retention 60% over 12 months."
    assert result.summary == expected


def test_outcomes_fallback_counts_each_accounts_latest_decision_in_the_period(book):
    k = book.revenue_kpis
    # Decided 2025-04-01 … 2026-03-31, latest per account: B1 renewed, B2 contracted, B3 expanded, B4 renewed,
    # B7 expanded, B8 expanded (its 2025-04-01 renewal is superseded), B9 churned → 7 decided, 1 churned.
    assert (k.source, k.grr, k.nrr, k.start_mrr) == ("outcomes", None, None, None)
    assert (k.start_accounts, k.retained_accounts, k.logo_retention) == (7, 6, round(6 / 7, 4))
    assert {o: (t.accounts, t.arr) for o, t in k.by_outcome.items()} == {
        "renewed": (2, 120000 + 20000),
        "expanded": (3, 10000 + 100000 + 70000),
        "contracted": (1, 80000),
        "churned": (1, 15000),
    }
    assert any(c.startswith("No usable revenue") for c in book.caveats)


def test_accounts_fallback_uses_churn_dates_over_the_customers_at_the_start(load):
    k = portfolio_summary(load({"accounts": BOOK}), as_of=AS_OF, profile=PROFILE).revenue_kpis
    # Customers on 2025-04-01: not K1 (lost 2025-01-10) nor B10 (started 2025-10-01) → B1 … B9; B9 is lost.
    assert (k.source, k.start_accounts, k.retained_accounts, k.logo_retention) == ("accounts", 9, 8, 0.8889)
    assert (k.by_outcome["churned"].accounts, k.by_outcome["churned"].arr) == (1, 15000)


def test_churned_flags_without_dates_count_whenever_the_churn_happened(load):
    rows = [
        ["account_id", "features_used", "churned"],
        ["C1", "50", "yes"],
        ["C2", "50", "no"],
        ["C3", "50", "no"],
    ]
    result = portfolio_summary(load({"accounts": rows}), as_of=AS_OF, profile=PROFILE)
    assert (result.revenue_kpis.source, result.revenue_kpis.logo_retention) == ("accounts", 0.6667)
    assert any("there are no churn dates" in c for c in result.caveats)
    bare = portfolio_summary(load({"accounts": [r[:2] for r in rows]}), as_of=AS_OF, profile=PROFILE)
    assert bare.revenue_kpis.source == "none" and bare.revenue_kpis.logo_retention is None
    assert "retention KPIs cannot be computed" in " ".join(bare.caveats)


def test_health_distribution_weighs_each_tier_by_arr_over_current_customers(book):
    # Customers (B9, K1 lost): thriving B7 100k; healthy B8 70k; neutral B2 55, B5 60, B10 50 → 135k;
    # at_risk B1 40, B6 30 → 170k; critical B3 20, B4 10 → 30k. Total 505k.
    got = {t.tier: (t.accounts, t.arr, t.arr_share) for t in book.health_distribution}
    assert got == {
        "thriving": (1, 100000, round(100 / 505, 4)),
        "healthy": (1, 70000, round(70 / 505, 4)),
        "neutral": (3, 135000, round(135 / 505, 4)),
        "at_risk": (2, 170000, round(170 / 505, 4)),
        "critical": (2, 30000, round(30 / 505, 4)),
    }
    assert (book.customers, book.total_arr) == (9, 505000)


def test_at_risk_arr_is_health_below_50_and_its_share(book):
    # B1 120k + B6 50k + B4 20k + B3 10k; B10 at exactly 50 is not below 50.
    assert (book.at_risk_arr, book.at_risk_share) == (200000, round(200 / 505, 4))


def test_renewals_within_60_and_90_days_with_health_below_60_include_both_boundaries(book):
    n60, n90 = book.renewals["next_60"], book.renewals["next_90"]
    # next_60: B1 (exactly 60 days, 40) and B10 (20 days, 50); not B5 (health exactly 60), B6 (passed), B7.
    assert (n60.count, n60.arr, n60.total_rows, n60.truncated) == (2, 145000, 2, False)
    assert [(a.account_id, a.days_to_renewal, a.renewal_date) for a in n60.accounts] == [
        ("B1", 60, date(2026, 5, 30)),
        ("B10", 20, date(2026, 4, 20)),
    ]
    # next_90 adds B2 (61 days) and B3 (exactly 90); B4 at 91 days is out. Largest ARR first, top_n = 2.
    assert (n90.count, n90.arr, n90.total_rows, n90.truncated) == (4, 235000, 4, True)
    assert [a.account_id for a in n90.accounts] == ["B1", "B2"]
    assert all(a.health_score < 60 for a in n60.accounts + n90.accounts)


def test_top_red_accounts_are_the_largest_arr_with_their_biggest_drag(book):
    red = book.top_red_accounts
    assert (red.count, red.arr, red.total_rows, red.truncated) == (4, 200000, 4, True)
    first, second = red.accounts
    assert (first.account_id, first.health_score, first.tier, first.csm_owner) == ("B1", 40, "at_risk", "Ana")
    # Enterprise features_used: B1 40, B2 55, B8 75 → median 55
    assert first.driver == "features used: 40 vs 55 Enterprise median"
    assert (second.account_id, second.csm_owner, second.days_to_renewal) == ("B6", None, -1)


def test_breakdowns_by_segment_and_owner(book):
    seg = {r.group: (r.accounts, r.arr, r.mean_health, r.at_risk_arr) for r in book.by_segment.rows}
    # Enterprise B1 40, B2 55, B8 75; Mid-Market B6 30, B7 90; SMB B3 20, B4 10, B5 60, B10 50 — top_n = 2.
    assert seg == {"Enterprise": (3, 270000, 56.7, 120000), "Mid-Market": (2, 150000, 60.0, 50000)}
    assert (book.by_segment.total_rows, book.by_segment.truncated) == (3, True)
    assert book.by_segment.rows[0].tiers == dict(thriving=0, healthy=1, neutral=1, at_risk=1, critical=0)
    owners = {r.group: (r.accounts, r.arr, r.mean_health, r.at_risk_arr) for r in book.by_owner.rows}
    # Ana B1, B2, B5 = 230k; Ben B3, B4, B7, B10 = 155k; Cy B8 70k; (none) B6 50k.
    assert owners == {"Ana": (3, 230000, 51.7, 120000), "Ben": (4, 155000, 42.5, 30000)}
    assert book.by_owner.total_rows == 4


def test_the_summary_tells_the_board_the_numbers(book):
    assert (
        book.summary
        == (
            "9 customers, $505,000 ARR as of 2026-03-31; logo retention 86% (from outcomes) over 12 months. "
            "$200,000 (40%) sits in accounts scoring below the at-risk line of 50, 2 of them renewing within 90 days. "  # B1 and B3
            "4 accounts with health below 60 renew within 90 days ($235,000). "
            "Largest red account: Aspen ($120,000 ARR, health 40; "
            "biggest drag: features used: 40 vs 55 Enterprise median)."
        )
    )


def test_scores_passed_in_give_the_same_portfolio_and_must_share_the_as_of(load):
    ds = load({"accounts": BOOK, "outcomes": OUTCOMES})
    scores = score_accounts(ds, as_of=AS_OF, profile=PROFILE)
    assert portfolio_summary(ds, scores=scores, profile=PROFILE) == portfolio_summary(
        ds, as_of=AS_OF, profile=PROFILE
    )
    with pytest.raises(InputError, match="as of 2026-03-31, not 2026-02-28"):
        portfolio_summary(ds, scores=scores, as_of="2026-02-28")
    with pytest.raises(InputError, match="period_months"):
        portfolio_summary(ds, scores=scores, period_months=0)


def _revenue_only(con: duckdb.DuckDBPyConnection, view: str, frame: pd.DataFrame) -> Dataset:
    con.register(view, frame)
    return Dataset(con, view, {"revenue": view})


_rows = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 17), st.sampled_from([0, 0, 50, 100, 400, 1000, 2500])),
    min_size=1,
    max_size=60,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_rows,
    as_of=st.dates(date(2024, 1, 1), date(2025, 8, 31)),
    months=st.integers(1, 14),
    seed=st.integers(0, 2**32 - 1),
)
def test_grr_never_exceeds_one_or_nrr_and_row_order_is_irrelevant(rows, as_of, months, seed):
    frame = pd.DataFrame(
        [(f"R{a}", pd.Timestamp(2024, 1, 1) + pd.DateOffset(months=m), mrr) for a, m, mrr in rows],
        columns=["account_id", "month", "mrr"],
    )
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    with duckdb.connect() as con:
        result = portfolio_summary(_revenue_only(con, "rev", frame), as_of=as_of, period_months=months)
        again = portfolio_summary(_revenue_only(con, "shuffled", shuffled), as_of=as_of, period_months=months)
    k = result.revenue_kpis
    if k.start_accounts:  # else fewer than two months up to as_of, or nobody paying at the start
        assert 0 <= k.grr <= 1 and k.grr <= k.nrr and 0 <= k.logo_retention <= 1
        movements = k.start_mrr - k.churned_mrr - k.contraction_mrr + k.expansion_mrr + k.new_mrr
        assert k.end_mrr == pytest.approx(movements)
    assert again == result


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    if not SAMPLE.is_dir():
        pytest.skip("the example portfolio has not been generated")
    tmp = tmp_path_factory.mktemp("sample")
    with Workspace(tmp / "ws") as ws:
        ds = ws.dataset(ws.load([SAMPLE], roots=AllowedRoots([SAMPLE.parent.resolve(), tmp.resolve()])))
        return portfolio_summary(ds)


def test_the_example_portfolio_gives_sane_bounded_numbers(sample):
    k = sample.revenue_kpis
    assert k.source == "revenue" and 0.5 < k.grr <= k.nrr < 1.5 and 0.5 < k.logo_retention <= 1
    movements = k.start_mrr - k.churned_mrr - k.contraction_mrr + k.expansion_mrr + k.new_mrr
    assert k.end_mrr == pytest.approx(movements)
    assert sum(t.accounts for t in sample.health_distribution) == sample.customers > 100
    assert sum(t.arr for t in sample.health_distribution) == pytest.approx(sample.total_arr)
    assert 0 <= sample.at_risk_share <= 1 and sample.at_risk_arr <= sample.total_arr
    n60, n90 = sample.renewals["next_60"], sample.renewals["next_90"]
    assert n60.count <= n90.count and all(0 <= a.days_to_renewal <= 90 for a in n90.accounts)
    assert all(a.health_score < 60 for a in n90.accounts)
    assert all(a.days_to_renewal <= 60 for a in n60.accounts)
    assert all(len(t.accounts) <= 10 for t in (n60, n90, sample.top_red_accounts))
    assert 2 <= len(re.findall(r"\.(?:\s|$)", sample.summary)) <= 4
    dump = sample.model_dump(mode="json")
    keys = "as_of summary caveats period revenue_kpis health_distribution at_risk_arr at_risk_share renewals"
    assert set(keys.split()) | {"top_red_accounts", "by_segment", "by_owner"} <= set(dump)
    assert len(json.dumps(dump)) < 20_000
