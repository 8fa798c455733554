"""The health score: 0–100, high = healthy, with its components and each metric's contribution in points.

score = Σ over components with data of W_c × component_c ÷ Σ W_c, and component_c = Σ w_m × points_m ÷ Σ w_m over
its metrics with data. A metric or component the data cannot support drops out and its weight is shared among the
rest; `weight_coverage` says how much of the profile's weight had data. Accounts younger than the profile's
onboarding period are labelled `onboarding` and scored on the same scale as everyone: their usage adds whether they
reached activation and first value on the pace of retained accounts of the same age (metrics.on_pace). A profile
may still define an `onboarding` component, used instead of usage and growth for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from customer_health.tools.base import formats
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.models import Envelope, constructor, paused_gc, trusted
from customer_health.tools.base.numbers import rnd, rounded, text_or_none
from customer_health.tools.base.stats import percentile_in_group
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.lifecycle import Stage, is_customer, lifecycle, population_caveats
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from customer_health.tools.health.event_metrics import event_metrics_at
from customer_health.tools.health.metrics import CATALOGUE, account_metrics
from customer_health.tools.health.profiles import COMPONENTS, MetricSpec, Profile, load_profile
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

Tier = Literal["thriving", "healthy", "neutral", "at_risk", "critical"]
COLOURS = {"thriving": "green", "healthy": "yellow", "neutral": "yellow", "at_risk": "red", "critical": "red"}
DEAD_BAND = 3.0  # points: smaller moves read as flat


class Driver(BaseModel):
    """One metric's part in the score."""

    metric: str
    component: str
    label: str
    value: float | None
    points_scale: float = Field(description="The metric's own score, 0–100.")
    weight: float = Field(description="Its effective share of the total score, in %.")
    points: float = Field(description="Points it contributes to the score.")
    lost: float = Field(description="Points it leaves on the table (weight − points).")
    segment_median: float | None = None
    text: str


class AccountScore(BaseModel):
    account_id: str
    name: str | None = None
    segment: str | None = None
    arr: float | None = None
    health_score: float = Field(description="0–100, high = healthy.")
    tier: Tier
    colour: Literal["green", "yellow", "red"]
    lifecycle: Literal["established", "onboarding"]
    status: Literal["customer", "churned", "not_yet_customer"] = Field(
        "customer",
        description="On as_of: a customer, already lost, or not a customer yet (from subscriptions, churn dates, "
        "outcomes, revenue, start dates; never a score input).",
    )
    stage: Stage = Field(
        "active", description="Lifecycle stage on as_of: not_yet_customer, onboarding, active, churned."
    )
    csm_owner: str | None = Field(None, description="The account's owner (CSM).")
    renewal_date: date | None = Field(
        None, description="Next renewal on as_of (accounts table or subscriptions)."
    )
    days_to_renewal: int | None = Field(
        None, description="Days from as_of to the renewal (negative: overdue)."
    )
    stage_since: date | None = Field(
        None, description="When the stage began (customer since, or the churn date)."
    )
    stage_evidence: str = Field("", description="What the stage rests on.")
    previous_score: float | None = Field(
        None, description="The score 30 days before as_of, from the same data."
    )
    trend: Literal["up", "down", "flat"] | None = Field(
        None, description="Current vs previous, ±3-point dead-band."
    )
    components: dict[str, float | None] = Field(description="Component scores 0–100 (None: no data).")
    weight_coverage: float = Field(
        description="Share (0–1) of the profile's component weight backed by data."
    )
    drivers: list[Driver] = Field(description="Every metric that counted, biggest drag first.")
    signals: list[dict[str, str]] = Field(
        default_factory=list,
        description="Risk signals firing (id, severity, evidence), when risk was assessed.",
    )
    next_action: dict[str, str] | None = Field(
        None, description="The first step of the most urgent playbook (action, owner, sla, …), if any."
    )
    priority: str | None = Field(
        None, description="urgent, high, watch or ok (tools/risk/priority), when risk was assessed."
    )


