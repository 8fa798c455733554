"""Facts for the board summary: the portfolio over a period — retention, health by ARR, money at risk, renewals
due, the red accounts and the risk signals — with the previous period beside it when the data reaches back.

A period is `YYYY-QN` (a quarter), `YYYY-MM` (a month) or `YYYY` (a year); without one, the 12 months to the
latest data. The numbers are as of the period's last day, or the latest data day when the period is still open.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.health.profiles import Profile
from customer_health.tools.narrative.facts_common import (
    TIER_LABELS,
    Facts,
    Money,
    Share,
    Strict,
    money,
    share,
)
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.reports.portfolio import (
    AT_RISK,
    RENEWAL_RISK,
    AccountList,
    Portfolio,
    portfolio_summary,
)
from customer_health.tools.risk.rules import load_rules
from customer_health.tools.risk.signals import RiskSignals
from pydantic import Field

TOP_N = 5
TRAILING_MONTHS = 12
_PERIOD = re.compile(r"^(\d{4})(?:-(?:[Qq]([1-4])|(0[1-9]|1[0-2])))?$")
PERIOD_FORMATS = "YYYY-QN (e.g. 2026-Q3), YYYY-MM (e.g. 2026-10) or YYYY (e.g. 2026)"


class PeriodFacts(Strict):
    label: str = Field(description="The period as requested, or '12 months to <as_of>'.")
    kind: Literal["quarter", "month", "year", "trailing"]
    start: date = Field(description="The period's first day.")
    end: date = Field(description="The last day the numbers cover (as_of).")
    complete: bool = Field(description="False when the data ends before the period does.")
    months: int = Field(description="Months the revenue KPIs span.")
    revenue_start_month: date | None = None
    revenue_end_month: date | None = None


class RetentionFacts(Strict):
    source: str = Field(description="revenue, outcomes, accounts or none: where retention came from.")
    grr: Share | None
    nrr: Share | None
    logo_retention: Share | None
    expansion_rate: Share | None
    start_mrr: Money | None
    end_mrr: Money | None
    churned_mrr: Money | None
    contraction_mrr: Money | None
    expansion_mrr: Money | None
    new_mrr: Money | None
    start_accounts: int | None
    retained_accounts: int | None
    new_accounts: int | None


class TierFacts(Strict):
    tier: str
    label: str
    accounts: int
    arr: Money
    arr_share: Share | None


class AccountLineFact(Strict):
    account_id: str
    name: str | None
    segment: str | None
    csm_owner: str | None
    arr: Money | None
    health_score: float
    tier: str
    renewal_date: date | None
    days_to_renewal: int | None
    driver: str | None = Field(description="The biggest drag on the score.")


class AccountListFacts(Strict):
    within_days: int | None = Field(None, description="For renewals: renewing within this many days.")
    count: int
    arr: Money
    accounts: list[AccountLineFact] = Field(description=f"Largest ARR first, at most {TOP_N}.")
    not_listed: int


class SegmentFacts(Strict):
    segment: str
    accounts: int
    arr: Money
    mean_health: float | None
    at_risk_arr: Money


class SignalCount(Strict):
    signal: str
    title: str
    accounts: int


class RiskSummary(Strict):
    accounts_by_level: dict[str, int]
    arr_at_high_or_critical_risk: Money
    most_frequent: list[SignalCount]


class Range(Strict):
    low: Share
    high: Share


class Benchmarks(Strict):
    """Typical ranges for B2B SaaS, from the customer-health references (rules/executive-reporting.md)."""

    grr: Range = Field(default_factory=lambda: Range(low=share(0.85), high=share(0.95)))
    nrr: Range = Field(default_factory=lambda: Range(low=share(1.0), high=share(1.3)))
    logo_retention: Range = Field(default_factory=lambda: Range(low=share(0.9), high=share(0.95)))
    at_risk_share_below: Share = Field(default_factory=lambda: share(0.15))


class PeriodRef(Strict):
    label: str
    start: date
    end: date


class PreviousPeriod(Strict):
    label: str
    end: date
    customers: int
    total_arr: Money
    grr: Share | None
    nrr: Share | None
    logo_retention: Share | None
    at_risk_below: float | None = Field(None, description="The at-risk line as of the previous period's end.")
    at_risk_arr: Money | None
    at_risk_share: Share | None


class BoardFacts(Facts):
    kind: Literal["board"] = "board"
    period: PeriodFacts
    customers: int
    total_arr: Money
    retention: RetentionFacts
    tier_floors: dict[str, float] = Field(description="Lowest score of each tier; critical is below at_risk.")
    health_distribution: list[TierFacts]
    at_risk_below: float = Field(
        AT_RISK,
        description="The at-risk line: the renewal backtest's threshold when outcomes allow, else the band.",
    )
    at_risk_line_source: str = Field(
        "profile", description="backtest or profile (the seed's band, untested)."
    )
    at_risk_line_basis: str = Field(
        "", description="Where the line comes from, with its precision and recall."
    )
    at_risk_arr: Money | None
    at_risk_share: Share | None
    renewal_health_below: int = RENEWAL_RISK
    renewals_next_60_days: AccountListFacts
    renewals_next_90_days: AccountListFacts
    red_accounts: AccountListFacts = Field(description="Customers below the at-risk line, largest ARR first.")
    by_segment: list[SegmentFacts]
    risk: RiskSummary
    benchmarks: Benchmarks = Field(default_factory=Benchmarks)
    previous_period: PeriodRef | None = Field(
        description="The period compared with, whether or not data covers it."
    )
    previous: PreviousPeriod | None = Field(description="Its figures, when the data covers all of it.")
    portfolio_summary: str


def parse_period(text: str) -> tuple[str, Literal["quarter", "month", "year"], date, date]:
    """'2026-Q3' → ('2026-Q3', 'quarter', 2026-07-01, 2026-09-30); also '2026-10' and '2026'."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise InputError(
            f"'{text}' is not a period.", column="period", fix=f"Use {PERIOD_FORMATS}, or leave it out."
        )
    year, quarter, month = int(match.group(1)), match.group(2), match.group(3)
    if quarter:
        first = date(year, 3 * int(quarter) - 2, 1)
        return f"{year}-Q{quarter}", "quarter", first, _month_end(first, 3)
    if month:
        first = date(year, int(month), 1)
        return f"{year}-{month}", "month", first, _month_end(first, 1)
    return str(year), "year", date(year, 1, 1), date(year, 12, 31)


