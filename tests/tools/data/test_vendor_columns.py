"""Vendor spellings of the canonical columns are recognised, and a load says what it left unused or cannot do.

Headers are the labels the vendors' own exports use (Salesforce report labels, HubSpot and Gainsight internal
names, Freshdesk and Intercom CSV exports, Pendo and Heap Connect tables); each is new in the synonym set.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.data.recognize import lookalikes, match_columns
from customer_health.tools.data.schema import TABLES
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.usage.seats import seat_utilization

VENDOR_HEADERS = [
    ("salesforce", "accounts", "Licenses Purchased", "seats_purchased"),
    ("salesforce", "accounts", "Licences Purchased", "seats_purchased"),
    ("salesforce", "accounts", "Number of Licenses", "seats_purchased"),
    ("salesforce", "accounts", "Licensed Users", "seats_purchased"),
    ("salesforce", "accounts", "Total Seats", "seats_purchased"),
    ("salesforce", "accounts", "Account Owner: Full Name", "csm_owner"),
    ("salesforce", "accounts", "Contract Expiration Date", "renewal_date"),
    ("hubspot", "accounts", "hs_object_id", "account_id"),
    ("hubspot", "accounts", "hubspot_owner_id", "csm_owner"),
    ("hubspot", "accounts", "hs_arr", "arr"),
    ("gainsight", "accounts", "Gsid", "account_id"),
    ("gainsight", "accounts", "OriginalContractDate", "contract_start"),
    ("gainsight", "accounts", "Customer Tier", "segment"),
    ("freshdesk", "tickets", "Created time", "created_at"),
    ("freshdesk", "tickets", "Resolved time", "resolved_at"),
    ("intercom", "tickets", "Conversation started at", "created_at"),
    ("intercom", "tickets", "Conversation last closed at", "resolved_at"),
    ("pendo", "events", "visitorId", "user_id"),
    ("pendo", "events", "browserTime", "timestamp"),
    ("pendo", "events", "numEvents", "count"),
    ("heap", "events", "event_table_name", "event"),
    ("heap", "users", "joindate", "created_at"),
]


@pytest.mark.parametrize(("vendor", "kind", "header", "canonical"), VENDOR_HEADERS)
def test_a_vendor_spelling_maps_to_its_canonical_column(vendor, kind, header, canonical):
    table = TABLES[kind]
    others = [c for c in table.required if c != canonical]  # the rest of a minimal file of that kind
    assert match_columns(table, [header, *others])[canonical] == header


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Seat Qty Bought", ("accounts", "seats_purchased")),
        ("seatQtyBought", ("accounts", "seats_purchased")),
        ("# of Licences", ("accounts", "seats_purchased")),
        ("Next Renewal", ("accounts", "renewal_date")),
        ("Customer Success Owner", ("accounts", "csm_owner")),
        ("Seats Used", None),  # used seats are not purchased seats
        ("Annual Revenue", None),  # Salesforce's company revenue, not ARR
        ("Churn Risk", None),
        ("Arrival", None),  # three-letter cues are whole words only
    ],
)
def test_an_unused_column_looks_like_the_canonical_column_its_words_name(header, expected):
    found = [(look.kind, look.column) for look in lookalikes(header)]
    assert (found[0] if found else None) == expected


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n")
    return path


@pytest.fixture
def load(tmp_path):
    def _load(folder: Path):
        ws = Workspace(tmp_path / "ws")
        result = ws.load([str(folder)], roots=AllowedRoots([tmp_path.resolve()]), today=date(2026, 4, 1))
        return ws, result

    return _load


def _issues(result, code):
    return [i for i in result.quality.issues if i.code == code]


EVENTS = """
user_id,account_id,timestamp,event
u1,A1,2026-03-20 10:00:00,create_report
u2,A1,2026-03-21 10:00:00,create_report
u3,A1,2026-03-22 10:00:00,login
u4,A2,2026-03-20 10:00:00,create_report
u5,A2,2026-03-25 10:00:00,login
"""


def test_a_salesforce_accounts_export_with_licenses_purchased_gives_seat_utilization(tmp_path, load):
    folder = tmp_path / "sf"
    _write(
        folder / "accounts.csv",
        """
