"""Ingestion into canonical tables and the per-kind dataset views."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from customer_health.server.workspace import AllowedRoots, Workspace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[1] / "data"


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
