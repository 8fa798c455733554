"""Peer percentiles within segment and use case (fixture in conftest)."""

from __future__ import annotations

from customer_health.tools.health.peers import peer_comparison


def test_percentiles_and_medians_within_segment(portfolio):
    result = peer_comparison(portfolio)
    rows = {r.account_id: r for r in result.accounts}
    # SMB: P1 present 0.75 vs P2 0.30; P3 is alone in Enterprise
    assert rows["P1"].segment_percentile["present_utilization"] == 1.0
    assert rows["P2"].segment_percentile["present_utilization"] == 0.0
    assert rows["P3"].segment_percentile["present_utilization"] is None
    assert result.segment_sizes == {"Enterprise": 1, "SMB": 2}
    assert result.segment_medians["SMB"]["adopted_utilization"] == 0.25  # median of 0.5 and 0.0


def test_core_actions_per_seat_is_computed_from_the_last_30_days(portfolio):
    rows = {r.account_id: r for r in peer_comparison(portfolio).accounts}
    assert rows["P1"].metrics["core_actions_per_seat"] == 2.0  # 8 core actions on 4 seats
    assert rows["P3"].metrics["core_actions_per_seat"] == 1.5  # 3 on 2 seats


def test_missing_use_case_is_said(portfolio):
    assert any("use_case" in c for c in peer_comparison(portfolio).caveats)
