"""The patterns planted in the bundled example portfolio are found by the computations.

The generator records which accounts carry each pattern (examples/sample-truth.json). Accounts that churned are left
out: their events stop, so every metric reads them as inactive. Recall is what is checked; the detectors also flag
accounts that genuinely show the pattern without it being planted (e.g. a single-power-user account is also
present-but-not-adopted), so precision against the planted list would understate them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.usage.adoption import feature_adoption
from customer_health.tools.usage.seats import seat_utilization
from customer_health.tools.usage.trends import usage_trends

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
    truth = json.loads((EXAMPLES / "sample-truth.json").read_text())
    churned = {
        r[0] for r in ds.con.execute(f"SELECT account_id FROM {ds.view('accounts')} WHERE churned").fetchall()
    }
    planted = {name: set(ids) - churned for name, ids in truth["patterns"].items()}
    yield ds, planted
    ws.close()


def _recall(found: set[str], planted: set[str]) -> float:
    return len(found & planted) / len(planted)


def test_low_seat_utilization_accounts_are_flagged_low(example):
    ds, planted = example
    low = {r.account_id for r in seat_utilization(ds).accounts if r.flag == "low"}
    assert _recall(low, planted["low_seat_utilization"]) >= 0.9


def test_present_but_not_adopted_accounts_are_found(example):
    ds, planted = example
    found = {r.account_id for r in seat_utilization(ds).accounts if r.present_not_adopted}
    assert _recall(found, planted["present_not_adopted"]) >= 0.9


def test_single_power_user_accounts_are_single_points_of_failure(example):
    ds, planted = example
    found = {r.account_id for r in feature_adoption(ds).accounts if r.single_point_of_failure}
    assert _recall(found, planted["single_power_user"]) >= 0.9


def test_expansion_accounts_are_over_deployed(example):
    ds, planted = example
    found = {r.account_id for r in seat_utilization(ds).accounts if r.flag == "over_deployed"}
    assert _recall(found, planted["expansion"]) >= 0.9


def test_decaying_core_use_behind_steady_logins_shows_as_a_decline(example):
    ds, planted = example
    rows = usage_trends(ds).accounts
    declining = {r.account_id for r in rows if r.decline_flag}
    diverging = {r.account_id for r in rows if r.divergence}
    assert _recall(declining, planted["present_not_adopted"]) >= 0.9
    assert _recall(diverging, planted["present_not_adopted"]) >= 0.5
