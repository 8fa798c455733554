"""Money and percentages are written one way by every face; every expected string is worked by hand."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from customer_health.server.dashboard.view import risk_sections
from customer_health.server.render.health import render_portfolio
from customer_health.tools.base.formats import change, money, percent
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.narrative.facts_common import money as money_fact
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.reports.portfolio import portfolio_summary

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (45_000, "$45,000"),  # not $45.0k or $45K
        (533_700, "$533,700"),
        (5_004.4, "$5,004"),
        (999_499, "$999,499"),
        (999_500, "$1.0M"),  # never $1,000K
        (1_234_567, "$1.2M"),
        (1_250_000, "$1.2M"),  # a tie goes to the even digit, as Python rounds everywhere
        (1_350_000, "$1.4M"),
        (2_500_000_000, "$2,500.0M"),
        (0, "$0"),
        (-45_000, "-$45,000"),  # the sign before the currency, as the grounding check reads it
        (-1_234_567, "-$1.2M"),
        (-0.4, "$0"),  # no minus on an amount that rounds to nothing
        (None, "—"),
        (math.nan, "—"),
    ],
)
def test_money_is_whole_dollars_below_a_million_and_millions_to_one_decimal_from_999_500(amount, text):
    assert money(amount) == text


@pytest.mark.parametrize(
    ("ratio", "decimals", "text"),
    [
        (0.42, 0, "42%"),
        (0.425, 0, "42%"),  # 42.5: a tie goes to the even 42, as round() and the rules' {:.0%} evidence do
        (0.435, 0, "44%"),  # 43.5: to the even 44
        (0.4251, 0, "43%"),
        (0.4213, 1, "42.1%"),
        (0.425, 1, "42.5%"),
        (1.0, 0, "100%"),
        (1.5, 0, "150%"),
        (-0.4251, 0, "-43%"),
        (-0.004, 0, "0%"),  # no "-0%"
        (None, 0, "—"),
        (math.nan, 1, "—"),
    ],
)
def test_percent_writes_a_ratio_as_a_percentage(ratio, decimals, text):
    assert percent(ratio, decimals) == text


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (0.12, "+12%"),
        (-0.43, "-43%"),
        (0.126, "+13%"),
        (-0.126, "-13%"),
        (0.0, "+0%"),
        (-0.004, "+0%"),  # rounds to no change
        (2.0, "+200%"),
        (None, "—"),
    ],
)
def test_change_always_carries_its_sign(ratio, text):
    assert change(ratio) == text


def test_a_money_fact_displays_its_amount_with_the_same_formatter():
    assert money_fact(45_000).display == money(45_000) == "$45,000"
    assert money_fact(1_234_567).display == "$1.2M"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with Workspace(tmp_path_factory.mktemp("formats") / "ws") as ws:
        ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
        analysis = analyze(ds)
        yield portfolio_summary(ds, scores=analysis.scores), analysis.risk


def test_the_cli_table_the_dashboard_and_the_portfolio_summary_write_an_accounts_arr_the_same_way(example):
    portfolio, risk = example
    top = portfolio.top_red_accounts.accounts[0]  # Willow Transport, ACC-0073, $533,700 in the example
    expected = money(top.arr)
    assert expected == "$533,700"
    cli_row = next(
        line for line in render_portfolio(portfolio).splitlines() if line.startswith(top.account_id)
    )
    at_risk = next(s for s in risk_sections(portfolio, risk, top_n=10) if s.key == "at_risk")
    dashboard_row = next(row for row in at_risk.tables[0].rows if row[0].value == top.account_id)
    faces = {
        "cli portfolio table": re.search(r"-?\$[\d.,]+[kKM]?", cli_row).group(0),  # the row's ARR column
        "dashboard at-risk table": dashboard_row[2].text,
        "portfolio summary": re.search(rf"{re.escape(top.name)} \((\S+) ARR", portfolio.summary).group(1),
    }
    assert faces == dict.fromkeys(faces, expected)
