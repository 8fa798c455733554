"""Conventions a single value leaves ambiguous are decided once per column, from the file, when it is ingested.

One fixture per convention in tests/data/formats; Parquet files are written into tmp_path. Every expected value is
worked by hand: 20260301 read as epoch seconds is 234 days and 42 701 s after 1970-01-01, i.e. 1970-08-23 11:51:41.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from customer_health.tools.data.ingest import ingest_source
from customer_health.tools.data.readers import open_file
from customer_health.tools.data.recognize import recognize

FORMATS = Path(__file__).resolve().parents[2] / "data" / "formats"


def load(con, path, table="t"):
    """Open, recognise and ingest one file; its notes and its rows as dicts in file order."""
    [raw] = open_file(con, path)
    rec = recognize(raw.label, raw.columns, sheet=raw.sheet)
    assert rec is not None, f"{raw.label} not recognised from {raw.columns}"
    st = ingest_source(con, raw, rec, table)
    cur = con.execute(f'SELECT * FROM "{table}" ORDER BY _row')
    names = [d[0] for d in cur.description]
    return st.notes, [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def column(rows, name):
    return [r[name] for r in rows]


# --- decimal commas -------------------------------------------------------------------------------------------


def test_a_semicolon_file_with_decimal_commas_reads_every_number_column_the_european_way(con):
    notes, rows = load(con, FORMATS / "semicolon_decimal_comma.csv")
    assert column(rows, "arr") == [1234.56, 900.0, 12000.0]  # 1.234,56 / 900,00 / € 12.000
    assert column(rows, "mrr") == [102.88, 75.0, 1000.5]  # 102,88 / 75 / 1.000,5
    assert column(rows, "nps_score") == [8.5, 7.0, None]  # 8,5 / 7 / -
    # 1.200 / 12 / 3 could be either way on its own; the rest of the file writes decimal commas
    assert column(rows, "seats_purchased") == [1200.0, 12.0, 3.0]
    assert "arr: numbers read with a decimal comma (1.234,56)" in notes
    assert "seats_purchased: numbers read with a decimal comma (1.234,56)" in notes
    assert all(r[f"__bad__{c}"] is None for r in rows for c in ("arr", "mrr", "seats_purchased"))


def test_a_semicolon_file_with_us_numbers_is_never_read_the_european_way(con):
    notes, rows = load(con, FORMATS / "semicolon_us_numbers.csv")
    assert column(rows, "arr") == [1234.56, 10000.0, 1234567.0]  # 1,234.56 / $10,000 / 1,234,567
    assert column(rows, "mrr") == [12.5, 99.99, 100.0]
    assert column(rows, "seats_purchased") == [1200.0, 12.0, 3.0]  # 1,200 groups thousands in a US file
    assert notes == ["delimiter ';'"]


def test_a_column_mixing_both_marks_misreads_neither_and_reports_the_odd_one(con):
    notes, rows = load(con, FORMATS / "semicolon_mixed_decimals.csv")
    # 12,5 and 12.5 side by side: the point wins; 12,5 is then no US number (not 125) and is reported
    assert column(rows, "arr") == [None, 12.5, 1.234]
    assert column(rows, "__bad__arr") == ["12,5", None, None]
    assert notes == ["delimiter ';'"]


# --- timestamps and dates -------------------------------------------------------------------------------------


def test_timestamps_with_a_space_before_the_offset_become_utc(con):
    _, rows = load(con, FORMATS / "offset_with_space.csv")
    assert column(rows, "timestamp") == [
        dt.datetime(2026, 3, 1, 9, 0),  # 10:00 +0100
        dt.datetime(2026, 3, 2, 4, 30),  # 23:30 -0500 is the next day in UTC
        dt.datetime(2026, 3, 1, 2, 45, 0, 250000),  # 08:15:00.250 +05:30
        dt.datetime(2026, 3, 1, 10, 0),  # 10:00 Z
    ]
    assert column(rows, "__bad__timestamp") == [None] * 4


@pytest.mark.parametrize("name", ["yyyymmdd_dates.csv", "yyyymmdd_dates.jsonl"])
def test_yyyymmdd_dates_read_as_dates_from_text_and_from_json_integers(con, name):
    notes, rows = load(con, FORMATS / name)
    assert column(rows, "contract_start") == [dt.date(2026, 3, 1), dt.date(2025, 11, 15)]
    assert column(rows, "renewal_date") == [dt.date(2027, 2, 28), dt.date(2026, 11, 15)]
    if name.endswith(".jsonl"):  # only a numeric column needed deciding against epoch seconds
        assert "contract_start: whole numbers read as yyyymmdd dates" in notes


def _parquet_dates(con, path, values, sql_type):
    rows = ", ".join(f"('A{i}', {v}::{sql_type})" for i, v in enumerate(values))
    con.execute(
        f"COPY (SELECT * FROM (VALUES {rows}) t(account_id, contract_start)) TO '{path}' (FORMAT parquet)"
    )
    return path


@pytest.mark.parametrize("sql_type", ["INTEGER", "BIGINT", "DOUBLE"])
def test_a_parquet_column_of_yyyymmdd_integers_reads_as_dates(con, tmp_path, sql_type):
    path = _parquet_dates(con, tmp_path / "accounts.parquet", [20260301, 19000101, 20991231], sql_type)
    _, rows = load(con, path)
    assert column(rows, "contract_start") == [dt.date(2026, 3, 1), dt.date(1900, 1, 1), dt.date(2099, 12, 31)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # one value past 2099-12-31 and the column is epoch seconds: 21000101 s is 243 days + 4 901 s
        ([20260301, 21000101], [dt.date(1970, 8, 23), dt.date(1970, 9, 1)]),
        # one value before 1900-01-01 likewise: 18991231 s is 1970-08-08 19:20:31
        ([18991231, 20260301], [dt.date(1970, 8, 8), dt.date(1970, 8, 23)]),
        # a value that is no calendar date (February 30th)
        ([20260230, 20260301], [dt.date(1970, 8, 23), dt.date(1970, 8, 23)]),
        # real epoch seconds are ten digits: 1709251200 is 2024-03-01
        ([1709251200, 1709337600], [dt.date(2024, 3, 1), dt.date(2024, 3, 2)]),
    ],
)
def test_integers_that_are_not_all_yyyymmdd_dates_stay_epoch_seconds(con, tmp_path, values, expected):
    path = _parquet_dates(con, tmp_path / "accounts.parquet", values, "BIGINT")
    notes, rows = load(con, path)
    assert column(rows, "contract_start") == expected
    assert not any("yyyymmdd" in n for n in notes)
