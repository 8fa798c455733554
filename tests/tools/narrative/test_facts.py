"""Facts packs on the tiny book in tests/data/facts (see its README): every hand-worked number, and equality with the
tools the packs are gathered from. As of 2026-03-31; last 30 days Mar 2–31, the 30 before Jan 31–Mar 1.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.accounts import resolve_account
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.peers import peer_comparison
from customer_health.tools.health.score import score_accounts
from customer_health.tools.narrative.facts import build_facts, parse_period
from customer_health.tools.narrative.facts_common import money, share
from customer_health.tools.reports.account import account_card
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.reports.portfolio import portfolio_summary
from customer_health.tools.risk.rules import load_rules
from customer_health.tools.risk.signals import risk_signals

DATA = Path(__file__).resolve().parents[2] / "data"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DAY = date(2026, 3, 31)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("facts")
    with Workspace(tmp / "ws") as ws:
        yield ws.dataset(ws.load([DATA / "facts"], roots=AllowedRoots([DATA.resolve()])))


def test_a_share_keeps_the_ratio_and_gives_the_percent_to_one_decimal():
    assert share(0.4213).model_dump() == {"ratio": 0.4213, "percent": 42.1}
    assert share(-0.3333).model_dump() == {"ratio": -0.3333, "percent": -33.3}
    assert share(None) is None


def test_money_keeps_the_amount_and_displays_it_as_every_face_does():
    assert money(120000).model_dump() == {"amount": 120000.0, "display": "$120,000"}
    assert money(1_234_567).display == "$1.2M" and money(None) is None  # the cases: tests/tools/base


# --- resolving the account a user means ---


@pytest.mark.parametrize(
    "token, expected",
    [
        ("A1", "A1"),
        ("a1", "A1"),
        ("ACME Corp", "A1"),
        ("acme-corp", "A1"),
        ("acmec", "A1"),
        ("beta", "B1"),
        ("Beta_Inc", "B1"),
        ("labs", "A2"),
        ("  B1 ", "B1"),
    ],
)
def test_an_account_is_found_by_id_name_prefix_or_word(book, token, expected):
    assert resolve_account(book, token) == expected


def test_an_ambiguous_name_lists_every_account_it_could_mean(book):
    with pytest.raises(InputError) as err:
        resolve_account(book, "acme")
    assert "matches 2 accounts" in err.value.message
    assert err.value.options == ["A1 (ACME Corp)", "A2 (Acme Labs)"]


def test_an_unknown_account_lists_the_closest_ids_and_names_first(book):
    with pytest.raises(InputError) as err:
        resolve_account(book, "betta")
    assert err.value.options[0] == "B1 (Beta Inc)"
    assert len(err.value.options) == 4 and err.value.column == "account_id"


def test_an_empty_account_is_an_error_listing_the_accounts(book):
    with pytest.raises(InputError) as err:
        resolve_account(book, " ")
    assert "A1 (ACME Corp)" in err.value.options


# --- the one-line summary ---


def test_the_summary_facts_hold_the_hand_counted_seats_features_and_activity(book):
    f = build_facts(book, "summary", "acme corp")
    assert f.kind == "summary" and f.as_of == DAY and f.account.account_id == "A1"
    # present: o1–o5, n1–n3, m1 = 9 of 10 seats; adopted: all but m1 = 8
    assert (f.seats.present_users, f.seats.adopted_users, f.seats.seats_purchased) == (9, 8, 10)
    assert f.seats.present_utilization.model_dump() == {"ratio": 0.9, "percent": 90.0}
    assert f.seats.adopted_utilization.ratio == 0.8 and f.seats.window_days == 30
    # import_data by 8 people is the most widely used; all 3 core features are in use
    assert (f.top_feature.feature, f.top_feature.users) == ("import_data", 8)
    assert f.breadth.ratio == 1.0 and (f.features_in_use, f.core_features_total) == (3, 3)
    # core actions: 3+3+1+1+1+3+3+3 = 18 now, o1's 10 builds on Feb 10 before: +80%
    assert f.activity.last_30["core_actions"] == 18 and f.activity.prior_30["core_actions"] == 10
    assert f.activity.month_over_month["core_actions"].percent == 80.0
    # weekly-active over 4 weeks: operators 6 of 20 user-weeks, analysts 3 of 12, the manager 4 of 4
    rates = {p.persona: p.weekly_active_rate.ratio for p in f.personas.personas}
    assert rates == {"operator": 0.3, "analyst": 0.25, "manager": 1.0}
    assert f.personas.below_target == ["operator", "analyst"]
    assert f.value_events == ["share_report"]


def test_the_summary_sentence_score_and_next_action_are_the_tools_own(book):
    f = build_facts(book, "summary", "A1")
    card = account_card(book, "A1")
    assert f.one_sentence == card.one_sentence
    score = next(a for a in score_accounts(book).accounts if a.account_id == "A1")
    assert f.health.score == score.health_score and f.health.tier == score.tier
    assert f.health.drivers[0].metric == next(d.metric for d in score.drivers if d.lost > 0)
    risk = next(a for a in risk_signals(book).accounts if a.account_id == "A1")
    assert f.risk_level == risk.risk_level
    assert f.next_action.model_dump() == risk.next_action.model_dump()


def test_a_card_reads_its_score_and_risk_from_the_analysis_pipeline(book):
    analysis = analyze(book, profile="self_serve")
    card = account_card(book, "A1", profile="self_serve")
    assert card.score is next(a for a in analysis.scores.accounts if a.account_id == "A1")
    assert card.risk == next(a for a in analysis.risk.accounts if a.account_id == "A1").model_dump(
        mode="json"
    )
    assert card.score.health_score != account_card(book, "A1").score.health_score  # the profile is honoured


# --- the QBR ---


def test_the_qbr_funnel_finds_the_build_step_broken_for_operators(book):
    fn = build_facts(book, "qbr", "A1").funnel
    # import 8 (o1–o5, n1–n3) → build 5 (o1, o2, n1–n3) → share 5
    assert [s.users for s in fn.steps] == [8, 5, 5] and fn.users_started == 8 and fn.users_completed == 5
    assert (
        fn.steps[1].conversion_from_previous.ratio == 0.625
        and fn.steps[2].conversion_from_previous.ratio == 1
    )
    assert fn.broken_step == "build_report" and fn.step_before_broken == "import_data"
    assert fn.users_lost_at_broken_step == 3 and fn.drop_at_broken_step.percent == 37.5
    # builds 1 h after the import for o1, n1, n2, n3 and 24 h for o2; shares 1, 23, 23, 24, 47 h after
    assert [s.median_hours_from_previous for s in fn.steps] == [None, 1.0, 23.0]
    operator, analyst = fn.by_role_at_broken_step
    assert (operator.role, operator.users_at_previous, operator.users_at_step) == ("operator", 5, 2)
    assert operator.conversion.ratio == 0.4 and operator.drop.ratio == 0.6
    assert (analyst.role, analyst.users_lost) == ("analyst", 0)
    assert fn.pattern == "training" and fn.hypothesis.label == "a training gap"
    assert (fn.window_days, fn.lookback_days) == (14, 90)


def test_a_role_the_personas_do_not_have_building_reports_is_no_training_gap(tmp_path):
    import shutil

    from customer_health.server.drafting.prompts import render_template_draft

    folder = tmp_path / "facts"
    shutil.copytree(DATA / "facts", folder)
    config = folder / "customer-health.yaml"
    config.write_text(
        config.read_text().replace(
            "operator: {roles: [operator], weekly_active_target: 0.7}",
            "operator: {roles: [operator], weekly_active_target: 0.7, steps: [import_data, share_report]}",
        )
    )
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()])))
        facts = build_facts(ds, "diagnosis", "A1")
    fn = facts.funnel
    # the same counts as above (operators 2 of 5 build), but operators are not expected to build reports
    operator, analyst = fn.by_role_at_broken_step
    assert (operator.role, operator.users_lost, operator.expected_at_step) == ("operator", 3, False)
    assert analyst.expected_at_step is True
    assert list(fn.roles_not_expected_at_broken_step) == ["operator"]
    assert fn.pattern != "training"
    from customer_health.tools.narrative.grounding import strip_citations

    text = strip_citations(render_template_draft("diagnosis", facts))
    assert (
        "- Operator: 3 of 5 stopped (60% drop). The personas do not have this role doing build_report" in text
    )
    assert "training gap, so" not in text
    assert "- Analyst: 0 of 3 stopped (0% drop).\n" in text  # each role on its own line
    assert "Not compared, as not expected to do build_report: operator." in fn.explanation


def test_the_qbr_concentration_and_peers_match_the_tools(book):
    f = build_facts(book, "qbr", "A1")
    # five people did 3 core actions each, three did 1: the busiest does 3 of 18, the top two 6 of 18
    assert f.adoption.top1_share.ratio == 0.1667 and f.adoption.top2_share.ratio == 0.3333
    assert f.adoption.top_user == "n1" and not f.adoption.single_point_of_failure
    assert [x.share_of_seats.ratio for x in f.adoption.features] == [0.8, 0.5, 0.5]
    peers = next(r for r in peer_comparison(book).accounts if r.account_id == "A1")
    assert {
        m: (s.ratio if s else None) for m, s in f.peers.segment_percentile.items()
    } == peers.segment_percentile
    assert (
        f.trend.week_ends[-1] == DAY and sum(f.trend.weekly_core_actions) == 28
    )  # 10 on Feb 10, 18 in March
    assert f.card_summary == account_card(book, "A1").summary


# --- the at-risk document ---


def test_the_risk_facts_carry_the_signals_plan_and_escalation_of_the_tools(book):
    f = build_facts(book, "risk", "A1")
    row = next(a for a in risk_signals(book).accounts if a.account_id == "A1")
    assert [s.id for s in f.signals] == [s.id for s in row.signals] and f.signals[0].id == "renewal_due"
    assert f.date_identified == DAY and f.outcome == "in_progress"
    assert f.escalation.model_dump() == row.escalation.model_dump()
    book_rules = load_rules().playbook(row.next_action.playbook)
    assert [(s.when, s.do) for s in f.action_plan.steps] == [(a.when, a.do) for a in book_rules.actions]
    assert f.action_plan.owner == book_rules.owner and f.action_plan.sla == book_rules.sla
    # renewal on 2026-05-15 is 45 days after 2026-03-31
    assert (f.account.renewal_date, f.account.days_to_renewal) == (date(2026, 5, 15), 45)
    assert f.account.arr.display == "$120,000" and f.account.csm_owner == "Dana Whitfield"


def test_the_qbr_facts_carry_the_same_escalation_and_next_action_as_the_risk_tool(book):
    f = build_facts(book, "qbr", "A1")
    row = next(a for a in risk_signals(book).accounts if a.account_id == "A1")
    assert f.escalation.model_dump() == row.escalation.model_dump()
    assert f.next_action.model_dump() == row.next_action.model_dump()


def test_the_stakeholders_say_who_is_active_and_what_the_data_cannot_tell(book):
    st = build_facts(book, "risk", "A1").stakeholders
    assert st.champion == "active" and st.champions_remaining == 1  # m1 logged in on Mar 25
    assert st.exec_sponsor == "unknown"  # the users table has no is_exec_sponsor column
    assert st.key_user == "n1" and st.key_user_share.ratio == 0.1667
    assert (st.key_user_idle_days, st.key_user_last_seen) == (14, date(2026, 3, 17))  # n1 shared on Mar 17
    assert (st.days_inactive, st.last_activity) == (6, date(2026, 3, 25))  # m1's login on Mar 25
    assert st.end_users.present_users == 9


# --- the adoption diagnosis ---


def test_the_portfolio_diagnosis_adds_every_accounts_starters(book):
    f = build_facts(book, "diagnosis")
    assert f.scope == "portfolio" and f.account is None and f.activation_milestone == "share_report"
    # b1 (an operator at B1) imports on Mar 30 and goes no further: 9 → 5 → 5
    assert [s.users for s in f.funnel.steps] == [9, 5, 5]
    operator = f.funnel.by_role_at_broken_step[0]
    assert (operator.role, operator.users_at_previous, operator.users_at_step) == ("operator", 6, 2)


def test_an_account_diagnosis_names_the_fix_from_the_rules(book):
    f = build_facts(book, "diagnosis", "acme corp")
    assert f.scope == "account" and f.account.name == "ACME Corp"
    assert f.funnel.hypothesis.fix.startswith("run a short hands-on session")
    assert f.personas.below_target == ["operator", "analyst"]


# --- the board summary ---


def test_periods_are_quarters_months_or_years(book):
    assert parse_period("2026-Q3") == ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 9, 30))
    assert parse_period("2026-q1")[2:] == (date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period("2024-02") == ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29))
    assert parse_period("2026") == ("2026", "year", date(2026, 1, 1), date(2026, 12, 31))
    for bad in ("2026-Q5", "Q3-2026", "2026-13", "26-10", "last quarter"):
        with pytest.raises(InputError) as err:
            parse_period(bad)
        assert err.value.column == "period" and "YYYY-QN" in err.value.fix


def test_the_board_facts_are_the_portfolio_of_the_period(book):
    f = build_facts(book, "board", "2026-Q1")
    p = portfolio_summary(book, as_of=DAY, period_months=3, top_n=5)
    assert (f.period.start, f.period.end, f.period.months, f.period.complete) == (
        date(2026, 1, 1),
        DAY,
        3,
        True,
    )
    assert f.customers == 4 and f.total_arr.amount == 216000 and f.total_arr.display == "$216,000"
    assert [(t.tier, t.accounts, t.arr.amount) for t in f.health_distribution] == [
        (t.tier, t.accounts, t.arr) for t in p.health_distribution
    ]
    assert f.retention.source == p.revenue_kpis.source and f.portfolio_summary == p.summary
    assert f.renewals_next_90_days.within_days == 90 and f.tier_floors["thriving"] == 85
    # the events start on 2026-02-10, so there is no 2025-Q4 to compare with
    assert f.previous is None and any("2025-Q4" in c for c in f.caveats)
    assert (f.previous_period.label, f.previous_period.start) == ("2025-Q4", date(2025, 10, 1))


def test_an_open_period_is_reported_to_date_and_a_future_one_is_refused(book):
    year = build_facts(book, "board", "2026")
    assert year.period.months == 3 and not year.period.complete and year.as_of == DAY
    assert any("to date" in c for c in year.caveats)
    with pytest.raises(InputError) as err:
        build_facts(book, "board", "2026-Q2")
    assert "before 2026-Q2 begins" in err.value.message
    trailing = build_facts(book, "board")
    assert trailing.period.kind == "trailing" and trailing.period.label == "12 months to 2026-03-31"


# --- arguments ---


def test_an_account_narrative_without_an_account_is_an_error_with_options(book):
    with pytest.raises(InputError) as err:
        build_facts(book, "qbr", None)
    assert err.value.options[0] == "A1 (ACME Corp)"
    with pytest.raises(InputError) as err:
        build_facts(book, "memo", "A1")
    assert err.value.options == ["qbr", "risk", "board", "summary", "diagnosis"]


def test_a_snapshot_without_events_still_gives_a_summary(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([EXAMPLES / "snapshot"], roots=AllowedRoots([EXAMPLES.resolve()])))
        f = build_facts(ds, "summary", "beta", as_of="2026-01-31")
        assert f.account.account_id == "Beta-Inc" and f.seats is None and f.activity is None
        assert f.one_sentence.startswith("Health") and f.health.score == next(
            a.health_score
            for a in score_accounts(ds, as_of="2026-01-31").accounts
            if a.account_id == "Beta-Inc"
        )
        with pytest.raises(InputError):
            build_facts(ds, "diagnosis", "beta", as_of="2026-01-31")