class HealthScores(Envelope):
    profile: str
    tiers: dict[str, float]
    accounts: list[AccountScore] = Field(description="Every account, worst first.")
    tier_counts: dict[str, int]


def normalize(values: pd.Series, spec: MetricSpec, groups: pd.Series | None = None) -> pd.Series:
    """0–100 points for each value; NaN stays NaN (the metric then drops out for that account)."""
    import numpy as np

    if spec.method == "linear":
        pts = (values - spec.floor) / (spec.target - spec.floor) * 100
        return pts.clip(0, 100)
    if spec.method == "bands":
        starts = np.array([b[0] for b in spec.bands])
        scores = np.array([b[1] for b in spec.bands])
        idx = np.searchsorted(starts, values.to_numpy(dtype=float), side="right") - 1
        out = np.where(idx >= 0, scores[np.clip(idx, 0, None)], 0.0)
        return values.where(values.isna(), out).astype(float)
    return percentile_in_group(values.astype(float), groups) * 100


def score_accounts(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    profile: Profile | str | None = None,
    semantics: ResolvedSemantics | None = None,
    history: bool = True,
    everyone: bool = False,
) -> HealthScores:
    """Score the customers on a date (with `everyone`, every account the data names), with drivers and each row's
    lifecycle stage; with `history`, also the score 30 days earlier."""
    with paused_gc():  # the drivers are ~15 objects per account: collecting over them mid-way costs seconds
        return _score_accounts(ds, as_of, profile, semantics, history, everyone)


def _score_accounts(
    ds: Dataset,
    as_of: date | str | None,
    profile: Profile | str | None,
    semantics: ResolvedSemantics | None,
    history: bool,
    everyone: bool,
) -> HealthScores:
    day = resolve_as_of(ds, as_of)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    sem = semantics or (resolve_semantics(ds) if ds.has("events") else None)
    if history and sem is not None and ds.events_tied():
        event_metrics_at(ds, [day, day - timedelta(days=30)], sem)  # both dates in one scan of the events
    metrics = account_metrics(ds, day, sem)
    stages = lifecycle(ds, day)
    if metrics.empty and not (everyone and len(stages)):
        raise InputError(
            f"there are no accounts to score: none was a customer on {day}"
            if len(stages)
            else "there are no accounts to score.",
            fix="Pick a later as_of, or list every account with include_all (--all-accounts)."
            if len(stages)
            else "Load an accounts table or events with accounts.",
        )
    rows = score_frame(metrics, prof) if len(metrics) else []
    unscored = 0
    later = set(stages.index[stages["stage"] == "not_yet_customer"]) if everyone else set()
    if later:  # accounts not yet customers, scored beside every account when the data says anything of them
        every = account_metrics(ds, day, sem, True)
        keep = ~every.index.isin(list(later)) | _scorable(every, prof)
        unscored = int((~keep).sum())
        rows += [r for r in score_frame(every[keep], prof) if r.account_id in later]
    if history and ds.has("events"):
        apply_previous(rows, score_values(account_metrics(ds, day - timedelta(days=30), sem), prof))
    by_id = _columns_by_account(stages, ("stage", "since", "evidence"))
    for r in rows:
        if r.account_id in by_id:
            r.stage, r.stage_since, r.stage_evidence = by_id[r.account_id]
            r.status = "customer" if is_customer(r.stage) else r.stage
    if not everyone:
        rows = [r for r in rows if r.status == "customer"]
    _calendar(rows, metrics, day)
    rows.sort(key=lambda r: (r.health_score, r.account_id))
    current = [r for r in rows if r.status == "customer"]
    counts = {
        t: sum(r.tier == t for r in current)
        for t in ("thriving", "healthy", "neutral", "at_risk", "critical")
    }
    caveats = list(sem.caveats()) if sem else []
    if ds.as_of_note and day == ds.latest_date:
        caveats.append(ds.as_of_note)
    low_cov = sum(r.weight_coverage < 0.6 for r in rows)
    if low_cov:
        caveats.append(
            f"{low_cov} account(s) are scored on less than 60% of the profile's weight; their scores "
            "rest on few inputs."
        )
    if not ds.has("events"):
        caveats.append("No events: the score uses the snapshot's pre-aggregated columns only, and no trend.")
    elif not ds.events_tied():
        caveats.append(
            "The events cannot be tied to accounts (no account column and no users table): usage is left out of "
            "the score. Load a users export (user_id, account_id) with them."
        )
    at_risk = counts["at_risk"] + counts["critical"]
    summary = (
        f"{len(current)} customer accounts scored as of {day} with the {prof.name} profile (0–100, high = "
        f"healthy): {counts['thriving']} thriving, {counts['healthy']} healthy, {counts['neutral']} neutral, "
        f"{at_risk} at risk or critical."
    )
    if current:
        worst = current[0]
        summary += f" Lowest: {worst.name or worst.account_id} at {worst.health_score:g}."
    caveats += population_caveats(stages, day, everyone)
    if unscored:
        caveats.append(
            f"{unscored} account(s) not yet customers on {day} have no data by then and are not listed."
        )
    return HealthScores(
        as_of=day,
        profile=prof.name,
        tiers=prof.tiers.model_dump(),
        accounts=rows,
        tier_counts=counts,
        summary=summary,
        caveats=caveats,
    )


