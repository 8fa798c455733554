"""Seat utilization: present and adopted users over seats, bands, and segment percentiles (see conftest)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.stats import percentile_in_group
from customer_health.tools.usage.seats import percentiles_in_groups, seat_utilization, utilization_flag
from hypothesis import given, settings
from hypothesis import strategies as st


def _by_id(result):
    return {r.account_id: r for r in result.accounts}


def test_present_and_adopted_users_are_counted_inside_the_window_only(portfolio):
    rows = _by_id(seat_utilization(portfolio, window_days=30))
    # p1d's only login is at 23:59 on Mar 1, one day before the 30-day window opens
    assert (rows["P1"].present_users, rows["P1"].adopted_users) == (3, 2)
    assert (rows["P1"].present_utilization, rows["P1"].adopted_utilization) == (0.75, 0.5)
    assert rows["P1"].adoption_gap == 0.25


def test_bands_low_good_and_over_deployed(portfolio):
    rows = _by_id(seat_utilization(portfolio, window_days=30))
    assert rows["P1"].flag == "good"  # 3 of 4 seats = 75%
    assert rows["P2"].flag == "low"  # 3 of 10 = 30%
    assert rows["P3"].flag == "over_deployed"  # 3 users on 2 seats = 150%
    assert rows["P3"].present_utilization == 1.5


def test_present_but_not_adopted_is_flagged(portfolio):
    rows = _by_id(seat_utilization(portfolio, window_days=30))
    assert rows["P2"].present_not_adopted and rows["P2"].adopted_users == 0
    assert not rows["P1"].present_not_adopted


def test_segment_percentiles_compare_only_within_the_segment(portfolio):
    result = seat_utilization(portfolio, window_days=30)
    rows = _by_id(result)
    assert (rows["P1"].segment_percentile, rows["P2"].segment_percentile) == (1.0, 0.0)
    assert rows["P3"].segment_percentile is None  # alone in its segment
    assert result.segment_medians["SMB"]["present_utilization"] == pytest.approx((0.75 + 0.3) / 2)


def test_the_as_of_date_moves_the_window(portfolio):
    rows = _by_id(seat_utilization(portfolio, window_days=14, as_of=date(2026, 3, 14)))
    # Mar 1 … Mar 14: p1a (Mar 2, Mar 10) and p1d (Mar 1 23:59)
    assert (rows["P1"].present_users, rows["P1"].adopted_users) == (2, 1)
    assert rows["P2"].present_users == 0


def test_utilization_equals_users_over_seats_for_every_account(portfolio):
    for r in seat_utilization(portfolio, window_days=30).accounts:
        assert r.present_utilization == pytest.approx(r.present_users / r.seats_purchased, abs=1e-4)
        assert r.adopted_utilization == pytest.approx(r.adopted_users / r.seats_purchased, abs=1e-4)


def test_every_account_is_listed_worst_first(portfolio):
    ids = [r.account_id for r in seat_utilization(portfolio).accounts]
    assert ids == ["P2", "P1", "P3"]


def test_a_window_out_of_range_is_a_clear_error(portfolio):
    with pytest.raises(InputError, match="window_days"):
        seat_utilization(portfolio, window_days=0)


@pytest.mark.parametrize(
    ("value", "users", "flag"),
    [
        (0.4999, 5, "low"),
        (0.5, 5, "ok"),
        (0.7499, 5, "ok"),
        (0.75, 5, "good"),
        (1.0, 5, "good"),
        (1.0001, 5, "over_deployed"),
        (None, 3, "unknown_seats"),
        (None, 0, "no_activity"),
    ],
)
def test_band_boundaries_are_exact(value, users, flag):
    assert utilization_flag(value, users) == flag


def test_percentile_in_group_by_hand():
    values = pd.Series([0.1, 0.5, 0.5, 0.9, 0.3])
    groups = pd.Series(["a", "a", "a", "a", "b"])
    # group a ranks 1, 2.5, 2.5, 4 of 4 → (rank−1)/3
    assert list(percentile_in_group(values, groups).round(4))[:4] == [0.0, 0.5, 0.5, 1.0]
    assert pd.isna(percentile_in_group(values, groups).iloc[4])


def test_snapshot_without_events_uses_active_users_30d(tmp_path):
    from customer_health.tools.data.workspace import AllowedRoots, Workspace

    (tmp_path / "snap.csv").write_text("account_id,seats_purchased,active_users_30d\nS1,10,4\nS2,5,6\n")
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([tmp_path / "snap.csv"], roots=AllowedRoots([tmp_path.resolve()])))
        result = seat_utilization(ds, as_of="2026-01-31")
    rows = _by_id(result)
    assert (rows["S1"].present_utilization, rows["S1"].flag) == (0.4, "low")
    assert rows["S2"].flag == "over_deployed" and rows["S2"].adopted_users is None
    assert any("active_users_30d" in c for c in result.caveats)


# --- without pandas: the percentiles and medians a warm process works out in Python --------------------------------

SHARES = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from([0.0, 0.1, 1 / 3, 0.5, 1.0, 1.0 + 2**-52, 1.5]),  # ties, and values a hair apart
    st.floats(0, 3, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(SHARES, st.sampled_from(["SMB", "Mid-Market", "(none)"])), max_size=40))
def test_percentiles_in_python_equal_the_pandas_percentile_in_group_value_for_value(pairs):
    values, groups = [v for v, _ in pairs], [g for _, g in pairs]
    pandas = percentile_in_group(pd.Series(values, dtype=float), pd.Series(groups, dtype=object)).tolist()
    assert percentiles_in_groups(values, groups) == [None if v != v else v for v in pandas]


def test_percentiles_in_python_by_hand():
    # group a ranks 1, 2.5, 2.5, 4 of 4 → (rank−1)/3; b and c have one valued member each: no peers
    got = percentiles_in_groups([0.1, 0.5, 0.5, 0.9, 0.3, None, 0.2], ["a", "a", "a", "a", "b", "c", "c"])
    assert got == [0.0, 0.5, 0.5, 1.0, None, None, None]


def test_segment_medians_are_the_pandas_medians_of_the_listed_rows(portfolio):
    result = seat_utilization(portfolio, window_days=30, everyone=True)
    frame = pd.DataFrame([r.model_dump() for r in result.accounts])
    frame["segment"] = frame["segment"].fillna("(none)")
    for field in ("present_utilization", "adopted_utilization"):
        expected = frame.groupby("segment")[field].median()
        got = {seg: meds[field] for seg, meds in result.segment_medians.items()}
        assert got == {s: (None if pd.isna(v) else round(v, 4)) for s, v in expected.items()}


def test_a_warm_seats_process_imports_neither_pandas_nor_numpy(tmp_path):
    """The second process on a workspace reads the kept lifecycle table and ranks in Python."""
    mini = Path(__file__).resolve().parents[2] / "data" / "mini"
    script = (
        "import sys\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from customer_health.tools.data.workspace import AllowedRoots, Workspace\n"
        "from customer_health.tools.usage.seats import seat_utilization\n"
        "with Workspace(Path(sys.argv[1])) as ws:\n"
        "    folder = Path(sys.argv[2])\n"
        "    ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.parent]), today=date(2026, 6, 1)))\n"
        "    result = seat_utilization(ds, as_of='2026-06-01')\n"
        "print(len(result.accounts), sorted(m for m in ('pandas', 'numpy') if m in sys.modules))\n"
    )
    run = [sys.executable, "-c", script, str(tmp_path / "ws"), str(mini)]
    first = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split(" ", 1)
    warm = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert int(first[0]) > 0 and warm[0] == first[0]
    assert warm[1].strip() == "[]"
