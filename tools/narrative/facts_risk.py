"""Facts for the at-risk account document and the adoption diagnosis.

The risk pack follows the at-risk analysis structure: the account and what is at stake, the signals with their
dates, what drives the risk, the people involved, the action plan from the playbook, and the escalation. The
diagnosis pack is the core workflow's funnel for one account (or the whole portfolio): the broken step, who drops
there, the evidence pattern and the hypothesis it supports.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.health.profiles import Profile
from customer_health.tools.narrative.facts_account import (
    EscalationFacts,
    NextStep,
    SignalFact,
    core_funnel,
    escalation_facts,
    gather,
    next_step,
    signal_facts,
)
from customer_health.tools.narrative.facts_common import (
    AccountIdentity,
    Facts,
    HealthFacts,
    Share,
    Strict,
    health,
    identity,
    share,
)
from customer_health.tools.narrative.facts_usage import (
    AdoptionFacts,
    FunnelFacts,
    PersonaFacts,
    SeatFacts,
    TrendFacts,
    adoption_facts,
    persona_facts,
    seat_facts,
    trend_facts,
)
from customer_health.tools.risk.rules import load_rules
from pydantic import Field

Status = Literal["active", "silent", "departed", "none_flagged", "unknown"]


class CombinationFact(Strict):
    id: str
    risk_level: str
    action: str
    playbook: str


class ActionStep(Strict):
    when: str
    do: str


class ActionPlan(Strict):
    next_action: NextStep
    owner: str
    sla: str
    steps: list[ActionStep] = Field(
        description="The playbook's steps in order; the first is the next action."
    )


class Stakeholders(Strict):
    champion: Status = Field(
        description="active in the last 30 days, silent, departed, none flagged, unknown."
    )
    champions_remaining: int | None
    champion_left_on: date | None
    champion_last_seen: date | None
    exec_sponsor: Status
    key_user: str | None = Field(description="The user with the most core actions in the last 30 days.")
    key_user_share: Share | None
    key_user_idle_days: int | None
    key_user_last_seen: date | None
    days_inactive: int | None = Field(description="Days since anyone at the account was active.")
    last_activity: date | None
    end_users: SeatFacts | None


class RiskFacts(Facts):
    kind: Literal["risk"] = "risk"
    account: AccountIdentity
    health: HealthFacts
    risk_level: str | None
    date_identified: date
    signals: list[SignalFact] = Field(description="Most severe first.")
    combinations: list[CombinationFact]
    trend: TrendFacts | None
    adoption: AdoptionFacts | None
    funnel: FunnelFacts | None
    stakeholders: Stakeholders
    action_plan: ActionPlan | None
    escalation: EscalationFacts | None
    outcome: Literal["in_progress", "churned"]


class DiagnosisFacts(Facts):
    kind: Literal["diagnosis"] = "diagnosis"
    scope: Literal["account", "portfolio"]
    account: AccountIdentity | None
    health: HealthFacts | None
    activation_milestone: str | None
    funnel: FunnelFacts
    seats: SeatFacts | None
    adoption: AdoptionFacts | None
    personas: PersonaFacts | None
    next_action: NextStep | None = Field(description="The account's most urgent playbook step, for context.")


def risk_facts(ds: Dataset, account_id: str, day: date, profile: Profile | str | None = None) -> RiskFacts:
    """The at-risk document's facts for one account."""
    g = gather(ds, account_id, day, profile, inputs=True)
    card, risk = g.card, g.risk
    plan = None
    if risk is not None and risk.next_action is not None:
        book = load_rules().playbook(risk.next_action.playbook)
        steps = [ActionStep(when=a.when, do=a.do) for a in book.actions]
        plan = ActionPlan(next_action=next_step(risk), owner=book.owner, sla=book.sla, steps=steps)
    core = g.sem.core_features if g.sem else []
    return RiskFacts(
        as_of=g.day,
        profile=g.profile,
        caveats=g.caveats,
        account=identity(card.profile, card.score, g.day),
        health=health(card.score, 3),
        risk_level=risk.risk_level if risk else None,
        date_identified=g.day,
        signals=signal_facts(risk),
        combinations=[CombinationFact(**c.model_dump()) for c in (risk.combinations if risk else [])],
        trend=trend_facts(card.trend, card.week_ends) if card.trend else None,
        adoption=adoption_facts(card.adoption, core) if card.adoption else None,
        funnel=g.funnel,
        stakeholders=_stakeholders(g.inputs, g.available, seat_facts(card.seats) if card.seats else None),
        action_plan=plan,
        escalation=escalation_facts(risk),
        outcome="in_progress" if card.score.status == "customer" else "churned",
    )


