"""Exports we have never seen (issue 12): a billing export, events without a user column and a CRM snapshot, each
loaded with no mapping file, give lifecycle stages, scores, seats, renewals and portfolio retention that an
independent computation over the raw file (plain pandas, written here without the product's views) reproduces.

The fixtures are written into tmp_path by the helpers below:
- `write_billing_export`: one row per monthly billing period (Stripe style: the period's end is the next period's
  start, so ends are exclusive) for 39 paying accounts over 2023-01 … 2024-06 — sign-ups across the months, a
  quarter lapsing (the last period canceled), one re-activation after a gap, seat expansion and contraction, trials
  (status trialing, MRR 0) and an account with a concurrent add-on that lapses — plus one account only on a trial.
- `write_account_level_events`: events with an account column and no user column.
- `write_crm_snapshot`: a CRM accounts report with Licenses Purchased, contract start, renewal and churn columns.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from customer_health.tools.data.workspace import AllowedRoots, Workspace

# --------------------------------------------------------------------------------------------------- the fixtures

FIRST_MONTH = date(2023, 1, 1)
MONTHS = 18  # 2023-01 … 2024-06
ADDON = "A007"  # main subscription plus an add-on that lapses after eight months
RETURNS = "A008"  # lapses, then comes back on a new subscription
TRIAL_ONLY = "A040"  # on a trial when the export ends: never a customer


def _month_day(month: int, day: int) -> date:
    """Day `day` of the month `month` months after FIRST_MONTH."""
    y, m = divmod(FIRST_MONTH.month - 1 + month, 12)
    return date(FIRST_MONTH.year + y, m + 1, day)


def billing_rows() -> list[dict]:
    rng = random.Random(12)
    rows: list[dict] = []

    def periods(acct, sub, plan, first, last, anchor, seats, price, cancel=False) -> int:
        for m in range(first, last + 1):
            change = rng.random()
            if m > first and change < 0.15:
                seats += rng.randint(2, 8)  # expansion
            elif m > first and change < 0.3 and seats > 4:
                seats -= rng.randint(1, 3)  # contraction
            start, end = _month_day(m, anchor), _month_day(m + 1, anchor)
            ending = cancel and m == last
            status = "canceled" if ending else ("active" if m == MONTHS - 1 else "paid")
            rows.append(
                dict(
                    account_id=acct,
                    subscription_id=sub,
                    plan=plan,
                    start_date=start,
                    end_date=end,
                    mrr=seats * price,
                    quantity=seats,
                    status=status,
                    canceled_at=start + timedelta(days=3) if ending else None,
                )
            )
        return seats

    for i in range(1, 40):
        acct = f"A{i:03d}"
        anchor = rng.randint(1, 28)
        signup = 0 if i <= 14 else rng.randint(1, 15)
        plan, price = rng.choice([("Starter", 20), ("Team", 35), ("Business", 50)])
        seats = rng.randint(3, 30)
        lapse = (i % 4 == 0 or i % 9 == 0) and signup + 3 < MONTHS - 2
        last = rng.randint(signup + 2, MONTHS - 2) if lapse else MONTHS - 1
        if i % 6 == 1:  # a trial before the first paid period
            rows.append(
                dict(
                    account_id=acct,
                    subscription_id=f"{acct}-1",
                    plan=plan,
                    start_date=_month_day(signup, anchor) - timedelta(days=14),
                    end_date=_month_day(signup, anchor),
                    mrr=0,
                    quantity=seats,
                    status="trialing",
                    canceled_at=None,
                )
            )
        seats = periods(acct, f"{acct}-1", plan, signup, last, anchor, seats, price, cancel=lapse)
        if acct == RETURNS:
            periods(acct, f"{acct}-2", plan, last + 3, MONTHS - 1, rng.randint(1, 28), seats, price)
        if acct == ADDON:
            periods(acct, f"{acct}-addon", "Add-on", 4, 11, 19, 5, 10, cancel=True)
    rows.append(
        dict(
            account_id=TRIAL_ONLY,
            subscription_id=f"{TRIAL_ONLY}-1",
            plan="Team",
            start_date=date(2024, 6, 20),
            end_date=date(2024, 7, 4),
            mrr=0,
            quantity=10,
            status="trialing",
            canceled_at=None,
        )
    )
    return rows


def write_billing_export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = billing_rows()
    path = folder / "subscriptions.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


EVENT_TYPES = ("Created Report", "Exported Data", "Page View", "Logged In")


def write_account_level_events(folder: Path, title_case: bool) -> Path:
    """60 days of events for 12 accounts (K01 … K12), one account starting late, no user column."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    header = (
        ("Account ID", "Event Time", "Event Type")
        if title_case
        else ("account_id", "event_time", "event_type")
    )
    path = folder / "events.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for k in range(1, 13):
            first = 40 if k == 12 else 0
            for day in range(first, 60):
                for _ in range(rng.randint(0, 4)):
                    when = date(2024, 3, 1) + timedelta(days=day)
                    writer.writerow(
                        [f"K{k:02d}", f"{when}T{rng.randint(8, 18):02d}:15:00", rng.choice(EVENT_TYPES)]
                    )
    return path


