"""A small hand-built portfolio for the usage, adoption and trend tests (every expected value worked by hand).

as_of is 2026-03-31 (the latest event). Last 30 days = Mar 2 … Mar 31; the prior 30 = Jan 31 … Mar 1.
- P1 (SMB, 4 seats): p1a login Mar 2 + build_report ×6 Mar 10; p1b login Mar 20 + build_report ×2 Mar 21;
  p1c login Mar 31 23:59:59; p1d login Mar 1 23:59 (prior window only). Prior: p1a build_report ×16 Feb 10,
  p1b login Feb 11.
- P2 (SMB, 10 seats): p2a, p2b, p2c log in on Mar 15 and never use a core feature.
- P3 (Enterprise, 2 seats): p3a, p3b, p3c each import_data on Mar 5.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from customer_health.tools.data.workspace import AllowedRoots, Workspace

EVENTS = (
    [("2026-03-02T09:00:00", "p1a", "login")]
    + [("2026-03-10T10:00:00", "p1a", "build_report")] * 6
    + [("2026-03-20T09:00:00", "p1b", "login")]
    + [("2026-03-21T09:00:00", "p1b", "build_report")] * 2
    + [("2026-03-31T23:59:59", "p1c", "login"), ("2026-03-01T23:59:00", "p1d", "login")]
    + [("2026-02-10T10:00:00", "p1a", "build_report")] * 16
    + [("2026-02-11T10:00:00", "p1b", "login")]
    + [("2026-03-15T12:00:00", u, "login") for u in ("p2a", "p2b", "p2c")]
    + [("2026-03-05T08:00:00", u, "import_data") for u in ("p3a", "p3b", "p3c")]
)


def write_portfolio(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accounts.csv").write_text(
        "account_id,name,segment,seats_purchased\nP1,Pine,SMB,4\nP2,Pearl,SMB,10\nP3,Peak,Enterprise,2\n"
    )
    users = ["user_id,account_id,role"] + [
        f"{u},{u[:2].upper()},{'operator' if u.endswith('c') else 'analyst'}"
        for u in ("p1a", "p1b", "p1c", "p1d", "p2a", "p2b", "p2c", "p3a", "p3b", "p3c")
    ]
    (folder / "users.csv").write_text("\n".join(users) + "\n")
    (folder / "events.csv").write_text(
        "timestamp,user_id,event\n" + "".join(f"{t},{u},{e}\n" for t, u, e in EVENTS)
    )
    (folder / "customer-health.yaml").write_text(
        "core_features: [import_data, build_report, share_report]\npassive_events: [login]\n"
    )
    return folder


@pytest.fixture
def portfolio(tmp_path):
    folder = write_portfolio(tmp_path / "portfolio")
    ws = Workspace(tmp_path / "ws")
    result = ws.load([folder], roots=AllowedRoots([tmp_path.resolve()]))
    yield ws.dataset(result)
    ws.close()