def _calendar(rows: list[AccountScore], metrics: pd.DataFrame, day: date) -> None:
    """Each row's owner, renewal date and days to it on `day` (a call list ranks by them)."""
    import pandas as pd

    owners = (
        dict(zip(metrics.index, metrics["csm_owner"].tolist(), strict=True)) if "csm_owner" in metrics else {}
    )
    renewals = (
        dict(
            zip(metrics.index, pd.to_datetime(metrics["renewal_date"], errors="coerce").tolist(), strict=True)
        )
        if "renewal_date" in metrics
        else {}
    )
    for r in rows:
        r.csm_owner = text_or_none(owners.get(r.account_id))
        when = renewals.get(r.account_id)
        if when is not None and not pd.isna(when):
            r.renewal_date = when.date()
            r.days_to_renewal = (r.renewal_date - day).days


def _columns_by_account(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, tuple]:
    """Each account's values of `columns` (the frame is indexed by account), as `frame.loc[account, columns]` would
    give them, read once per column instead of once per account (a row lookup costs ~0.1 ms: seconds over 10,000)."""
    return dict(zip(frame.index, zip(*(frame[c].tolist() for c in columns), strict=True), strict=True))


def _scorable(metrics: pd.DataFrame, prof: Profile) -> pd.Series:
    """Whether each account has a value for any metric of the profile (else there is nothing to score it on)."""
    import pandas as pd

    names = {m for c in prof.components.values() for m in c.metrics}
    names |= set(prof.onboarding.metrics) if prof.onboarding is not None else set()
    present = [m for m in names if m in metrics]
    if not present:
        return pd.Series(False, index=metrics.index)
    return metrics[present].apply(pd.to_numeric, errors="coerce").notna().any(axis=1)


def apply_previous(rows: list[AccountScore], previous: dict[str, float]) -> None:
    """Set each account's previous score and its trend arrow: up/down beyond a 3-point dead-band, else flat."""
    for r in rows:
        if r.previous_score is None and r.account_id in previous:
            r.previous_score = previous[r.account_id]
        if r.previous_score is not None:
            delta = r.health_score - r.previous_score
            r.trend = "up" if delta > DEAD_BAND else ("down" if delta < -DEAD_BAND else "flat")


def score_frame(metrics: pd.DataFrame, prof: Profile, *, drivers: bool = True) -> list[AccountScore]:
    """Score a metrics frame (one row per account) with a profile; pure arithmetic, no data access.

    Without `drivers` the accounts carry scores and components only (for earlier dates and backtests)."""
    with paused_gc():
        return _score_frame(metrics, prof, drivers)


