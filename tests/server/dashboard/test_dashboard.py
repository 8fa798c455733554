"""The executive dashboard: the HTML's numbers are the computations' numbers, data stays text, the page is
self-contained and repeatable, it stays bounded at 10k accounts, and it renders in a real browser."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from customer_health.server.dashboard import charts
from customer_health.server.dashboard.build import write_dashboard
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.reports.portfolio import portfolio_summary
from customer_health.tools.risk.signals import risk_signals
from customer_health.tools.usage.adoption import feature_adoption
from customer_health.tools.usage.cohorts import compute_cohorts
from customer_health.tools.usage.funnel import DEFAULT_LOOKBACK_DAYS, compute_funnel
from customer_health.tools.usage.seats import seat_utilization

from .dashboard_page import Page

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample"
TOP_N = 25
PAYLOAD = "<script>alert(1)</script>"


def _load(ws: Workspace, folder: Path, root: Path):
    return ws.dataset(ws.load([folder], roots=AllowedRoots([folder.parent.resolve(), root.resolve()])))


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The example portfolio's dashboard, beside every computation it shows, computed here directly."""
    tmp = tmp_path_factory.mktemp("dashboard")
    with Workspace(tmp / "ws") as ws:
        ds = _load(ws, SAMPLE, tmp)
        scores = analyze(ds).scores
        files = write_dashboard(ds, tmp / "out", top_n=TOP_N)
        sem = resolve_semantics(ds)
        day = scores.as_of
        steps = next(iter(sem.workflows.values()))
        yield {
            "ds": ds,
            "tmp": tmp,
            "files": files,
            "page": Page(files.html.read_text(encoding="utf-8")),
            "scores": scores,
            "portfolio": portfolio_summary(ds, scores=scores, top_n=TOP_N),
            "risk": risk_signals(ds, as_of=day, scores=scores),
            "seats": seat_utilization(ds, as_of=day),
            "adoption": feature_adoption(ds, as_of=day),
            "cohorts": compute_cohorts(ds, as_of=day, max_cohorts=12),
            "funnel": compute_funnel(ds, steps, as_of=day, by="role", lookback_days=DEFAULT_LOOKBACK_DAYS),
        }


def _customers(sample) -> list:
    return [a for a in sample["scores"].accounts if a.status == "customer"]


def _floats(rows, column) -> list[float | None]:
    return [None if r[column][0] is None else float(r[column][0]) for r in rows]


def test_the_kpi_cards_show_the_portfolio_numbers_formatted(sample):
    p, k, cards = sample["portfolio"], sample["portfolio"].revenue_kpis, sample["page"].kpis
    expected = {
        "customers": (p.customers, f"{p.customers:,}"),
        "total_arr": (p.total_arr, f"${p.total_arr / 1e6:.1f}M"),
        "nrr": (k.nrr, f"{k.nrr * 100:.1f}%"),
        "grr": (k.grr, f"{k.grr * 100:.1f}%"),
        "logo_retention": (k.logo_retention, f"{k.logo_retention * 100:.1f}%"),
        "at_risk_arr": (p.at_risk_arr, f"${p.at_risk_arr / 1e6:.1f}M"),
        "renewals_90": (p.renewals["next_90"].count, f"{p.renewals['next_90'].count:,}"),
        "urgent": (
            sample["risk"].priority_counts["urgent"] + sample["risk"].priority_counts["high"],
            f"{sample['risk'].priority_counts['urgent'] + sample['risk'].priority_counts['high']:,}",
        ),
    }
    for key, (value, text) in expected.items():
        assert float(cards[key]["v"]) == pytest.approx(value), key
        assert cards[key]["text"][1] == text, key
    assert (
        p.customers == len(_customers(sample)) == 206
    )  # the example's 240 accounts less the 34 already lost


