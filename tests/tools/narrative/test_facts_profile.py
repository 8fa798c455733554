"""The facts packs take their scores and risk from the analysis pipeline, with the profile and as-of the user picks,
and say which profile they used. On the tiny book of tests/data/facts (A2 scores 59.1 with the enterprise profile,
39.8 with self_serve) and, for the board's previous period, on the bundled example.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.narrative.facts import build_facts
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.reports.portfolio import portfolio_summary

DATA = Path(__file__).resolve().parents[2] / "data"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DAY = date(2026, 3, 31)
TIERS = ("thriving", "healthy", "neutral", "at_risk", "critical")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    with Workspace(tmp_path_factory.mktemp("facts-profile") / "ws") as ws:
        yield ws.dataset(ws.load([DATA / "facts"], roots=AllowedRoots([DATA.resolve()])))


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with Workspace(tmp_path_factory.mktemp("facts-profile-example") / "ws") as ws:
        yield ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))


def _row(rows, account_id: str):
    return next(a for a in rows if a.account_id == account_id)


@pytest.mark.parametrize("kind", ["qbr", "risk", "summary", "diagnosis"])
def test_an_account_pack_carries_the_score_and_risk_of_the_profile_it_was_asked_for(book, kind):
    analysis = analyze(book, profile="self_serve")
    mine, enterprise = _row(analysis.scores.accounts, "A2"), _row(analyze(book).scores.accounts, "A2")
    assert mine.health_score != enterprise.health_score  # 39.8 (at risk) vs 59.1 (neutral)
    f = build_facts(book, kind, "A2", profile="self_serve")
    assert f.profile == "self_serve"
    assert (f.health.score, f.health.tier) == (mine.health_score, mine.tier)
    step = _row(analysis.risk.accounts, "A2").next_action
    found = f.action_plan.next_action if kind == "risk" else f.next_action
    assert found.model_dump() == step.model_dump()
    default = build_facts(book, kind, "A2")
    assert (default.profile, default.health.score) == ("enterprise", enterprise.health_score)


def test_the_risk_pack_has_the_signals_and_level_the_pipeline_gives_for_the_profile(book):
    row = _row(analyze(book, profile="self_serve").risk.accounts, "A2")
    f = build_facts(book, "risk", "A2", profile="self_serve")
    assert f.risk_level == row.risk_level
    assert [s.id for s in f.signals] == [s.id for s in row.signals]
    assert f.escalation.model_dump() == row.escalation.model_dump()


def test_an_earlier_as_of_and_a_profile_are_used_together(book):
    day = "2026-03-15"
    mine = _row(analyze(book, as_of=day, profile="self_serve").scores.accounts, "A2")
    f = build_facts(book, "qbr", "A2", as_of=day, profile="self_serve")
    assert (f.as_of, f.profile, f.health.score) == (date(2026, 3, 15), "self_serve", mine.health_score)


def test_the_board_pack_counts_tiers_and_risk_with_the_profile(book):
    analysis = analyze(book, as_of=DAY, profile="self_serve")
    customers = [a for a in analysis.scores.accounts if a.status == "customer"]
    f = build_facts(book, "board", "2026-Q1", profile="self_serve")
    assert f.profile == "self_serve"
    assert {t.tier: t.accounts for t in f.health_distribution} == {
        t: sum(a.tier == t for a in customers) for t in TIERS
    }
    assert f.risk.accounts_by_level == analysis.risk.risk_counts
    enterprise = build_facts(book, "board", "2026-Q1")
    assert enterprise.profile == "enterprise"
    assert enterprise.health_distribution != f.health_distribution  # A2: neutral vs at risk


def test_the_board_compares_with_the_previous_period_scored_with_the_same_profile(example):
    f = build_facts(example, "board", "2026-Q2", profile="self_serve")
    earlier = analyze(example, as_of=date(2026, 3, 31), profile="self_serve").scores
    p = portfolio_summary(example, scores=earlier, period_months=3, top_n=1)
    assert f.previous is not None and f.previous.end == date(2026, 3, 31)
    assert f.previous.at_risk_arr.amount == pytest.approx(p.at_risk_arr)
    assert f.previous.at_risk_share.ratio == pytest.approx(p.at_risk_share, abs=1e-4)
    enterprise = build_facts(example, "board", "2026-Q2")
    assert enterprise.previous.at_risk_arr != f.previous.at_risk_arr


def test_the_portfolio_diagnosis_uses_no_score_and_names_no_profile(book):
    assert build_facts(book, "diagnosis", None, profile="self_serve").profile is None


def test_an_unknown_profile_is_an_error_naming_the_presets(book):
    with pytest.raises(InputError) as err:
        build_facts(book, "qbr", "A1", profile="self-serve-ish")
    assert "self_serve" in err.value.message