# fmt: off
CRM_HEADER = ["Account ID", "Account Name", "ARR", "Licenses Purchased", "Contract Start Date", "Renewal Date",
              "Churned", "Churn Date"]
CRM_EXTRA = ["Industry", "Account Owner"]  # what a Salesforce or HubSpot account report usually carries beside them
# fmt: on


def crm_rows() -> list[list]:
    rng = random.Random(7)
    rows = []
    for i in range(1, 31):
        start = date(2022, 1, 10) + timedelta(days=rng.randint(0, 800))  # up to 2024-03
        churn = None
        if i % 4 == 0:
            churn = start + timedelta(days=rng.randint(120, 500))
            churn = churn if churn <= date(2024, 5, 31) else None
        renewal = start.replace(year=start.year + 1)
        while renewal <= date(2024, 6, 30):
            renewal = renewal.replace(year=renewal.year + 1)
        rows.append(
            [
                f"CRM-{i:03d}",
                f"Company {i}",
                rng.choice([6000, 12000, 48000]),
                rng.randint(5, 80),
                start,
                renewal,
                "Yes" if churn else "No",
                churn,
                rng.choice(["Retail", "Software"]),
                rng.choice(["Dana Whitfield", "Lee Park"]),
            ]
        )
    return rows


def write_crm_snapshot(folder: Path, extra: bool = True) -> Path:
    """The CRM report; without `extra`, only the eight columns of CRM_HEADER."""
    folder.mkdir(parents=True, exist_ok=True)
    width = len(CRM_HEADER) + (len(CRM_EXTRA) if extra else 0)
    path = folder / "accounts.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow((CRM_HEADER + CRM_EXTRA)[:width])
        writer.writerows(r[:width] for r in crm_rows())
    return path


def _load(tmp_path: Path, path: Path):
    ws = Workspace(tmp_path / "ws")
    result = ws.load([path], roots=AllowedRoots([tmp_path.resolve()]))
    return ws, result, ws.dataset(result)


@pytest.fixture
def billing(tmp_path):
    path = write_billing_export(tmp_path / "billing")
    ws, result, ds = _load(tmp_path, path)
    raw = pd.read_csv(path, parse_dates=["start_date", "end_date", "canceled_at"])
    yield result, ds, raw
    ws.close()


# ---------------------------------------------------------------------- the independent computation (plain pandas)


def covering(raw: pd.DataFrame, day: date) -> pd.DataFrame:
    """The paid rows (not a trial, MRR above 0) whose [start, end) holds `day`, summed per account: MRR, seats and
    the earliest end (the next renewal)."""
    t = pd.Timestamp(day)
    paid = raw[(raw["status"] != "trialing") & (raw["mrr"] > 0)]
    on = paid[(paid["start_date"] <= t) & (paid["end_date"] > t)]
    return on.groupby("account_id").agg(
        mrr=("mrr", "sum"), seats=("quantity", "sum"), renews=("end_date", "min")
    )


def ever_paid_by(raw: pd.DataFrame, day: date) -> set[str]:
    paid = raw[(raw["status"] != "trialing") & (raw["mrr"] > 0)]
    return set(paid.loc[paid["start_date"] <= pd.Timestamp(day), "account_id"])


def month_end(year: int, month: int) -> date:
    return (pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)).date()


CHECKED_MONTHS = [month_end(2023, m) for m in range(3, 13)] + [month_end(2024, m) for m in range(1, 6)]


def retention(raw: pd.DataFrame, start_day: date, end_day: date) -> dict[str, float]:
    """Churn rate, GRR and NRR over the accounts paying on `start_day`, from each account's MRR on both days."""
    s, e = covering(raw, start_day)["mrr"], covering(raw, end_day)["mrr"]
    e = e.reindex(s.index, fill_value=0.0)
    churn = s[e == 0].sum()
    contraction = (s - e)[(e > 0) & (e < s)].sum()
    expansion = (e - s)[e > s].sum()
    start = s.sum()
    return {
        "churn_rate": (e == 0).sum() / len(s),
        "grr": (start - churn - contraction) / start,
        "nrr": (start + expansion - contraction - churn) / start,
    }


