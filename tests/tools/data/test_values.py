"""Raw export values become canonical types inside DuckDB: epochs, offsets, US/European dates, money, yes/no.

Every expected value is worked by hand: 1709251200 s is 2024-03-01 00:00:00 UTC (19 783 days × 86 400 s).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from customer_health.tools.data.schema import TABLES
from customer_health.tools.data.values import day_first, number_convention, parse_expr, yyyymmdd_integers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MAR_1 = dt.datetime(2024, 3, 1)


@pytest.fixture(scope="module")
def con():
    """One connection for the module: these tests only evaluate expressions, and connecting is the slow part."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone='UTC'")
    yield connection
    connection.close()


def parse(con, raw, target, duck_type="VARCHAR", **conventions):
    """Evaluate the parse expression for one raw value held in a column of `duck_type`."""
    expr = parse_expr("v", duck_type, target, **conventions)
    return con.execute(f"SELECT {expr} FROM (SELECT CAST(? AS {duck_type}) AS v)", [raw]).fetchone()[0]


def parse_many(con, raws, target, duck_type="VARCHAR", **conventions):
    """The same for a list of raw values, in one query."""
    expr = parse_expr("v", duck_type, target, **conventions)
    sql = (
        f"SELECT {expr} FROM (SELECT unnest(CAST(? AS {duck_type}[])) AS v, generate_subscripts(?, 1) AS i) "
        "ORDER BY i"
    )
    return [r[0] for r in con.execute(sql, [raws, raws]).fetchall()]


# --- timestamps and dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "duck_type", "expected"),
    [
        ("1709251200", "VARCHAR", MAR_1),
        ("1709251200123", "VARCHAR", MAR_1.replace(microsecond=123000)),
        ("1709251200123456", "VARCHAR", MAR_1.replace(microsecond=123456)),
        ("1709251200000000000", "VARCHAR", MAR_1),  # nanoseconds
        ("1709251200.5", "VARCHAR", MAR_1.replace(microsecond=500000)),
        (1709251200, "BIGINT", MAR_1),
        (1709251200123, "BIGINT", MAR_1.replace(microsecond=123000)),
        (1709251200123456, "BIGINT", MAR_1.replace(microsecond=123456)),
        (1709251200.25, "DOUBLE", MAR_1.replace(microsecond=250000)),
    ],
)
def test_epoch_seconds_millis_and_micros_become_the_exact_utc_instant(con, raw, duck_type, expected):
    assert parse(con, raw, "timestamp", duck_type) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-01T12:00:00Z", dt.datetime(2024, 3, 1, 12)),
        ("2024-03-01T12:00:00.123Z", dt.datetime(2024, 3, 1, 12, 0, 0, 123000)),
        ("2024-03-01T12:00:00+02:00", dt.datetime(2024, 3, 1, 10)),
        ("2024-03-01 12:00:00+0200", dt.datetime(2024, 3, 1, 10)),
        ("2024-03-01T23:30:00-05:00", dt.datetime(2024, 3, 2, 4, 30)),
        ("2024-03-01T12:00:00", dt.datetime(2024, 3, 1, 12)),
    ],
)
def test_iso_timestamps_with_an_offset_are_converted_to_utc(con, raw, expected):
    assert parse(con, raw, "timestamp") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-01 10:00:00 +0100", dt.datetime(2026, 3, 1, 9)),
        ("2026-03-01 10:00:00 +01:00", dt.datetime(2026, 3, 1, 9)),
        ("2026-03-01 10:00:00 +01", dt.datetime(2026, 3, 1, 9)),
        ("2026-03-01T23:30:00 -0500", dt.datetime(2026, 3, 2, 4, 30)),
        ("2026-03-01 10:00:00.250 +0530", dt.datetime(2026, 3, 1, 4, 30, 0, 250000)),
        ("2026-03-01 10:00 Z", dt.datetime(2026, 3, 1, 10)),
    ],
)
def test_an_offset_set_off_by_a_space_is_still_applied(con, raw, expected):
    assert parse(con, raw, "timestamp") == expected


