"""What the renewal history says about the product's own lines: where "at risk" starts, and how often each call-list
priority was followed by a loss.

The at-risk line is the backtest's recommended threshold whenever the data holds enough decided renewals up to the
as-of date (outcomes after it are never read, so a line for a past date is the one a CSM could have had then);
otherwise it is the profile's own band (the seed's 50 for the presets), and the result says which. The priority
backtest re-runs the whole analysis (score, signals, renewal calendar) as of each backtest date, so each level's
churn rate is the one a CSM acting on that list would have seen.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from customer_health.tools.base.errors import InputError
from customer_health.tools.base.formats import percent
from customer_health.tools.base.models import Envelope
from customer_health.tools.base.numbers import ratio
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.health.profiles import PRESETS, Profile, load_profile
from customer_health.tools.health.validation import (
    FEW_LOST,
    Validation,
    dated_outcomes,
    validate_health_model,
)
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.risk.priority import PRIORITIES, PRIORITY_RANK
from pydantic import BaseModel, Field

MIN_KEPT = FEW_LOST  # a line is learned only with at least this many lost and this many kept renewals


class AtRiskLine(BaseModel):
    """Scores below `value` count as at risk."""

    value: float
    source: Literal["backtest", "profile"] = Field(
        description="backtest: the cheapest threshold on the renewals decided by the as-of date; profile: the "
        "profile's band (the seed's for the presets), for want of outcomes."
    )
    precision: float | None = Field(None, description="Backtest: share of flagged renewals that were lost.")
    recall: float | None = Field(None, description="Backtest: share of lost renewals that were flagged.")
    renewals: int = Field(0, description="Decided renewals the backtest evaluated.")
    lost: int = Field(0, description="Of them, lost (churned or contracted).")
    basis: str = Field(description="One sentence: where the line comes from.")


class PriorityLevel(BaseModel):
    priority: str
    renewals: int = Field(description="Backtest renewals whose account had this priority on its as-of date.")
    share: float | None = Field(description="Their share of all evaluated renewals.")
    lost: int
    churn_rate: float | None = Field(
        description="lost ÷ renewals: the precision of flagging this level alone."
    )
    precision_at_or_above: float | None = Field(description="Churn rate of this level and every higher one.")
    recall_at_or_above: float | None = Field(description="Share of all losses at this level or a higher one.")


class PriorityBacktest(Envelope):
    renewals: int
    lost: int
    base_rate: float | None
    levels: list[PriorityLevel] = Field(description="urgent, high, watch, ok.")


class ValidationReport(Validation):
    priorities: PriorityBacktest | None = Field(
        None, description="Each call-list priority's churn rate over the same renewals (precision per level)."
    )


def validate_with_priorities(ds: Dataset, **kwargs) -> ValidationReport:
    """`validate_health_model` (same arguments) with the priority backtest over the same renewals."""
    v = validate_health_model(ds, **kwargs)
    report = ValidationReport(**dict(v), priorities=priority_backtest(ds, v, kwargs.get("profile")))
    report._evaluated = v.evaluated_rows()
    report.summary += " " + report.priorities.summary
    return report


def at_risk_line(
    ds: Dataset, as_of: date | str | None = None, profile: Profile | str | None = None
) -> AtRiskLine:
    """The at-risk line for `as_of`: the backtest's recommended threshold on renewals decided by then, or the
    profile's band. Computed once per dataset, date and profile."""
    day = resolve_as_of(ds, as_of)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    return ds.memo(("at_risk_line", day, prof.model_dump_json()), lambda: _line(ds, day, prof))


def _line(ds: Dataset, day: date, prof: Profile) -> AtRiskLine:
    band = float(prof.tiers.neutral)
    whose = "the seed's band" if prof.name in PRESETS else f"profile {prof.name}'s band"
    fallback = f"At-risk line {band:g}: {whose}, not tested against outcomes"
    try:
        usable, frame = dated_outcomes(ds, day)
        result = validate_health_model(ds, profile=prof, outcomes_path_frame=frame) if usable else None
    except InputError as e:
        return AtRiskLine(value=band, source="profile", basis=f"{fallback} ({e.message.rstrip('.')}).")
    if result is None:
        return AtRiskLine(
            value=band,
            source="profile",
            basis=f"{fallback} (the churn flags are read at the end of the data, after this date).",
        )
    kept = result.n_accounts - result.n_churned
    if result.n_churned < FEW_LOST or kept < MIN_KEPT:
        why = f"only {result.n_churned} lost and {kept} kept renewals by {day}; {FEW_LOST} of each are needed"
        return AtRiskLine(
            value=band, source="profile", renewals=result.n_accounts, lost=result.n_churned,
            basis=f"{fallback} ({why}).",
        )  # fmt: skip
    c = result.threshold_choice
    return AtRiskLine(
        value=float(c.threshold),
        source="backtest",
        precision=c.precision,
        recall=c.recall,
        renewals=result.n_accounts,
        lost=result.n_churned,
        basis=(
            f"At-risk line {c.threshold}: the backtest's cheapest threshold on {result.n_accounts} renewals decided "
            f"by {day} ({result.n_churned} lost; a miss costing {result.fn_cost:g}× a false alarm) — it flags "
            f"{percent(c.recall)} of losses at {percent(c.precision)} precision."
        ),
    )


def priority_backtest(
    ds: Dataset, validation: Validation, profile: Profile | str | None = None
) -> PriorityBacktest:
    """Each priority level's churn rate over the renewals a backtest evaluated: the whole analysis is re-run as of
    each backtest date (every account, churned or not, so the as-of population is the one then)."""
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    evaluated = validation.evaluated_rows()
    level_of: dict[tuple[str, date], str] = {}
    for day in sorted({d for _, d, _ in evaluated}):
        analysis = analyze(ds, as_of=day, profile=prof, everyone=True)
        level_of |= {(a.account_id, day): a.priority for a in analysis.scores.accounts if a.priority}
    rows = [(level_of.get((acct, day)), lost) for acct, day, lost in evaluated]
    rows = [(p, lost) for p, lost in rows if p is not None]
    n, total_lost = len(rows), sum(lost for _, lost in rows)
    levels = []
    for p in PRIORITIES:
        here = [lost for q, lost in rows if q == p]
        above = [lost for q, lost in rows if PRIORITY_RANK[q] >= PRIORITY_RANK[p]]
        levels.append(
            PriorityLevel(
                priority=p,
                renewals=len(here),
                share=ratio(len(here), n),
                lost=sum(here),
                churn_rate=ratio(sum(here), len(here)),
                precision_at_or_above=ratio(sum(above), len(above)),
                recall_at_or_above=ratio(sum(above), total_lost),
            )
        )
    result = PriorityBacktest(
        as_of=validation.as_of, renewals=n, lost=total_lost, base_rate=ratio(total_lost, n), levels=levels
    )
    result.summary = _priority_summary(result)
    if n < len(evaluated):
        result.caveats.append(
            f"{len(evaluated) - n} renewal(s) had no priority on their date (not customers then)."
        )
    return result


def _priority_summary(b: PriorityBacktest) -> str:
    parts = [f"{lv.priority} {lv.renewals} ({percent(lv.churn_rate)} lost)" for lv in b.levels if lv.renewals]
    return (
        f"Priority on each backtest date against the renewal that followed, {b.renewals} renewals, "
        f"{percent(b.base_rate)} lost overall: " + ", ".join(parts) + "."
    )


__all__ = [
    "AtRiskLine",
    "PriorityBacktest",
    "PriorityLevel",
    "ValidationReport",
    "at_risk_line",
    "priority_backtest",
    "validate_with_priorities",
]