# ------------------------------------------------------------------------------------- 1. a subscriptions export


def test_the_billing_fixture_has_the_shapes_it_claims(billing):
    _, _, raw = billing
    assert raw["account_id"].nunique() == 40
    assert (raw["status"] == "trialing").sum() >= 7
    assert raw.loc[raw["account_id"] == ADDON, "subscription_id"].nunique() == 2
    assert raw.loc[raw["account_id"] == RETURNS, "subscription_id"].nunique() == 2
    lapsed = set(raw.loc[raw["status"] == "canceled", "account_id"])
    assert len(lapsed) >= 8
    moves = [retention(raw, a, b) for a, b in zip(CHECKED_MONTHS, CHECKED_MONTHS[1:], strict=False)]
    assert any(m["nrr"] > m["grr"] + 0.01 for m in moves)  # expansion happens
    assert any(m["grr"] < 1 and m["churn_rate"] == 0 for m in moves)  # contraction without churn happens


def test_a_billing_export_with_no_accounts_or_revenue_loads_as_subscriptions_with_derived_views(billing):
    result, ds, _ = billing
    assert [t.kind for t in result.tables] == ["subscriptions"]
    assert {"subscriptions", "accounts", "revenue"} <= set(ds.views)


@pytest.mark.parametrize("day", CHECKED_MONTHS[::2] + [date(2024, 6, 27)])
def test_lifecycle_counts_customers_and_churned_as_paid_coverage_on_the_day(billing, day):
    from customer_health.tools.data.lifecycle import lifecycle

    _, ds, raw = billing
    stages = lifecycle(ds, day)
    paying = set(covering(raw, day).index)
    churned = ever_paid_by(raw, day) - paying
    assert set(stages.index[stages["stage"].isin(["onboarding", "active"])]) == paying
    assert set(stages.index[stages["stage"] == "churned"]) == churned
    assert (
        set(stages.index[stages["stage"] == "not_yet_customer"]) == set(raw["account_id"]) - paying - churned
    )
    assert paying and (churned or day < date(2023, 6, 1))


def test_an_account_that_came_back_is_churned_in_its_gap_and_a_customer_again_after(billing):
    from customer_health.tools.data.lifecycle import lifecycle

    _, ds, raw = billing
    main = raw[(raw["account_id"] == RETURNS) & (raw["subscription_id"] == f"{RETURNS}-1")]
    gap_day = main["end_date"].max().date() + timedelta(days=20)
    back_day = raw.loc[raw["subscription_id"] == f"{RETURNS}-2", "start_date"].min().date()
    assert lifecycle(ds, gap_day).loc[RETURNS, "stage"] == "churned"
    assert lifecycle(ds, gap_day).loc[RETURNS, "since"] == main["end_date"].max().date()
    assert lifecycle(ds, back_day).loc[RETURNS, "stage"] in ("onboarding", "active")


def test_a_lapsed_add_on_is_contraction_not_churn(billing):
    from customer_health.tools.data.lifecycle import lifecycle

    _, ds, raw = billing
    addon_end = raw.loc[raw["subscription_id"] == f"{ADDON}-addon", "end_date"].max().date()
    before, after = lifecycle(ds, addon_end - timedelta(days=1)), lifecycle(ds, addon_end)
    assert after.loc[ADDON, "stage"] == "active"
    assert before.loc[ADDON, "sub_mrr"] - after.loc[ADDON, "sub_mrr"] == pytest.approx(
        covering(raw, addon_end - timedelta(days=1)).loc[ADDON, "mrr"]
        - covering(raw, addon_end).loc[ADDON, "mrr"]
    )


@pytest.mark.parametrize("end", CHECKED_MONTHS[1:])
def test_monthly_churn_rate_grr_and_nrr_equal_a_hand_written_computation_over_the_raw_periods(billing, end):
    # The product's documented period (tools/reports/portfolio.py): period_months=1 as of a month end compares each
    # account's MRR in the previous month with its MRR in that month, a month's MRR being the paid periods covering
    # its last day — so the independent figures compare the two month ends. Churn rate = 1 − logo retention.
    from customer_health.tools.reports.portfolio import portfolio_summary

    _, ds, raw = billing
    start = (pd.Timestamp(end) - pd.offsets.MonthEnd(1)).date()
    kpis = portfolio_summary(ds, as_of=end, period_months=1).revenue_kpis
    expected = retention(raw, start, end)
    assert kpis.source == "revenue"
    assert kpis.start_accounts == len(covering(raw, start))
    assert 1 - kpis.retained_accounts / kpis.start_accounts == pytest.approx(
        expected["churn_rate"], abs=1e-12
    )
    assert 1 - kpis.logo_retention == pytest.approx(expected["churn_rate"], abs=1e-4)
    assert kpis.grr == pytest.approx(expected["grr"], abs=1e-3)
    assert kpis.nrr == pytest.approx(expected["nrr"], abs=1e-3)


