"""The health-level commands on the example portfolio: score, signals, portfolio, account, validate, funnel, demo.

The numbers themselves are checked by hand in tests/tools; here the contract is: the JSON keys scripts rely on,
the same numbers as the library, and bad input as exit code 2 with a message that says what to do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from customer_health.server.cli.main import main
from customer_health.tools.data.workspace import AllowedRoots, Workspace, example_dir
from customer_health.tools.health.score import score_accounts
from customer_health.tools.usage.funnel import DEFAULT_LOOKBACK_DAYS, compute_funnel

TIERS = {"thriving", "healthy", "neutral", "at_risk", "critical"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A copy of the example portfolio under a temporary working directory with its own workspace."""
    root = tmp_path_factory.mktemp("cli-health")
    shutil.copytree(example_dir(), root / "sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("CUSTOMER_HEALTH_HOME", str(root / "ws"))
        yield root


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_error(capsys, *args: str) -> str:
    assert main(list(args)) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    return captured.err


def test_score_json_has_the_contract_keys_every_account_worst_first(sample, capsys):
    out = run_json(capsys, "score", "sample")
    assert {"as_of", "profile", "accounts"} <= set(out)
    accounts = out["accounts"]
    assert len(accounts) == 206  # the customers on the as-of date: 34 of the 240 accounts were lost by then
    assert len(run_json(capsys, "score", "sample", "--all-accounts")["accounts"]) == 240
    keys = {
        "account_id",
        "name",
        "health_score",
        "tier",
        "trend",
        "components",
        "drivers",
        "signals",
        "next_action",
    }
    assert all(keys <= set(a) for a in accounts)
    assert {a["tier"] for a in accounts} <= TIERS
    scores = [a["health_score"] for a in accounts]
    assert scores == sorted(scores)


def test_score_json_carries_each_accounts_signals_and_next_action_from_the_signals_command(sample, capsys):
    scored = {a["account_id"]: a for a in run_json(capsys, "score", "sample")["accounts"]}
    risk = run_json(capsys, "signals", "sample")
    assert risk["accounts"], "the example plants risks, so some account must have signals"
    for r in risk["accounts"]:
        s = scored[r["account_id"]]
        assert [x["id"] for x in s["signals"]] == [x["id"] for x in r["signals"]]
        assert (s["next_action"] or {}).get("action") == (r["next_action"] or {}).get("action")


def test_score_numbers_are_the_librarys(sample, capsys):
    out = run_json(capsys, "score", "sample")
    ws = Workspace(sample / "ws-direct")
    try:
        ds = ws.dataset(ws.load([sample / "sample"], roots=AllowedRoots([sample])))
        direct = {a.account_id: a.health_score for a in score_accounts(ds).accounts}
    finally:
        ws.close()
    assert {a["account_id"]: a["health_score"] for a in out["accounts"]} == direct


def test_portfolio_json_has_kpis_and_health_by_arr(sample, capsys):
    out = run_json(capsys, "portfolio", "sample")
    assert {"revenue_kpis", "health_distribution", "at_risk_arr", "renewals", "top_red_accounts"} <= set(out)
    assert {"grr", "nrr", "logo_retention", "expansion_rate"} <= set(out["revenue_kpis"])
    tiers = out["health_distribution"]
    assert [t["tier"] for t in tiers] == ["thriving", "healthy", "neutral", "at_risk", "critical"]
    assert sum(t["accounts"] for t in tiers) == out["customers"]
    assert sum(t["arr"] for t in tiers) == pytest.approx(out["total_arr"], abs=1)


def test_account_card_for_one_id_and_a_near_miss_names_the_closest_ids(sample, capsys):
    card = run_json(capsys, "account", "sample", "--id", "ACC-0073")
    assert card["account_id"] == "ACC-0073" and card["score"]["account_id"] == "ACC-0073"
    assert card["one_sentence"] and card["risk"]["risk_level"]
    err = run_error(capsys, "account", "sample", "--id", "ACC-073")
    assert "ACC-073" in err and "ACC-0073" in err


def test_validate_json_has_the_contract_keys_and_beats_logins_only(sample, capsys):
    out = run_json(capsys, "validate", "sample")
    keys = [
        "auc",
        "top_decile_lift",
        "precision",
        "recall",
        "surprise_churn_rate",
        "false_alarm_rate",
        "calibration",
        "recommended_threshold",
        "suggested_weights",
        "n_accounts",
        "n_churned",
    ]
    assert set(keys) <= set(out)
    assert out["auc"] > 0.7 and out["auc"] > out["baseline"]["auc"]
    assert sum(out["suggested_weights"].values()) == pytest.approx(100, abs=0.01)
    assert out["n_churned"] < out["n_accounts"]


def test_validate_with_an_outcomes_file_gives_the_same_backtest_as_outcomes_in_the_data(sample, capsys):
    inside = run_json(capsys, "validate", "sample")
    (sample / "no-outcomes").mkdir(exist_ok=True)
    for f in (sample / "sample").iterdir():
        if f.name != "outcomes.csv":
            shutil.copy(f, sample / "no-outcomes" / f.name)
    given = run_json(capsys, "validate", "no-outcomes", "--outcomes", "sample/outcomes.csv")
    for key in ("auc", "n_accounts", "n_churned", "recommended_threshold", "top_decile_lift"):
        assert given[key] == inside[key]


def test_validate_with_a_file_that_is_not_outcomes_is_exit_2(sample, capsys):
    err = run_error(capsys, "validate", "sample", "--outcomes", "sample/nps.csv")
    assert "nps.csv" in err and "outcome" in err


def test_funnel_json_contract_matches_the_library(sample, capsys):
    out = run_json(
        capsys, "funnel", "sample", "--steps", "import_data,build_report,share_report", "--by", "role"
    )
    assert {"steps", "broken_step", "evidence", "breakdown"} <= set(out)
    step_keys = {
        "step",
        "users",
        "conversion_from_start",
        "conversion_from_previous",
        "median_time_to_step_hours",
    }
    assert all(step_keys <= set(s) for s in out["steps"])
    ws = Workspace(sample / "ws-direct")
    try:
        ds = ws.dataset(ws.load([sample / "sample"], roots=AllowedRoots([sample])))
        steps = ["import_data", "build_report", "share_report"]
        direct = compute_funnel(ds, steps, by="role", lookback_days=DEFAULT_LOOKBACK_DAYS)
    finally:
        ws.close()
    assert out["filters"]["lookback_days"] == DEFAULT_LOOKBACK_DAYS  # the faces' default period
    assert [s["users"] for s in out["steps"]] == [s.users for s in direct.steps]
    assert out["broken_step"] == direct.broken_step
    assert set(out["breakdown"]) == set(direct.breakdown)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--steps", "import_data,purchase"], "no event is named"),  # no such event nor a close one
        (["--steps", "import_data"], "at least 2"),  # a funnel needs at least two steps
        (["--steps", "import_data,build_report", "--account", "ACC-9999"], "ACC-9999"),
        (["--steps", "import_data,build_report", "--window-days", "0"], "window"),
    ],
)
def test_funnel_bad_input_is_exit_2_with_the_fix(sample, capsys, args, expected):
    err = run_error(capsys, "funnel", "sample", *args)
    assert expected in err.lower() or expected in err


