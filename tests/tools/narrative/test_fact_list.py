"""Facts with identity: a pack flattens to facts with stable ids, units, subjects and roles."""

from __future__ import annotations

from datetime import date

from customer_health.tools.narrative.fact_list import flatten

PACK = {
    "kind": "qbr",
    "as_of": date(2026, 8, 31),
    "units": {"health_score": "0–100, high = healthy"},
    "account": {
        "account_id": "ACC-0073",
        "name": "Willow Transport",
        "arr": {"amount": 533700.0, "display": "$533,700"},
    },
    "health": {"score": 48.8, "previous_score": 61.9, "components": {"financial": 50.0}},
    "seats": {
        "present_users": 216,
        "window_days": 30,
        "present_utilization": {"ratio": 0.5059, "percent": 50.6},
    },
    "trend": {
        "last_30": {"core_actions": 89.0},
        "prior_30": {"core_actions": 183.0},
        "critical_decline": {"ratio": -0.5, "percent": -50.0},
    },
    "personas": {"personas": [{"persona": "analyst", "target": {"ratio": 0.7, "percent": 70.0}}]},
    "peers": [{"name": "Cedar Academy", "score": 71.0}],
    "signals": [{"evidence": "core actions -51% month over month (183 → 89)"}],
}


def by_id():
    return {f.id: f for f in flatten(PACK)}


def test_ids_are_the_paths_in_the_pack_and_the_same_on_every_run():
    ids = [f.id for f in flatten(PACK)]
    assert ids == [f.id for f in flatten(PACK)]
    assert {"health.score", "seats.present_utilization", "account.arr", "personas.personas.0.target"} <= set(
        ids
    )
    assert "units.health_score" not in ids  # the legend of units is not data


def test_a_share_is_one_ratio_fact_and_money_one_money_fact():
    facts = by_id()
    assert (facts["seats.present_utilization"].value, facts["seats.present_utilization"].unit) == (
        0.5059,
        "ratio",
    )
    assert (facts["account.arr"].value, facts["account.arr"].unit) == (533700.0, "money")
    assert "seats.present_utilization.percent" not in facts


def test_units_are_read_from_the_key_names():
    facts = by_id()
    assert facts["seats.present_users"].unit == "people"
    assert facts["seats.window_days"].unit == "days"
    assert facts["health.score"].unit == "score"
    assert facts["health.components.financial"].unit == "score"
    assert facts["trend.last_30.core_actions"].unit == "count"
    assert facts["as_of"].unit == "date" and facts["as_of"].value == "2026-08-31"


def test_rule_constants_are_thresholds_and_the_data_is_evidence():
    facts = by_id()
    assert facts["trend.critical_decline"].role == "threshold"
    assert facts["personas.personas.0.target"].role == "threshold"
    assert facts["health.score"].role == facts["trend.last_30.core_actions"].role == "evidence"


def test_the_subject_names_the_account_the_metric_and_the_period():
    facts = by_id()
    assert facts["health.score"].subject.account == "Willow Transport"
    assert facts["peers.0.score"].subject.account == "Cedar Academy"
    assert facts["health.previous_score"].subject.period == "previous"
    assert facts["trend.prior_30.core_actions"].subject.period == "previous"
    assert facts["trend.last_30.core_actions"].subject.period == "current"
    assert facts["personas.personas.0.target"].subject.metric == "personas.personas.target"
    assert facts["personas.personas.0.target"].about == ["analyst"]


def test_each_figure_inside_a_string_is_a_fact_of_its_own():
    facts = by_id()
    assert facts["signals.0.evidence#1"].value == -0.51 and facts["signals.0.evidence#1"].unit == "ratio"
    assert facts["signals.0.evidence#2"].value == 183.0 and facts["signals.0.evidence#2"].text == "183"
    assert facts["signals.0.evidence"].unit == "text"