def score_values(metrics: pd.DataFrame, prof: Profile) -> dict[str, float]:
    """Each account's health score alone, as `score_frame` gives it, without building its row (the score 30 days
    earlier needs nothing else)."""
    scores = _arithmetic(metrics, prof).scores
    return dict(zip([str(a) for a in metrics.index], scores, strict=True))


@dataclass(frozen=True)
class _Sums:
    """The score's arithmetic over a metrics frame: every account's points, weights, components and score."""

    segments: pd.Series
    young: pd.Series
    parts: list
    points: dict
    keys: list[tuple[str, bool]]
    by_key: dict
    comp_w: dict
    comp_score: dict
    comp_total: dict
    denom: Any
    scores: list[float]


def _score_frame(metrics: pd.DataFrame, prof: Profile, drivers: bool) -> list[AccountScore]:
    """The arithmetic (`_arithmetic`), then the output objects, built per account."""
    a = _arithmetic(metrics, prof)
    segments, young, parts, points, keys, by_key = a.segments, a.young, a.parts, a.points, a.keys, a.by_key
    comp_w, comp_score, comp_total, denom, scores = a.comp_w, a.comp_score, a.comp_total, a.denom, a.scores
    n = len(metrics)
    explained = (
        _drivers(metrics, parts, points, comp_w, comp_total, comp_score, denom, segments) if drivers else None
    )
    names = metrics["name"].tolist() if "name" in metrics else [None] * n
    arrs = metrics["arr"].tolist() if "arr" in metrics else [None] * n
    full = {k: sum(w.values()) for k, w in by_key.items()}
    comp_lists = {c: v.tolist() for c, v in comp_score.items()}
    denoms = denom.tolist()
    tiers = {seg: prof.tiers_for(None if seg == "(none)" else seg) for seg, _ in by_key}
    out = []
    young_list = young.astype(bool).tolist()
    for i, (acct, key) in enumerate(zip(metrics.index, keys, strict=True)):
        seg, _ = key
        tier = tiers[seg].tier(scores[i])
        out.append(
            trusted(
                AccountScore,
                account_id=str(acct),
                name=text_or_none(names[i]),
                segment=None if seg == "(none)" else seg,
                arr=rnd(_float(arrs[i]), 2),
                health_score=scores[i],
                tier=tier,
                colour=COLOURS[tier],
                lifecycle="onboarding" if young_list[i] else "established",
                status="customer",
                stage="active",
                stage_since=None,
                stage_evidence="",
                csm_owner=None,
                renewal_date=None,
                days_to_renewal=None,
                previous_score=None,
                trend=None,
                components={
                    c: (round(comp_lists[c][i], 1) if comp_lists[c][i] == comp_lists[c][i] else None)
                    for c in comp_lists  # the profile's order
                    if c in by_key[key]
                },
                weight_coverage=round(denoms[i] / full[key], 4) if full[key] else 0.0,
                drivers=explained[i] if explained is not None else [],
                signals=[],
                next_action=None,
                priority=None,
            )
        )
    return out