def test_funnel_on_a_snapshot_without_events_is_exit_2(sample, capsys):
    shutil.copytree(Path(example_dir()).parent / "snapshot", sample / "snapshot", dirs_exist_ok=True)
    err = run_error(capsys, "funnel", "snapshot", "--steps", "a,b")
    assert "events" in err


def test_demo_shows_the_portfolio_five_accounts_with_actions_and_writes_its_files(sample, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Portfolio" in out and "Call these five first" in out
    assert out.count("     next: ") == 5
    written = [
        Path(line.strip()) for line in out.split("Files written:")[1].split("\n\n")[0].splitlines() if line
    ]
    assert written and all(p.is_file() and p.stat().st_size > 0 for p in written)
    scores = json.loads(next(p for p in written if p.name == "scores.json").read_text())
    assert len(scores["accounts"]) == 206


def test_events_that_cannot_be_tied_to_accounts_count_no_one_and_say_so(tmp_path, monkeypatch, capsys):
    mini = Path(__file__).resolve().parents[2] / "data" / "mini"
    (tmp_path / "data").mkdir()
    for name in ("accounts.csv", "events.csv"):  # events without an account column, and no users table
        shutil.copy(mini / name, tmp_path / "data" / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "ws"))
    seats = run_json(capsys, "seats", "data")
    assert {a["present_users"] for a in seats["accounts"]} == {0}
    assert any("cannot be tied to accounts" in c for c in seats["caveats"])
    scores = run_json(capsys, "score", "data")
    assert any("usage is left out" in c for c in scores["caveats"])
    assert all(a["components"].get("usage") is None for a in scores["accounts"])


