"""Ingestion into canonical tables and the per-kind dataset views."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[2] / "data"


def _load(tmp_path, *paths):
    ws = Workspace(tmp_path / "ws")
    roots = AllowedRoots([DATA.resolve(), tmp_path.resolve()])
    return ws, ws.load([str(p) for p in paths], roots=roots)


def _rows(ws, result, kind, order_by):
    view = f"ds_{result.dataset_id}_{kind}"
    return ws.connect().execute(f'SELECT * FROM "{view}" ORDER BY {order_by}').fetchall()


def test_events_without_an_account_column_get_it_through_users(tmp_path):
    ws, result = _load(tmp_path, DATA / "mini")
    rows = (
        ws.connect()
        .execute(
            f"SELECT user_id, account_id FROM \"ds_{result.dataset_id}_events\" WHERE event = 'import_data' "
            "ORDER BY timestamp"
        )
        .fetchall()
    )
    assert rows == [("u1", "A1"), ("u2", "A1"), ("u5", "A3")]
    ws.close()


def test_values_are_parsed_into_canonical_types(tmp_path):
    ws, result = _load(tmp_path, DATA / "mini" / "accounts.csv")
    row = (
        ws.connect()
        .execute(
            f"SELECT arr, seats_purchased, CAST(renewal_date AS VARCHAR), churned, CAST(churn_date AS VARCHAR) "
            f"FROM \"ds_{result.dataset_id}_accounts\" WHERE account_id = 'A2'"
        )
        .fetchone()
    )
    assert row == (9600.0, 10.0, "2026-03-01", True, "2025-12-20")
    ws.close()


def test_accounts_from_two_files_merge_by_id_with_the_first_value_winning(tmp_path):
    (tmp_path / "crm.csv").write_text("account_id,name,segment\nA1,Acme,Enterprise\nA2,Beta,\n")
    (tmp_path / "snapshot.csv").write_text("account_id,segment,logins_30d\nA2,SMB,3\nA3,SMB,0\n")
    ws, result = _load(tmp_path, tmp_path / "crm.csv", tmp_path / "snapshot.csv")
    rows = (
        ws.connect()
        .execute(
            f'SELECT account_id, name, segment, logins_30d FROM "ds_{result.dataset_id}_accounts" ORDER BY 1'
        )
        .fetchall()
    )
    assert rows == [("A1", "Acme", "Enterprise", None), ("A2", "Beta", "SMB", 3.0), ("A3", None, "SMB", 0.0)]
    ws.close()


def test_rows_missing_a_required_value_are_left_out_of_the_view_and_reported(tmp_path):
    (tmp_path / "events.csv").write_text(
        "timestamp,user_id,event\n2025-01-01,u1,login\n,u2,login\nnot a date,u3,x\n"
    )
    ws, result = _load(tmp_path, tmp_path / "events.csv")
    assert [r[1] for r in _rows(ws, result, "events", "user_id")] == ["u1"]
    missing = [i for i in result.quality.issues if i.code == "missing_required"]
    assert missing[0].count == 2 and missing[0].column == "timestamp"
    ws.close()


_ids = st.lists(st.integers(0, 50), min_size=1, max_size=12, unique=True)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=_ids, seed=st.integers(0, 10_000))
def test_row_order_and_column_order_do_not_change_what_is_loaded(tmp_path_factory, ids, seed):
    tmp = tmp_path_factory.mktemp("order")
    header = ["account_id", "name", "arr", "seats_purchased", "renewal_date"]
    rows = [[f"A{i}", f"Name {i}", f"${i * 1000:,}", str(i % 7), f"2026-0{1 + i % 9}-1{i % 10}"] for i in ids]
    rng = random.Random(seed)
    shuffled_rows = rows[:]
    rng.shuffle(shuffled_rows)
    order = list(range(len(header)))
    rng.shuffle(order)
    for name, hdr, body in (
        ("a.csv", header, rows),
        ("b.csv", [header[i] for i in order], [[r[i] for i in order] for r in shuffled_rows]),
    ):
        with (tmp / name).open("w", newline="") as fh:
            csv.writer(fh).writerows([hdr, *body])
    loaded = []
    for name in ("a.csv", "b.csv"):
        ws = Workspace(tmp / f"ws_{name}")
        result = ws.load([str(tmp / name)], roots=AllowedRoots([tmp.resolve()]))
        loaded.append(
            ws.connect()
            .execute(
                f'SELECT account_id, name, arr, seats_purchased, renewal_date FROM "ds_{result.dataset_id}_accounts" '
                "ORDER BY account_id"
            )
            .fetchall()
        )
        ws.close()
    assert loaded[0] == loaded[1]
    assert len(loaded[0]) == len(ids)


def test_ids_written_as_floats_match_the_integer_ids_of_other_tables(tmp_path):
    ws, result = _load(tmp_path, DATA / "float_ids")
    con = ws.connect()
    users = con.execute(
        f'SELECT user_id, account_id FROM "ds_{result.dataset_id}_users" ORDER BY 1'
    ).fetchall()
    assert users == [("u1", "1001"), ("u2", "1002")]  # 1001.0 and 1002.0 in users.csv
    events = con.execute(
        f'SELECT user_id, account_id FROM "ds_{result.dataset_id}_events" ORDER BY timestamp'
    ).fetchall()
    assert events == [("u1", "1001"), ("u2", "1002")]
    tickets = con.execute(
        f'SELECT ticket_id, account_id FROM "ds_{result.dataset_id}_tickets" ORDER BY created_at'
    ).fetchall()
    assert tickets == [("7.0", "1001"), ("7.5", "1002")]  # 7.0 beside 7.5 is not a whole-number column
    notes = {t.source: t.notes for t in result.tables}
    assert notes["users.csv"] == ["account_id: ids such as 1001.0 read as 1001"]
    assert notes["tickets.csv"] == ["account_id: ids such as 1001.0 read as 1001"]
    assert not [i for i in result.quality.issues if i.code == "orphan"]
    ws.close()


def test_an_account_named_by_its_name_gets_the_id_of_the_account_with_that_name(tmp_path):
    (tmp_path / "accounts.csv").write_text(
        "account_id,name\nA1,Acme Corp\nA2,Beta Inc\nA3,Twin\nA4,Twin\nA5,A1\n"
    )
    (tmp_path / "tickets.csv").write_text(
        "ticket_id,account_id,created_at\n"
        "1,Acme Corp,2026-03-01\n"  # a name: A1
        "2,  acme corp ,2026-03-02\n"  # the same name in other case and spacing: A1
        "3,A2,2026-03-03\n"  # an id stays itself
        "4,Twin,2026-03-04\n"  # two accounts have this name: no guess, an orphan
        "5,A1,2026-03-05\n"  # A1 is an id and also A5's name: the id wins
        "6,Nobody Ltd,2026-03-06\n"  # no such account: an orphan
    )
    ws, result = _load(tmp_path, tmp_path / "accounts.csv", tmp_path / "tickets.csv")
    rows = (
        ws.connect()
        .execute(f'SELECT ticket_id, account_id FROM "ds_{result.dataset_id}_tickets" ORDER BY ticket_id')
        .fetchall()
    )
    assert rows == [
        ("1", "A1"),
        ("2", "A1"),
        ("3", "A2"),
        ("4", "Twin"),
        ("5", "A1"),
        ("6", "Nobody Ltd"),
    ]
    issues = {i.code: i for i in result.quality.issues}
    assert issues["account_by_name"].count == 2 and issues["account_by_name"].severity == "info"
    assert issues["account_by_name"].examples == ["Acme Corp → A1 (1 rows)", "acme corp → A1 (1 rows)"]
    assert issues["orphan"].examples == ["Nobody Ltd (1 rows)", "Twin (1 rows)"]
    ws.close()


def _amplitude(tmp_path, groups):
    """An Amplitude-style export: no account column, the account only inside the `groups` JSON."""
    path = tmp_path / "amplitude.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["event_time", "event_type", "user_id", "groups"])
        for i, g in enumerate(groups, start=1):
            out.writerow([f"2026-03-{i:02d} 09:00:00", "build_report", f"u{i}", g])
    return _load(tmp_path, path)


def test_events_whose_account_is_only_in_amplitude_groups_take_it_from_the_one_group_key(tmp_path):
    ws, result = _amplitude(
        tmp_path,
        [
            '{"company_id": "acme"}',  # a string
            '{"company_id": ["beta"]}',  # a one-element list
            '{"company_id": [" gamma "]}',  # spaces trimmed as in any id column
            "{}",  # in no group: no account
            '{"company_id": ["acme", "beta"]}',  # in two: which one is not ours to pick
            "",
        ],
    )
    con = ws.connect()
    got = con.execute(
        f'SELECT user_id, account_id FROM "ds_{result.dataset_id}_events" ORDER BY timestamp'
    ).fetchall()
    assert got == [("u1", "acme"), ("u2", "beta"), ("u3", "gamma"), ("u4", None), ("u5", None), ("u6", None)]
    (table,) = result.tables
    assert table.columns["account_id"] == "groups"
    assert (
        "account_id: the 'company_id' group in 'groups' (the events' only account reference)" in table.notes
    )
    ws.close()


@pytest.mark.parametrize(
    "groups",
    [
        ['{"company": ["acme"], "team": ["t1"]}', '{"company": ["beta"], "team": ["t2"]}'],  # two group types
        ['{"company": ["acme"]}', '{"org": ["beta"]}'],  # a different key on different rows
        ['{"company": {"id": "acme"}}', '{"company": {"id": "beta"}}'],  # not a string or a one-element list
        ["acme", "beta"],  # not JSON
    ],
)
def test_groups_that_do_not_name_one_account_per_event_leave_the_events_without_an_account(tmp_path, groups):
    ws, result = _amplitude(tmp_path, groups)
    (table,) = result.tables
    got = (
        ws.connect()
        .execute(f'SELECT account_id FROM "ds_{result.dataset_id}_events" ORDER BY timestamp')
        .fetchall()
    )
    assert ("account_id" in table.columns, got) == (False, [(None,), (None,)])
    ws.close()
