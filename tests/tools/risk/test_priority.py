"""One priority per account from its health tier, its risk level and its renewal; the call-list order; filters on
result rows — by hand, then the issue-13 findings on the bundled example."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.risk.priority import call_order, decide_priority, filter_accounts
from customer_health.tools.risk.rules import load_rules
from customer_health.tools.risk.signals import assess, risk_signals

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
AS_OF_ROW = date(2026, 6, 30)
FALLING = {"id": "usage_decline_critical", "category": "usage", "evidence": "core actions -60%"}


@pytest.mark.parametrize(
    ("tier", "risk", "days", "priority"),
    [
        ("healthy", "critical", None, "watch"),  # a healthy score with collapsing usage: look, don't escalate
        ("thriving", "high", 300, "watch"),
        ("healthy", "critical", 30, "high"),  # …but renewing within 90 days: raised one level
        ("healthy", "medium", 30, "ok"),  # medium risk is not raised by a renewal
        ("neutral", "critical", 200, "high"),
        ("neutral", "critical", 90, "urgent"),  # the 90th day still counts
        ("neutral", "critical", 91, "high"),
        ("neutral", "critical", -5, "high"),  # an overdue renewal is not "soon"
        ("neutral", "none", 10, "ok"),
        ("at_risk", "critical", 300, "urgent"),
        ("at_risk", "high", 300, "high"),
        ("at_risk", "none", 300, "watch"),
        ("critical", "none", None, "high"),
        ("critical", "high", None, "urgent"),
    ],
)
def test_priority_reconciles_tier_risk_and_renewal(tier, risk, days, priority):
    got, reasons = decide_priority(
        tier=tier, health=60.0, risk_level=risk, signals=[FALLING], days_to_renewal=days
    )
    assert got == priority
    assert (f"renews in {days} days" in " ".join(reasons)) == (
        got != decide_priority(tier=tier, health=60, risk_level=risk, signals=[], days_to_renewal=None)[0]
    )


def test_a_healthy_account_with_collapsing_usage_is_watch_usage_falling():
    row = {"account_id": "X", "health_score": 82.0, "tier": "healthy", "arr": 50000.0}
    row |= {"core_trend": -0.6, "core_actions_30d": 40, "core_actions_prior_30d": 100}
    available = {"health_score", "core_trend", "core_actions_30d", "core_actions_prior_30d"}
    out = assess(row, load_rules(), available, AS_OF_ROW)
    assert out["risk_level"] == "critical"
    assert out["priority"] == "watch"
    assert out["priority_reasons"][0].startswith("usage falling: ")
    assert out["escalation"]["stage"] == "engage"
    assert out["next_action"]["playbook"] == "usage_decline"
    assert (out["next_action"]["owner"], out["next_action"]["sla"]) == ("CSM", "48 hours")


def test_call_order_is_priority_then_arr_then_the_soonest_renewal():
    rows = [
        {"account_id": "big-watch", "priority": "watch", "arr": 900000, "days_to_renewal": 10},
        {"account_id": "no-date", "priority": "high", "arr": 50000, "days_to_renewal": None},
        {"account_id": "later", "priority": "high", "arr": 50000, "days_to_renewal": 200},
        {"account_id": "sooner", "priority": "high", "arr": 50000, "days_to_renewal": 19},
        {"account_id": "small-urgent", "priority": "urgent", "arr": 1000, "days_to_renewal": 300},
        {"account_id": "bigger", "priority": "high", "arr": 60000, "days_to_renewal": 300},
    ]
    assert [r["account_id"] for r in sorted(rows, key=call_order)] == [
        "small-urgent",
        "bigger",
        "sooner",
        "later",
        "no-date",
        "big-watch",
    ]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
    yield risk_signals(ds)
    ws.close()


def test_on_the_example_no_thriving_or_healthy_account_is_urgent_and_urgent_is_a_short_list(example):
    accounts = example.accounts
    assert not [
        a.account_id for a in accounts if a.tier in ("thriving", "healthy") and a.priority == "urgent"
    ]
    urgent = [a for a in accounts if a.priority == "urgent"]
    # the rule: urgent needs a low score with critical signals, or high+ risk and a renewal within 90 days
    assert all(a.tier in ("at_risk", "critical") or 0 <= a.days_to_renewal <= 90 for a in urgent)
    assert 0 < len(urgent) <= 0.15 * len(accounts) < example.risk_counts["critical"]


def test_on_the_example_escalation_and_next_action_never_disagree_on_owner_or_deadline(example):
    acted = [a for a in example.accounts if a.next_action is not None]
    assert len(acted) > 100
    assert [
        a.account_id
        for a in acted
        if (a.next_action.owner, a.next_action.sla)
        != (
            a.escalation.owner,
            a.escalation.sla,
        )
    ] == []
    save_team = [a for a in acted if a.next_action.playbook == "immediate_escalation"]
    assert all(a.priority == "urgent" for a in save_team)


def test_on_the_example_the_competitor_account_renewing_in_19_days_is_among_the_first_five(example):
    first = example.accounts[:5]
    hit = next(a for a in example.accounts if a.account_id == "ACC-0209")
    assert (hit.days_to_renewal, hit.csm_owner) == (19, "Marcus Lee")
    assert any(s.id == "competitor_mention" for s in hit.signals)
    assert hit in first


def test_filters_keep_the_matching_rows_and_say_so_and_an_unknown_owner_names_the_owners(example):
    kept = filter_accounts(example, owner="maya chen", priority="urgent")
    mine = [a.account_id for a in example.accounts if a.csm_owner == "Maya Chen" and a.priority == "urgent"]
    assert [a.account_id for a in kept.accounts] == mine and mine
    assert kept.total_rows == len(mine)
    assert f"{len(mine)} of {len(example.accounts)}" in kept.summary and "owner 'maya chen'" in kept.summary
    assert filter_accounts(example) is example
    with pytest.raises(InputError, match="Maya Chen"):
        filter_accounts(example, owner="Maya Chan")