def diagnosis_facts(
    ds: Dataset, account_id: str | None, day: date, profile: Profile | str | None = None
) -> DiagnosisFacts:
    """Where the core workflow stalls — for one account, or across the portfolio when no account is given (the
    portfolio's funnel uses no score, so its pack names no profile)."""
    if account_id is None:
        sem = resolve_semantics(ds) if ds.has("events") else None
        caveats: list[str] = []
        funnel = core_funnel(ds, sem, day, None, caveats)
        _need(funnel, caveats)
        return DiagnosisFacts(
            as_of=day,
            caveats=caveats,
            scope="portfolio",
            account=None,
            health=None,
            activation_milestone=sem.activation if sem else None,
            funnel=funnel,
            seats=None,
            adoption=None,
            personas=None,
            next_action=None,
        )
    g = gather(ds, account_id, day, profile)
    _need(g.funnel, g.caveats)
    card, core = g.card, g.sem.core_features if g.sem else []
    return DiagnosisFacts(
        as_of=g.day,
        profile=g.profile,
        caveats=g.caveats,
        scope="account",
        account=identity(card.profile, card.score, g.day),
        health=health(card.score, 3),
        activation_milestone=g.sem.activation if g.sem else None,
        funnel=g.funnel,
        seats=seat_facts(card.seats) if card.seats else None,
        adoption=adoption_facts(card.adoption, core) if card.adoption else None,
        personas=persona_facts(card.personas) if card.personas else None,
        next_action=next_step(g.risk),
    )


def _need(funnel: FunnelFacts | None, caveats: list[str]) -> None:
    if funnel is None:
        raise InputError(
            "an adoption diagnosis needs product events and a workflow to follow. " + " ".join(caveats[-1:]),
            fix="Load events and list the core workflow under workflows in customer-health.yaml.",
        )


def _stakeholders(row: dict[str, Any], available: set[str], users: SeatFacts | None) -> Stakeholders:
    """Champion and sponsor status from the signals' inputs: 1 active, 0 silent or gone, absent when none."""

    def status(metric: str) -> Status:
        if metric not in available:
            return "unknown"
        value = row.get(metric)
        if value is None or value != value:
            return "none_flagged"
        if value >= 0.5:
            return "active"
        gone = metric == "champion_active" and row.get("champions_remaining") == 0
        return "departed" if gone and row.get("champion_left_on") else "silent"

    def day(key: str) -> date | None:
        value = row.get(key)
        return date.fromisoformat(str(value)[:10]) if value and value != "never" else None

    def whole(key: str) -> int | None:
        value = row.get(key)
        return None if value is None or value != value else int(value)

    return Stakeholders(
        champion=status("champion_active"),
        champions_remaining=whole("champions_remaining"),
        champion_left_on=day("champion_left_on"),
        champion_last_seen=day("champion_last_seen"),
        exec_sponsor=status("sponsor_active"),
        key_user=row.get("key_user"),
        key_user_share=share(row.get("key_user_share")),
        key_user_idle_days=whole("key_user_idle_days"),
        key_user_last_seen=day("key_user_last_seen"),
        days_inactive=whole("days_inactive"),
        last_activity=day("last_activity"),
        end_users=users,
    )