def test_an_offset_can_move_the_utc_date_into_the_next_day_and_month(con):
    assert parse(con, "2024-03-31T23:30:00-05:00", "date") == dt.date(2024, 4, 1)
    assert parse(con, "2024-03-31T23:30:00-05:00", "month") == dt.date(2024, 4, 1)


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-01",
        " 2024-03-01 ",
        "Mar 1, 2024",
        "March 1, 2024",
        "1 March 2024",
        "01-Mar-2024",
        "01-Mar-24",
        "2024/03/01",
        "20240301",
        "03/01/2024",
        "3/1/2024",
        "3/1/24",
    ],
)
def test_common_date_spellings_all_read_as_the_first_of_march(con, raw):
    assert parse(con, raw, "date") == dt.date(2024, 3, 1)


def test_numeric_dates_are_month_first_unless_the_column_is_day_first(con):
    assert parse(con, "03/01/2024", "date") == dt.date(2024, 3, 1)
    assert parse(con, "03/01/2024", "date", dayfirst=True) == dt.date(2024, 1, 3)
    assert parse(con, "01.03.2024 13:05", "timestamp", dayfirst=True) == dt.datetime(2024, 3, 1, 13, 5)


def test_a_day_over_12_is_read_day_first_even_without_the_hint(con):
    assert parse(con, "13/01/2024", "date") == dt.date(2024, 1, 13)
    assert parse(con, "31/12/24", "date") == dt.date(2024, 12, 31)


def test_two_digit_years_are_read_as_this_century_not_the_year_24(con):
    assert parse(con, "3/1/24", "timestamp") == MAR_1
    assert parse(con, "3/1/24 13:05", "timestamp") == dt.datetime(2024, 3, 1, 13, 5)
    assert parse(con, "03/01/24", "date", dayfirst=True) == dt.date(2024, 1, 3)


def test_us_times_with_am_pm_use_the_24_hour_clock(con):
    assert parse(con, "3/1/2024 1:05 PM", "timestamp") == dt.datetime(2024, 3, 1, 13, 5)


@pytest.mark.parametrize("raw", ["2024-03", "2024-03-17", "Mar 2024", "March 2024", "2024-03-31T22:00:00Z"])
def test_a_month_target_is_the_first_day_of_that_month(con, raw):
    assert parse(con, raw, "month") == dt.date(2024, 3, 1)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (["03/01/2024", "13/01/2024"], True),  # 13 can only be a day
        (["03/01/2024", "01/13/2024"], False),
        (["03/01/2024", "04/02/2024"], False),  # ambiguous: US order by default
        (["01.03.2024"], True),  # dotted dates are European
        ([None, "", "2024-03-01", "Mar 1, 2024"], False),  # no numeric dates at all
    ],
)
def test_day_first_is_decided_by_which_field_exceeds_12(samples, expected):
    assert day_first(samples) is expected


def test_unparseable_dates_become_null_rather_than_failing(con):
    assert parse(con, "not a date", "timestamp") is None
    assert parse(con, "2024-02-30", "date") is None


# --- booleans, numbers, missing markers, ids, outcomes --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yes", True),
        ("No", False),
        ("TRUE", True),
        ("1", True),
        ("0", False),
        ("Y", True),
        ("", None),
        ("maybe", None),
    ],
)
def test_yes_no_words_and_digits_read_as_booleans(con, raw, expected):
    assert parse(con, raw, "bool") is expected


