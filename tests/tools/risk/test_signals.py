"""Risk signals, the combination matrix, escalation and next actions — on a hand-built portfolio where every
expected signal and evidence number was worked out by hand — plus the rules files themselves and the example
portfolio.

as_of is 2026-06-30. Last 30 days = Jun 1 … Jun 30, prior 30 = May 2 … May 31, last 14 = Jun 17 … Jun 30, the
60 days before those = Apr 18 … Jun 16, last 7 = Jun 24 … Jun 30, last 90 = Apr 2 … Jun 30. Core features:
import_data, build_report, share_report; activation: share_report. Health scores are given by hand (see
SCORES), so the health-drop, tier and escalation rules are checked independently of the scoring maths.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.score import AccountScore, HealthScores
from customer_health.tools.risk.rules import Condition, format_evidence, load_rules, parse_rules
from customer_health.tools.risk.signals import assess, risk_signals

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
AS_OF = date(2026, 6, 30)
# id: (arr, seats, contract_start, renewal_date)
ACCOUNTS = {
    "A": (150000, 1, "2024-01-01", "2027-03-01"),
    "B": (50000, 2, "2024-01-01", "2027-03-01"),
    "C": (20000, 1, "2024-01-01", "2027-03-01"),
    "D": (10000, 1, "2024-01-01", "2027-03-01"),
    "E": (120000, 2, "2024-01-01", "2027-03-01"),
    "F": (200000, 2, "2024-01-01", "2027-03-01"),
    "G": (80000, 1, "2024-01-01", "2027-03-01"),
    "H": (15000, 1, "2026-05-16", "2027-05-16"),
    "I": (60000, 1, "2024-01-01", "2026-08-14"),
    "J": (40000, 4, "2024-01-01", "2027-03-01"),
    "K": (90000, 2, "2024-01-01", "2027-03-01"),
    "L": (5000, 1, "2024-01-01", "2027-03-01"),
    "M": (30000, 1, "2024-01-01", "2027-03-01"),
    "N": (25000, 1, "2024-01-01", "2027-03-01"),
    "O": (70000, 1, "2024-01-01", "2027-03-01"),
    "P": (12000, 2, "2024-01-01", "2027-03-01"),
}
# user: (account, is_champion, deactivated_at)
USERS = {
    "a1": ("A", True, ""),
    "b1": ("B", False, ""),
    "b2": ("B", False, ""),
    "c1": ("C", False, ""),
    "d1": ("D", False, ""),
    "e1": ("E", True, "2026-06-01T09:00:00"),
    "e2": ("E", False, ""),
    "f1": ("F", True, ""),
    "f2": ("F", False, ""),
    "g1": ("G", False, ""),
    "h1": ("H", False, ""),
    "i1": ("I", False, ""),
    "j1": ("J", False, ""),
    "j2": ("J", False, ""),
    "j3": ("J", False, ""),
    "j4": ("J", False, ""),
    "k1": ("K", False, ""),
    "k2": ("K", False, ""),
    "m1": ("M", False, ""),
    "n1": ("N", False, ""),
    "o1": ("O", False, ""),
}


def _steady(user: str, n: int = 5) -> list[tuple[str, str, str]]:
    return [("2026-05-20T10:00:00", user, "build_report")] * n + [
        ("2026-06-28T10:00:00", user, "build_report")
    ] * n


EVENTS = (
    # A: core 20 → 8 (−60%), last seen Jun 28
    [("2026-05-10T10:00:00", "a1", "build_report")] * 20
    + [("2026-06-25T10:00:00", "a1", "build_report")] * 8
    + [("2026-06-28T09:00:00", "a1", "login")]
    # B: b1 core 10 → 6 (−40%), idle since Jun 20; b2 only logs in
    + [("2026-05-15T10:00:00", "b1", "build_report")] * 10
    + [("2026-06-20T10:00:00", "b1", "build_report")] * 6
    + [("2026-06-29T09:00:00", "b2", "login")]
    # C: one import on May 20 and one on Jun 5, nothing since (25 days)
    + [("2026-05-20T10:00:00", "c1", "import_data"), ("2026-06-05T10:00:00", "c1", "import_data")]
    # D: last seen May 21 (40 days)
    + [("2026-05-21T10:00:00", "d1", "build_report")]
    # E: the champion e1 left on Jun 1; e2 keeps steady use
    + _steady("e2")
    # F: the champion f1 was last seen on May 10; f2 steady
    + [("2026-05-10T09:00:00", "f1", "login")]
    + _steady("f2", 3)
    + _steady("g1", 4)
    # H: 45 days in, imports but never shares (the activation milestone)
    + [
        ("2026-06-10T10:00:00", "h1", "import_data"),
        ("2026-06-29T10:00:00", "h1", "import_data"),
        ("2026-06-29T09:00:00", "h1", "login"),
    ]
    + _steady("i1")
    # J: 3 of 4 seats log in, one builds
    + _steady("j1", 2)
    + [("2026-06-28T09:00:00", u, "login") for u in ("j1", "j2", "j3")]
    + _steady("k1")
    + _steady("k2")
    + _steady("m1")
    + _steady("o1")
    # N: share_report last used May 1 (60 days ago), build_report steady
    + [("2026-05-01T10:00:00", "n1", "share_report")]
    + _steady("n1", 3)
)
TICKETS = [
    ("T1", "A", "2026-06-10T10:00:00", "", "true", "Exports failing for the finance team"),
    (
        "T2",
        "G",
        "2026-06-15T10:00:00",
        "2026-06-16T10:00:00",
        "false",
        "Comparing with Tableau – export limits",
    ),
    (
        "T3",
        "G",
        "2026-05-01T10:00:00",
        "2026-05-02T10:00:00",
        "false",
        "Looking for an alternative to scheduled PDFs",
    ),
    ("T4", "G", "2026-03-01T10:00:00", "2026-03-02T10:00:00", "false", "Power BI migration questions"),
    ("T5", "K", "2026-06-12T10:00:00", "2026-06-12T12:00:00", "false", "How do I add a filter?"),
]
NPS = [("G", 4, "2026-05-01T10:00:00"), ("G", 6, "2026-06-01T10:00:00"), ("K", 9, "2026-06-01T10:00:00")]
# account: (health now, health 30 days earlier, tier now)
SCORES = {
    "A": (45, 47, "at_risk"),
    "B": (60, 62, "neutral"),
    "C": (58, 60, "neutral"),
    "D": (20, 22, "critical"),
    "E": (75, 76, "healthy"),
    "F": (40, 42, "at_risk"),
    "G": (52, 55, "neutral"),
    "H": (50, None, "neutral"),
    "I": (42, 44, "at_risk"),
    "J": (55, 72, "neutral"),
    "K": (88, 86, "thriving"),
    "L": (10, 12, "critical"),
    "M": (45, 75, "at_risk"),
    "N": (66, 65, "neutral"),
    "O": (25, 27, "critical"),
    "P": (30, 31, "at_risk"),
}
EXPECTED = {
    "A": {"usage_decline_critical", "support_escalation"},
    "B": {"usage_decline_high", "key_user_inactive"},
    "C": {"no_activity_14d", "key_user_inactive", "core_feature_unused"},
    # D's core use went 1 → 0: under the 10-action floor, so no usage-decline signal (dormancy covers it)
    "D": {"no_activity_30d", "core_feature_unused", "low_seat_utilization"},
    "E": {"champion_departed"},
    "F": {"champion_silent"},
    "G": {"competitor_mention", "negative_nps"},
    "H": {"onboarding_stall"},
    "I": {"renewal_due"},
    "J": {"present_not_adopted", "health_drop", "tier_drop"},
    "K": set(),
    "M": {"health_drop_sharp", "tier_drop"},
    "N": {"core_feature_unused"},
    "O": set(),
    "P": {"never_active", "low_seat_utilization"},
}


def write_portfolio(folder: Path, *, users: bool = True, tickets: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["account_id,name,arr,seats_purchased,contract_start,renewal_date,churn_date"] + [
        f"{a},Acct {a},{arr},{seats},{start},{renewal},{'2026-06-01' if a == 'L' else ''}"
        for a, (arr, seats, start, renewal) in ACCOUNTS.items()
    ]
    (folder / "accounts.csv").write_text("\n".join(rows) + "\n")
    account_of = {u: a for u, (a, _, _) in USERS.items()}
    if users:
        (folder / "users.csv").write_text(
            "user_id,account_id,is_champion,deactivated_at\n"
            + "".join(f"{u},{a},{str(c).lower()},{d}\n" for u, (a, c, d) in USERS.items())
        )
    (folder / "events.csv").write_text(
        "timestamp,user_id,account_id,event\n"
        + "".join(f"{t},{u},{account_of[u]},{e}\n" for t, u, e in EVENTS)
    )
    if tickets:
        (folder / "tickets.csv").write_text(
            "ticket_id,account_id,created_at,resolved_at,escalated,subject\n"
            + "".join(",".join(t) + "\n" for t in TICKETS)
        )
    (folder / "nps.csv").write_text(
        "account_id,score,responded_at\n" + "".join(f"{a},{s},{t}\n" for a, s, t in NPS)
    )
    (folder / "customer-health.yaml").write_text(
        "core_features: [import_data, build_report, share_report]\n"
        "passive_events: [login]\nactivation: share_report\n"
    )
    return folder


def hand_scores() -> HealthScores:
    accounts = [
        AccountScore(
            account_id=a,
            name=f"Acct {a}",
            arr=ACCOUNTS[a][0],
            health_score=now,
            previous_score=before,
            tier=tier,
            colour="green",
            lifecycle="established",
            components={},
            weight_coverage=1.0,
            drivers=[],
            status="churned" if a == "L" else "customer",
        )
        for a, (now, before, tier) in SCORES.items()
    ]
    return HealthScores(
        as_of=AS_OF,
        profile="hand",
        tiers={"thriving": 85, "healthy": 70, "neutral": 50, "at_risk": 30},
        accounts=accounts,
        tier_counts={},
    )


def load_portfolio(folder: Path, stack: list[Workspace], **kwargs):
    source = write_portfolio(folder / "p", **kwargs)
    ws = Workspace(folder / "ws")
    stack.append(ws)
    return ws.dataset(ws.load([source], roots=AllowedRoots([folder.resolve()])))


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    opened: list[Workspace] = []
    yield load_portfolio(tmp_path_factory.mktemp("signals"), opened)
    opened[0].close()


@pytest.fixture(scope="module")
def result(portfolio):
    return risk_signals(portfolio, as_of=AS_OF, scores=hand_scores())


def _by_id(result) -> dict:
    return {a.account_id: a for a in result.accounts}


def _evidence(result, account: str, signal: str) -> str:
    return next(s.evidence for s in _by_id(result)[account].signals if s.id == signal)


def test_each_signal_fires_for_exactly_the_accounts_planned(result):
    assert {a: {s.id for s in r.signals} for a, r in _by_id(result).items()} == EXPECTED


def test_churned_accounts_are_left_out_and_said_so(result):
    assert "L" not in _by_id(result)
    assert any("1 account(s) already lost" in c for c in result.caveats)


@pytest.mark.parametrize(
    ("account", "signal", "text"),
    [
        ("A", "usage_decline_critical", "core actions -60% month over month (20 → 8)"),
        ("A", "support_escalation", "1 escalated ticket(s) in the last 90 days; 1 open now"),
        ("B", "usage_decline_high", "core actions -40% month over month (10 → 6)"),
        (
            "B",
            "key_user_inactive",
            "the busiest core user (b1, 100% of core actions in 30 days) has been idle 10 days "
            "(last seen 2026-06-20)",
        ),
        (
            "C",
            "no_activity_14d",
            "nobody at the account has used the product for 25 days (last activity 2026-06-05)",
        ),
        (
            "C",
            "core_feature_unused",
            "1 core feature(s) used earlier in the 60 days before but not in the last 14: import_data",
        ),
        (
            "D",
            "no_activity_30d",
            "nobody at the account has used the product for 40 days (last activity 2026-05-21)",
        ),
        (
            "D",
            "low_seat_utilization",
            "0% of purchased seats active in the last 30 days (0% using a core feature)",
        ),
        (
            "E",
            "champion_departed",
            "a champion's account was deactivated on 2026-06-01 (29 days ago); 0 champion(s) remain",
        ),
        (
            "F",
            "champion_silent",
            "no champion has used the product in the last 30 days (last seen 2026-05-10)",
        ),
        (
            "G",
            "competitor_mention",
            "2 ticket(s) in the last 90 days mention a competitor or an evaluation (Tableau); "
            'latest on 2026-06-15: "Comparing with Tableau – export limits"',
        ),
        ("G", "negative_nps", "NPS at 5.0 on the 0–10 scale (6 or below is a detractor)"),
        (
            "H",
            "onboarding_stall",
            "45 days into the contract and the activation milestone has not been reached",
        ),
        ("I", "renewal_due", "renews on 2026-08-14, 45 days away, at health 42"),
        ("J", "present_not_adopted", "75% of seats log in but only 25% use a core feature"),
        ("J", "health_drop", "health fell from 72 to 55 in 30 days (-17 points)"),
        ("J", "tier_drop", "moved from healthy to neutral in 30 days (score 72 → 55)"),
        ("M", "health_drop_sharp", "health fell from 75 to 45 in 30 days (-30 points)"),
        (
            "N",
            "core_feature_unused",
            "1 core feature(s) used earlier in the 60 days before but not in the last 14: share_report",
        ),
        ("P", "never_active", "no product activity recorded in 911 days as a customer"),
    ],
)
def test_evidence_carries_the_hand_computed_numbers(result, account, signal, text):
    assert _evidence(result, account, signal) == text


@pytest.mark.parametrize(
    ("account", "combos", "level"),
    [
        ("A", {"usage_and_support", "usage_only", "champion_active_usage_down"}, "critical"),
        ("B", {"usage_and_engagement"}, "high"),
        ("C", {"usage_and_engagement"}, "high"),
        ("E", {"champion_gone_usage_steady"}, "critical"),
        ("F", {"engagement_only", "champion_gone_usage_steady"}, "high"),
        ("G", set(), "high"),
        ("I", {"renewal_at_low_health"}, "high"),
        ("N", {"usage_only"}, "medium"),
        ("K", set(), "none"),
    ],
)
def test_combination_matrix_and_risk_level(result, account, combos, level):
    row = _by_id(result)[account]
    assert {c.id for c in row.combinations} == combos
    assert row.risk_level == level


@pytest.mark.parametrize(
    ("account", "playbook"),
    [
        ("A", "immediate_escalation"),  # urgent: the critical combination's save team applies
        ("B", "usage_decline"),  # watch: the high combination's executive call is more than it calls for
        ("D", "dormant_account"),
        ("E", "champion_departure"),
        ("F", "champion_reengagement"),
        ("G", "competitive_threat"),
        ("H", "onboarding_rescue"),
        ("I", "renewal_rescue"),
        ("J", "seat_adoption"),
        ("N", "enablement_focus"),
        ("O", "low_health_review"),  # high priority without a signal: the fallback review
    ],
)
def test_next_action_is_the_first_step_of_the_most_urgent_playbook_the_priority_calls_for(
    result, account, playbook
):
    row = _by_id(result)[account]
    first = load_rules().playbook(playbook).actions[0]
    assert (row.next_action.playbook, row.next_action.action) == (playbook, first.do)


def test_escalation_and_next_action_name_the_same_owner_and_deadline(result):
    acted = [a for a in result.accounts if a.next_action is not None]
    assert len(acted) == 14
    for a in acted:
        assert (a.next_action.owner, a.next_action.sla) == (a.escalation.owner, a.escalation.sla)
        assert a.next_action.when == f"within {a.escalation.sla}"


def test_a_healthy_account_without_signals_has_no_next_action(result):
    k = _by_id(result)["K"]
    assert k.next_action is None
    assert (k.escalation.stage, k.escalation.owner) == ("monitor", "CSM")


@pytest.mark.parametrize(
    ("account", "priority", "stage", "owner", "sla"),
    [
        # at risk with critical signals; $150k adds the VP (already there); the save team's CS manager joins
        ("A", "urgent", "escalate", "VP Customer Success + executive sponsor + CS manager", "24 hours"),
        # neutral with high signals: watch; the usage-decline playbook's CSM, its 48 hours tighter than a week
        ("B", "watch", "engage", "CSM", "48 hours"),
        # at risk with high signals: high; $200k adds the VP; the champion playbook is the CSM's, 48 hours
        ("F", "high", "intervene", "CSM + CS manager + VP Customer Success", "48 hours"),
        # at risk, renewing in 45 days with high risk: raised from high to urgent
        ("I", "urgent", "escalate", "VP Customer Success + executive sponsor + CSM + CS manager", "24 hours"),
        # neutral with medium signals: watch; fell 17 points, so the CS manager joins
        ("J", "watch", "engage", "CSM + CS manager", "1 week"),
        # at risk with high signals; fell 30 points: CS manager and VP
        ("M", "high", "intervene", "CSM + CS manager + VP Customer Success", "48 hours"),
        # health 25 (critical tier) without a signal: high, not an emergency
        ("O", "high", "intervene", "CSM + CS manager", "48 hours"),
        ("K", "ok", "monitor", "CSM", "1 week"),
    ],
)
def test_priority_sets_the_escalation_and_arr_drops_and_the_playbook_add_people(
    result, account, priority, stage, owner, sla
):
    row = _by_id(result)[account]
    esc = row.escalation
    assert (row.priority, esc.stage, esc.owner, esc.sla) == (priority, stage, owner, sla)


def test_accounts_come_in_call_list_order_priority_then_arr(result):
    order = [a.account_id for a in result.accounts]
    # urgent A $150k, I $60k, P $12k, D $10k; high F $200k, O $70k, M $30k; watch by ARR; ok K
    assert order == ["A", "I", "P", "D", "F", "O", "M", "E", "G", "B", "J", "N", "C", "H", "K"]
    assert result.risk_counts == {"critical": 4, "high": 7, "medium": 2, "low": 0, "none": 2}
    assert result.priority_counts == {"urgent": 4, "high": 3, "watch": 7, "ok": 1}
    assert (
        result.arr_at_risk
        == 150000 + 120000 + 12000 + 10000 + 80000 + 200000 + 60000 + 50000 + 30000 + 20000 + 15000
    )


def test_a_low_health_account_renewing_soon_outranks_larger_accounts_at_lower_priority(result):
    order = [a.account_id for a in result.accounts]
    i = _by_id(result)["I"]
    assert (i.days_to_renewal, i.renewal_date) == (45, date(2026, 8, 14))
    assert order.index("I") < order.index("F") and order.index("I") < order.index("E")


def test_result_json_has_the_contracted_shape(result):
    data = result.model_dump(mode="json")
    assert {"as_of", "summary", "caveats", "accounts"} <= set(data)
    first = data["accounts"][0]
    assert {"account_id", "name", "health_score", "tier", "signals", "risk_level", "next_action"} <= set(
        first
    )
    assert set(first["next_action"]) >= {"action", "owner", "sla", "playbook"}
    assert first["signals"][0]["detected_at"] == "2026-06-30"
    assert result.summary.startswith(
        "As of 2026-06-30, 13 of 15 customer accounts show at least one risk signal: "
        "4 at critical risk, 7 high, 2 medium"
    )


def test_limit_truncates_and_keeps_the_total(portfolio):
    res = risk_signals(portfolio, as_of=AS_OF, scores=hand_scores(), limit=3)
    assert [a.account_id for a in res.accounts] == ["A", "I", "P"]
    assert (res.total_rows, res.truncated) == (15, True)


def test_missing_inputs_become_caveats_not_silence(tmp_path):
    opened: list[Workspace] = []
    ds = load_portfolio(tmp_path, opened, users=False, tickets=False)
    res = risk_signals(ds, as_of=AS_OF, scores=hand_scores())
    opened[0].close()
    text = " ".join(res.caveats)
    assert "champion_departed, champion_silent" in text and "users table" in text
    assert "competitor_mention" in text and "support_escalation" in text
    assert not any(s.id.startswith("champion") for a in res.accounts for s in a.signals)


def test_scores_from_another_date_are_refused(portfolio):
    with pytest.raises(InputError, match="as of"):
        risk_signals(portfolio, as_of="2026-06-29", scores=hand_scores())


def _row(**values):
    base = {"account_id": "X", "health_score": 80.0, "tier": "healthy", "arr": 50000.0}
    return base | values


@pytest.mark.parametrize(
    ("health", "tier", "arr", "stage", "owner"),
    [
        (80, "healthy", 50000, "monitor", "CSM"),
        (60, "neutral", 50000, "monitor", "CSM"),  # no signal: ok
        (40, "at_risk", 50000, "engage", "CSM"),  # a low score without a signal: watch
        (40, "at_risk", 100000, "engage", "CSM"),  # ARR adds the VP only from intervene up
        (20, "critical", 50000, "intervene", "CSM + CS manager"),  # the critical tier alone: high
        (20, "critical", 250000, "intervene", "CSM + CS manager + VP Customer Success"),
    ],
)
def test_escalation_path_by_health_and_arr_without_signals(health, tier, arr, stage, owner):
    row = _row(health_score=float(health), tier=tier, arr=float(arr))
    out = assess(row, load_rules(), {"health_score"}, AS_OF)
    assert (out["escalation"]["stage"], out["escalation"]["owner"]) == (stage, owner)


def test_usage_decline_with_an_active_champion_asks_for_a_champion_conversation():
    row = _row(
        core_trend=-0.1,
        core_actions_30d=9.0,
        core_actions_prior_30d=10.0,
        unused_core_features=1,
        unused_core_list="share_report",
        champion_active=1.0,
    )
    out = assess(row, load_rules(), set(row), AS_OF)
    assert {c["id"] for c in out["combinations"]} == {"usage_only", "champion_active_usage_down"}
    assert out["risk_level"] == "medium"


def test_onboarding_stall_needs_a_recorded_contract_start_not_the_first_event():
    row = _row(tenure_days=45, activated=0.0)
    assert assess(row, load_rules(), {"health_score", "tenure_days", "activated"}, AS_OF)["signals"] == []
    row["contract_days"] = 45
    out = assess(row, load_rules(), {"health_score", "tenure_days", "activated", "contract_days"}, AS_OF)
    assert [s["id"] for s in out["signals"]] == ["onboarding_stall"]
    assert out["next_action"]["playbook"] == "onboarding_rescue"
    assert (
        out["next_action"]["owner"] == "CSM + Onboarding specialist"
    )  # the watch stage's CSM, the playbook's


def test_conditions_treat_missing_data_as_not_met():
    cond = Condition.model_validate(
        {"any": [{"metric": "nps", "op": "<=", "value": 6}, {"metric": "days_inactive", "op": "is_null"}]}
    )
    assert cond.holds({"nps": 5.0}, {"nps"})
    assert not cond.holds({"nps": None}, {"nps"})
    assert cond.holds({"nps": None, "days_inactive": None}, {"nps", "days_inactive"})
    assert not cond.evaluable(set()) and cond.evaluable({"days_inactive"})


def test_evidence_shows_missing_values_as_na():
    assert format_evidence("{open_tickets:.0f} open, NPS {nps:.1f}", {"nps": 7.25}) == "n/a open, NPS 7.2"


def test_the_shipped_rules_cover_every_signal_and_playbook():
    rules = load_rules()
    playbooks = {p.id for p in rules.playbooks}
    assert {s.playbook for s in rules.signals} <= playbooks
    assert {c.playbook for c in rules.combinations} <= playbooks
    for item in [*rules.signals, *rules.playbooks]:
        assert f"`{item.id}`" in rules.guidance[item.id], item.id
    assert all(a.when and a.do for p in rules.playbooks for a in p.actions)
    assert set(rules.files) == {"escalation.md", "playbooks.md", "risk-signals.md"}
    assert {"Tableau", "Power BI"} <= set(rules.competitors)


GOOD_PLAYBOOKS = """---
playbooks:
  - id: usage_decline
    title: Usage decline
    owner: CSM
    sla: 48 hours
    actions: [{when: within 48 hours, do: Call them}]