def _arithmetic(metrics: pd.DataFrame, prof: Profile) -> _Sums:
    """The arithmetic runs on whole columns (numpy), adding the terms in the same order as the formula reads, so every
    account's numbers are what a per-account loop would give."""
    import numpy as np
    import pandas as pd

    n = len(metrics)
    segments = (
        metrics["segment"].fillna("(none)").astype(str)
        if "segment" in metrics
        else pd.Series("(none)", index=metrics.index)
    )
    young = (
        (metrics["tenure_days"] < prof.onboarding_days).fillna(False)
        if "tenure_days" in metrics
        else pd.Series(False, index=metrics.index)
    )
    onboarding = young if prof.onboarding is not None else pd.Series(False, index=metrics.index)
    parts = [(c, prof.components[c]) for c in COMPONENTS if c in prof.components]
    if prof.onboarding is not None:
        parts.append(("onboarding", prof.onboarding))
    points: dict[tuple[str, str], np.ndarray] = {}
    for comp, component in parts:
        for metric, spec in component.metrics.items():
            values = (
                pd.to_numeric(metrics[metric], errors="coerce")
                if metric in metrics
                else pd.Series(float("nan"), index=metrics.index)
            )
            points[(comp, metric)] = normalize(values, spec, segments).to_numpy(dtype=float)
    # component weights per account: by segment, and onboarding accounts trade usage/growth for onboarding
    keys = list(zip(segments.tolist(), onboarding.astype(bool).tolist(), strict=True))
    by_key = {k: _weights(prof, *k) for k in dict.fromkeys(keys)}
    comp_w = {c: np.array([by_key[k].get(c, np.nan) for k in keys], dtype=float) for c, _ in parts}
    comp_score: dict[str, np.ndarray] = {}
    comp_total: dict[str, np.ndarray] = {}
    for comp, component in parts:
        num, total = np.zeros(n), np.zeros(n)
        for metric, spec in component.metrics.items():
            p = points[(comp, metric)]
            have = ~np.isnan(p)
            num = num + np.where(have, spec.weight * p, 0.0)
            total = total + np.where(have, spec.weight, 0.0)
        comp_total[comp] = total
        with np.errstate(invalid="ignore", divide="ignore"):
            comp_score[comp] = np.where(total > 0, num / total, np.nan)
    num, denom = np.zeros(n), np.zeros(n)
    for comp, _ in parts:
        w = comp_w[comp]
        ok = ~np.isnan(comp_score[comp]) & (w > 0)  # NaN weight: not in this account's profile
        num = num + np.where(ok, w * np.nan_to_num(comp_score[comp]), 0.0)
        denom = denom + np.where(ok, w, 0.0)
    if (denom == 0).any():
        acct = metrics.index[int(np.argmax(denom == 0))]
        raise InputError(
            f"account {acct} has no data for any health component.",
            fix="Load usage events or a snapshot with usage columns.",
        )
    score = num / denom
    if prof.trend_adjustment.enabled and "core_trend" in metrics:
        trend = pd.to_numeric(metrics["core_trend"], errors="coerce").to_numpy(dtype=float)
        adjusted = np.clip(score * (1 + np.clip(trend, -1.0, 1.0) * prof.trend_adjustment.factor), 0.0, 100.0)
        score = np.where(np.isnan(trend), score, adjusted)
    scores = [round(v, 1) for v in score.tolist()]
    return _Sums(segments, young, parts, points, keys, by_key, comp_w, comp_score, comp_total, denom, scores)


