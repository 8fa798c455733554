"""Each vendor export in tests/data/vendors/corpus loads alone with no mapping file, as the table kind it is, with its
columns mapped to the canonical ones; a billing export gives each account's MRR and stage on a date.

The headers are spelled as the vendors' own exports spell them (see the corpus README). The MRRs are worked by hand
from the rows: a unit price × quantity ÷ the months in the billing interval, or the export's own MRR column.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.data.lifecycle import lifecycle
from customer_health.tools.data.recognize import match_columns
from customer_health.tools.data.schema import TABLES
from customer_health.tools.data.workspace import AllowedRoots, Workspace

CORPUS = Path(__file__).parents[2] / "data" / "vendors" / "corpus"

# file → (kind, {canonical: source}); None: the canonical column must stay unmapped (a lookalike that is not it)
EXPECTED: dict[str, tuple[str, dict[str, str | None]]] = {
    "salesforce_accounts.csv": (
        "accounts",
        {
            "account_id": "Account ID",
            "name": "Account Name",
            "industry": "Industry",
            "arr": "ARR",  # Annual Revenue is the company's own revenue, not what it pays us
            "seats_purchased": "Licenses Purchased",
            "renewal_date": "Renewal Date",
            "csm_owner": "Account Owner",
            "signup_date": "Created Date",
        },
    ),
    "hubspot_companies.csv": (
        "accounts",
        {
            "account_id": "Record ID",
            "name": "Company name",
            "industry": "Industry",
            "arr": "Annual recurring revenue",
            "csm_owner": "Company owner",
            "signup_date": "Create Date",
        },
    ),
    "gainsight_companies.csv": (
        "accounts",
        {
            "account_id": "GSID",
            "name": "Name",
            "industry": "Industry",
            "arr": "ARR",
            "mrr": "MRR",
            "contract_start": "Original Contract Date",
            "renewal_date": "Renewal Date",
            "csm_owner": "CSM",
            "seats_purchased": None,  # `Users` is a head count, not seats bought
        },
    ),
    "zendesk_tickets.csv": (
        "tickets",
        {
            "account_id": "Organization",
            "created_at": "Created at",
            "ticket_id": "Id",
            "resolved_at": "Solved at",
            "priority": "Priority",
            "status": "Status",
            "csat": "Satisfaction Score",
            "subject": "Subject",
        },
    ),
    "intercom_conversations.csv": (
        "tickets",
        {
            "account_id": "Company ID",
            "created_at": "Conversation started at",
            "ticket_id": "Conversation ID",
            "resolved_at": "Conversation last closed at",
            "status": "State",
            "csat": "Conversation rating",
        },
    ),
    "freshdesk_tickets.csv": (
        "tickets",
        {
            "account_id": "Company Name",
            "created_at": "Created time",
            "ticket_id": "Ticket ID",
            "resolved_at": "Resolved time",
            "priority": "Priority",
            "status": "Status",
            "subject": "Subject",
        },
    ),
    "mixpanel_events.csv": (
        "events",
        {"timestamp": "time", "user_id": "distinct_id", "event": "event", "account_id": "company_id"},
    ),
    "amplitude_events.csv": (
        "events",
        # `groups` holds the account as JSON ({"company": ["acme-corp"]}), the export's one group type
        {"timestamp": "event_time", "user_id": "user_id", "event": "event_type", "account_id": "groups"},
    ),
    "segment_tracks.csv": (
        "events",
        {"timestamp": "timestamp", "user_id": "userId", "event": "event", "account_id": "context.groupId"},
    ),
    "posthog_events.csv": (
        "events",
        {"timestamp": "timestamp", "user_id": "distinct_id", "event": "event", "account_id": "$group_0"},
    ),
    "pendo_events.csv": (
        "events",
        {
            "timestamp": "browserTime",
            "user_id": "visitorId",
            "event": "type",
            "account_id": "accountId",
            "count": "numEvents",
        },
    ),
    "heap_all_events.csv": (
        "events",
        {"timestamp": "time", "user_id": "user_id", "event": "event_table_name", "account_id": "account_id"},
    ),
    "account_events.csv": (
        "events",
        {"timestamp": "event_time", "event": "event_type", "account_id": "account_id", "user_id": None},
    ),
    "stripe_subscriptions.csv": (
        "subscriptions",
        {
            "account_id": "Customer ID",
            "start_date": "Start (UTC)",
            "end_date": "Ended At (UTC)",
            "period_end": "Current Period End (UTC)",
            "canceled_at": "Canceled At (UTC)",
            "status": "Status",
            "trial_end": "Trial End (UTC)",
            "subscription_id": "id",
            "name": "Customer Name",
            "plan": "Plan",
            "unit_amount": "Amount",
            "interval": "Interval",
            "quantity": "Quantity",
            "currency": "Currency",
        },
    ),
    "chargebee_subscriptions.csv": (
        "subscriptions",
        {
            "account_id": "subscription.customer_id",
            "start_date": "subscription.started_at",
            "period_end": "subscription.current_term_end",
            "canceled_at": "subscription.cancelled_at",
            "status": "subscription.status",
            "trial_end": "subscription.trial_end",
            "subscription_id": "subscription.id",
            "name": "customer.company",
            "plan": "subscription.plan_id",
            "mrr": "subscription.mrr",
            "unit_amount": "subscription.plan_unit_price",
            "interval": "subscription.billing_period_unit",
            "quantity": "subscription.plan_quantity",
            "currency": "subscription.currency_code",
        },
    ),
    "recurly_subscriptions.csv": (
        "subscriptions",
        {
            "account_id": "account_code",
            "start_date": "activated_at",
            "end_date": "expires_at",
            "period_end": "current_period_ends_at",
            "canceled_at": "canceled_at",
            "status": "state",
            "trial_end": "trial_ends_at",
            "subscription_id": "uuid",
            "plan": "plan_name",
            "unit_amount": "unit_amount",
            "quantity": "quantity",
            "currency": "currency",
        },
    ),
    "zuora_subscriptions.csv": (
        "subscriptions",
        {
            "account_id": "Account.AccountNumber",
            "start_date": "Subscription.SubscriptionStartDate",
            "end_date": "Subscription.SubscriptionEndDate",
            "status": "Subscription.Status",
            "subscription_id": "Subscription.Name",
            "name": "Account.Name",
            "plan": "RatePlan.Name",
            "mrr": "RatePlanCharge.MRR",
            "quantity": "RatePlanCharge.Quantity",
            "currency": "Account.Currency",
        },
    ),
    "salesforce_accounts_with_footer.csv": (
        "accounts",
        {
            "account_id": "Account ID",
            "name": "Account Name",
            "industry": "Industry",
            "arr": "ARR",
            "seats_purchased": "Licenses Purchased",
            "renewal_date": "Renewal Date",
            "csm_owner": "Account Owner",
            "signup_date": "Created Date",
        },
    ),
    "delighted_nps.csv": (
        "nps",
        {
            "account_id": "Customer ID",
            "score": "Score",
            "responded_at": "Created At",
            "user_id": "Email",
            "comment": "Comment",
        },
    ),
    "qualtrics_nps.csv": (
        "nps",
        {
            "account_id": "AccountID",
            "score": "Q1_NPS",  # not Q1_NPS_GROUP, Qualtrics' 1/2/3 detractor/passive/promoter code
            "responded_at": "RecordedDate",
            "user_id": "RecipientEmail",
        },
    ),
    "qualtrics_nps_three_header_rows.csv": (
        "nps",
        {
            "account_id": "AccountID",
            "score": "Q1_NPS",
            "responded_at": "RecordedDate",
            "user_id": "RecipientEmail",
        },
    ),
}


def _load_alone(tmp_path: Path, name: str):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(CORPUS / name, folder / Path(name).name)
    name = Path(name).name
    ws = Workspace(tmp_path / "ws")
    result = ws.load([str(folder / name)], roots=AllowedRoots([tmp_path.resolve()]), today=date(2026, 4, 1))
    return ws, result


def test_the_corpus_holds_exactly_the_files_the_expectations_cover():
    assert sorted(p.name for p in CORPUS.glob("*.csv")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_vendor_export_loads_alone_as_its_kind_with_its_columns_mapped(tmp_path, name):
    kind, expected = EXPECTED[name]
    ws, result = _load_alone(tmp_path, name)
    with ws:
        pass
    (table,) = result.tables  # one file, one table: nothing derived is listed as a loaded table
    assert table.kind == kind
    assert {canon: table.columns.get(canon) for canon in expected} == expected
    # no data row is lost to a column read as the wrong type
    assert not [i for i in result.quality.issues if i.code == "missing_required"]


def test_a_salesforce_report_reads_its_formatted_numbers_and_us_dates(tmp_path):
    ws, result = _load_alone(tmp_path, "salesforce_accounts.csv")
    with ws:
        ds = ws.dataset(result)
        row = ds.con.execute(
            f"SELECT arr, seats_purchased, renewal_date, signup_date FROM {ds.view('accounts')} "
            "WHERE account_id = '0015g00000AcmeCoAA'"
        ).fetchone()
    # "48,000.00", "40", "9/30/2026", "10/2/2023" as the report writes them
    assert row == (48000.0, 40.0, date(2026, 9, 30), date(2023, 10, 2))


# file, account, day → (stage, MRR on the day, seats on the day)
BILLING = [
    # Stripe's Amount is per unit: 50 × 10 seats, monthly
    ("stripe_subscriptions.csv", "cus_PAcme00000001", date(2026, 3, 31), ("active", 500.0, 10.0)),
    # 1200 a year is 100 a month
    ("stripe_subscriptions.csv", "cus_PBeta00000002", date(2026, 3, 31), ("active", 100.0, 1.0)),
    # canceled, ended 2026-01-01: a customer in December at 50 × 5, churned by March
    ("stripe_subscriptions.csv", "cus_PGamm00000003", date(2025, 12, 15), ("active", 250.0, 5.0)),
    ("stripe_subscriptions.csv", "cus_PGamm00000003", date(2026, 3, 31), ("churned", None, None)),
    # trialing: not paying yet
    ("stripe_subscriptions.csv", "cus_PDelt00000004", date(2026, 3, 31), ("not_yet_customer", None, None)),
    # Chargebee's own mrr column, as given
    ("chargebee_subscriptions.csv", "AzZlGkT0acme", date(2026, 3, 31), ("active", 480.0, 8.0)),
    ("chargebee_subscriptions.csv", "AzZlGkT0beta", date(2026, 3, 31), ("active", 1500.0, 20.0)),
    ("chargebee_subscriptions.csv", "AzZlGkT0delt", date(2026, 3, 31), ("not_yet_customer", None, None)),
    # Recurly's unit_amount × quantity, monthly: 25 × 12
    ("recurly_subscriptions.csv", "acme-corp", date(2026, 3, 31), ("active", 300.0, 12.0)),
    # canceled 2026-03-15 but paid up to expires_at 2026-04-10: still a customer on 03-31, at 25 × 30
    ("recurly_subscriptions.csv", "beta-inc", date(2026, 3, 31), ("active", 750.0, 30.0)),
    ("recurly_subscriptions.csv", "gamma-ltd", date(2026, 3, 31), ("churned", None, None)),
    # Zuora's RatePlanCharge.MRR, as given
    ("zuora_subscriptions.csv", "A00000101", date(2026, 3, 31), ("active", 2000.0, 40.0)),
    ("zuora_subscriptions.csv", "A00000103", date(2025, 6, 30), ("active", 300.0, 6.0)),
    ("zuora_subscriptions.csv", "A00000103", date(2026, 3, 31), ("churned", None, None)),
]


def _none_if_nan(value):
    return None if value != value else float(value)  # NaN is the one value unequal to itself


@pytest.mark.parametrize(("name", "account", "day", "expected"), BILLING)
def test_a_billing_export_gives_each_account_its_stage_and_mrr_on_a_day(
    tmp_path, name, account, day, expected
):
    ws, result = _load_alone(tmp_path, name)
    with ws:
        row = lifecycle(ws.dataset(result), day).loc[account]
    assert (row["stage"], _none_if_nan(row["sub_mrr"]), _none_if_nan(row["sub_seats"])) == expected


def test_the_stripe_lapse_is_dated_at_the_end_of_the_last_paid_period(tmp_path):
    ws, result = _load_alone(tmp_path, "stripe_subscriptions.csv")
    with ws:
        row = lifecycle(ws.dataset(result), date(2026, 3, 31)).loc["cus_PGamm00000003"]
    assert (row["since"], row["customer_since"]) == (date(2026, 1, 1), date(2025, 2, 1))


def test_a_cancelled_chargebee_subscription_was_paid_before_it_was_cancelled(tmp_path):
    ws, result = _load_alone(tmp_path, "chargebee_subscriptions.csv")
    with ws:
        ds = ws.dataset(result)
        before = lifecycle(ds, date(2025, 12, 15)).loc["AzZlGkT0gamm"]
        after = lifecycle(ds, date(2026, 3, 31)).loc["AzZlGkT0gamm"]
    # Chargebee zeroes a cancelled subscription's mrr; while it ran (2025-05-01 – 2026-02-01) it paid
    # 4 seats × 60 a month
    assert (before["stage"], _none_if_nan(before["sub_mrr"])) == ("active", 240.0)
    assert (after["stage"], after["since"]) == ("churned", date(2026, 2, 1))


def test_account_level_events_count_each_account_as_its_own_person(tmp_path):
    ws, result = _load_alone(tmp_path, "account_events.csv")
    with ws:
        ds = ws.dataset(result)
        rows = ds.con.execute(f"SELECT account_id, user_id FROM {ds.view('events')} ORDER BY 1, 2").fetchall()
    assert rows == [
        ("acme-corp", "acme-corp"),
        ("acme-corp", "acme-corp"),
        ("beta-inc", "beta-inc"),
        ("gamma-ltd", "gamma-ltd"),
        ("gamma-ltd", "gamma-ltd"),
    ]


@pytest.mark.parametrize("header", ["Churned (Yes/No)", "Churned?", "Is Churned", "Churned Y/N"])
def test_a_crm_churn_flag_is_the_accounts_churned_column(header):
    columns = ["Account ID", "Account Name", "Renewal Date", header]
    assert match_columns(TABLES["accounts"], columns)["churned"] == header


def test_a_yes_no_churn_flag_loads_as_true_and_false(tmp_path):
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "accounts.csv").write_text(
        "Account ID,Account Name,Renewal Date,Churned (Yes/No)\n"
        "0015g00000AcmeCoAA,Acme Corp,2026-09-30,No\n"
        "0015g00000BetaIncA,Beta Inc,2026-01-31,Yes\n"
    )
    ws = Workspace(tmp_path / "ws")
    result = ws.load([str(folder)], roots=AllowedRoots([tmp_path.resolve()]), today=date(2026, 4, 1))
    with ws:
        ds = ws.dataset(result)
        rows = ds.con.execute(f"SELECT account_id, churned FROM {ds.view('accounts')} ORDER BY 1").fetchall()
    assert (result.tables[0].kind, result.tables[0].columns["churned"]) == ("accounts", "Churned (Yes/No)")
    assert rows == [("0015g00000AcmeCoAA", False), ("0015g00000BetaIncA", True)]


def test_a_salesforce_report_with_its_footer_loads_its_account_rows(tmp_path):
    ws, result = _load_alone(tmp_path, "salesforce_accounts_with_footer.csv")
    with ws:
        pass
    (table,) = result.tables
    assert (table.kind, table.rows) == ("accounts", 4)
    assert "4 footer lines after the data were left out" in table.notes


def test_a_qualtrics_export_with_its_three_header_rows_reads_only_the_responses(tmp_path):
    ws, result = _load_alone(tmp_path, "qualtrics_nps_three_header_rows.csv")
    with ws:
        pass
    (table,) = result.tables
    assert (table.kind, table.columns["score"], table.rows) == ("nps", "Q1_NPS", 3)
    assert [i.code for i in result.quality.issues if i.severity == "warning"] == []


def test_amplitude_events_are_tied_to_the_accounts_in_their_groups(tmp_path):
    ws, result = _load_alone(tmp_path, "amplitude_events.csv")
    with ws:
        ds = ws.dataset(result)
        rows = ds.con.execute(
            f"SELECT account_id, user_id, event FROM {ds.view('events')} ORDER BY timestamp"
        ).fetchall()
    # each row's groups is {"company": ["<account>"]}
    assert rows == [
        ("acme-corp", "ana@acme.example", "build_report"),
        ("acme-corp", "ana@acme.example", "share_dashboard"),
        ("beta-inc", "li@beta.example", "build_report"),
        ("gamma-ltd", "jo@gamma.example", "session_start"),
    ]
    assert result.tables[0].notes == [
        "account_id: the 'company' group in 'groups' (the events' only account reference)"
    ]