def test_boolean_and_integer_columns_read_as_booleans(con):
    assert parse(con, True, "bool", "BOOLEAN") is True
    assert parse(con, 0, "bool", "BIGINT") is False
    assert parse(con, 2, "bool", "BIGINT") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$12,000", 12000.0),
        ("(1,200)", -1200.0),
        ("($1,200.50)", -1200.5),
        ("€1.5k", 1500.0),
        ("$2M", 2_000_000.0),
        ("USD 3,000", 3000.0),
        ("£99", 99.0),
        ("12%", 12.0),  # the percent sign is dropped, the number kept
        ("-$5", -5.0),
        ("abc", None),
    ],
)
def test_currency_strings_read_as_numbers(con, raw, expected):
    assert parse(con, raw, "number") == expected


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (["1.234,56", "900"], "comma"),  # the comma comes after the point: a decimal comma
        (["12,5"], "comma"),  # a comma before one digit groups no thousands
        (["0,125"], "comma"),  # nor does one after a leading zero
        (["1.234.567"], "comma"),  # repeated points can only group thousands
        (["1,234.56"], "point"),
        (["12.5"], "point"),
        (["1,234,567"], "point"),
        (["1,234", "1.234", "$900", "N/A", None], None),  # each fits both conventions
        (["12,5", "12.5"], "point"),  # mixed: the point wins, so no US amount is misread
    ],
)
def test_the_decimal_mark_is_decided_only_by_values_one_convention_cannot_write(samples, expected):
    assert number_convention(samples) == expected


@pytest.mark.parametrize(
    ("raw", "point", "comma"),
    [
        ("1.234,56", None, 1234.56),
        ("12,5", None, 12.5),
        ("€ 1.234.567,5", None, 1234567.5),
        ("1\u00a0234,56", None, 1234.56),  # French: a non-breaking space groups the thousands
        ("(1.200,50)", None, -1200.5),
        ("1,5k", None, 1500.0),
        ("1,234.56", 1234.56, None),
        ("$12,000", 12000.0, 12.0),  # the same text, read the European way, is twelve
        ("1.234", 1.234, 1234.0),
        ("12.5", 12.5, None),
        ("1234,567", None, 1234.567),  # not a thousands group: unreadable as a US number, not 1234567
    ],
)
def test_numbers_read_with_the_columns_decimal_mark_and_refuse_the_other(con, raw, point, comma):
    assert parse(con, raw, "number") == point
    assert parse(con, raw, "number", decimal_comma=True) == comma


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Good", 100.0),
        ("good", 100.0),
        ("GOOD", 100.0),
        ("Good with comment", 100.0),
        ("Bad", 0.0),
        ("bad", 0.0),
        ("Offered", None),
        ("unoffered", None),
        ("4", 4.0),  # a numeric rating still reads as a number
    ],
)
def test_zendesk_satisfaction_words_are_csat_scores(con, raw, expected):
    words = TABLES["tickets"].column("csat").words
    assert parse(con, raw, "number", words=words) == expected


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([20260301, 20251115], True),
        ([20260301.0, None], True),  # a float column (pandas with gaps) holding whole numbers
        ([19000101, 20991231], True),  # the boundaries are in
        ([18991231], False),  # just below: read as epoch seconds (1970-08-08 19:20:31)
        ([21000101], False),  # just above: epoch seconds (1970-09-01 01:21:41)
        ([20260230], False),  # February 30th is no date
        ([20260301, 1709251200], False),  # one real epoch value and the column is epochs
        ([20260301.5], False),
        ([None], False),
    ],
)
def test_integer_dates_are_yyyymmdd_only_if_every_value_is_a_calendar_date_in_range(samples, expected):
    assert yyyymmdd_integers(samples) is expected


@pytest.mark.parametrize(
    ("raw", "duck_type", "yyyymmdd", "expected"),
    [
        (20260301, "BIGINT", True, dt.datetime(2026, 3, 1)),
        (20260301, "INTEGER", True, dt.datetime(2026, 3, 1)),
        (20260301.0, "DOUBLE", True, dt.datetime(2026, 3, 1)),
        (20260301, "BIGINT", False, dt.datetime(1970, 8, 23, 11, 51, 41)),  # 234 days + 42 701 s
        (18991231, "BIGINT", False, dt.datetime(1970, 8, 8, 19, 20, 31)),
    ],
)
def test_a_yyyymmdd_column_reads_integers_as_dates_and_an_epoch_column_as_seconds(
    con, raw, duck_type, yyyymmdd, expected
):
    assert parse(con, raw, "timestamp", duck_type, yyyymmdd=yyyymmdd) == expected


