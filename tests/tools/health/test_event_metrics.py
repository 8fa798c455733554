"""The score's one-scan event inputs equal what the analytics tools report, number for number.

`event_metrics` exists for speed (one query instead of a tool each); these tests hold it to the tools' answers on
the hand-built portfolio (values worked by hand in conftest), on the bundled example at two dates, and on random
small event sets. Last activity, activation and champion activity are checked against one plain query each.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from customer_health.tools.base.sql import window
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.event_metrics import event_metrics
from customer_health.tools.usage.adoption import feature_adoption
from customer_health.tools.usage.seats import seat_utilization
from customer_health.tools.usage.trends import usage_trends
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _assert_matches_the_tools(ds, day: date) -> int:
    """Every account's event inputs equal the seat, trend and adoption rows; returns the accounts checked."""
    sem = resolve_semantics(ds)
    frame = event_metrics(ds, day, sem)
    every = {"as_of": day, "semantics": sem, "everyone": True}  # event_metrics covers every account
    seats = {r.account_id: r for r in seat_utilization(ds, **every).accounts}
    trends = {r.account_id: r for r in usage_trends(ds, weeks=4, **every).accounts}
    adoption = {r.account_id: r for r in feature_adoption(ds, **every).accounts}
    assert set(frame.index) == set(seats)
    for acct, s in seats.items():
        row = frame.loc[acct]
        t, a = trends[acct], adoption[acct]
        want = {
            "present_users": s.present_users,
            "adopted_users": s.adopted_users,
            "present_utilization": s.present_utilization,
            "adopted_utilization": s.adopted_utilization,
            "core_actions_30d": t.last_30["core_actions"],
            "core_trend": t.mom["core_actions"],
            "present_trend": t.mom["present_users"],
            "breadth": a.breadth,
            "top1_share": a.top1_share,
        }
        got = {k: _none(float(row[k])) for k in want}
        assert got == {k: _none(None if v is None else float(v)) for k, v in want.items()}, acct
        # depth: the mean share of active users over every core feature (an unused one counts 0)
        shares = [f.share_of_active for f in a.features if f.share_of_active is not None]
        depth = sum(shares) / len(shares) if a.active_users and shares else 0.0
        assert row["core_depth"] == pytest.approx(depth, abs=1e-12), acct
    return len(seats)


def test_the_hand_built_portfolio_by_hand(portfolio):
    day = date(2026, 3, 31)
    frame = event_metrics(portfolio, day, resolve_semantics(portfolio))
    p1 = frame.loc["P1"]
    # P1: p1a, p1b, p1c present in the last 30 days, p1a and p1b used build_report (6 + 2 actions) of 4 seats;
    # the 30 before had 16 core actions (p1a), so core use fell 50%, presence (3 vs 3) is flat
    assert (p1.present_users, p1.adopted_users, p1.core_actions_30d) == (3, 2, 8)
    assert (p1.present_utilization, p1.adopted_utilization) == (0.75, 0.5)
    assert (p1.core_trend, p1.present_trend) == (-0.5, 0.0)
    # one of three core features used; build_report by 2 of 3 active users → depth (0.6667 + 0 + 0) / 3
    assert p1.breadth == 0.3333 and p1.core_depth == pytest.approx(0.6667 / 3)
    assert p1.top1_share == 0.75  # p1a: 6 of 8 core actions
    assert p1.last_activity.to_pydatetime() == __import__("datetime").datetime(2026, 3, 31, 23, 59, 59)
    p2 = frame.loc["P2"]
    assert (p2.adopted_users, p2.core_actions_30d, p2.breadth, p2.core_depth) == (0, 0, 0.0, 0.0)
    assert math.isnan(p2.top1_share) and math.isnan(p2.core_trend)  # no core work, nothing to compare
    assert frame.loc["P3"].present_utilization == 1.5  # 3 users on 2 seats
    assert _assert_matches_the_tools(portfolio, day) == 3


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    yield ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
    ws.close()