def test_the_tier_table_is_the_health_distribution_and_adds_up_to_the_book(sample):
    rows = sample["page"].tables["tiers"]
    assert [r["Tier"][1] for r in rows] == ["thriving", "healthy", "neutral", "at risk", "critical"]
    for row, tier in zip(rows, sample["portfolio"].health_distribution, strict=True):
        # counted here from the score rows, independently of the portfolio's own grouping
        mine = [a for a in _customers(sample) if a.tier == tier.tier]
        assert int(row["Accounts"][0]) == tier.accounts == len(mine)
        assert float(row["ARR"][0]) == pytest.approx(sum(a.arr or 0 for a in mine), abs=0.01)
        assert float(row["Share of ARR"][0]) == tier.arr_share
    assert sum(int(r["Accounts"][0]) for r in rows) == sample["portfolio"].customers


def test_the_at_risk_table_lists_the_largest_red_accounts_with_driver_and_next_action(sample):
    rows, risk = sample["page"].tables["at_risk"], {a.account_id: a for a in sample["risk"].accounts}
    line = sample[
        "portfolio"
    ].at_risk_line  # the example has outcomes: the backtest's line, not the seed's 50
    assert line.source == "backtest" and line.value > 50
    red = sorted(
        (a for a in _customers(sample) if a.health_score < line.value),
        key=lambda a: (-(a.arr or 0), a.account_id),
    )
    assert [r["Account"][0] for r in rows] == [a.account_id for a in red[:TOP_N]]
    for row, a in zip(rows, red, strict=False):
        assert float(row["Health"][0]) == a.health_score and float(row["ARR"][0]) == a.arr
        assert row["Top driver"][1] == a.drivers[0].text
        step = risk[a.account_id].next_action  # none for an account whose priority is ok
        assert (row["Next action"][1], row["Action owner"][1], row["SLA"][1]) == (
            (step.action, step.owner, step.sla) if step else ("—", "—", "—")
        )
    shown = f"The first {TOP_N} of {len(red)}" if len(red) > TOP_N else f"All {len(red)}"
    assert sample["page"].notes["at_risk"] == f"{shown} accounts, largest ARR first."


def test_the_urgent_table_is_the_head_of_the_call_list_urgent_and_high_priority(sample):
    rows = sample["page"].tables["urgent"]
    urgent = [a for a in sample["risk"].accounts if a.priority in ("urgent", "high")]
    assert len(rows) == TOP_N < len(urgent)
    assert [r["Account"][0] for r in rows] == [a.account_id for a in urgent[:TOP_N]]
    assert [r["Strongest signal"][1] for r in rows] == [a.signals[0].evidence for a in urgent[:TOP_N]]
    assert [r["Priority"][1] for r in rows] == [a.priority for a in urgent[:TOP_N]]
    days = [a.days_to_renewal for a in urgent[:TOP_N]]
    assert [r["Renews in"][1] for r in rows] == ["—" if d is None else f"{d:,} d" for d in days]
    assert sample["page"].notes["urgent"].startswith(f"The first {TOP_N} of {len(urgent)} accounts")


def test_the_renewals_table_has_every_low_health_renewal_within_90_days(sample):
    accounts = pd.read_csv(SAMPLE / "accounts.csv", parse_dates=["renewal_date"]).set_index("account_id")
    day = pd.Timestamp(sample["scores"].as_of)
    due = sorted(
        (
            a
            for a in _customers(sample)
            if a.health_score < 60 and 0 <= (accounts.loc[a.account_id, "renewal_date"] - day).days <= 90
        ),
        key=lambda a: (-(a.arr or 0), a.account_id),
    )
    rows = sample["page"].tables["renewals"]
    assert [r["Account"][0] for r in rows] == [a.account_id for a in due] and rows
    assert [r["Renewal"][0] for r in rows] == [
        str(accounts.loc[a.account_id, "renewal_date"].date()) for a in due
    ]


