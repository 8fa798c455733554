"""Cohort retention on tiny hand-worked portfolios: every expected number is derived in a comment."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.usage.cohorts import compute_cohorts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample"

# Two signup cohorts. Jan 2025: A1, A2, A3. Feb 2025: A4, A5, and A6 (no signup_date → contract_start).
# Churn: A2 on 2025-02-10 and A5 on 2025-03-31 (accounts.churn_date), A1 on 2025-03-10 (outcomes only),
# A3 on 2025-09-20 (after every as_of used below, so it never counts).
ACCOUNTS = [
    ["account_id", "name", "signup_date", "contract_start", "arr", "mrr", "churned", "churn_date"],
    ["A1", "One", "2025-01-05", "2025-01-05", "5000", "", "no", ""],
    ["A2", "Two", "2025-01-20", "2025-01-20", "10000", "", "yes", "2025-02-10"],
    ["A3", "Three", "2025-01-25", "2025-01-25", "60000", "", "no", "2025-09-20"],
    ["A4", "Four", "2025-02-03", "2025-02-03", "150000", "", "no", ""],
    ["A5", "Five", "2025-02-14", "2025-02-14", "50000", "", "yes", "2025-03-31"],
    ["A6", "Six", "", "2025-02-20", "", "500", "no", ""],
]
OUTCOMES = [
    ["account_id", "outcome", "date"],
    ["A1", "churned", "2025-03-10"],
    ["A4", "renewed", "2025-03-01"],
]
REVENUE = [
    ["account_id", "month", "mrr"],
    ["A1", "2025-01-01", "400"],
    ["A1", "2025-02-01", "400"],
    ["A1", "2025-03-01", "400"],
    ["A2", "2025-01-01", "800"],
    ["A3", "2025-01-01", "5000"],
    ["A3", "2025-02-01", "5000"],
    ["A3", "2025-03-01", "6000"],
    ["A3", "2025-04-01", "7000"],
    ["A3", "2025-05-01", "9000"],
    ["A4", "2025-02-01", "12500"],
    ["A4", "2025-03-01", "12500"],
    ["A4", "2025-04-01", "15000"],
    ["A5", "2025-02-01", "4000"],
    ["A5", "2025-03-01", "4000"],
    ["A6", "2025-02-01", "500"],
    ["A6", "2025-03-01", "500"],
    ["A6", "2025-04-01", "500"],
]
USERS = [
    ["user_id", "account_id", "role", "created_at"],
    ["u1", "A1", "admin", "2025-01-05"],
    ["u2", "A1", "analyst", "2025-01-06"],
    ["u3", "A2", "admin", "2025-01-20"],
    ["u7", "A3", "analyst", "2025-01-25"],
    ["u4", "A4", "admin", "2025-02-03"],
    ["u5", "A5", "admin", "2025-02-14"],
    ["u6", "A6", "admin", ""],
]
EVENTS = [
    ["timestamp", "user_id", "event"],
    ["2025-01-05T09:00:00Z", "u1", "login"],
    ["2025-01-10T09:00:00Z", "u1", "share_report"],
    ["2025-02-05T09:00:00Z", "u1", "login"],
    ["2025-03-02T09:00:00Z", "u1", "login"],
    ["2025-01-07T09:00:00Z", "u2", "login"],
    ["2025-04-20T09:00:00Z", "u2", "login"],
    ["2025-01-21T09:00:00Z", "u3", "login"],
    ["2025-01-26T09:00:00Z", "u7", "build_report"],
    ["2025-02-02T09:00:00Z", "u7", "share_report"],
    ["2025-04-10T09:00:00Z", "u7", "login"],
    ["2025-02-04T09:00:00Z", "u4", "share_report"],
    ["2025-03-01T09:00:00Z", "u4", "login"],
    ["2025-04-01T09:00:00Z", "u4", "login"],
    ["2025-02-15T09:00:00Z", "u5", "login"],
    ["2025-02-21T09:00:00Z", "u6", "login"],
    ["2025-03-25T09:00:00Z", "u6", "build_report"],
    ["2025-04-14T09:00:00Z", "u6", "share_report"],
]
TABLES = {"accounts": ACCOUNTS, "outcomes": OUTCOMES, "revenue": REVENUE, "users": USERS, "events": EVENTS}


def _write(folder: Path, tables: dict[str, list[list[str]]], extra: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def cohorts(tmp_path):
    """Write tables into a folder, load it and return a function computing cohorts on it."""
    counter = iter(range(1000))

    def _run(tables=TABLES, extra=None, **kwargs):
        n = next(counter)
        folder = _write(tmp_path / f"data{n}", tables, extra)
        with Workspace(tmp_path / f"ws{n}") as ws:
            ds = ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()])))
            return compute_cohorts(ds, **kwargs)

    return _run


def _row(table, cohort):
    return next(r for r in table.rows if r.cohort == cohort)


def test_logo_retention_counts_churn_by_the_end_of_each_month_from_both_churn_sources(cohorts):
    result = cohorts(as_of="2025-04-15", activation_event="share_report")
    jan, feb = _row(result.logo, "2025-01"), _row(result.logo, "2025-02")
    # Jan (A1,A2,A3): m1 end Feb — A2 gone (02-10) → 2/3; m2 end Mar — A1 gone (outcome 03-10) → 1/3;
    # m3 is April, cut at as_of 04-15 — A3's churn (09-20) lies after as_of, so still 1/3.
    assert (jan.size, jan.values, jan.partial_last_month) == (3, [1.0, 0.6667, 0.3333, 0.3333], True)
    # Feb (A4,A5,A6): m1 end Mar — A5 gone on 03-31 itself → 2/3; m2 April (partial) → 2/3.
    assert (feb.size, feb.values, feb.partial_last_month) == (3, [1.0, 0.6667, 0.6667], True)
    # Average over complete months only: m0 6/6; m1 (Feb for Jan, Mar for Feb) (2+2)/6;
    # m2 only Jan's March, 1/3; m3 is April for Jan, not over → the curve stops.
    assert result.logo.average == [1.0, 0.6667, 0.3333]
    assert all(r.low_confidence for r in result.logo.rows)


def test_revenue_retention_is_net_and_exceeds_one_with_expansion(cohorts):
    result = cohorts(as_of="2025-04-15", activation_event="share_report")
    jan, feb = _row(result.revenue, "2025-01"), _row(result.revenue, "2025-02")
    # Jan MRR: m0 400+800+5000 = 6200; m1 400+5000 = 5400 → .8710; m2 400+6000 = 6400 → 1.0323;
    # m3 7000 → 1.1290 (A3's 9000 in May is after as_of).
    assert jan.values == [1.0, 0.871, 1.0323, 1.129]
    # Feb MRR: m0 12500+4000+500 = 17000; m1 17000 → 1.0; m2 15000+500 = 15500 → .9118.
    assert feb.values == [1.0, 1.0, 0.9118]
    # Average weighted by month-0 MRR over complete months: m1 (5400+17000)/(6200+17000) = .9655;
    # m2 only Jan's, 6400/6200.
    assert result.revenue.average == [1.0, 0.9655, 1.0323]


def test_active_user_cohorts_use_created_at_else_the_first_event(cohorts):
    result = cohorts(as_of="2025-04-15", activation_event="share_report")
    jan, feb = _row(result.active_users, "2025-01"), _row(result.active_users, "2025-02")
    # Jan users u1,u2,u3,u7 (created_at): Jan all 4; Feb u1,u7 → .5; Mar u1 → .25; Apr (to 04-15) u7 → .25
    # (u2's 04-20 login is after as_of).
    assert (jan.size, jan.values) == (4, [1.0, 0.5, 0.25, 0.25])
    # Feb users u4,u5 (created_at) and u6 (no created_at, first event 02-21): Mar u4,u6; Apr u4,u6.
    assert (feb.size, feb.values) == (3, [1.0, 0.6667, 0.6667])
    # m1 pooled (2+2)/7 = .5714; m2 only Jan's March, 1/4.
    assert result.active_users.average == [1.0, 0.5714, 0.25]


def test_revenue_cohorts_stop_at_the_last_month_of_the_revenue_table(cohorts):
    result = cohorts(as_of="2025-08-31", activation_event="share_report")
    # The revenue table ends in May: Jan gets m0..m4 (May: A3 9000 / 6200 = 1.4516), Feb m0..m3, none partial.
    jan, feb = _row(result.revenue, "2025-01"), _row(result.revenue, "2025-02")
    assert (jan.values[-1], len(jan.values), len(feb.values)) == (1.4516, 5, 4)
    assert not jan.partial_last_month
    assert any("ends in 2025-05" in c for c in result.caveats)


def test_as_of_cuts_accounts_churn_revenue_and_events(cohorts):
    result = cohorts(as_of="2025-02-15", activation_event="share_report")
    jan, feb = _row(result.logo, "2025-01"), _row(result.logo, "2025-02")
    # By 02-15 A6 (contract 02-20) has not started; A1's churn (03-10) has not happened; A2's (02-10) has.
    assert (jan.values, feb.size, feb.values) == ([1.0, 0.6667], 2, [1.0])
    # Revenue: Jan 6200 → 5400 = .871; Feb base without A6: 12500+4000.
    assert _row(result.revenue, "2025-01").values == [1.0, 0.871]
    # u6's first event (02-21) is after as_of: the Feb user cohort is u4 and u5.
    assert _row(result.active_users, "2025-02").size == 2
    assert result.as_of == date(2025, 2, 15)


def test_a_month_ending_on_as_of_is_complete(cohorts):
    result = cohorts(as_of="2025-03-31", activation_event="share_report")
    assert [r.partial_last_month for r in result.logo.rows] == [False, False]
    # Complete now: Jan m0..m2 and Feb m0..m1 → m1 (2+2)/6, m2 Jan only: A1 (03-10) gone → 1/3.
    assert result.logo.average == [1.0, 0.6667, 0.3333]


def test_max_months_caps_the_row_and_leaves_the_last_month_whole(cohorts):
    result = cohorts(as_of="2025-04-15", max_months=1, activation_event="share_report")
    jan = _row(result.logo, "2025-01")
    assert (jan.values, jan.partial_last_month) == ([1.0, 0.6667], False)


def test_arr_tiers_put_boundaries_in_the_upper_tier_and_ignore_churn_after_as_of(cohorts):
    result = cohorts(as_of="2025-04-15", activation_event="share_report")
    tiers = {t.tier: t for t in result.arr_tiers}
    assert list(tiers) == ["<10k", "10k–50k", "50k–150k", "≥150k"]
    # <10k: A1 (5,000) and A6 (12 × 500 = 6,000); A1 churned (outcome) → retention .5.
    assert (tiers["<10k"].accounts, tiers["<10k"].churned, tiers["<10k"].logo_retention) == (2, 1, 0.5)
    assert tiers["<10k"].total_arr == 11000
    # exactly 10,000 (A2) → 10k–50k; exactly 50,000 (A5) and A3 → 50k–150k; exactly 150,000 (A4) → ≥150k.
    assert (tiers["10k–50k"].accounts, tiers["10k–50k"].logo_retention) == (1, 0.0)
    # A3's churn (09-20) is after as_of: only A5 counts.
    mid = tiers["50k–150k"]
    assert (mid.accounts, mid.churned, mid.total_arr) == (2, 1, 110000)
    assert (tiers["≥150k"].accounts, tiers["≥150k"].logo_retention) == (1, 1.0)
    assert all(t.low_confidence and t.revenue_retention_12m is None for t in tiers.values())
    assert any("12 months" in c for c in result.caveats)


def test_arr_tier_revenue_retention_over_twelve_months(cohorts):
    accounts = [
        ["account_id", "signup_date", "arr"],
        ["B1", "2023-06-01", "5000"],
        ["B2", "2023-06-01", "20000"],
        ["B3", "2024-12-01", "7000"],
    ]
    # The last 12 revenue months are 2024-02 … 2025-01. B1 100 → 150; B2 1000 → nothing;
    # B3 is new (not paying in 2024-02), so it is not in the base.
    revenue = [
        ["account_id", "month", "mrr"],
        ["B1", "2024-02-01", "100"],
        ["B1", "2025-01-01", "150"],
        ["B2", "2024-02-01", "1000"],
        ["B3", "2025-01-01", "500"],
    ]
    result = cohorts({"accounts": accounts, "revenue": revenue}, as_of="2025-01-31")
    tiers = {t.tier: t.revenue_retention_12m for t in result.arr_tiers}
    assert (tiers["<10k"], tiers["10k–50k"], tiers["50k–150k"]) == (1.5, 0.0, None)


def test_behavioural_cohorts_compare_activated_and_not_activated_accounts(cohorts):
    result = cohorts(as_of="2025-08-31", activation_event="share_report")
    b = result.behavioural
    # share_report within 30 days of the start: A1 (01-10), A3 (02-02 < 02-24), A4 (02-04).
    # A6 did it on 04-14, after its window closed on 03-21; A2 and A5 never did.
    act, rest = b.cohorts
    assert (act.size, rest.size, b.pending, b.activation_source) == (3, 3, 0, "argument")
    # Month 3 (end Apr for Jan, end May for Feb): activated lose A1 → 2/3; the rest lose A2 and A5 → 1/3.
    # Month 6 (end Jul / end Aug, both over by 08-31): the same accounts → 2/3 and 1/3. Month 12 not over.
    assert act.retention == {"3": 0.6667, "6": 0.6667, "12": None}
    assert rest.retention == {"3": 0.3333, "6": 0.3333, "12": None}
    # Index at month 6 from unrounded shares: (2/3) ÷ (1/3) = 2.
    assert (b.index_month, b.retention_index) == (6, 2.0)
    assert "retention index 2.0" in result.summary


def test_accounts_and_users_that_predate_the_events_are_left_out_of_event_cohorts(cohorts):
    accounts = ACCOUNTS + [["A7", "Seven", "2024-12-01", "2024-12-01", "8000", "", "no", ""]]
    users = USERS + [["u8", "A7", "admin", "2024-12-15"]]
    events = EVENTS + [["2025-01-08T09:00:00Z", "u8", "share_report"]]
    tables = dict(TABLES, accounts=accounts, users=users, events=events)
    result = cohorts(tables, as_of="2025-08-31", activation_event="share_report")
    # Events begin on 2025-01-05: A7's first 30 days and u8's December are not in the data.
    assert result.behavioural.before_events == 1
    assert [r.cohort for r in result.active_users.rows] == ["2025-01", "2025-02"]
    assert _row(result.logo, "2024-12").size == 1
    assert any(
        c.startswith("1 users signed up before the event history starts (2025-01)") for c in result.caveats
    )
    assert any(c.startswith("1 accounts started before the events begin") for c in result.caveats)


def test_accounts_whose_activation_window_is_open_are_pending(cohorts):
    # As of 2025-03-01: A6 (start 02-20) and A5 (02-14) still have days left in their 30-day windows;
    # A4's (02-03) window closes after 03-04 too, so only the three January accounts are decided.
    b = cohorts(as_of="2025-03-01", activation_event="share_report").behavioural
    assert (b.pending, b.cohorts[0].size, b.cohorts[1].size) == (3, 2, 1)
    assert (b.index_month, b.retention_index) == (None, None)


def test_the_activation_event_is_inferred_and_said_to_be(cohorts):
    result = cohorts(as_of="2025-04-15")
    # Accounts per event: share_report A1, A3, A4, A6 (4), build_report A3, A6 (2); login is passive.
    assert result.behavioural.activation_event == "share_report"
    assert result.behavioural.activation_source.startswith("inferred")
    assert any("inferred" in c and "'share_report'" in c for c in result.caveats)


def test_a_configured_activation_milestone_is_used(cohorts):
    config = {"customer-health.yaml": "activation: build_report\n"}
    b = cohorts(extra=config, as_of="2025-04-15").behavioural
    # build_report within 30 days: only A3 (01-26); A6's (03-25) is after its window.
    assert (b.activation_event, b.activation_source, b.cohorts[0].size) == ("build_report", "configured", 1)


def test_low_confidence_marks_cohorts_under_thirty(cohorts):
    accounts = [["account_id", "signup_date", "churn_date"]]
    accounts += [[f"M{i}", "2025-01-10", "2025-02-15" if i < 6 else ""] for i in range(30)]
    accounts += [["S1", "2025-02-10", ""]]
    result = cohorts({"accounts": accounts}, as_of="2025-03-31")
    jan, feb = _row(result.logo, "2025-01"), _row(result.logo, "2025-02")
    # 30 in January, 6 lost in February → 24/30 = .8 at m1 and m2.
    assert (jan.size, jan.low_confidence, jan.values) == (30, False, [1.0, 0.8, 0.8])
    assert (feb.size, feb.low_confidence) == (1, True)
    assert any("fewer than 30" in c for c in result.caveats)


def test_missing_revenue_and_events_leave_those_parts_out_with_caveats(cohorts):
    result = cohorts({"accounts": ACCOUNTS}, as_of="2025-04-15")
    assert (result.revenue, result.active_users, result.behavioural) == (None, None, None)
    assert any(c.startswith("No revenue table") for c in result.caveats)
    assert any(c.startswith("No events") for c in result.caveats)
    # Without the outcomes file A1's churn is unknown: Jan keeps 2/3 from month 1 on.
    assert _row(result.logo, "2025-01").values == [1.0, 0.6667, 0.6667, 0.6667]
    data = result.model_dump(mode="json")
    assert list(data) == [
        "as_of",
        "summary",
        "caveats",
        "logo",
        "revenue",
        "active_users",
        "arr_tiers",
        "behavioural",
    ]


def test_events_alone_give_active_users_but_no_logo_retention(cohorts):
    result = cohorts({"users": USERS, "events": EVENTS}, as_of="2025-04-15")
    assert result.logo is None and result.arr_tiers == []
    assert _row(result.active_users, "2025-01").values == [1.0, 0.5, 0.25, 0.25]
    assert any("No churn dates" in c for c in result.caveats)
    assert any(c.startswith("No accounts table") for c in result.caveats)
    # Account cohorts start at each account's first event: A6 (u6, 02-21) is in February.
    assert "6 accounts fall in 2 signup-month cohorts" in result.summary


def test_the_summary_quotes_month_three_of_the_average_cohort(cohorts):
    result = cohorts(as_of="2025-08-31", activation_event="share_report")
    # m3 complete for both cohorts (Apr, May): Jan keeps 1/3 (A1, A2 gone), Feb 2/3 (A5 gone) → 3/6.
    assert result.logo.average[3] == 0.5
    assert "average cohort keeps 50.0% of its accounts" in result.summary
    assert 2 <= result.summary.count(". ") + 1 <= 4


def test_default_as_of_is_the_latest_activity_date(cohorts):
    result = cohorts(activation_event="share_report")
    assert result.as_of == date(2025, 4, 20)  # u2's login, the latest event


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"max_months": 0}, "max_months"),
        ({"activation_event": "shar_report"}, "share_report"),
        ({"activation_days": 0}, "activation_days"),
    ],
)
def test_bad_arguments_are_named(cohorts, kwargs, words):
    with pytest.raises(InputError, match=words):
        cohorts(as_of="2025-04-15", **kwargs)


def test_nothing_to_form_cohorts_from_is_an_error(cohorts):
    with pytest.raises(InputError, match="accounts or events"):
        cohorts({"revenue": REVENUE}, as_of="2025-04-15")


def _random_tables(rng: random.Random, n_accounts: int) -> dict[str, list[list[str]]]:
    start = date(2024, 1, 1)
    accounts = [["account_id", "signup_date", "churn_date", "arr"]]
    users, events = [["user_id", "account_id", "created_at"]], [["timestamp", "user_id", "event"]]
    for i in range(n_accounts):
        signup = start + timedelta(days=rng.randrange(300))
        churn = signup + timedelta(days=rng.randrange(400)) if rng.random() < 0.5 else None
        arr = rng.choice([5000, 10000, 80000, 200000])
        accounts.append([f"R{i}", f"{signup}", f"{churn or ''}", str(arr)])
        for j in range(rng.randrange(1, 4)):
            uid = f"R{i}u{j}"
            users.append([uid, f"R{i}", f"{signup}" if rng.random() < 0.5 else ""])
            for _ in range(rng.randrange(0, 6)):
                when = signup + timedelta(days=rng.randrange(-10, 360), hours=rng.randrange(24))
                event = rng.choice(["login", "share_report", "build_report"])
                events.append([f"{when}T00:00:00Z", uid, event])
    return {"accounts": accounts, "users": users, "events": events}


def _shuffled(tables):
    rng = random.Random(7)
    return {k: [rows[0]] + rng.sample(rows[1:], len(rows) - 1) for k, rows in tables.items()}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 12), as_of=st.dates(date(2024, 2, 1), date(2025, 3, 1)))
def test_retention_is_a_share_month_zero_is_whole_and_row_order_is_irrelevant(cohorts, seed, n, as_of):
    tables = _random_tables(random.Random(seed), n)
    if not any(row[1] <= f"{as_of}" for row in tables["accounts"][1:]):
        return
    result = cohorts(tables, as_of=as_of)
    for table in (result.logo, result.active_users or result.logo):  # no events by as_of → no user table
        for row in table.rows:
            assert all(v is None or 0 <= v <= 1 for v in row.values)
    assert all(row.values[0] == 1.0 for row in result.logo.rows)
    assert cohorts(_shuffled(tables), as_of=as_of) == result


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory):
    if not SAMPLE.is_dir():
        pytest.skip("the example portfolio has not been generated")
    tmp = tmp_path_factory.mktemp("sample")
    with Workspace(tmp / "ws") as ws:
        ds = ws.dataset(ws.load([SAMPLE], roots=AllowedRoots([SAMPLE.parent.resolve(), tmp.resolve()])))
        return compute_cohorts(ds)


def test_the_example_portfolio_yields_every_cohort_view_within_bounds(sample_result):
    r = sample_result
    assert r.logo.rows and r.revenue.rows and r.active_users.rows
    assert [t.tier for t in r.arr_tiers][:4] == ["<10k", "10k–50k", "50k–150k", "≥150k"]
    for table in (r.logo, r.revenue, r.active_users):
        assert len(table.rows) <= 24 and all(len(row.values) <= 13 for row in table.rows)
        assert table.average
        assert table.metric == "active_user_retention" or table.average[0] == 1.0
    b = r.behavioural
    assert b.activation_source == "configured" and all(c.size for c in b.cohorts)
    assert b.retention_index == pytest.approx(
        b.cohorts[0].retention[str(b.index_month)] / b.cohorts[1].retention[str(b.index_month)], abs=1e-3
    )
    assert len(r.model_dump_json()) < 20_000
