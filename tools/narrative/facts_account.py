"""Facts packs about one account: the one-line summary, the QBR, the at-risk document and the adoption diagnosis.

Each is gathered from the account card (the same computations as the account tool), the risk signals, the inputs
those signals read, and the core workflow's funnel computed exactly as the card computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from customer_health.tools.health.profiles import Profile
from customer_health.tools.narrative.facts_common import (
    AccountIdentity,
    Facts,
    HealthFacts,
    Share,
    Strict,
    health,
    identity,
)
from customer_health.tools.narrative.facts_usage import (
    AdoptionFacts,
    FeatureFact,
    FunnelFacts,
    PeerFacts,
    PersonaFacts,
    SeatFacts,
    TrendFacts,
    adoption_facts,
    funnel_facts,
    peer_facts,
    persona_facts,
    seat_facts,
    trend_facts,
)
from customer_health.tools.reports.account import AccountCard, account_card
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.risk.inputs import signal_inputs
from customer_health.tools.risk.rules import load_rules
from customer_health.tools.risk.signals import AccountRisk
from customer_health.tools.usage.funnel import DEFAULT_LOOKBACK_DAYS, FunnelResult, compute_funnel
from pydantic import Field


class SignalFact(Strict):
    id: str
    title: str
    severity: str
    category: str
    evidence: str
    detected_at: date
    playbook: str


class NextStep(Strict):
    action: str
    when: str
    owner: str
    sla: str
    playbook: str
    playbook_title: str
    because: str


class EscalationFacts(Strict):
    stage: str
    owner: str
    sla: str
    reasons: list[str]


def escalation_facts(risk: AccountRisk | None) -> EscalationFacts | None:
    return EscalationFacts(**risk.escalation.model_dump()) if risk is not None else None


class SummaryFacts(Facts):
    kind: Literal["summary"] = "summary"
    account: AccountIdentity
    health: HealthFacts
    one_sentence: str = Field(description="Who is active, what they are doing, what it is producing.")
    seats: SeatFacts | None
    personas: PersonaFacts | None
    top_feature: FeatureFact | None
    breadth: Share | None
    features_in_use: int | None
    core_features_total: int | None
    activity: TrendFacts | None
    value_events: list[str]
    risk_level: str | None
    next_action: NextStep | None


class QbrFacts(Facts):
    kind: Literal["qbr"] = "qbr"
    account: AccountIdentity
    health: HealthFacts
    one_sentence: str
    card_summary: str
    seats: SeatFacts | None
    adoption: AdoptionFacts | None
    trend: TrendFacts | None
    personas: PersonaFacts | None
    peers: PeerFacts | None
    funnel: FunnelFacts | None
    value_events: list[str]
    risk_level: str | None
    signals: list[SignalFact] = Field(
        description="Internal: for the QBR's internal note, never its main sections."
    )
    next_action: NextStep | None = Field(
        description="Internal: our next step, its owner and SLA (internal note)."
    )
    escalation: EscalationFacts | None = Field(
        None, description="Internal: the escalation stage, owner, SLA and reasons (internal note only)."
    )


@dataclass
class Gathered:
    """Everything the account packs are built from, computed once."""

    day: date
    profile: str
    card: AccountCard
    sem: ResolvedSemantics | None
    risk: AccountRisk | None
    funnel: FunnelFacts | None
    caveats: list[str]
    inputs: dict[str, Any] = field(default_factory=dict)
    available: set[str] = field(default_factory=set)


def gather(
    ds: Dataset, account_id: str, day: date, profile: Profile | str | None = None, *, inputs: bool = False
) -> Gathered:
    """The account's card, risk and core funnel, its score and risk from the analysis pipeline for `day` and
    `profile`; with `inputs`, also the values the risk signals read."""
    analysis = analyze(ds, as_of=day, profile=profile)
    card = account_card(ds, account_id, as_of=day, profile=analysis.profile)
    sem = resolve_semantics(ds) if ds.has("events") else None
    caveats = list(card.caveats)
    found = core_funnel(ds, sem, day, account_id, caveats)
    risk = AccountRisk.model_validate(card.risk) if card.risk else None
    if risk is None:
        caveats.append(f"{card.name or account_id} was already lost by {day}: no live risk signals.")
    got = Gathered(day, analysis.profile.name, card, sem, risk, found, caveats)
    if inputs:
        rows, got.available = signal_inputs(ds, day, sem, load_rules(), analysis.scores)
        got.inputs = rows.get(account_id, {})
    return got


def core_funnel(
    ds: Dataset, sem: ResolvedSemantics | None, day: date, account: str | None, caveats: list[str]
) -> FunnelFacts | None:
    """The first configured workflow's funnel, by role when roles are known — the account card's parameters."""
    if sem is None or not sem.workflows:
        caveats.append("No workflow configured: no funnel (add workflows to customer-health.yaml).")
        return None
    name, steps = next(iter(sem.workflows.items()))
    by = "role" if ds.has("users") and "role" in ds.columns("users") else None
    try:
        result: FunnelResult = compute_funnel(
            ds, steps, as_of=day, account=account, by=by, lookback_days=DEFAULT_LOOKBACK_DAYS
        )
    except InputError as exc:
        caveats.append(f"Funnel of '{name}' not available: {exc.message}")
        return None
    caveats += [c for c in result.caveats if c not in caveats]
    return funnel_facts(name, result, DEFAULT_LOOKBACK_DAYS)


def signal_facts(risk: AccountRisk | None) -> list[SignalFact]:
    return [
        SignalFact(
            id=s.id,
            title=s.title,
            severity=s.severity,
            category=s.category,
            evidence=s.evidence,
            detected_at=s.detected_at,
            playbook=s.playbook,
        )
        for s in (risk.signals if risk else [])
    ]


def next_step(risk: AccountRisk | None) -> NextStep | None:
    if risk is None or risk.next_action is None:
        return None
    return NextStep(**risk.next_action.model_dump())


def _usage(g: Gathered) -> dict[str, Any]:
    card, core = g.card, g.sem.core_features if g.sem else []
    return {
        "seats": seat_facts(card.seats) if card.seats else None,
        "adoption": adoption_facts(card.adoption, core) if card.adoption else None,
        "trend": trend_facts(card.trend, card.week_ends) if card.trend else None,
        "personas": persona_facts(card.personas) if card.personas else None,
    }


def _common(g: Gathered, top_drivers: int) -> dict[str, Any]:
    return {
        "as_of": g.day,
        "profile": g.profile,
        "caveats": g.caveats,
        "account": identity(g.card.profile, g.card.score, g.day),
        "health": health(g.card.score, top_drivers),
        "risk_level": g.risk.risk_level if g.risk else None,
        "next_action": next_step(g.risk),
    }


def summary_facts(
    ds: Dataset, account_id: str, day: date, profile: Profile | str | None = None
) -> SummaryFacts:
    """The one-line summary's facts: who is active, what they do, what it produces, and the score."""
    g = gather(ds, account_id, day, profile)
    usage = _usage(g)
    adoption: AdoptionFacts | None = usage["adoption"]
    return SummaryFacts(
        **_common(g, 1),
        one_sentence=g.card.one_sentence,
        seats=usage["seats"],
        personas=usage["personas"],
        top_feature=adoption.features[0] if adoption and adoption.features[0].users else None,
        breadth=adoption.breadth if adoption else None,
        features_in_use=adoption.features_in_use if adoption else None,
        core_features_total=adoption.core_features_total if adoption else None,
        activity=usage["trend"],
        value_events=list(g.sem.value_events) if g.sem else [],
    )


def qbr_facts(ds: Dataset, account_id: str, day: date, profile: Profile | str | None = None) -> QbrFacts:
    """Everything on the account card, plus the signals and the next action, for a quarterly business review."""
    g = gather(ds, account_id, day, profile)
    return QbrFacts(
        **_common(g, 3),
        **_usage(g),
        one_sentence=g.card.one_sentence,
        card_summary=g.card.summary,
        peers=peer_facts(g.card.peers) if g.card.peers else None,
        funnel=g.funnel,
        value_events=list(g.sem.value_events) if g.sem else [],
        signals=signal_facts(g.risk),
        escalation=escalation_facts(g.risk),
    )