def _month_end(first: date, months: int) -> date:
    n = first.year * 12 + first.month - 1 + months
    return date(n // 12, n % 12 + 1, 1) - timedelta(days=1)


def _months(first: date, end: date) -> int:
    return (end.year * 12 + end.month) - (first.year * 12 + first.month) + 1


def board_facts(
    ds: Dataset, period: str | None, as_of: date | str | None = None, profile: Profile | str | None = None
) -> BoardFacts:
    """The board summary's facts for a period (default: the 12 months to the latest data), its scores and risk
    (and the previous period's) from the analysis pipeline with `profile`."""
    latest = resolve_as_of(ds, as_of)
    caveats: list[str] = []
    if period is None:
        label, kind, months = f"{TRAILING_MONTHS} months to {latest}", "trailing", TRAILING_MONTHS
        end, last, first = latest, latest, None
    else:
        label, kind, first, last = parse_period(period)
        if as_of is not None and not first <= latest <= last:
            raise InputError(f"as_of {latest} is not in {label}.", column="as_of", fix="Leave as_of out.")
        end = min(last, latest)
        if end < first:
            raise InputError(
                f"the data ends on {latest}, before {label} begins.",
                column="period",
                fix=f"Pick a period up to {latest:%Y-%m}, or leave it out.",
            )
        months = _months(first, end)
        if end < last:
            caveats.append(f"The data ends on {end}: {label} is shown to date, not complete.")
    analysis = analyze(ds, as_of=end, profile=profile)
    scores = analysis.scores
    now = portfolio_summary(ds, scores=scores, profile=analysis.profile, period_months=months, top_n=TOP_N)
    facts_period = PeriodFacts(
        label=label,
        kind=kind,
        start=first or now.period.start,
        end=end,
        complete=end == last,
        months=now.period.months,
        revenue_start_month=now.period.start_month,
        revenue_end_month=now.period.end_month,
    )
    previous_period, previous = (
        _previous(ds, kind, first, analysis.profile, caveats) if first else (None, None)
    )
    return BoardFacts(
        as_of=end,
        profile=analysis.profile.name,
        caveats=caveats + now.caveats,
        period=facts_period,
        customers=now.customers,
        total_arr=money(now.total_arr),
        retention=_retention(now),
        tier_floors=dict(scores.tiers),
        health_distribution=[
            TierFacts(
                tier=t.tier,
                label=TIER_LABELS[t.tier],
                accounts=t.accounts,
                arr=money(t.arr),
                arr_share=share(t.arr_share),
            )
            for t in now.health_distribution
        ],  # fmt: skip
        **_line(now),
        at_risk_arr=money(now.at_risk_arr),
        at_risk_share=share(now.at_risk_share),
        renewals_next_60_days=_list(now.renewals["next_60"], 60),
        renewals_next_90_days=_list(now.renewals["next_90"], 90),
        red_accounts=_list(now.top_red_accounts),
        by_segment=[
            SegmentFacts(
                segment=r.group,
                accounts=r.accounts,
                arr=money(r.arr),
                mean_health=r.mean_health,
                at_risk_arr=money(r.at_risk_arr),
            )
            for r in now.by_segment.rows
        ],  # fmt: skip
        risk=_risk(analysis.risk),
        previous_period=previous_period,
        previous=previous,
        portfolio_summary=now.summary,
    )


def _retention(p: Portfolio) -> RetentionFacts:
    k = p.revenue_kpis
    return RetentionFacts(
        source=k.source,
        **{f: share(getattr(k, f)) for f in ("grr", "nrr", "logo_retention", "expansion_rate")},
        **{
            f: money(getattr(k, f))
            for f in ("start_mrr", "end_mrr", "churned_mrr", "contraction_mrr", "expansion_mrr", "new_mrr")
        },
        start_accounts=k.start_accounts,
        retained_accounts=k.retained_accounts,
        new_accounts=k.new_accounts,
    )


def _list(found: AccountList, within_days: int | None = None) -> AccountListFacts:
    return AccountListFacts(
        within_days=within_days,
        count=found.count,
        arr=money(found.arr),
        accounts=[
            AccountLineFact(**{**a.model_dump(exclude={"arr"}), "arr": money(a.arr)}) for a in found.accounts
        ],
        not_listed=found.count - len(found.accounts),
    )


def _risk(result: RiskSignals) -> RiskSummary:
    titles = {s.id: s.title for s in load_rules().signals}
    common = sorted(result.signal_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return RiskSummary(
        accounts_by_level=dict(result.risk_counts),
        arr_at_high_or_critical_risk=money(result.arr_at_risk),
        most_frequent=[SignalCount(signal=s, title=titles[s], accounts=n) for s, n in common],
    )


def _previous(
    ds: Dataset, kind: str, first: date, profile: Profile, caveats: list[str]
) -> tuple[PeriodRef, PreviousPeriod | None]:
    """The same kind of period just before, and its figures when events and revenue cover all of it."""
    length = {"quarter": 3, "month": 1, "year": 12}[kind]
    start = _shift(first, -length)
    end = first - timedelta(days=1)
    earliest = ds.events_first_day()
    label = _label(kind, start)
    ref = PeriodRef(label=label, start=start, end=end)
    if earliest is None or earliest > start:
        caveats.append(f"The data starts on {earliest or 'an unknown date'}: no comparison with {label}.")
        return ref, None
    scores = analyze(ds, as_of=end, profile=profile).scores
    p = portfolio_summary(ds, scores=scores, profile=profile, period_months=length, top_n=1)
    if p.period.months != p.period.requested_months:
        caveats.append(f"The revenue history does not cover {label}: no comparison with it.")
        return ref, None
    k = p.revenue_kpis
    return ref, PreviousPeriod(
        label=label,
        end=end,
        customers=p.customers,
        total_arr=money(p.total_arr),
        grr=share(k.grr),
        nrr=share(k.nrr),
        logo_retention=share(k.logo_retention),
        at_risk_below=p.at_risk_line.value if p.at_risk_line else None,
        at_risk_arr=money(p.at_risk_arr),
        at_risk_share=share(p.at_risk_share),
    )


def _line(p) -> dict:
    """The portfolio's at-risk line as board facts (the profile's band when the portfolio has no scores)."""
    line = p.at_risk_line
    if line is None:
        return {}
    return {"at_risk_below": line.value, "at_risk_line_source": line.source, "at_risk_line_basis": line.basis}


def _shift(first: date, months: int) -> date:
    n = first.year * 12 + first.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


def _label(kind: str, start: date) -> str:
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}" if kind == "month" else str(start.year)