@pytest.mark.parametrize("target", ["number", "text", "id", "timestamp", "date", "bool", "outcome"])
def test_missing_markers_become_null_for_every_target(con, target):
    markers = ["N/A", "n/a", "—", "–", "-", "null", "NULL", "none", "#N/A", "", "  "]
    assert parse_many(con, markers, target) == [None] * len(markers)


@pytest.mark.parametrize(
    ("raw", "duck_type", "expected"),
    [
        (1001.0, "DOUBLE", "1001"),
        (1001.5, "DOUBLE", "1001.5"),
        (1001, "BIGINT", "1001"),
        (1001.0, "DECIMAL(6,1)", "1001"),
        ("  A-7 ", "VARCHAR", "A-7"),
    ],
)
def test_integral_floats_read_as_whole_number_ids(con, raw, duck_type, expected):
    assert parse(con, raw, "id", duck_type) == expected


@pytest.mark.parametrize("target", ["id", "number", "timestamp", "bool"])
def test_nan_in_a_float_column_is_missing_not_a_value(con, target):
    assert parse(con, float("nan"), target, "DOUBLE") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Closed Won", "renewed"),
        ("RENEWED", "renewed"),
        ("Churned", "churned"),
        ("closed-lost", "churned"),
        ("Cancelled", "churned"),
        ("downgraded", "contracted"),
        ("Expansion", "expanded"),
        ("pending", None),
        ("N/A", None),
    ],
)
def test_outcome_synonyms_map_to_the_four_outcomes(con, raw, expected):
    assert parse(con, raw, "outcome") == expected


# --- properties ----------------------------------------------------------------------------------------------

_instants = st.datetimes(min_value=dt.datetime(1974, 1, 1), max_value=dt.datetime(2200, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instant=_instants)
def test_any_instant_reads_back_from_epoch_seconds_millis_or_micros(con, instant):
    seconds = int((instant - dt.datetime(1970, 1, 1)).total_seconds())
    raws = [seconds, seconds * 1000, seconds * 1_000_000]
    assert parse_many(con, [str(r) for r in raws], "timestamp") == [instant] * 3
    assert parse_many(con, raws, "timestamp", "BIGINT") == [instant] * 3


_dates = st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)), min_size=1, max_size=15)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dates=_dates,
    day_month=st.booleans(),
    sep=st.sampled_from(["/", "-", "."]),
    pad=st.booleans(),
    short_year=st.booleans(),
)
def test_whichever_field_exceeds_12_decides_day_first_and_every_date_round_trips(
    con, dates, day_month, sep, pad, short_year
):
    if not any(d.day > 12 for d in dates):
        dates = [*dates, dt.date(2024, 6, 13)]
    day_month = day_month or sep == "."  # nobody writes month-first dates with dots
    f = "{:02d}" if pad else "{}"
    fields = [(d.day, d.month) if day_month else (d.month, d.day) for d in dates]
    years = [f"{d.year % 100:02d}" if short_year else str(d.year) for d in dates]
    raws = [sep.join([f.format(a), f.format(b), y]) for (a, b), y in zip(fields, years, strict=True)]
    decided = day_first(raws)
    assert decided is day_month
    assert parse_many(con, raws, "date", dayfirst=decided) == dates


_amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(_amounts, min_size=1, max_size=8), european=st.booleans())
def test_amounts_written_either_way_read_back_exactly_with_the_decided_mark(con, amounts, european):
    # Python's own formatting is the independent writer: 1,234,567.89 (US), then swapped to 1.234.567,89
    us = [f"{a:,.2f}" for a in amounts]
    written = [u.translate(str.maketrans(",.", ".,")) for u in us] if european else us
    decided = number_convention(written)
    assert decided == ("comma" if european else "point")  # two decimals always give a value away
    parsed = parse_many(con, written, "number", decimal_comma=decided == "comma")
    assert parsed == [float(a) for a in amounts]
