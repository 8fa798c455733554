"""Event meaning inferred from names in every export style, and core features that are real work, with reasons."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from customer_health.tools.data.semantics import event_kind, event_words, is_error, resolve_semantics
from customer_health.tools.data.workspace import AllowedRoots, Workspace

from tests.parity_data import CORE, PASSIVE, write_vendor_portfolio

# Names the previous name pattern got wrong: title case with spaces, past tenses, `$` tracker events it did not
# list, and every negative event except errors and failures.
NEWLY_RECOGNISED = [
    ("Page View", "passive"),
    ("Page Viewed", "passive"),
    ("[Amplitude] Page Viewed", "passive"),
    ("Viewed Pricing Page", "passive"),
    ("$screen", "passive"),
    ("Logged In", "passive"),
    ("Log In", "passive"),
    ("Signed In", "passive"),
    ("Logged Out", "passive"),
    ("App Opened", "passive"),
    ("Application Opened", "passive"),
    ("Application Backgrounded", "passive"),
    ("email_opened", "passive"),
    ("Email Opened", "passive"),
    ("Push Notification Received", "passive"),
    ("dislike", "negative"),
    ("Thumbs Down", "negative"),
    ("thumbsDown", "negative"),
    ("adview", "negative"),
    ("Ad Viewed", "negative"),
    ("ad_impression", "negative"),
    ("unsubscribe", "negative"),
    ("Email Unsubscribed", "negative"),
    ("Subscription Cancelled", "negative"),
    ("cancel_subscription", "negative"),
    ("Plan Downgraded", "negative"),
    ("churned", "negative"),
    ("Account Deleted", "negative"),
    ("delete_account", "negative"),
    ("App Uninstalled", "negative"),
    ("Integration Disconnected", "negative"),
    ("complaint_filed", "negative"),
    ("Email Bounced", "negative"),
    ("Refund Requested", "negative"),
    ("$exception", "negative"),
    ("App Crashed", "negative"),
    ("Checkout Abandoned", "negative"),
    # the previous pattern called these passive because a word merely began with "session" or "visit"
    ("Coaching Session Booked", None),
    ("Visitor Invited", None),
]
# Names the previous pattern already classed right; they must stay so.
STILL_RECOGNISED = [
    ("$pageview", "passive"),
    ("$pageleave", "passive"),
    ("page_viewed", "passive"),
    ("pageview", "passive"),
    ("pageView", "passive"),
    ("$mp_web_page_view", "passive"),
    ("login", "passive"),
    ("LoggedIn", "passive"),
    ("session_start", "passive"),
    ("Session Started", "passive"),
    ("$autocapture", "passive"),
    ("$identify", "passive"),
    ("heartbeat", "passive"),
    ("visit", "passive"),
    ("import_error", "negative"),
    ("Payment Failed", "negative"),
    ("importerror", "negative"),
    ("syncFailed", "negative"),
    ("build_report", None),
    ("Report Shared", None),
    ("Data Imported", None),
    ("view_help", None),
    ("comment", None),
    ("Address Added", None),
    ("Document Signed Off", None),
    ("invite_user", None),
    ("connect_integration", None),
]


@pytest.mark.parametrize(("name", "kind"), NEWLY_RECOGNISED + STILL_RECOGNISED)
def test_an_event_name_is_passive_negative_or_neither_in_any_naming_style(name, kind):
    assert event_kind(name) == kind


@pytest.mark.parametrize(
    ("name", "broke"),
    [("import_error", True), ("App Crashed", True), ("$exception", True), ("Request Timed Out", True)]
    + [("dislike", False), ("Subscription Cancelled", False), ("Page View", False), ("build_report", False)],
)
def test_errors_are_the_negative_events_that_mean_something_broke(name, broke):
    assert is_error(name) is broke


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("$pageview", "pageview"),
        ("Page Viewed", "page viewed"),
        ("pageView", "page view"),
        ("page-view", "page view"),
        ("LoggedIn", "logged in"),
        ("SSOLogin", "sso login"),
        ("[Amplitude] Start Session", "amplitude start session"),
    ],
)
def test_a_name_is_matched_as_lower_case_words_whatever_its_style(name, words):
    assert event_words(name) == words


# Four accounts, two users each, every user active every day of March 2026. Per user per day: Page View ×6,
# Logged In ×5, adview ×4, dislike ×3 — the four most frequent events, used by every account. The work is rarer:
# Report Built ×1 (every account), Data Imported ×1 (A1, A2, A3), Report Shared ×1 (A1, A2).
PER_DAY = {"Page View": 6, "Logged In": 5, "adview": 4, "dislike": 3}
WORK = {
    "Report Built": {"A1", "A2", "A3", "A4"},
    "Data Imported": {"A1", "A2", "A3"},
    "Report Shared": {"A1", "A2"},
}


def _write(folder: Path) -> Path:
    folder.mkdir(parents=True)
    accounts = ["A1", "A2", "A3", "A4"]
    (folder / "accounts.csv").write_text(
        "account_id,name\n" + "".join(f"{a},Account {a}\n" for a in accounts)
    )
    rows = []
    for a in accounts:
        for u in (f"{a.lower()}x", f"{a.lower()}y"):
            for d in range(31):
                day = date(2026, 3, 1) + timedelta(days=d)
                for event, n in PER_DAY.items():
                    rows += [f"{day}T09:00:00,{u},{a},{event}\n"] * n
                rows += [f"{day}T10:00:00,{u},{a},{e}\n" for e, who in WORK.items() if a in who]
    (folder / "events.csv").write_text("timestamp,user_id,account_id,event\n" + "".join(rows))
    return folder


@pytest.fixture
def noisy(tmp_path):
    folder = _write(tmp_path / "noisy")
    with Workspace(tmp_path / "ws") as ws:
        result = ws.load([folder], roots=AllowedRoots([tmp_path.resolve()]))
        yield result, ws.dataset(result)


def test_passive_and_negative_events_are_never_core_features_even_when_most_frequent(noisy):
    _, ds = noisy
    sem = resolve_semantics(ds)
    # all four accounts have 2 users, so all are in the more active half; ranked by accounts using each event
    assert sem.core_features == ["Report Built", "Data Imported", "Report Shared"]
    assert sem.passive_events == ["Page View", "Logged In"]
    assert sem.negative_events == ["adview", "dislike"]
    # the fallback activation milestone is the first core feature, not a page view
    assert sem.activation == "Report Built"


def test_the_load_report_infers_the_same_work_events_and_keeps_the_negative_ones(noisy):
    s = noisy[0].quality.semantics
    assert s["core_features"] == ["Report Built", "Data Imported", "Report Shared"]
    assert s["passive_events"] == ["Page View", "Logged In"]
    assert s["negative_events"] == ["adview", "dislike"]
    assert s["core_feature_reasons"]["Data Imported"] == (
        "used by 75% of accounts (3 of 4), neither passive nor negative"
    )


def test_each_inferred_core_feature_says_why_it_was_chosen_and_what_was_passed_over(noisy):
    sem = resolve_semantics(noisy[1])
    # Report Built: 4 of 4 accounts; Data Imported: 3 of 4 = 75%; Report Shared: 2 of 4 = 50%
    assert sem.core_feature_reasons == {
        "Report Built": "used by 100% of the more active half's accounts (4 of 4), neither passive nor negative",
        "Data Imported": "used by 75% of the more active half's accounts (3 of 4), neither passive nor negative",
        "Report Shared": "used by 50% of the more active half's accounts (2 of 4), neither passive nor negative",
    }
    assert sem.passed_over == {
        "Page View": "passive",
        "Logged In": "passive",
        "adview": "negative",
        "dislike": "negative",
    }
    caveats = sem.caveats()
    assert "Data Imported — used by 75% of the more active half's accounts (3 of 4)" in caveats[1]
    assert (
        caveats[2]
        == "More widely used but not core features: Page View, Logged In (passive); adview, dislike (negative)."
    )


def test_configured_events_override_the_vocabulary(tmp_path):
    folder = _write(tmp_path / "noisy")
    (folder / "customer-health.yaml").write_text(
        "core_features: [dislike, Report Built]\npassive_events: [adview]\n"
    )
    with Workspace(tmp_path / "ws") as ws:
        sem = resolve_semantics(ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()]))))
    assert (sem.core_features, sem.passive_events) == (["dislike", "Report Built"], ["adview"])
    # what the user called core or passive is not also listed as negative, and nothing configured needs a reason
    assert sem.negative_events == []
    assert (sem.core_feature_reasons, sem.passed_over, sem.caveats()) == ({}, {}, [])


def test_the_vendor_portfolio_without_its_yaml_infers_the_core_and_passive_events_its_yaml_names(tmp_path):
    # Segment Title Case events: Logged In / Page Viewed are the passive ones, the four others the core features
    folder = write_vendor_portfolio(tmp_path / "vendor")
    (folder / "customer-health.yaml").unlink()
    with Workspace(tmp_path / "ws") as ws:
        sem = resolve_semantics(ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()]))))
    assert sorted(sem.core_features) == sorted(CORE)
    assert sorted(sem.passive_events) == sorted(PASSIVE)
    assert sem.negative_events == []