---
## Usage decline (`usage_decline`)
Guidance.
"""


def _signals_doc(
    condition: str = '{metric: core_trend, op: "<", value: -0.25}',
    playbook: str = "usage_decline",
    body: str = "## Usage down (`usage_down`)\nGuidance.\n",
) -> str:
    return (
        f"---\nsignals:\n  - id: usage_down\n    title: Usage down\n    severity: high\n    category: usage\n"
        f'    condition: {condition}\n    evidence: "{{core_trend:+.0%}}"\n'
        f"    playbook: {playbook}\n---\n{body}"
    )


def test_a_well_formed_rules_folder_loads(tmp_path):
    (tmp_path / "signals.md").write_text(_signals_doc())
    (tmp_path / "playbooks.md").write_text(GOOD_PLAYBOOKS)
    rules = load_rules(tmp_path)
    assert [s.id for s in rules.signals] == ["usage_down"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            _signals_doc(condition='{metric: core_trend, op: "<<", value: -0.25}'),
            "signals[0] (usage_down).condition.op",
        ),
        (_signals_doc(condition='{metric: core_trnd, op: "<", value: -0.25}'), "unknown metric 'core_trnd'"),
        (_signals_doc(condition="{metric: core_trend, op: is_null, value: 1}"), "takes no value"),
        (
            _signals_doc(playbook="save_the_day"),
            "'signals (usage_down).playbook': 'save_the_day' is not a playbook",
        ),
        (_signals_doc(body="No sections here.\n"), "'usage_down' has no '## … (`id`)' section"),
        ("---\nsignals: [\n---\n", "not valid YAML"),
    ],
)
def test_a_malformed_rules_document_names_the_file_and_key(tmp_path, doc, message):
    (tmp_path / "bad-signals.md").write_text(doc)
    (tmp_path / "playbooks.md").write_text(GOOD_PLAYBOOKS)
    with pytest.raises(InputError) as err:
        load_rules(tmp_path)
    assert "bad-signals.md" in err.value.message
    assert message in err.value.message


def test_rules_parsing_ignores_documents_without_rules_sections():
    rules = parse_rules(
        {
            "notes.md": "---\ntitle: QBR notes\n---\n# Notes\n",
            "plain.md": "# No front matter\n",
            "playbooks.md": GOOD_PLAYBOOKS,
        }
    )
    assert rules.files == ["playbooks.md"]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
    truth = json.loads((EXAMPLES / "sample-truth.json").read_text())
    yield risk_signals(ds), truth
    ws.close()


def test_planted_champion_departures_are_found_in_the_example(example):
    res, truth = example
    customers = {a.account_id for a in res.accounts}
    planted = set(truth["patterns"]["champion_departed"]) & customers
    found = {a.account_id for a in res.accounts if any(s.id == "champion_departed" for s in a.signals)}
    assert planted and len(found & planted) / len(planted) >= 0.9


def test_competitor_mentions_are_found_in_the_example(example):
    res, _ = example
    evidence = [s.evidence for a in res.accounts for s in a.signals if s.id == "competitor_mention"]
    assert evidence and any(
        name in e for e in evidence for name in ("Tableau", "Power BI", "Looker", "Metabase")
    )


@pytest.mark.parametrize(
    ("share", "prior", "fires"),
    [(0.6, 40.0, {"key_user_inactive", "usage_decline_critical"}), (0.2, 40.0, {"usage_decline_critical"}),
     (0.6, 8.0, {"key_user_inactive"})],
)  # fmt: skip
def test_noise_floors_a_minor_key_user_or_a_tiny_base_raises_no_signal(share, prior, fires):
    row = _row(
        key_user_idle_days=10.0, key_user_share=share, key_user="u1", key_user_last_seen="2026-06-20",
        core_trend=-0.75, core_actions_prior_30d=prior, core_actions_30d=prior / 4,
    )  # fmt: skip
    out = assess(row, load_rules(), set(row), AS_OF)
    assert {s["id"] for s in out["signals"]} == fires


def test_risk_rows_are_what_validating_them_gives_without_validating_each(portfolio, monkeypatch):
    import customer_health.tools.base.models as models
    import customer_health.tools.risk.signals as signals
    from customer_health.tools.risk.signals import AccountRisk

    def refuse(*args, **kwargs):
        raise AssertionError("the risk rows were validated one by one")

    monkeypatch.setattr(models, "validate_rows", refuse)
    monkeypatch.setattr(signals, "validate_rows", refuse, raising=False)
    got = risk_signals(portfolio, as_of=AS_OF, scores=hand_scores())
    monkeypatch.undo()
    assert got.accounts
    for row in got.accounts:  # the same objects, values and JSON as validating the row's own data
        again = AccountRisk.model_validate(row.model_dump())
        assert again == row
        assert again.model_dump_json() == row.model_dump_json()
        assert type(row.health_score) is float and type(row.renewal_date) is date


@pytest.mark.parametrize(
    ("row", "all_of", "any_of"),
    [
        ({"nps": 5.0, "open_tickets": 3.0, "days_inactive": 40}, True, True),
        ({"nps": 5.0, "open_tickets": 1.0, "days_inactive": 40}, False, True),
        ({"nps": 8.0, "open_tickets": 1.0, "days_inactive": 10}, False, False),
        ({"nps": None, "open_tickets": None, "days_inactive": 31}, False, True),
        ({}, False, False),
    ],
)
def test_three_part_conditions_are_all_or_any_of_their_tests_and_answer_true_or_false(row, all_of, any_of):
    tests = [
        {"metric": "nps", "op": "<=", "value": 6},
        {"metric": "open_tickets", "op": ">", "value": 2},
        {"metric": "days_inactive", "op": ">=", "value": 31},
    ]
    available = {"nps", "open_tickets", "days_inactive"}
    assert Condition.model_validate({"all": tests}).holds(row, available) is all_of
    assert Condition.model_validate({"any": tests}).holds(row, available) is any_of
    # a test on an input the data lacks is false: `all` fails whatever the rest
    assert Condition.model_validate({"all": tests}).holds(row, available - {"nps"}) is False
