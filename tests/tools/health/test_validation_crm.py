"""The backtest from what CRMs hold: a churned flag beside a renewal date, or a churned flag alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.score import score_accounts
from customer_health.tools.health.validation import validate_health_model
from sklearn.metrics import roc_auc_score

from tests.tools.health.test_validation import FADING, HEALTHY, write_backtest

END = date(2025, 8, 31)  # the last event of write_backtest's data
# Account ID, Churned, Renewal Date: the five losses are the four fading accounts and COLLAPSE (a surprise);
# H6 renews after the data ends; T1 renewed too early to score; Z1 churned with no date at all.
CRM = (
    [(a, "No", "2025-08-15") for a in HEALTHY[:4]]
    + [("H5", "No", "2025-07-15"), ("H6", "No", "2026-02-01")]
    + [(a, "Yes", "2025-08-20") for a in FADING]
    + [("COLLAPSE", "Yes", "2025-08-29"), ("T1", "No", "2025-04-15"), ("Z1", "Yes", "")]
)


def _crm_export(folder: Path, *, renewal_dates: bool = True, crm=CRM) -> Path:
    """write_backtest's events and users, with a CRM accounts export and no outcomes table."""
    write_backtest(folder, outcomes=False)
    head = "Account ID,Segment,Seats Purchased,Contract Start,Churned" + (
        ",Renewal Date" if renewal_dates else ""
    )
    rows = [f"{a},SMB,3,2024-06-01,{flag}" + (f",{when}" if renewal_dates else "") for a, flag, when in crm]
    (folder / "accounts.csv").write_text(head + ",ARR\n" + "".join(f"{r},12000\n" for r in rows))
    return folder


def _validate(tmp_path: Path, folder: Path, **kwargs):
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()])))
        result = validate_health_model(ds, **kwargs)
        at_cutoff = score_accounts(ds, as_of=result.as_of_dates[0], history=False) if result.cutoff else None
    return result, at_cutoff


def _sklearn_auc(result) -> float:
    lost = [a.lost for a in result.accounts]
    return roc_auc_score(lost, [-a.health_score for a in result.accounts])  # a low score predicts loss


def test_a_churned_flag_beside_a_renewal_date_is_an_outcome_dated_at_the_renewal(tmp_path):
    result, _ = _validate(tmp_path, _crm_export(tmp_path / "crm"))
    by_id = {a.account_id: a for a in result.accounts}
    # every account whose renewal date has passed is used, except T1 (Apr 15 − 90 days is before the events)
    passed = {a for a, _, when in CRM if when and date.fromisoformat(when) <= END} - {"T1"}
    assert set(by_id) == passed and not result.truncated
    # hand count: FADING and COLLAPSE flagged Yes are lost; H1–H5 renewed
    assert (result.n_accounts, result.n_churned) == (10, 5)
    assert {a for a, r in by_id.items() if r.lost} == {*FADING, "COLLAPSE"}
    assert {by_id[a].outcome for a in FADING} == {"churned"}
    assert (by_id["L1"].outcome_date, by_id["H5"].outcome_date) == (date(2025, 8, 20), date(2025, 7, 15))
    # dated at the renewal: Aug 20 − 90 → Apr 30, Jul 15 − 90 → Mar 31, Aug 29 − 90 → May 31
    assert (by_id["L1"].as_of, by_id["H5"].as_of, by_id["COLLAPSE"].as_of) == (
        date(2025, 4, 30),
        date(2025, 3, 31),
        date(2025, 5, 31),
    )
    skipped = {s.reason: s.examples for s in result.skipped}
    assert skipped.pop("renewal not reached") == ["H6"]
    assert skipped.pop("churned with no churn date or renewal date") == ["Z1"]
    assert list(skipped.values()) == [["T1"]] and "60 days of events" in next(iter(skipped))
    # the four fading accounts score below all five kept ones, COLLAPSE above them all: 20 of 25 pairs
    assert result.auc == pytest.approx(_sklearn_auc(result), abs=1e-4) == 0.8
    assert any("churn flag and renewal dates" in c and "renewal not" not in c for c in result.caveats)


def test_a_crm_that_rolls_renewal_dates_forward_says_why_nothing_was_kept(tmp_path):
    rolled = [(a, flag, "2026-01-31" if flag == "No" else when) for a, flag, when in CRM]
    with pytest.raises(InputError, match=r"0 kept .*renewal not reached: 7"):
        _validate(tmp_path, _crm_export(tmp_path / "crm", crm=rolled))


def test_a_churned_flag_alone_is_validated_as_of_the_end_of_the_data_with_the_assumption_stated(tmp_path):
    result, at_cutoff = _validate(tmp_path, _crm_export(tmp_path / "crm", renewal_dates=False))
    cutoff = date(2025, 6, 2)  # Aug 31 − 90 days
    assert result.cutoff == cutoff and result.as_of_dates == [cutoff]
    # every account in the export, scored once at the cutoff against its flag (Z1, with no events, too)
    assert (result.n_accounts, result.n_churned, result.skipped) == (13, 6, [])
    assert {a.account_id for a in result.accounts if a.lost} == {*FADING, "COLLAPSE", "Z1"}
    assert (
        "Churn flags have no dates: every account was scored as of 2025-06-02 and compared with its flag at the "
        "end of the data (2025-08-31)."
    ) in result.caveats
    assert {a.account_id: a.health_score for a in result.accounts} == {
        a.account_id: a.health_score for a in at_cutoff.accounts
    }
    assert result.auc == pytest.approx(_sklearn_auc(result), abs=1e-4)


def test_the_caveats_name_the_outcomes_table_as_the_source(tmp_path):
    result, _ = _validate(tmp_path, write_backtest(tmp_path / "data"))
    assert "Outcomes: the outcomes table, one row per decided renewal." in result.caveats


def test_with_churn_dates_a_churn_missing_its_date_falls_back_to_the_renewal_date(tmp_path):
    folder = write_backtest(tmp_path / "crm", outcomes=False)
    rows = (
        [(a, "Yes", "2025-08-20", "2025-08-20") for a in FADING[:3]]
        + [("L4", "Yes", "", "2025-08-20"), ("COLLAPSE", "Yes", "2025-08-29", "2025-08-29")]
        + [(a, "No", "", "2026-02-01") for a in [*HEALTHY, "T1"]]  # kept: renewal dates rolled forward
        + [("Z1", "Yes", "", "")]
    )
    (folder / "accounts.csv").write_text(
        "Account ID,Seats Purchased,Contract Start,Churned,Churn Date,Renewal Date\n"
        + "".join(f"{a},3,2024-06-01,{flag},{churn},{renewal}\n" for a, flag, churn, renewal in rows)
    )
    result, _ = _validate(tmp_path, folder)
    by_id = {a.account_id: a for a in result.accounts}
    assert (result.n_accounts, result.n_churned) == (12, 5)
    assert (by_id["L4"].outcome, by_id["L4"].outcome_date, by_id["L4"].as_of) == (
        "churned",
        date(2025, 8, 20),
        date(2025, 4, 30),
    )
    # kept accounts renewed at the end of the data: Aug 31 − 90 → Jun 2 → May 31
    assert {by_id[a].outcome_date for a in HEALTHY} == {END}
    assert {by_id[a].as_of for a in HEALTHY} == {date(2025, 5, 31)}
    assert [(s.reason, s.examples) for s in result.skipped] == [
        ("churned with no churn date or renewal date", ["Z1"])
    ]
    assert any("churn date (else their renewal date)" in c for c in result.caveats)
