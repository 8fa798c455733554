"""Facts about how an account uses the product — seats, core features, trend, personas, peers, the core workflow's
funnel — re-expressed from the tools' rows with their units and thresholds spelt out.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from customer_health.tools.base.numbers import ratio
from customer_health.tools.health.peers import PeerRow
from customer_health.tools.narrative.facts_common import Share, Strict, share
from customer_health.tools.risk.rules import rules_document
from customer_health.tools.usage.adoption import AdoptionRow
from customer_health.tools.usage.funnel import DEFAULT_LOOKBACK_DAYS, LOW, FunnelResult, FunnelStep
from customer_health.tools.usage.personas import WEEKS, PersonaRow
from customer_health.tools.usage.seats import (
    GOOD_UTILIZATION,
    LOW_UTILIZATION,
    SPOF_SHARE,
    UNDERUSED_FEATURE,
    SeatRow,
)
from customer_health.tools.usage.trends import CRITICAL_DECLINE, HIGH_DECLINE, METRICS, TrendRow
from pydantic import Field

WINDOW_DAYS = 30  # the account card's window for seats, adoption and the month-over-month trend
FUNNEL_WINDOW_DAYS = 14


class SeatFacts(Strict):
    window_days: int = WINDOW_DAYS
    seats_purchased: float | None
    present_users: int | None = Field(description="People with any event in the window.")
    adopted_users: int | None = Field(description="People with at least one core-feature event.")
    present_utilization: Share | None
    adopted_utilization: Share | None
    adoption_gap: Share | None = Field(description="present − adopted utilization.")
    flag: str
    present_not_adopted: bool
    segment_percentile: Share | None = Field(description="Present utilization among same-segment accounts.")
    adopted_segment_percentile: Share | None
    low_below: Share = Field(default_factory=lambda: share(LOW_UTILIZATION))
    good_from: Share = Field(default_factory=lambda: share(GOOD_UTILIZATION))


class FeatureFact(Strict):
    feature: str
    users: int
    actions: float
    share_of_seats: Share | None
    share_of_active: Share | None
    underused: bool


class AdoptionFacts(Strict):
    window_days: int = WINDOW_DAYS
    core_features: list[str]
    core_features_total: int
    features_in_use: int
    breadth: Share | None
    features: list[FeatureFact] = Field(description="Most users first.")
    underused_features: list[str]
    underused_below: Share = Field(default_factory=lambda: share(UNDERUSED_FEATURE))
    top_user: str | None
    top1_share: Share | None = Field(description="Share of core actions done by the busiest user.")
    top2_share: Share | None
    single_point_of_failure: bool
    single_point_from: Share = Field(default_factory=lambda: share(SPOF_SHARE))


class TrendFacts(Strict):
    window_days: int = WINDOW_DAYS
    last_30: dict[str, float] = Field(
        description="present_users, adopted_users, core_actions in the last 30 days."
    )
    prior_30: dict[str, float] = Field(description="The same in the 30 days before.")
    month_over_month: dict[str, Share | None] = Field(
        description="Change, last 30 vs prior 30 (−0.3 = −30%)."
    )
    decline_flag: str | None
    divergence: bool = Field(description="Active users flat while core actions fall more than 25%.")
    high_decline: Share = Field(default_factory=lambda: share(HIGH_DECLINE))
    critical_decline: Share = Field(default_factory=lambda: share(CRITICAL_DECLINE))
    week_ends: list[date]
    weekly_core_actions: list[float]
    weekly_present_users: list[int]


class PersonaFact(Strict):
    persona: str
    roles: list[str]
    users: int
    weekly_active_rate: Share | None
    target: Share
    meets_target: bool | None
    active_last_week: int


class PersonaFacts(Strict):
    weeks: int = WEEKS
    personas: list[PersonaFact]
    below_target: list[str]


class PeerFacts(Strict):
    segment: str | None
    use_case: str | None
    metrics: dict[str, float | None] = Field(
        description="The account's values (shares and changes as ratios)."
    )
    segment_percentile: dict[str, Share | None] = Field(description="0% = lowest in segment, 100% = highest.")


class FunnelStepFact(Strict):
    step: str
    users: int
    conversion_from_start: Share | None
    conversion_from_previous: Share | None
    drop_from_previous: Share | None = Field(description="1 − conversion from the step before.")
    median_hours_from_previous: float | None


class RoleAtStep(Strict):
    role: str
    users_at_previous: int
    users_at_step: int
    users_lost: int
    conversion: Share | None
    drop: Share | None
    expected_at_step: bool = Field(
        True,
        description="False when the personas in customer-health.yaml say this role does not do the broken step: "
        "its drop there is expected, never a training gap.",
    )


class Hypothesis(Strict):
    pattern: str
    label: str
    evidence: str = Field(description="What in the data points to it (from the rules).")
    fix: str = Field(description="The targeted next action it calls for (from the rules).")


class FunnelFacts(Strict):
    workflow: str
    steps_in_order: list[str]
    window_days: int = FUNNEL_WINDOW_DAYS
    lookback_days: int | None = DEFAULT_LOOKBACK_DAYS
    users_started: int
    users_completed: int
    completion: Share | None
    steps: list[FunnelStepFact]
    broken_step: str | None
    step_before_broken: str | None
    users_lost_at_broken_step: int | None
    conversion_at_broken_step: Share | None = Field(
        description="Of those at the step before, the share going on."
    )
    drop_at_broken_step: Share | None = Field(description="Of those at the step before, the share stopping.")
    by_role_at_broken_step: list[RoleAtStep] = Field(description="Most users lost first.")
    roles_not_expected_at_broken_step: dict[str, str] = Field(
        default_factory=dict,
        description="Roles left out of the evidence because their persona does not do the broken step, with why.",
    )
    low_conversion_below: Share = Field(default_factory=lambda: share(LOW))
    pattern: str
    explanation: str
    details: dict[str, float | int | None]
    hypothesis: Hypothesis | None


def seat_facts(row: SeatRow) -> SeatFacts:
    return SeatFacts(
        seats_purchased=row.seats_purchased,
        present_users=row.present_users,
        adopted_users=row.adopted_users,
        present_utilization=share(row.present_utilization),
        adopted_utilization=share(row.adopted_utilization),
        adoption_gap=share(row.adoption_gap),
        flag=row.flag,
        present_not_adopted=row.present_not_adopted,
        segment_percentile=share(row.segment_percentile),
        adopted_segment_percentile=share(row.adopted_segment_percentile),
    )


def adoption_facts(row: AdoptionRow, core: list[str]) -> AdoptionFacts:
    features = sorted(row.features, key=lambda f: (-f.users, -f.actions, f.feature))
    return AdoptionFacts(
        core_features=list(core),
        core_features_total=len(core),
        features_in_use=sum(f.users > 0 for f in row.features),
        breadth=share(row.breadth),
        features=[
            FeatureFact(
                feature=f.feature,
                users=f.users,
                actions=f.actions,
                share_of_seats=share(f.share_of_seats),
                share_of_active=share(f.share_of_active),
                underused=f.underused,
            )
            for f in features
        ],
        underused_features=list(row.underused_features),
        top_user=row.top_user,
        top1_share=share(row.top1_share),
        top2_share=share(row.top2_share),
        single_point_of_failure=row.single_point_of_failure,
    )


def trend_facts(row: TrendRow, week_ends: list[date]) -> TrendFacts:
    return TrendFacts(
        last_30=dict(row.last_30),
        prior_30=dict(row.prior_30),
        month_over_month={m: share(row.mom.get(m)) for m in METRICS},
        decline_flag=row.decline_flag,
        divergence=row.divergence,
        week_ends=list(week_ends),
        weekly_core_actions=list(row.weekly.core_actions),
        weekly_present_users=list(row.weekly.present_users),
    )


def persona_facts(row: PersonaRow) -> PersonaFacts:
    return PersonaFacts(
        personas=[
            PersonaFact(
                persona=p.persona,
                roles=list(p.roles),
                users=p.users,
                weekly_active_rate=share(p.weekly_active_rate),
                target=share(p.target),
                meets_target=p.meets_target,
                active_last_week=p.active_last_week,
            )
            for p in row.personas
        ],
        below_target=list(row.below_target),
    )


def peer_facts(row: PeerRow) -> PeerFacts:
    return PeerFacts(
        segment=row.segment,
        use_case=row.use_case,
        metrics=dict(row.metrics),
        segment_percentile={m: share(v) for m, v in row.segment_percentile.items()},
    )


def funnel_facts(workflow: str, result: FunnelResult, lookback_days: int | None) -> FunnelFacts:
    """The funnel as a narrative needs it: each step, the broken step, who drops there, and the hypothesis."""
    table = result.steps
    k = next((i for i, s in enumerate(table) if s.step == result.broken_step and i > 0), None)
    left_out = result.evidence.roles_left_out
    by_role = sorted(
        (
            _role_at(role, steps, k, role not in left_out)
            for role, steps in result.breakdown.items()
            if k is not None and role
        ),
        key=lambda r: (-r.users_lost, -r.users_at_previous, r.role),
    )
    pattern = result.evidence.pattern
    return FunnelFacts(
        workflow=workflow,
        steps_in_order=[s.step for s in table],
        window_days=result.window_days,
        lookback_days=lookback_days,
        users_started=result.users_started,
        users_completed=table[-1].users,
        completion=share(table[-1].conversion_from_start),
        steps=[_step(s) for s in table],
        broken_step=result.broken_step,
        step_before_broken=table[k - 1].step if k else None,
        users_lost_at_broken_step=table[k - 1].users - table[k].users if k else None,
        conversion_at_broken_step=_step(table[k]).conversion_from_previous if k else None,
        drop_at_broken_step=_step(table[k]).drop_from_previous if k else None,
        by_role_at_broken_step=[r for r in by_role if r.users_at_previous],
        roles_not_expected_at_broken_step=dict(left_out),
        pattern=pattern,
        explanation=result.evidence.explanation,
        details=dict(result.evidence.details),
        hypothesis=hypotheses().get(pattern),
    )


def _step(s: FunnelStep) -> FunnelStepFact:
    prev = s.conversion_from_previous
    return FunnelStepFact(
        step=s.step,
        users=s.users,
        conversion_from_start=share(s.conversion_from_start),
        conversion_from_previous=share(prev),
        drop_from_previous=share(None if prev is None else 1 - prev),
        median_hours_from_previous=s.median_time_to_step_hours,
    )


def _role_at(role: str, steps: list[FunnelStep], k: int, expected: bool = True) -> RoleAtStep:
    before, at = steps[k - 1].users, steps[k].users
    conversion = ratio(at, before)
    return RoleAtStep(
        role=role,
        users_at_previous=before,
        users_at_step=at,
        users_lost=before - at,
        conversion=share(conversion),
        drop=share(None if conversion is None else 1 - conversion),
        expected_at_step=expected,
    )


@lru_cache(maxsize=1)
def hypotheses() -> dict[str, Hypothesis]:
    """The four stall hypotheses (and 'none'), from the front matter of rules/funnel-diagnosis.md."""
    data = rules_document("funnel-diagnosis").front_matter
    return {p: Hypothesis(pattern=p, **spec) for p, spec in (data.get("hypotheses") or {}).items()}