@pytest.mark.parametrize("day", [date(2023, 6, 30), date(2024, 3, 31)])
def test_scores_list_exactly_the_customers_on_the_day_each_with_its_stage_and_evidence(billing, day):
    from customer_health.tools.health.score import score_accounts

    _, ds, raw = billing
    scores = score_accounts(ds, as_of=day)
    paying = set(covering(raw, day).index)
    assert {a.account_id for a in scores.accounts} == paying
    assert all(a.status == "customer" and a.stage in ("onboarding", "active") for a in scores.accounts)
    assert all(a.stage_evidence for a in scores.accounts)
    everyone = score_accounts(ds, as_of=day, everyone=True)
    churned = ever_paid_by(raw, day) - paying
    later = set(raw["account_id"]) - paying - churned
    listed = {a.account_id: a.status for a in everyone.accounts}
    assert {a for a, s in listed.items() if s == "customer"} == paying
    assert {a for a, s in listed.items() if s == "churned"} == churned
    assert {a for a, s in listed.items() if s == "not_yet_customer"} <= later
    left_out = len(later) - sum(s == "not_yet_customer" for s in listed.values())
    # a not-yet customer with no data at all by the day has nothing to be scored on: left out, and said so
    assert left_out == 0 or any(
        c.startswith(f"{left_out} account(s) not yet customers") for c in everyone.caveats
    )
    assert all(a.stage_evidence for a in everyone.accounts)


def test_seats_mrr_and_renewal_mid_month_are_the_covering_periods(billing):
    from customer_health.tools.data.accounts import account_source_sql

    _, ds, raw = billing
    day = date(2023, 10, 15)
    got = ds.con.execute(account_source_sql(ds, ("seats_purchased", "mrr", "renewal_date"), day)).df()
    got = got.set_index("account_id").sort_index()
    expected = covering(raw, day).sort_index()
    assert list(got.index) == list(expected.index)
    assert list(got["seats_purchased"].astype(float)) == list(expected["seats"].astype(float))
    assert list(got["mrr"].astype(float)) == list(expected["mrr"].astype(float))
    assert [pd.Timestamp(d) for d in got["renewal_date"]] == list(expected["renews"])
    # hand-worked: the add-on account on Oct 15 has its main period (anchor day) and the add-on (Sep 19 – Oct 19)
    assert pd.Timestamp(got.loc[ADDON, "renewal_date"]) <= pd.Timestamp(2023, 10, 19)


# ------------------------------------------------------------------------- 2. events without a user column


@pytest.mark.parametrize("title_case", [False, True])
def test_events_without_a_user_column_are_account_level_events_for_every_account(tmp_path, title_case):
    from customer_health.tools.health.score import score_accounts
    from customer_health.tools.usage.seats import seat_utilization

    path = write_account_level_events(tmp_path / "events", title_case)
    ws, result, ds = _load(tmp_path, path)
    try:
        assert [t.kind for t in result.tables] == ["events"]
        raw = pd.read_csv(path)
        accounts = set(raw.iloc[:, 0])
        seats = seat_utilization(ds)
        scores = score_accounts(ds)
        assert {a.account_id for a in seats.accounts} == accounts
        assert {a.account_id for a in scores.accounts} == accounts
        last30 = raw[
            pd.to_datetime(raw.iloc[:, 1])
            > pd.to_datetime(raw.iloc[:, 1]).max().normalize() - pd.Timedelta(days=30)
        ]
        assert {a.account_id: a.present_users for a in seats.accounts} == {
            k: int(k in set(last30.iloc[:, 0])) for k in accounts
        }
        for caveats in (seats.caveats, scores.caveats):
            assert any("account-level" in c for c in caveats)
    finally:
        ws.close()


# ----------------------------------------------------------------------------------------- 3. a CRM snapshot


