"""The building blocks of every facts pack: shares and money with their units spelt out, the account's identity,
its health, and the base model the packs share.

A facts pack holds every number a narrative may use and nothing else, so a draft can be checked claim by claim.
Nothing here computes a metric: values come from the tools' results and are only re-expressed (a ratio gets its
percentage beside it, an amount its display form).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from customer_health.tools.base import formats
from customer_health.tools.base.numbers import rnd
from customer_health.tools.health.score import AccountScore
from pydantic import BaseModel, ConfigDict, Field

FactKind = Literal["qbr", "risk", "board", "summary", "diagnosis"]
SCALE_MAX = 100
TIER_LABELS = {
    "thriving": "thriving",
    "healthy": "healthy",
    "neutral": "neutral",
    "at_risk": "at risk",
    "critical": "critical",
}
UNITS = {
    "ratio/percent": "a Share: ratio is 0–1 (a change may be negative), percent is the same value × 100",
    "money": "a Money: amount in the account's currency units as recorded, display as a board would write it",
    "dates": "ISO YYYY-MM-DD",
    "health_score": f"0–{SCALE_MAX}, high = healthy",
    "days/users/actions": "plain counts",
}


class Strict(BaseModel):
    """Facts are produced by code and read by templates: an unknown field is a bug, not data."""

    model_config = ConfigDict(extra="forbid")


class Share(Strict):
    """A ratio with its percentage beside it: 0.42 and 42.0."""

    ratio: float
    percent: float = Field(description="ratio × 100, rounded to one decimal.")


class Money(Strict):
    amount: float = Field(description="In the account's currency units, as recorded.")
    display: str = Field(description="$5,004 below a million, $1.2M from there.")


def share(value: float | None) -> Share | None:
    """0.4213 → Share(ratio=0.4213, percent=42.1); None stays None."""
    r = rnd(value)
    return None if r is None else Share(ratio=r, percent=round(r * 100, 1))


def money(amount: float | None) -> Money | None:
    """An amount with its display form (formats.money); None stays None."""
    value = rnd(amount, 2)
    return None if value is None else Money(amount=value, display=formats.money(value))


class Facts(Strict):
    """What every facts pack carries: its kind, the as-of date, what the numbers mean, and the caveats."""

    kind: FactKind
    as_of: date = Field(description="Every number is computed from data up to the end of this day.")
    profile: str | None = Field(
        None, description="The health profile the scores were computed with (None: the pack uses no scores)."
    )
    units: dict[str, str] = Field(default_factory=lambda: dict(UNITS))
    caveats: list[str] = Field(default_factory=list, description="What was missing or inferred.")


class AccountIdentity(Strict):
    account_id: str
    name: str | None = None
    segment: str | None = None
    industry: str | None = None
    use_case: str | None = None
    plan: str | None = None
    csm_owner: str | None = None
    arr: Money | None = None
    seats_purchased: float | None = None
    contract_start: date | None = None
    renewal_date: date | None = None
    days_to_renewal: int | None = Field(None, description="Days from as_of to the renewal date.")
    status: Literal["customer", "churned"] = "customer"


class DriverFact(Strict):
    """One metric's part in the score, as the score's drivers report it."""

    metric: str
    label: str
    component: str
    value: float | None = Field(description="In the metric's own unit (shares and changes as 0–1 ratios).")
    segment_median: float | None
    weight_percent: float = Field(description="Its share of the whole score, in %.")
    points: float = Field(description="Points it contributes.")
    points_lost: float = Field(description="Points it leaves on the table.")
    text: str = Field(description="The driver sentence, built from value and segment_median.")


class HealthFacts(Strict):
    score: float = Field(description=f"0–{SCALE_MAX}, high = healthy.")
    scale_max: int = SCALE_MAX
    tier: str
    tier_label: str
    previous_score: float | None = Field(None, description="The score 30 days before as_of.")
    previous_days: int = 30
    change: float | None = Field(None, description="score − previous_score, in points.")
    trend: Literal["up", "down", "flat"] | None = None
    lifecycle: Literal["established", "onboarding"]
    components: dict[str, float | None] = Field(description="Component scores 0–100 (None: no data).")
    weight_coverage: Share
    drivers: list[DriverFact] = Field(description="The biggest drags on the score, biggest first.")


def identity(profile: dict[str, Any], score: AccountScore, day: date) -> AccountIdentity:
    """The account as recorded (the card's profile) plus its status and days to renewal."""

    def when(key: str) -> date | None:
        value = profile.get(key)
        return date.fromisoformat(str(value)[:10]) if value else None

    renewal = when("renewal_date")
    seats = profile.get("seats_purchased")
    return AccountIdentity(
        account_id=score.account_id,
        name=profile.get("name") or score.name,
        segment=profile.get("segment") or score.segment,
        industry=profile.get("industry"),
        use_case=profile.get("use_case"),
        plan=profile.get("plan"),
        csm_owner=profile.get("csm_owner"),
        arr=money(score.arr),  # the scores' ARR: arr as recorded, else 12 × mrr
        seats_purchased=float(seats) if seats is not None else None,
        contract_start=when("contract_start"),
        renewal_date=renewal,
        days_to_renewal=(renewal - day).days if renewal else None,
        status=score.status,
    )


def health(score: AccountScore, top: int = 3) -> HealthFacts:
    """The score, its tier, its move over 30 days and its biggest drags."""
    change = None
    if score.previous_score is not None:
        change = round(score.health_score - score.previous_score, 1)
    drags = [d for d in score.drivers if d.lost > 0][:top]
    return HealthFacts(
        score=score.health_score,
        tier=score.tier,
        tier_label=TIER_LABELS[score.tier],
        previous_score=score.previous_score,
        change=change,
        trend=score.trend,
        lifecycle=score.lifecycle,
        components=dict(score.components),
        weight_coverage=share(score.weight_coverage),
        drivers=[
            DriverFact(
                metric=d.metric,
                label=d.label,
                component=d.component,
                value=d.value,
                segment_median=d.segment_median,
                weight_percent=d.weight,
                points=d.points,
                points_lost=d.lost,
                text=d.text,
            )
            for d in drags
        ],
    )
