"""Lifecycle stages and subscription values as of a date: statuses an accounts export writes, and renewal dates that
only use what was known on the day (every expected value worked by hand in the comments)."""

from __future__ import annotations

from datetime import date

import pytest
from customer_health.tools.data.lifecycle import lifecycle
from customer_health.tools.data.workspace import AllowedRoots, Workspace


@pytest.fixture
def load(tmp_path):
    spaces = []

    def _load(files: dict[str, str], today: date = date(2026, 4, 1)):
        folder = tmp_path / f"data{len(spaces)}"
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text.strip() + "\n")
        ws = Workspace(tmp_path / f"ws{len(spaces)}")
        spaces.append(ws)
        return ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()]), today=today))

    yield _load
    for ws in spaces:
        ws.close()


EVENTS = """
account_id,event_time,event_type
C1,2026-01-05 10:00,Report Created
C2,2026-01-06 10:00,Report Created
C3,2026-03-30 10:00,Report Created
C4,2026-03-31 10:00,Report Created
"""


def test_an_accounts_status_says_who_has_churned_at_the_datas_end_and_who_never_bought(load):
    ds = load(
        {
            "companies.csv": """
Company ID,Company name,Lifecycle Stage
C1,Alpha,Customer
C2,Beta,Churned
C3,Gamma,Opportunity
C4,Delta,Former Customer
""",
            "events.csv": EVENTS,
        }
    )
    assert ds.latest_date == date(2026, 3, 31)
    end = lifecycle(ds, date(2026, 3, 31))
    assert end["stage"].to_dict() == {
        "C1": "active",  # no start date and a customer status: a customer
        "C2": "churned",
        "C3": "not_yet_customer",
        "C4": "churned",
    }
    assert (
        "status 'Churned'" in end.loc["C2", "evidence"]
        and "status 'Opportunity'" in end.loc["C3", "evidence"]
    )
    # before the data's end an undated status says nothing of when the account left: still a customer then
    earlier = lifecycle(ds, date(2026, 2, 1))
    assert earlier.loc["C2", "stage"] == "active" and earlier.loc["C3", "stage"] == "not_yet_customer"


def test_a_one_row_subscription_renews_on_the_anniversary_due_on_the_day_not_its_current_period_end(load):
    # Recurly-style: activated 2024-01-15, yearly terms, the current period 2026-01-15 … 2027-01-15; no interval
    ds = load(
        {
            "subscriptions.csv": """
account_code,uuid,plan_code,quantity,unit_amount,state,activated_at,current_period_started_at,current_period_ends_at
acme,s1,pro,10,1200,active,2024-01-15,2026-01-15,2027-01-15
""",
        },
        today=date(2026, 3, 31),
    )
    # the period holds the day: its end
    assert lifecycle(ds, date(2026, 3, 1)).loc["acme", "renews_on"] == date(2027, 1, 15)
    # on 2024-06-01 the renewal then due was the first anniversary at the period's 12-month length
    assert lifecycle(ds, date(2024, 6, 1)).loc["acme", "renews_on"] == date(2025, 1, 15)
    assert lifecycle(ds, date(2025, 1, 15)).loc["acme", "renews_on"] == date(2026, 1, 15)


def test_a_monthly_interval_gives_the_next_monthly_renewal_on_any_day(load):
    ds = load(
        {
            "stripe.csv": """
id,Customer ID,Plan,Quantity,Interval,Amount,Status,Start (UTC),Current Period End (UTC)
sub_1,cus_A,pro,10,month,50.00,active,2025-11-20,2026-04-20
""",
        },
        today=date(2026, 3, 31),
    )
    day = lifecycle(ds, date(2026, 1, 5)).loc["cus_A"]
    assert (day["renews_on"], day["sub_mrr"], day["sub_seats"]) == (date(2026, 1, 20), 500.0, 10.0)


def test_a_contract_with_only_a_term_end_lapses_after_it_and_its_multi_year_term_renews_yearly(load):
    # no status and no end: the term end is the end, written as the last covered day (a year to the day before the
    # anniversary). B's written term is two years: it renews yearly, on the day before each anniversary.
    ds = load(
        {
            "contracts.csv": """
Account ID,Contract Number,Plan,ARR,Start Date,Renewal Date
A,K-1,pro,12000,2025-01-01,2025-12-31
B,K-2,pro,24000,2024-03-01,2026-02-28
""",
        },
        today=date(2026, 3, 31),
    )
    june = lifecycle(ds, date(2025, 6, 1))
    assert june.loc["A", "stage"] == "active" and june.loc["A", "renews_on"] == date(2025, 12, 31)
    assert june.loc["B", "renews_on"] == date(2026, 2, 28)  # the day before 2026-03-01, the next anniversary
    assert lifecycle(ds, date(2024, 6, 1)).loc["B", "renews_on"] == date(2025, 2, 28)
    march = lifecycle(ds, date(2026, 3, 31))
    # A's last covered day is 2025-12-31: churned from 2026-01-01
    assert (march.loc["A", "stage"], march.loc["A", "since"]) == ("churned", date(2026, 1, 1))
    assert march.loc["B", "stage"] == "churned"


def test_a_crm_export_with_churn_columns_is_an_accounts_table_even_beside_a_renewal_date(load):
    ds = load(
        {
            "crm.csv": """
Account ID,Contract Start Date,Renewal Date,Churned (Yes/No),Churn Date
A,2025-01-01,2026-01-01,No,
B,2025-02-01,2026-02-01,Yes,2025-11-30
""",
        },
        today=date(2026, 3, 31),
    )
    assert "subscriptions" not in ds.views
    assert lifecycle(ds, date(2025, 12, 31))["stage"].to_dict() == {"A": "active", "B": "churned"}