def crm_stages(day: date) -> pd.Series:
    frame = pd.DataFrame(crm_rows(), columns=CRM_HEADER + CRM_EXTRA).set_index("Account ID")
    start = pd.to_datetime(frame["Contract Start Date"])
    churn = pd.to_datetime(frame["Churn Date"])
    t = pd.Timestamp(day)
    stage = pd.Series("active", index=frame.index)
    stage[(t - start).dt.days < 90] = "onboarding"
    stage[churn <= t] = "churned"
    stage[start > t] = "not_yet_customer"
    return stage.sort_index()


CRM_SHAPES = [
    pytest.param(True, id="with-owner-and-industry"),
    # eight columns only: Renewal Date would make it a subscriptions table but for its churn columns
    pytest.param(False, id="eight-columns"),
]


@pytest.mark.parametrize("extra", CRM_SHAPES)
@pytest.mark.parametrize("day", [date(2023, 3, 31), date(2024, 5, 31)])
def test_a_crm_snapshots_lifecycle_and_portfolio_customers_follow_its_start_and_churn_dates(
    tmp_path, day, extra
):
    from customer_health.tools.data.lifecycle import lifecycle
    from customer_health.tools.reports.portfolio import portfolio_summary

    ws, result, ds = _load(tmp_path, write_crm_snapshot(tmp_path / "crm", extra))
    try:
        assert [t.kind for t in result.tables] == ["accounts"]
        assert result.tables[0].columns.get("seats_purchased") == "Licenses Purchased"
        expected = crm_stages(day)
        assert {"churned", "active"} <= set(expected)
        assert ("not_yet_customer" in set(expected)) == (
            day < date(2024, 3, 31)
        )  # contracts start by 2024-03-20
        assert lifecycle(ds, day)["stage"].sort_index().to_dict() == expected.to_dict()
        customers = int(expected.isin(["onboarding", "active"]).sum())
        assert portfolio_summary(ds, as_of=day).customers == customers
    finally:
        ws.close()


# ------------------------------------------------------------- 4. the bullets at the top of issue 12, as fixtures


def test_bullet_a_billing_export_is_understood(billing):
    from customer_health.tools.data.accounts import account_source_sql
    from customer_health.tools.reports.portfolio import portfolio_summary

    result, ds, raw = billing
    assert [t.kind for t in result.tables] == ["subscriptions"]
    day = date(2024, 3, 31)
    renewals = dict(ds.con.execute(account_source_sql(ds, ("renewal_date",), day)).fetchall())
    assert renewals == {a: r.date() for a, r in covering(raw, day)["renews"].items()}
    kpis = portfolio_summary(ds, as_of=day).revenue_kpis
    assert kpis.grr is not None and kpis.nrr is not None


def test_bullet_lapsed_customers_are_not_customers_nor_on_the_at_risk_list(billing):
    from customer_health.tools.reports.portfolio import portfolio_summary

    _, ds, raw = billing
    day = date(2024, 6, 27)
    paying = set(covering(raw, day).index)
    lapsed = ever_paid_by(raw, day) - paying
    assert lapsed
    summary = portfolio_summary(ds, as_of=day, top_n=50)
    assert summary.customers == len(paying)
    red = {a.account_id for a in summary.top_red_accounts.accounts}
    assert not red & lapsed


def test_bullet_scoring_a_past_date_lists_no_account_that_was_not_a_customer_yet(billing, tmp_path):
    from customer_health.tools.health.score import score_accounts

    _, ds, raw = billing
    day = date(2023, 4, 30)
    later = set(raw["account_id"]) - ever_paid_by(raw, day)
    assert len(later) >= 10
    listed = {a.account_id for a in score_accounts(ds, as_of=day).accounts}
    assert not listed & later


def test_bullet_a_crm_account_whose_contract_starts_later_is_not_scored_on_an_earlier_date(tmp_path):
    from customer_health.tools.health.score import score_accounts

    ws, _, ds = _load(tmp_path, write_crm_snapshot(tmp_path / "crm"))
    try:
        day = date(2023, 3, 31)
        expected = crm_stages(day)
        listed = {a.account_id for a in score_accounts(ds, as_of=day).accounts}
        assert listed == set(expected.index[expected.isin(["onboarding", "active"])])
    finally:
        ws.close()


def test_bullet_events_without_a_user_column_load_as_account_level_events(tmp_path):
    path = write_account_level_events(tmp_path / "events", title_case=False)
    ws, result, ds = _load(tmp_path, path)
    try:
        assert [t.kind for t in result.tables] == ["events"]
        n = ds.con.execute(f"SELECT count(*), count(DISTINCT account_id) FROM {ds.view('events')}").fetchone()
        raw = pd.read_csv(path)
        assert n == (len(raw), raw["account_id"].nunique())
        assert ds.account_level_events()
    finally:
        ws.close()
