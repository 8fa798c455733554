"""The grounding check: what a draft may claim is what the facts hold, within the rounding the draft shows."""

from __future__ import annotations

from datetime import date

import pytest
from customer_health.tools.grounding import check_draft
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
    facts = {"x": value}
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