def test_a_later_snapshot_upload_is_compared_with_the_scores_kept_from_the_earlier_one(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "ws"))
    text = (Path(example_dir()).parent / "snapshot" / "accounts_snapshot.csv").read_text()
    (tmp_path / "july").mkdir()
    (tmp_path / "july" / "accounts.csv").write_text(text)
    (tmp_path / "august").mkdir()  # Beta recovers; the others are unchanged
    (tmp_path / "august" / "accounts.csv").write_text(
        text.replace("Beta-Inc,8500,3,2,4,-1,18", "Beta-Inc,8500,40,7,0,9,1")
    )
    first = {
        a["account_id"]: a for a in run_json(capsys, "score", "july", "--as-of", "2026-07-31")["accounts"]
    }
    assert all(a["previous_score"] is None and a["trend"] is None for a in first.values())  # nothing earlier
    later = {
        a["account_id"]: a for a in run_json(capsys, "score", "august", "--as-of", "2026-08-31")["accounts"]
    }
    for acct, a in later.items():
        assert a["previous_score"] == first[acct]["health_score"], acct
    assert later["Beta-Inc"]["health_score"] > first["Beta-Inc"]["health_score"] + 3
    assert later["Beta-Inc"]["trend"] == "up"
    assert {later[a]["trend"] for a in ("ACME-Corp", "Gamma-Ltd", "Delta-Co")} == {"flat"}


def test_signal_and_score_rows_carry_renewal_owner_and_priority_in_csv_and_json(sample, capsys):
    signals = run_json(capsys, "signals", "sample")
    first = signals["accounts"][0]
    assert {"renewal_date", "days_to_renewal", "arr", "csm_owner", "segment", "status", "priority"} <= set(
        first
    )
    assert first["priority"] == "urgent" and first["priority_reasons"]
    assert main(["signals", "sample", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert {"renewal_date", "days_to_renewal", "csm_owner", "priority", "status"} <= set(header)
    assert main(["score", "sample", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert {"renewal_date", "days_to_renewal", "csm_owner", "segment", "status", "arr"} <= set(header)


def test_score_and_signals_filter_by_owner_segment_and_priority(sample, capsys):
    every = run_json(capsys, "signals", "sample")["accounts"]
    want = [
        a["account_id"]
        for a in every
        if a["csm_owner"] == "Maya Chen" and a["segment"] == "Enterprise" and a["priority"] in ("urgent",)
    ]
    got = run_json(
        capsys, "signals", "sample", "--owner", "Maya Chen", "--segment", "enterprise", "--priority", "urgent"
    )
    assert [a["account_id"] for a in got["accounts"]] == want and want
    assert "Filtered by owner 'Maya Chen', segment 'enterprise', priority urgent" in got["summary"]
    scores = run_json(capsys, "score", "sample", "--priority", "urgent")
    assert {a["account_id"] for a in scores["accounts"]} == {
        a["account_id"] for a in every if a["priority"] == "urgent"
    }
    assert "Valid options" in run_error(capsys, "signals", "sample", "--owner", "Nobody Here")


def test_the_demo_calls_first_by_priority_then_arr_then_renewal(sample, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    listed = out.split("Call these five first")[1].split("Files written:")[0]
    assert listed.count(" — urgent: ") == 5
    assert "Cobalt Power (ACC-0209)" in listed and "renews in 19 days" in listed
