"""Weekly series, month-over-month change, decline flags and the divergence signal (see conftest)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.usage.trends import _slope_sql, usage_trends


def _rows(ds, **kw):
    return {r.account_id: r for r in usage_trends(ds, **kw).accounts}


def test_month_over_month_compares_the_last_30_days_with_the_30_before(portfolio):
    p1 = _rows(portfolio)["P1"]
    assert p1.last_30 == {"present_users": 3.0, "adopted_users": 2.0, "core_actions": 8.0}
    assert p1.prior_30 == {"present_users": 3.0, "adopted_users": 1.0, "core_actions": 16.0}
    assert p1.mom["core_actions"] == -0.5
    assert p1.mom["present_users"] == 0.0


def test_a_fall_of_exactly_50_percent_is_high_not_critical(portfolio):
    assert _rows(portfolio)["P1"].decline_flag == "high"


def test_flat_presence_with_falling_core_use_is_divergence(portfolio):
    rows = _rows(portfolio)
    assert rows["P1"].divergence
    assert not rows["P2"].divergence  # no core use at all, nothing to decline


def test_weekly_series_ends_on_as_of_and_counts_users_per_week(portfolio):
    result = usage_trends(portfolio, weeks=4)
    assert result.week_ends == [date(2026, 3, 10), date(2026, 3, 17), date(2026, 3, 24), date(2026, 3, 31)]
    p1 = next(r for r in result.accounts if r.account_id == "P1")
    assert p1.weekly.present_users == [1, 0, 1, 1]
    assert p1.weekly.adopted_users == [1, 0, 1, 0]
    assert p1.weekly.core_actions == [6.0, 0.0, 2.0, 0.0]
    assert p1.wow["core_actions"] == -1.0


def test_no_prior_activity_gives_no_change_rather_than_infinity(portfolio):
    p3 = _rows(portfolio)["P3"]
    assert p3.mom["core_actions"] is None and p3.decline_flag is None


def test_one_account_and_unknown_accounts(portfolio):
    assert [r.account_id for r in usage_trends(portfolio, account="P2").accounts] == ["P2"]
    with pytest.raises(InputError, match="no account has the id or name 'P9'") as err:
        usage_trends(portfolio, account="P9")
    assert "P1" in err.value.message


def test_relative_slope_matches_a_least_squares_fit():
    import duckdb

    rng = np.random.default_rng(3)
    y = rng.integers(0, 20, 90).astype(float)  # y[i] is the value `i` days before as_of
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {_slope_sql(30)}, {_slope_sql(90)} FROM (SELECT unnest(range(90)) AS age, unnest(?) AS c)",
        [list(y)],
    ).fetchone()
    for n, value in zip((30, 90), got, strict=True):
        series = y[:n][::-1]  # oldest first
        slope = np.polyfit(np.arange(n), series, 1)[0]
        assert value == pytest.approx(slope * 30 / series.mean())


def test_relative_slope_is_none_without_activity():
    import duckdb

    got = duckdb.connect().execute(
        f"SELECT {_slope_sql(30)} FROM (SELECT range AS age, 0 AS c FROM range(90))"
    )
    assert got.fetchone()[0] is None