def test_the_seat_bands_put_each_customer_once_in_its_utilization_band(sample):
    ids = {a.account_id for a in _customers(sample)}
    frame = pd.DataFrame([r.model_dump() for r in sample["seats"].accounts if r.account_id in ids])
    rows = sample["page"].tables["seat_bands"]
    assert [r["Utilization"][1] for r in rows][::5] == ["0–10%", "50–60%", ">100%"]
    for column in ("present", "adopted"):
        counts = [0] * 11
        for value in frame[f"{column}_utilization"]:  # in basis points: 10,000 exactly is the 90–100% band
            bp = round(value * 10_000)
            counts[10 if bp > 10_000 else min(bp // 1_000, 9)] += 1
        assert [int(r[column.capitalize()][0]) for r in rows] == counts
    assert sum(int(r["Present"][0]) for r in rows) == frame["present_utilization"].notna().sum() == len(ids)
    flags = {r["Present utilization"][1]: int(r["Accounts"][0]) for r in sample["page"].tables["seat_flags"]}
    assert flags["below 50%"] == int((frame["present_utilization"] < 0.5).sum())
    assert flags["present but not adopted"] == int(frame["present_not_adopted"].sum())


def test_the_adoption_table_splits_each_feature_by_the_share_of_seats_using_it(sample):
    ids = {a.account_id for a in _customers(sample)}
    rows = {r["Core feature"][1]: r for r in sample["page"].tables["adoption"]}
    assert list(rows) == sample["adoption"].core_features
    counts = {f: {"wide": 0, "thin": 0, "none": 0} for f in rows}
    for account in (r for r in sample["adoption"].accounts if r.account_id in ids):
        for use in account.features:  # users ÷ seats, worked here (every example account has seats)
            share = use.users / account.seats_purchased
            counts[use.feature]["none" if not use.users else ("wide" if share >= 0.3 else "thin")] += 1
    for feature, row in rows.items():
        shown = (int(row["30%+ of seats"][0]), int(row["under 30%"][0]), int(row["not used"][0]))
        assert shown == tuple(counts[feature].values())
        assert sum(shown) == len(ids)


def test_the_cohort_tables_hold_the_retention_values(sample):
    tables = sample["page"].tables
    for result in (sample["cohorts"].logo, sample["cohorts"].revenue, sample["cohorts"].active_users):
        rows = tables[f"cohort_{result.metric}"]
        assert [r["Cohort"][1] for r in rows[:-1]] == [c.cohort for c in result.rows]
        for row, cohort in zip(rows, result.rows, strict=False):
            assert int(row["Size"][0]) == cohort.size
            assert [
                float(row[f"m{m}"][0]) for m in range(len(cohort.values)) if cohort.values[m] is not None
            ] == [v for v in cohort.values if v is not None]
        assert rows[-1]["Cohort"][1] == "average"


def test_the_funnel_tables_are_the_core_workflow_funnel(sample):
    f, page = sample["funnel"], sample["page"]
    rows = page.tables["funnel"]
    assert [r["Step"][1] for r in rows] == ["import_data", "build_report", "share_report"]
    assert [int(r["Users"][0]) for r in rows] == [s.users for s in f.steps]
    assert _floats(rows, "From previous") == [s.conversion_from_previous for s in f.steps]
    assert rows[2]["From start"][1] == f"{f.steps[2].users / f.steps[0].users:.1%}"  # worked from the counts
    by_role = {r["Role"][1]: r for r in page.tables["funnel_by"]}
    assert set(by_role) == set(f.breakdown)
    for role, steps in f.breakdown.items():
        assert (int(by_role[role]["Started"][0]), int(by_role[role]["Reached share_report"][0])) == (
            steps[0].users,
            steps[-1].users,
        )
    assert f"Broken step: {f.broken_step}" in page.sections["funnel"]


def test_the_page_is_self_contained_with_no_scripts_or_outside_references(sample):
    page, html = sample["page"], sample["files"].html.read_text(encoding="utf-8")
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert page.links == []
    assert "default-src 'none'" in html and "@import" not in html
    assert re.findall(r"url\((?!#)", html) == []  # only fragment references inside the inline SVGs
    assert page.tags.count("svg") == 5 == len(sample["files"].charts)
    assert {p.name for p in sample["files"].charts} == {
        f"{k}.png" for k in ("health", "seats", "adoption", "cohorts", "funnel")
    }
    for png in sample["files"].charts:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"Software" not in png.read_bytes()


def test_tables_are_bounded_by_top_n_and_say_how_many_there_are(sample):
    for key in ("at_risk", "urgent", "renewals"):
        assert len(sample["page"].tables[key]) <= TOP_N
    assert sample["files"].sections_missing == {}
    assert (
        "5 PNG chart(s)" in sample["files"].summary and sample["portfolio"].summary in sample["files"].summary
    )


def test_writing_twice_gives_byte_identical_files(sample):
    again = write_dashboard(sample["ds"], sample["tmp"] / "again", top_n=TOP_N)
    assert again.html.read_bytes() == sample["files"].html.read_bytes()
    for a, b in zip(again.charts, sample["files"].charts, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_top_n_outside_1_to_200_is_an_input_error(sample):
    with pytest.raises(InputError, match="top_n"):
        write_dashboard(sample["ds"], sample["tmp"] / "bad", top_n=0)


def test_chart_text_from_the_data_is_escaped_and_dollar_signs_stay_literal():
    levels = {f"{PAYLOAD} $x$": {"wide": 1, "thin": 2, "none": 0}}
    chart = charts.render("adoption", "t", charts.feature_adoption, levels)
    assert "<script" not in chart.svg and "&lt;script&gt;alert(1)&lt;/script&gt; $x$" in chart.svg


def test_a_snapshot_without_events_still_gets_a_dashboard_that_names_what_is_missing(tmp_path):
    snapshot = SAMPLE.parent / "snapshot"
    with Workspace(tmp_path / "ws") as ws:
        ds = _load(ws, snapshot, tmp_path)
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "funnel.png").write_bytes(b"from an earlier run")
        files = write_dashboard(ds, tmp_path / "out", as_of="2026-06-30")
    assert set(files.sections_missing) == {"seats", "adoption", "cohorts", "funnel"}
    assert "events table" in files.sections_missing["funnel"]
    page = Page(files.html.read_text(encoding="utf-8"))
    assert "Not available for this data" in page.sections["adoption"]
    assert [p.name for p in files.charts] == ["health.png"] and page.kpis["customers"]["v"] == "4"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dashboard.html", "health.png"]


def test_without_a_configured_workflow_the_funnel_section_says_how_to_add_one(tmp_path):
    from customer_health.examples.generate import generate

    generate(tmp_path / "data", n_accounts=20, target_events=5_000)
    config = tmp_path / "data" / "customer-health.yaml"
    text = config.read_text()
    config.write_text(
        "\n".join(line for line in text.splitlines() if "workflows" not in line and "reporting:" not in line)
    )
    with Workspace(tmp_path / "ws") as ws:
        files = write_dashboard(_load(ws, tmp_path / "data", tmp_path), tmp_path / "out")
    assert list(files.sections_missing) == ["funnel"]
    assert "workflows in customer-health.yaml" in files.sections_missing["funnel"]
    assert "funnel.png" not in {p.name for p in files.charts} and len(files.charts) == 4


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A small generated portfolio whose account names and CSM owners are markup."""
    from customer_health.examples.generate import generate

    tmp = tmp_path_factory.mktemp("hostile")
    generate(tmp / "data", n_accounts=40, target_events=20_000)
    accounts = pd.read_csv(tmp / "data" / "accounts.csv")
    accounts["name"] = PAYLOAD
    accounts["csm_owner"] = '<img src=x onerror="alert(2)">'
    accounts.to_csv(tmp / "data" / "accounts.csv", index=False)
    with Workspace(tmp / "ws") as ws:
        return write_dashboard(_load(ws, tmp / "data", tmp), tmp / "out")


def test_markup_in_account_names_stays_text(hostile):
    html = hostile.html.read_text(encoding="utf-8")
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    cells = [c for rows in page.tables.values() for r in rows for c in r.values()]
    assert any(text == PAYLOAD for _, text in cells)
    assert any(text == '<img src=x onerror="alert(2)">' for _, text in cells)


@pytest.mark.slow
def test_ten_thousand_accounts_stay_readable_and_small(tmp_path, big_portfolio):
    with Workspace(tmp_path / "ws") as ws:
        ds = _load(ws, big_portfolio, big_portfolio.parent)
        files = write_dashboard(ds, tmp_path / "out", top_n=TOP_N)
        portfolio = portfolio_summary(ds, top_n=TOP_N)
    page = Page(files.html.read_text(encoding="utf-8"))
    assert page.kpis["customers"]["v"] == str(portfolio.customers) and portfolio.customers > 8_000
    for key in ("at_risk", "urgent", "renewals"):
        assert len(page.tables[key]) <= TOP_N
    red = portfolio.top_red_accounts.count
    assert red > TOP_N and page.notes["at_risk"] == f"The first {TOP_N} of {red} accounts, largest ARR first."
    assert all(len(page.tables[f"cohort_{m}"]) <= 13 for m in ("logo_retention", "active_user_retention"))
    assert files.html_bytes < 600_000  # about 270 KB measured
    assert all(p.stat().st_size < 400_000 for p in files.charts)


def test_the_health_numbers_are_the_analysis_pipelines_for_the_as_of_and_profile_asked_for(sample):
    ds, day = sample["ds"], "2026-07-31"
    files = write_dashboard(ds, sample["tmp"] / "self-serve", as_of=day, profile="self_serve", top_n=TOP_N)
    analysis = analyze(ds, as_of=day, profile="self_serve")
    page = Page(files.html.read_text(encoding="utf-8"))
    customers = [a for a in analysis.scores.accounts if a.status == "customer"]
    health = {a.account_id: a.health_score for a in customers}
    assert files.as_of == analysis.as_of and "self_serve profile" in analysis.scores.summary
    assert analysis.scores.summary in page.sections["health"]
    tiers = ("thriving", "healthy", "neutral", "at_risk", "critical")
    assert [int(r["Accounts"][0]) for r in page.tables["tiers"]] == [
        sum(a.tier == t for a in customers) for t in tiers
    ]
    rows = page.tables["at_risk"]
    assert rows and [float(r["Health"][0]) for r in rows] == [health[r["Account"][0]] for r in rows]
    urgent = [a.account_id for a in analysis.risk.accounts if a.priority in ("urgent", "high")]
    assert [r["Account"][0] for r in page.tables["urgent"]] == urgent[:TOP_N]
    counts = analysis.risk.priority_counts
    assert int(page.kpis["urgent"]["v"]) == counts["urgent"] + counts["high"]
    enterprise = {a.account_id: a.health_score for a in analyze(ds, as_of=day).scores.accounts}
    # the profile is honoured: some of these accounts score differently with the default one
    assert any(health[r["Account"][0]] != enterprise[r["Account"][0]] for r in rows)


# --- a real browser -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    from tests.server.browser import find_chromium

    exe = find_chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed: CI installs it with apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    return exe


def test_the_browser_harness_reports_console_errors_and_blocked_loads(chromium, tmp_path):
    from tests.server.browser import file_url, open_page

    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><img src="file:///nonexistent.png">'
        '<script>console.error("boom"); undefined_function();</script></body></html>'
    )
    report = open_page(chromium, file_url(bad), width=400, height=300)
    assert "boom" in report.errors
    assert any("undefined_function" in e for e in report.errors)
    assert any("ERR_FILE_NOT_FOUND" in e for e in report.errors)


def test_the_dashboard_renders_in_chromium_without_console_errors(chromium, sample, hostile):
    from PIL import Image

    from tests.server.browser import file_url, open_page

    report = open_page(chromium, file_url(sample["files"].html), width=1400, height=2400)
    assert report.errors == []
    shot = sample["tmp"] / "dashboard-screenshot.png"
    shot.write_bytes(report.screenshot)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1400, 2400)
    colours = image.getcolors(maxcolors=1 << 20)
    thriving = sum(n for n, c in colours if c == (0x1A, 0x7F, 0x37))  # the health chart's thriving bars
    assert thriving > 2_000
    assert open_page(chromium, file_url(hostile.html), width=1400, height=1200).errors == []
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):  # regenerate the README's picture, then review the diff
        docs = Path(__file__).resolve().parents[3] / "docs" / "dashboard.png"
        docs.parent.mkdir(exist_ok=True)
        image.quantize(colors=128).save(docs, optimize=True)
        assert docs.stat().st_size < 400_000
