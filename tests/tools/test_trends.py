"""Weekly series, month-over-month change, decline flags and the divergence signal (see conftest)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from customer_health.tools.errors import InputError
from customer_health.tools.trends import _relative_slopes, usage_trends


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
    p1 = _rows(portfolio, weeks=4)["P1"]
    assert [w.week_end for w in p1.weekly] == [date(2026, 3, 10), date(2026, 3, 17), date(2026, 3, 24),
                                               date(2026, 3, 31)]
    assert [w.present_users for w in p1.weekly] == [1, 0, 1, 1]
    assert [w.core_actions for w in p1.weekly] == [6.0, 0.0, 2.0, 0.0]
    assert p1.wow["core_actions"] == -1.0


def test_no_prior_activity_gives_no_change_rather_than_infinity(portfolio):
    p3 = _rows(portfolio)["P3"]
    assert p3.mom["core_actions"] is None and p3.decline_flag is None


def test_one_account_and_unknown_accounts(portfolio):
    assert [r.account_id for r in usage_trends(portfolio, account="P2").accounts] == ["P2"]
    with pytest.raises(InputError, match="unknown account 'P9'") as err:
        usage_trends(portfolio, account="P9")
    assert "P1" in err.value.message


def test_relative_slope_by_hand():
    # y = 10, 12, 14, 16 (slope 2/day, mean 13) → 2 × 30 / 13
    assert _relative_slopes(np.array([[10.0, 12.0, 14.0, 16.0]]))[0] == pytest.approx(60 / 13)
    assert _relative_slopes(np.array([[0.0, 0.0, 0.0]]))[0] is None