@pytest.mark.parametrize("days_back", [0, 30, 45])
def test_the_example_matches_the_tools_at_several_dates(example, days_back):
    day = example.default_as_of() - timedelta(days=days_back)
    assert _assert_matches_the_tools(example, day) > 200


def test_last_activity_activation_and_champions_match_plain_queries(example):
    ds, sem = example, resolve_semantics(example)
    day = ds.default_as_of() - timedelta(days=30)
    frame = event_metrics(ds, day, sem)
    end, ev = window(day, 1).end, ds.view("events")
    last = dict(
        ds.con.execute(
            f"SELECT account_id, max(timestamp) FROM {ev} WHERE timestamp < TIMESTAMP '{end}' "
            "AND account_id IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    assert {a: v.to_pydatetime() for a, v in frame["last_activity"].dropna().items()} == last
    done = {
        r[0]
        for r in ds.con.execute(
            f"SELECT DISTINCT account_id FROM {ev} WHERE event = ? AND timestamp < TIMESTAMP '{end}'",
            [sem.activation],
        ).fetchall()
    }
    assert {a for a, v in frame["activated"].items() if v == 1.0} == done
    assert set(frame["activated"].unique()) <= {0.0, 1.0}
    active = {
        r[0]
        for r in ds.con.execute(f"SELECT DISTINCT user_id FROM {ev} WHERE {window(day, 30).sql()}").fetchall()
    }
    champions: dict[str, int] = {}
    for acct, user, gone in ds.con.execute(
        f"SELECT account_id, user_id, deactivated_at < TIMESTAMP '{end}' FROM {ds.view('users')} "
        "WHERE is_champion"
    ).fetchall():
        champions[acct] = max(champions.get(acct, 0), 0 if gone else int(user in active))
    got = {a: int(v) for a, v in frame["champion_active"].dropna().items()}
    assert got == champions and 0 < sum(got.values()) < len(got)


_DAYS = st.integers(min_value=0, max_value=75)
_EVENT = st.tuples(
    _DAYS, st.sampled_from(["u1", "u2", "u3", "u4", "u5"]), st.sampled_from(["login", "a", "b"])
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_EVENT, min_size=1, max_size=40))
def test_random_small_event_sets_match_the_tools(tmp_path_factory, events):
    folder = tmp_path_factory.mktemp("rand")
    (folder / "accounts.csv").write_text("account_id,seats_purchased\nA,3\nB,0\nC,5\n")
    (folder / "users.csv").write_text(
        "user_id,account_id\n" + "".join(f"u{i},{'AB'[i % 2]}\n" for i in range(1, 6))
    )
    start = date(2026, 1, 1)
    (folder / "events.csv").write_text(
        "timestamp,user_id,event\n"
        + "".join(f"{start + timedelta(days=d)}T12:00:00,{u},{e}\n" for d, u, e in events)
        + f"{start + timedelta(days=75)}T12:00:00,u1,login\n"
    )
    (folder / "customer-health.yaml").write_text("core_features: [a, b]\npassive_events: [login]\n")
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    try:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.resolve()])))
        assert _assert_matches_the_tools(ds, start + timedelta(days=75)) == 3
    finally:
        ws.close()


def test_dates_30_days_apart_share_one_scan_and_give_what_each_date_gives_alone(example):
    import pandas as pd
    from customer_health.tools.health.event_metrics import _compute, event_metrics_at

    sem = resolve_semantics(example)
    day = example.default_as_of()
    dates = [day, day - timedelta(days=30), day - timedelta(days=60), day - timedelta(days=45)]
    together = _compute(example, dates, sem)  # the 45-day one is not on the 30-day grid: its own query
    for d in dates:
        pd.testing.assert_frame_equal(together[d].sort_index(), _compute(example, [d], sem)[d].sort_index())
    kept = event_metrics_at(example, dates[:2], sem)
    assert kept[day] is event_metrics_at(example, [day], sem)[day]  # computed once per dataset and date
