"""The vendor exports (Amplitude, a users list, Zendesk, a Salesforce workbook) load and score with no mapping.

The set is tests/data/vendors plus the Salesforce workbook that tests/conftest.py writes; the expected figures are
read off those files by hand (see the comments).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from customer_health.server.cli.main import main

DATA = Path(__file__).resolve().parents[2] / "data"
ACME, BETA, GAMMA = "0015g00000AcmeCoAA", "0015g00000BetaIncA", "0015g00000GammaLtd"


@pytest.fixture
def vendors(tmp_path, monkeypatch, salesforce_accounts_xlsx):
    """A copy of the vendor set and the workbook in a temporary working directory, with its own workspace."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "ws"))
    shutil.copytree(DATA / "vendors", tmp_path / "vendors")
    shutil.copy(salesforce_accounts_xlsx, tmp_path / "vendors" / "salesforce_accounts.xlsx")
    return tmp_path / "vendors"


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_vendor_file_is_recognised_as_its_table_without_a_mapping(vendors, capsys):
    out = run_json(capsys, "load", "vendors")
    assert {t["source"]: t["kind"] for t in out["tables"]} == {
        "amplitude_events.csv": "events",
        "users.csv": "users",
        "zendesk_tickets.csv": "tickets",
        "salesforce_accounts.xlsx[Accounts]": "accounts",
    }
    assert {t["source"]: t["rows"] for t in out["tables"]} == {
        "amplitude_events.csv": 10,
        "users.csv": 4,
        "zendesk_tickets.csv": 6,
        "salesforce_accounts.xlsx[Accounts]": 3,
    }
    tickets = next(t for t in out["tables"] if t["kind"] == "tickets")
    assert tickets["columns"]["account_id"] == "Organization"
    assert tickets["columns"]["csat"] == "Satisfaction Score"
    assert out["quality"]["skipped"] == []  # the README is not a data file


def test_the_vendor_set_has_no_orphans_and_no_unreadable_values(vendors, capsys):
    quality = run_json(capsys, "load", "vendors")["quality"]
    # Organization holds the Salesforce account names: matched, and said so as information, not a warning
    assert [(i["code"], i["severity"], i["table"], i["count"]) for i in quality["issues"]] == [
        ("account_by_name", "info", "tickets", 6)
    ]


def test_the_users_tie_the_amplitude_events_to_the_salesforce_accounts(vendors, capsys):
    seats = run_json(capsys, "seats", "vendors")
    assert seats["as_of"] == "2024-03-25"  # the last Amplitude event
    by_account = {a["account_id"]: (a["present_users"], a["adopted_users"]) for a in seats["accounts"]}
    # 30 days to 2024-03-25: ana and raj (Acme) build and share reports; mo (Beta) imports data; li (Gamma) only
    # starts a session, which is not a core feature
    assert by_account == {ACME: (2, 2), BETA: (1, 1), GAMMA: (1, 0)}


def test_a_score_on_the_vendor_set_runs_and_reads_zendesk_satisfaction(vendors, capsys):
    scores = run_json(capsys, "score", "vendors")
    assert sorted(a["account_id"] for a in scores["accounts"]) == [ACME, BETA, GAMMA]
    assert all(0 <= a["health_score"] <= 100 for a in scores["accounts"])
    csat = {
        a["account_id"]: next(d["value"] for d in a["drivers"] if d["metric"] == "csat_90d")
        for a in scores["accounts"]
        if any(d["metric"] == "csat_90d" for d in a["drivers"])
    }
    # Acme rated Good twice (and left one survey Offered): 100%; Gamma rated Bad once: 0%; Beta never answered
    assert csat == {ACME: 1.0, GAMMA: 0.0}