def _drivers(metrics, parts, points, comp_w, comp_total, comp_score, denom, segments) -> list[list[Driver]]:
    """Every account's drivers, biggest drag first: each metric with data, its effective weight in % of the
    score (component weight ÷ the weight with data × metric weight ÷ its component's weight with data), the
    points it earns and the points it leaves on the table.

    Column by column: each metric's numbers and sentences for all its accounts at once, then one sort of every
    driver by (account, points lost descending, metric) — what sorting each account's list by (−lost, metric)
    gives, ties kept in the order they were found — and the drivers built in that order."""
    import numpy as np
    import pandas as pd

    seg_list = segments.tolist()
    found: list[dict] = []  # every driver's fields, metric by metric
    accounts: list[np.ndarray] = []
    losses: list[list[float]] = []
    for comp, component in parts:
        w_c = comp_w[comp]
        counted = ~np.isnan(comp_score[comp]) & (w_c > 0)
        for metric, spec in component.metrics.items():
            p = points[(comp, metric)]
            rows = np.flatnonzero(counted & ~np.isnan(p))
            if not len(rows):
                continue
            eff = w_c[rows] / denom[rows] * spec.weight / comp_total[comp][rows] * 100
            pts = p[rows]
            if metric in metrics:
                raw = pd.to_numeric(metrics[metric], errors="coerce")
                values = [_float(v) for v in raw.to_numpy()[rows].tolist()]
                medians = {k: _float(v) for k, v in raw.groupby(segments).median().items()}
            else:
                values, medians = [None] * len(rows), {}
            label, show = CATALOGUE[metric].label, _formatter(CATALOGUE[metric].unit)
            # each distinct value written once (a portfolio repeats them: ~12,000 among 150,000 drivers)
            shown = {v: show(v) for v in dict.fromkeys(values) if v is not None}
            # per segment, once: the rounded median and the sentence's " vs … median" ending
            median_r = {k: rnd(v) for k, v in medians.items()}
            ending = {k: _median_text(metric, v, k) for k, v in medians.items()}
            segs = [seg_list[i] for i in rows.tolist()]
            lost = rounded(eff * (100 - pts) / 100, 2)
            columns = zip(
                values,
                rounded(values),
                rounded(pts, 1),
                rounded(eff, 2),
                rounded(eff * pts / 100, 2),
                lost,
                segs,
                strict=True,
            )
            found += [
                {
                    "metric": metric,
                    "component": comp,
                    "label": label,
                    "value": value_r,
                    "points_scale": scale,
                    "weight": weight,
                    "points": earned,
                    "lost": lost_r,
                    "segment_median": median_r.get(seg),
                    "text": f"{label}: {'no data' if value is None else shown[value]}{ending.get(seg, '')}",
                }
                for value, value_r, scale, weight, earned, lost_r, seg in columns
            ]
            accounts.append(rows)
            losses.append(lost)
    per_account: list[list[Driver]] = [[] for _ in range(len(metrics))]
    if not found:
        return per_account
    names = [d["metric"] for d in found]
    rank = {m: r for r, m in enumerate(sorted(set(names)))}  # the metrics in Python's string order
    account = np.concatenate(accounts)
    # lexsort: the last key sorts first, and it is stable (equal keys keep the order they were found in)
    order = np.lexsort(
        (
            np.array([rank[m] for m in names]),
            -np.array([v for lost in losses for v in lost], dtype=float),
            account,
        )
    )
    make = constructor(Driver)
    for i, k in zip(account[order].tolist(), order.tolist(), strict=True):
        per_account[i].append(make(found[k]))
    return per_account


def _weights(prof: Profile, seg: str, new: bool) -> dict[str, float]:
    """Component weights for a segment; onboarding accounts trade usage and growth for onboarding signals."""
    weights = prof.weights_for(None if seg == "(none)" else seg)
    if new:
        weights = {**weights, "onboarding": weights.get("usage", 0) + weights.get("growth", 0)}
        weights.pop("usage", None)
        weights.pop("growth", None)
    return weights


def driver_text(metric: str, value: float | None, segment_median: float | None, segment: str) -> str:
    """A sentence a CSM can repeat: the metric, its value, and the segment median."""
    info = CATALOGUE[metric]
    return f"{info.label}: {format_value(value, info.unit)}{_median_text(metric, segment_median, segment)}"


def _median_text(metric: str, segment_median: float | None, segment: str) -> str:
    unit = CATALOGUE[metric].unit
    if segment_median is None or segment == "(none)" or unit == "flag":
        return ""
    return f" vs {format_value(segment_median, unit)} {segment} median"


def format_value(value: float | None, unit: str) -> str:
    return "no data" if value is None else _formatter(unit)(value)


def _formatter(unit: str):
    """The function writing a (present) value of `unit`: chosen once per metric when writing many. A negative zero
    is written as zero (adding 0.0 turns -0.0 into 0.0): "-0 vs 0" is never a difference."""
    write = _FORMATS.get(unit, _plain)
    return lambda value: write(value + 0.0)


def _plain(value: float) -> str:
    return f"{value:.1f}" if value != int(value) else f"{value:.0f}"


_FORMATS = {
    "share": formats.percent,
    "change": formats.change,
    "flag": lambda value: "yes" if value >= 0.5 else "no",
    "days": lambda value: f"{value:.0f} days",
    "months": lambda value: f"{value:.0f} months",
}


def _float(value: object) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f