Account ID,Account Name,Account Owner,Type,Industry,Annual Revenue,Licenses Purchased,Contract End Date
A1,Acme,Dana,Customer,Retail,5000000,4,2026-09-30
A2,Globex,Lee,Customer,Finance,90000000,10,2026-12-31
""",
    )
    _write(folder / "events.csv", EVENTS)
    ws, result = load(folder)
    with ws:
        accounts = next(t for t in result.tables if t.kind == "accounts")
        assert accounts.columns["seats_purchased"] == "Licenses Purchased"
        rows = {r.account_id: r for r in seat_utilization(ws.dataset(result), as_of="2026-03-31").accounts}
    # A1: 3 users present of 4 seats; A2: 2 users of 10 seats
    assert (rows["A1"].seats_purchased, rows["A1"].present_users, rows["A1"].present_utilization) == (
        4,
        3,
        0.75,
    )
    assert (rows["A2"].present_utilization, rows["A2"].flag) == (0.2, "low")
    # Annual Revenue is the company's revenue, not ARR: left unused without a false "looks like"
    assert _issues(result, "unused_column") == []
    assert not [i for i in _issues(result, "unsupported_analysis") if i.column == "seats_purchased"]


def test_an_unrecognised_seat_column_is_named_as_unused_with_how_to_map_it(tmp_path, load):
    folder = tmp_path / "crm"
    _write(
        folder / "accounts.csv",
        """
account_id,name,Seat Qty Bought,Seats Used,Seat Notes,renewal_date
A1,Acme,4,3,call before renewal,2026-09-30
A2,Globex,10,2,,2026-12-31
""",
    )
    ws, result = load(folder)
    with ws:
        pass
    unused = _issues(result, "unused_column")
    assert [(i.column, i.severity) for i in unused] == [("Seat Qty Bought", "warning")]
    assert unused[0].message == (
        "accounts.csv: `Seat Qty Bought` looks like seats_purchased — not used; map it with --map "
        "(columns: {accounts: {seats_purchased: Seat Qty Bought}}) or rename it to seats_purchased."
    )


def test_a_lookalike_is_not_reported_once_its_canonical_column_is_mapped(tmp_path, load):
    folder = tmp_path / "crm"
    _write(
        folder / "accounts.csv",
        """
account_id,seats,Seat Qty Bought
A1,4,4
""",
    )
    ws, result = load(folder)
    with ws:
        pass
    assert _issues(result, "unused_column") == []


def test_a_key_accounts_column_on_another_kind_of_export_is_pointed_out(tmp_path, load):
    folder = tmp_path / "users_only"
    _write(
        folder / "users.csv",
        """
user_id,account_id,Licenses Purchased
u1,A1,4
u2,A1,4
""",
    )
    ws, result = load(folder)
    with ws:
        pass
    (issue,) = _issues(result, "unused_column")
    assert (issue.table, issue.column, issue.severity) == ("users", "Licenses Purchased", "info")
    assert "looks like accounts.seats_purchased" in issue.message


def test_the_analyses_missing_columns_rule_out_are_named_once_per_load(tmp_path, load):
    folder = tmp_path / "two_files"
    _write(folder / "accounts_eu.csv", "account_id,name,arr\nA1,Acme,1000\n")
    _write(folder / "accounts_us.csv", "account_id,name,arr\nA2,Globex,2000\n")
    ws, result = load(folder)
    with ws:
        pass
    unsupported = {i.column: i for i in _issues(result, "unsupported_analysis")}
    assert sorted(unsupported) == ["renewal_date", "seats_purchased"]  # arr is there
    seats = unsupported["seats_purchased"]
    assert seats.severity == "info"
    assert "seat utilization is unknown for every account" in seats.message


def test_freshdesk_survey_results_are_read_as_csat_happy_answers_satisfied(tmp_path, load):
    folder = tmp_path / "freshdesk"
    _write(
        folder / "tickets.csv",
        """
Ticket ID,Created time,Company Name,Survey results
1,2026-03-02 08:15:00,Acme,Extremely Happy
2,2026-03-03 08:15:00,Acme,Happy
3,2026-03-04 08:15:00,Acme,Neutral
4,2026-03-05 08:15:00,Acme,Very Unhappy
5,2026-03-06 08:15:00,Acme,
""",
    )
    ws, result = load(folder)
    [table] = result.tables
    assert table.columns["csat"] == "Survey results"
    ds = ws.dataset(result)
    values = [
        r[0] for r in ds.con.execute(f"SELECT csat FROM {ds.view('tickets')} ORDER BY ticket_id").fetchall()
    ]
    # the two happy answers are satisfied, Neutral and Very Unhappy are not: a CSAT share of 2 / 4
    assert values == [100.0, 100.0, 0.0, 0.0, None]
    assert not [i for i in result.quality.issues if i.column == "csat" and i.severity == "warning"]
