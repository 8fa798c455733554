"""The grounding check: what a draft may claim is what the facts hold, within the rounding the draft shows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pytest
from customer_health.tools.narrative.grounding import check_draft
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

FACTS = {
    "account": {
        "account_id": "ACC-0073",
        "name": "Willow Transport",
        "arr": 1_200_000.0,
        "renewal_date": "2026-11-30",
    },
    "health": {"score": 48.8, "previous": 61.9, "tier": "at_risk"},
    "seats": {"purchased": 50, "active": 21, "adopted_share": 0.4237},
    "trend": {"core_actions_30d": 89, "core_actions_prior_30d": 183, "core_change": -0.5137},
    "signals": [{"evidence": "core actions -51% month over month (183 → 89)"}],
    "as_of": "2026-08-31",
}
NAMES = ["Willow Transport", "Sagebrush Biotech", "Cedar Academy"]
FAITHFUL = """# Willow Transport

Willow Transport scores 48.8 out of 100, down from 61.9.
21 of 50 seats were active and 42% of seats used a core feature.
Core actions fell 51% month over month, from 183 to 89.
ARR is $1.2M and the renewal is due on November 30, 2026 (as of 2026-08-31).
"""


def test_a_faithful_draft_passes_with_every_claim_matched():
    report = check_draft(FAITHFUL, FACTS, account_names=NAMES)
    assert report.passed, report.unsupported
    kinds = {c.kind for c in report.claims}
    assert kinds == {"account", "number", "percent", "money", "date"}
    assert {c.text for c in report.claims if c.kind == "money"} == {"$1.2M"}
    assert all(c.matched for c in report.claims)


@pytest.mark.parametrize(
    ("old", "new", "bad"),
    [
        ("down from 61.9", "down from 64.9", "64.9"),  # a changed number
        ("42% of seats", "47% of seats", "47%"),  # an invented percentage
        ("ARR is $1.2M", "ARR is $1.5M", "$1.5M"),  # a wrong currency amount
        ("November 30, 2026", "December 15, 2026", "December 15, 2026"),  # a wrong date
        ("# Willow Transport", "# Cedar Academy", "Cedar Academy"),  # another account's name
    ],
)
def test_a_changed_figure_date_or_name_fails_naming_its_sentence(old, new, bad):
    draft = FAITHFUL.replace(old, new)
    report = check_draft(draft, FACTS, account_names=NAMES)
    assert not report.passed
    assert [c.text for c in report.unsupported] == [bad]
    assert bad in report.unsupported[0].sentence and bad in report.summary


@pytest.mark.parametrize(
    "sentence",
    [
        "Seats in use: 0.42 of seats used a core feature.",  # 0.4237 shown with 2 decimals
        "42.4% of seats used a core feature.",  # one decimal
        "ARR is $1,200,000.",
        "ARR is 1.2 million dollars.",
        "ARR is $1200k.",
        "Core actions changed by -51%.",
        "Renewal in Nov 2026, in 2026-Q4.",
    ],
)
def test_units_and_rounding_are_understood(sentence):
    report = check_draft(sentence, FACTS, account_names=NAMES)
    assert report.passed, [c.text for c in report.unsupported]


def test_rounding_beyond_what_the_draft_shows_is_not_allowed():
    assert not check_draft("42.9% of seats used a core feature.", FACTS).passed  # 42.37 → 42.4, not 42.9
    assert not check_draft("The score is 48.1.", FACTS).passed


def test_a_sentence_the_writer_marks_unsupported_does_not_fail_the_check():
    report = check_draft("They saved 30 hours a week [unsupported].", FACTS)
    assert report.passed and report.claims[0].declared and not report.claims[0].supported
    assert "marked [unsupported]" in report.summary


def test_structure_is_not_a_claim_list_markers_identifiers_and_quarters_inside_names():
    report = check_draft("1. Call ACC-0073 today.\n2. Review the Q3 plan.", FACTS)
    assert report.claims == [] and report.passed


def test_facts_can_be_a_pydantic_model_with_dates():
    class Facts(BaseModel):
        renewal: date
        share: float

    report = check_draft("Renews on 2026-11-30; 25% adopted.", Facts(renewal=date(2026, 11, 30), share=0.25))
    assert report.passed and len(report.claims) == 2


@given(
    value=st.floats(min_value=0.001, max_value=5_000_000, allow_nan=False),
    style=st.sampled_from(["plain", "comma", "one_decimal", "money_k", "money_m", "percent"]),
)
def test_any_fact_written_in_a_supported_format_is_supported(value, style):
    facts = {"arr": value} if style.startswith("money") else {"x": value}
    if style == "plain":
        text = f"{value:.0f}"
    elif style == "comma":
        text = f"{value:,.0f}"
    elif style == "one_decimal":
        text = f"{value:.1f}"
    elif style == "money_k":
        text = f"${value / 1e3:.1f}k"
    elif style == "money_m":
        text = f"${value / 1e6:.2f}M"
    else:
        facts = {"x": value / 5_000_000}  # a share in 0..1
        text = f"{value / 50_000:.1f}%"
    if text.replace("$", "").startswith(("0k", "0M", "0.0k", "0.00M")):
        return  # rounds to nothing: not a claim about this value
    report = check_draft(f"The value is {text} today.", facts)
    assert report.passed, (text, value, report.unsupported)


@pytest.mark.parametrize(
    ("facts", "good", "bad"),
    [
        ({"score": 61.37}, ["61", "61.4", "61.37"], ["62", "61.3", "61.5", "61.36", "61%"]),
        ({"share": 0.6137}, ["61%", "61.4%", "0.61", "61 percent"], ["62%", "61.3%", "0.62", "61"]),
        ({"share": 0.05}, ["5 pp", "5 percentage points", "5%"], ["6 pp", "5"]),
    ],
)
def test_a_figure_shown_with_fewer_decimals_matches_only_the_fact_rounded(facts, good, bad):
    for text in good:
        assert check_draft(f"It is {text} now.", facts).passed, text
    for text in bad:
        assert not check_draft(f"It is {text} now.", facts).passed, text


@pytest.mark.parametrize(
    ("text", "passes"),
    [
        ("ARR is $12,000.", True),
        ("ARR is €12k.", True),
        ("ARR is £12,000.00.", True),
        ("ARR is 12 thousand.", True),
        ("ARR is $12,500.", False),
        ("ARR is €13k.", False),
        ("Expansion is $45.3k.", True),  # 45,260 → 45.3k
        ("Expansion is $45.2k.", False),
        ("Usage is up 2.5x.", True),
        ("Usage is up 3.5x.", False),
    ],
)
def test_amounts_and_multiples_are_claims_in_any_currency_and_scale(text, passes):
    facts = {"arr": 12_000, "expansion": 45_260, "ratio": 2.5}
    assert check_draft(text, facts).passed is passes


RENEWAL_WRITTEN = [
    "2026-03-03",
    "March 3, 2026",
    "Mar. 3rd, 2026",
    "3 March 2026",
    "3/3/2026",
    "March 2026",
    "Mar 2026",
    "2026-03",
    "Q1 2026",
    "2026-Q1",
    "2026",
]


@pytest.mark.parametrize(
    "fact", [date(2026, 3, 3), datetime(2026, 3, 3, 14, 5), "2026-03-03", "2026-03-03T14:05:00Z"]
)
def test_a_fact_date_supports_the_date_its_month_quarter_and_year_in_every_written_form(fact):
    for text in RENEWAL_WRITTEN:
        report = check_draft(f"The renewal is {text}.", {"renewal": fact})
        assert report.passed and [c.kind for c in report.claims] == ["date"], text
    for text in ["2026-03-04", "March 4, 2026", "April 2026", "Q2 2026", "2025"]:
        assert not check_draft(f"The renewal is {text}.", {"renewal": fact}).passed, text


def test_a_period_named_in_the_facts_supports_that_period_and_the_larger_ones_holding_it():
    facts = {"period": "Q3 2026", "month": "March 2025"}
    for text in ["Q3 2026", "2026-Q3", "2026", "Q1 2025", "March 2025", "2025"]:
        assert check_draft(f"Board review for {text}.", facts).passed, text
    for text in [
        "September 2026",
        "Q4 2026",
        "April 2025",
        "2027",
    ]:  # inside or beside a fact period: not named
        assert not check_draft(f"Board review for {text}.", facts).passed, text


def test_a_slash_date_matches_in_either_reading_and_is_one_claim():
    facts = {"renewal": "2026-04-03"}
    assert check_draft("Renews 3/4/2026.", facts).passed  # 3 April, day first
    assert check_draft("Renews 4/3/2026.", facts).passed  # April 3, month first
    report = check_draft("Renews 5/3/2026.", facts)
    assert not report.passed and [c.text for c in report.unsupported] == ["5/3/2026"]


def test_the_year_inside_a_date_is_not_a_second_claim_and_numbers_in_words_are_not_claims():
    report = check_draft("Two of the three champions left on November 30, 2026.", {"renewal": "2026-11-30"})
    assert [(c.text, c.kind) for c in report.claims] == [("November 30, 2026", "date")]


def test_an_account_named_in_the_facts_is_checked_even_without_the_dataset_names():
    facts = {"account": {"name": "Willow Transport"}, "peers": [{"name": "Cedar Academy", "score": 71.0}]}
    report = check_draft("Willow Transport trails Cedar Academy at 71.", facts)
    assert report.passed and [c.kind for c in report.claims] == ["account", "account", "number"]
    report = check_draft("Willow Transport trails Sagebrush Biotech.", facts, account_names=NAMES)
    assert [c.text for c in report.unsupported] == ["Sagebrush Biotech"]


def test_facts_may_hold_numpy_decimal_and_dataclass_values():
    @dataclass
    class Seats:
        purchased: np.int64
        price: Decimal

    report = check_draft("50 seats at $1,234.50 each.", {"seats": Seats(np.int64(50), Decimal("1234.5"))})
    assert report.passed and [c.matched for c in report.claims] == ["seats.purchased", "seats.price"]


def test_the_summary_counts_each_kind_and_names_the_first_unsupported_claim():
    report = check_draft(
        "Willow Transport: 21 seats, 42% adopted, $1.3M ARR, renews 2026-11-30.", FACTS, account_names=NAMES
    )
    assert report.summary == (
        "5 claim(s) checked (1 number, 1 percentage, 1 amount, 1 date, 1 account name): 4 supported by the "
        "facts (3 without a citation), 1 failing. First: '$1.3M' (unsupported) in \"Willow Transport: 21 seats, "
        '42% adopted, $1.3M ARR, renews 2026-11-30.".'
    )
    assert check_draft("Nothing to see.", FACTS).summary.endswith("nothing unsupported.")


def test_ten_thousand_account_names_are_checked_quickly():
    names = [f"Account {i:05d} Holdings" for i in range(10_000)]
    facts = {"account": {"name": names[42]}, "score": 48.8}
    draft = "\n".join(f"{names[42]} scores 48.8; {names[i]} is a peer." for i in range(0, 60))
    started = time.perf_counter()
    report = check_draft(draft, facts, account_names=names)
    assert time.perf_counter() - started < 5  # was 22 s when each name was searched as a regex
    assert len(report.unsupported) == 59  # each peer but the account itself


@given(
    when=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    style=st.sampled_from(
        [
            "%Y-%m-%d",
            "%B %-d, %Y",
            "%b %-d, %Y",
            "%-d %B %Y",
            "%m/%d/%Y",
            "%d/%m/%Y",
            "%B %Y",
            "%b %Y",
            "%Y-%m",
            "Q",
            "%Y",
        ]
    ),
    as_string=st.booleans(),
)
def test_any_fact_date_written_in_a_supported_format_is_supported(when, style, as_string):
    text = f"Q{(when.month - 1) // 3 + 1} {when.year}" if style == "Q" else when.strftime(style)
    report = check_draft(f"It happened on {text} as planned.", {"d": when.isoformat() if as_string else when})
    assert report.passed and len(report.claims) == 1, (text, report.claims)


@given(
    value=st.floats(min_value=0.001, max_value=5_000_000, allow_nan=False),
    style=st.sampled_from(
        ["k", "comma_cents", "money_million", "euro_k", "million", "negative", "percent_0"]
    ),
)
def test_more_number_formats_of_any_fact_are_supported(value, style):
    facts = {"arr": value} if style in ("money_million", "euro_k") else {"x": value}
    text = {
        "k": f"{value / 1e3:.1f}k",
        "comma_cents": f"{value:,.2f}",
        "money_million": f"${value / 1e6:.1f} million",
        "euro_k": f"€{value / 1e3:,.0f}k",
        "million": f"{value / 1e6:.2f} million",
        "negative": f"-{value:,.0f}",
        "percent_0": f"{value / 50_000:.0f}%",
    }[style]
    if style == "percent_0":
        facts = {"x": value / 5_000_000}  # a share in 0..1 written as a whole percentage
    elif style == "negative":
        facts = {"x": -value}  # a fall held as a negative change
    report = check_draft(f"The value is {text} today.", facts)
    assert report.passed and len(report.claims) == 1, (text, value, report.claims)
