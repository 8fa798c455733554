"""The data-quality report: each problem counted once, with examples that point at the right rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.data.workspace import AllowedRoots, Workspace

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def load(tmp_path):
    def _load(*paths, today=date(2026, 1, 1)):
        roots = AllowedRoots([DATA.resolve(), tmp_path.resolve()])
        with Workspace(tmp_path / "ws") as ws:
            return ws.load([str(p) for p in paths], roots=roots, today=today)

    return _load


def _issue(report, code, column=None):
    found = [i for i in report.quality.issues if i.code == code and (column is None or i.column == column)]
    assert found, f"no {code} issue for {column}: {[i.message for i in report.quality.issues]}"
    return found[0]


def test_unparseable_values_are_counted_with_their_rows_and_raw_text(load):
    result = load(DATA / "quality" / "accounts_problems.csv")
    arr = _issue(result, "unparseable", "arr")
    assert arr.count == 2
    assert arr.examples == ["row 3: N/A", "row 5: —"]
    seats = _issue(result, "unparseable", "seats_purchased")
    assert (seats.count, seats.examples) == (1, ["row 6: abc"])
    assert _issue(result, "unparseable", "contract_start").examples == ["row 6: not a date"]


def test_negative_seats_future_dates_and_duplicate_ids_are_reported_not_fatal(load):
    result = load(DATA / "quality" / "accounts_problems.csv")
    assert result.tables[0].rows == 5
    assert _issue(result, "negative_value", "seats_purchased").examples == ["row 3: -5"]
    assert _issue(result, "future_date", "contract_start").examples == ["row 5: 2099-01-01"]
    dup = _issue(result, "duplicate_id", "account_id")
    assert dup.count == 1 and dup.examples == ["A1 ×2 (first at row 2)"]


def test_completeness_is_the_share_of_rows_with_a_parsed_value(load):
    table = load(DATA / "quality" / "accounts_problems.csv").quality.tables[0]
    # arr: 3 of 5 parse ($120,000, $100,000, $5,000); seats: 4 of 5 (abc fails, -5 parses)
    assert table.completeness["arr"] == 0.6
    assert table.completeness["seats_purchased"] == 0.8
    assert table.completeness["account_id"] == 1.0


def test_orphans_and_unmapped_events_are_found_across_tables(load):
    result = load(DATA / "mini")
    tickets = [i for i in result.quality.issues if i.code == "orphan" and i.table == "tickets"][0]
    assert (tickets.count, tickets.examples) == (1, ["A7 (1 rows)"])
    users = [i for i in result.quality.issues if i.code == "orphan" and i.column == "user_id"][0]
    assert users.examples == ["u9 (1 rows)"]
    assert _issue(result, "unmapped_account").count == 1


def test_date_order_catches_a_ticket_resolved_before_it_was_opened(load):
    issue = _issue(load(DATA / "mini"), "date_order", "resolved_at")
    assert issue.count == 1 and issue.examples[0].startswith("row 4: 2025-10-11")


def test_latest_date_and_age_come_from_the_events(load):
    q = load(DATA / "mini", today=date(2025, 11, 17)).quality
    assert q.latest_date == "2025-11-07"
    assert q.age_days == 10


def test_outcome_columns_are_tagged_as_outcomes(load):
    cols = load(DATA / "mini").quality.outcome_columns
    assert "accounts.csv: churned → accounts.churned" in cols
    assert "accounts.csv: churn_date → accounts.churn_date" in cols


def test_event_semantics_are_inferred_and_labelled(load):
    s = load(DATA / "mini").quality.semantics
    assert s["source"] == "inferred"
    assert s["passive_events"] == ["login"]
    # import_data and build_report are used by A1 and A3 (3 and 2 events), share_report by A3 only
    assert s["core_features"] == ["import_data", "build_report", "share_report"]


def test_events_with_no_account_column_and_no_users_are_reported_not_a_crash(load):
    # mini/events.csv has no account column; without mini/users.csv nothing maps its users to accounts
    result = load(DATA / "mini" / "accounts.csv", DATA / "mini" / "events.csv")
    issue = _issue(result, "unmapped_account", "account_id")
    assert "events cannot be tied to accounts" in issue.message
    assert (issue.table, issue.count, issue.severity) == ("events", 13, "warning")
    assert not [i for i in result.quality.issues if i.code == "orphan"]


def test_tickets_that_name_their_organisation_are_matched_to_accounts_and_said_so(
    load, salesforce_accounts_xlsx
):
    vendors = DATA / "vendors"
    result = load(salesforce_accounts_xlsx, vendors / "users.csv", vendors / "zendesk_tickets.csv")
    issue = _issue(result, "account_by_name", "account_id")
    assert (issue.table, issue.count, issue.severity) == ("tickets", 6, "info")
    assert issue.examples == [
        "Acme Corp → 0015g00000AcmeCoAA (3 rows)",
        "Beta Inc → 0015g00000BetaIncA (2 rows)",
        "Gamma Ltd → 0015g00000GammaLtd (1 rows)",
    ]
    assert not [i for i in result.quality.issues if i.code == "orphan"]


def _events_with_strays(folder: Path, strays: list[str]) -> Path:
    """Three months of daily events (2026-01-01 … 2026-03-31, 4 a day) and the stray dates given."""
    folder.mkdir()
    days = [date(2026, 1, 1) + (date(2026, 1, 2) - date(2026, 1, 1)) * i for i in range(90)]
    rows = [f"{d}T10:0{k}:00Z,u{k},A{k},report" for d in days for k in range(4)]
    rows += [f"{s}T09:00:00Z,u0,A0,report" for s in strays]
    (folder / "events.csv").write_text("timestamp,user_id,account_id,event\n" + "\n".join(rows) + "\n")
    return folder


def test_a_stray_future_date_does_not_become_the_as_of_and_is_reported(load, tmp_path):
    result = load(_events_with_strays(tmp_path / "e", ["2030-01-01"]), today=date(2026, 12, 6))
    assert result.quality.latest_date == "2026-03-31"
    issue = _issue(result, "as_of_outlier", "timestamp")
    assert (issue.count, issue.examples) == (1, ["2030-01-01"])


def test_a_stray_date_far_after_the_bulk_is_set_aside_even_before_the_load_day(load, tmp_path):
    # 360 rows end on 2026-03-31; two rows in November hold 2 of 362 (< 1%) of the 30 days they end
    result = load(_events_with_strays(tmp_path / "e", ["2026-11-20", "2026-11-30"]), today=date(2026, 12, 6))
    assert result.quality.latest_date == "2026-03-31"
    assert _issue(result, "as_of_outlier").examples == ["2026-11-20", "2026-11-30"]


def test_the_last_day_of_the_bulk_is_the_as_of_with_no_issue(load, tmp_path):
    result = load(_events_with_strays(tmp_path / "e", []), today=date(2026, 12, 6))
    assert result.quality.latest_date == "2026-03-31"
    assert not [i for i in result.quality.issues if i.code == "as_of_outlier"]


def test_a_snapshot_with_no_dates_is_read_as_of_the_load_day_and_says_so(tmp_path):
    from customer_health.tools.reports.pipeline import analyze

    (tmp_path / "snap.csv").write_text("account_id,mrr,logins_30d,nps_score\nA1,1000,40,9\nA2,500,2,3\n")
    with Workspace(tmp_path / "ws") as ws:
        loaded = ws.load(
            [tmp_path / "snap.csv"], roots=AllowedRoots([tmp_path.resolve()]), today=date(2026, 12, 6)
        )
        scores = analyze(ws.dataset(loaded)).scores
    assert loaded.quality.latest_date is None and loaded.quality.loaded_on == "2026-12-06"
    assert scores.as_of == date(2026, 12, 6)
    assert "The data has no dates, so it is read as of the day it was loaded (2026-12-06)." in scores.caveats
