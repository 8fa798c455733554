"""Persona weekly-active rates against targets (fixture in conftest: p1c, p2c, p3c are operators)."""

from __future__ import annotations

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.usage.personas import persona_activity

from tests.tools.conftest import write_portfolio

PERSONAS = """core_features: [import_data, build_report, share_report]
passive_events: [login]
personas:
  analyst: {roles: [analyst], weekly_active_target: 0.5}
  operator: {roles: [operator], weekly_active_target: 0.25}
  executive: {roles: [executive], weekly_active_target: 0.2}
"""


@pytest.fixture
def with_personas(tmp_path):
    folder = write_portfolio(tmp_path / "p")
    (folder / "customer-health.yaml").write_text(PERSONAS)
    ws = Workspace(tmp_path / "ws")
    yield ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()])))
    ws.close()


def _persona(result, account, name):
    row = next(r for r in result.accounts if r.account_id == account)
    return next(p for p in row.personas if p.persona == name), row


def test_weekly_active_rate_is_the_mean_share_over_four_weeks(with_personas):
    result = persona_activity(with_personas)
    analyst, row = _persona(result, "P1", "analyst")
    # analysts p1a, p1b, p1d: active weeks Mar 4–10 (p1a) and Mar 18–24 (p1b) → 2 of 3×4 user-weeks
    assert (analyst.users, analyst.weekly_active_rate) == (3, 0.1667)
    assert analyst.meets_target is False
    operator, _ = _persona(result, "P1", "operator")
    assert (operator.weekly_active_rate, operator.meets_target, operator.active_last_week) == (0.25, True, 1)
    assert row.below_target == ["analyst"]


def test_a_persona_with_no_users_has_no_rate_and_is_not_below_target(with_personas):
    result = persona_activity(with_personas)
    executive, row = _persona(result, "P2", "executive")
    assert (executive.users, executive.weekly_active_rate, executive.meets_target) == (0, None, None)
    operator, _ = _persona(result, "P2", "operator")
    assert operator.weekly_active_rate == 0.25  # p2c active in the week of Mar 11–17 only
    assert "executive" not in row.below_target


def test_without_configured_personas_each_role_is_one_and_that_is_said(portfolio):
    result = persona_activity(portfolio)
    assert set(result.personas) == {"analyst", "operator"}
    assert any("No personas configured" in c for c in result.caveats)


def test_personas_need_users_with_roles(tmp_path):
    (tmp_path / "events.csv").write_text("timestamp,user_id,event,account_id\n2026-01-01,u1,login,A1\n")
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([tmp_path / "events.csv"], roots=AllowedRoots([tmp_path.resolve()])))
        with pytest.raises(InputError, match="users table with a role"):
            persona_activity(ds)
