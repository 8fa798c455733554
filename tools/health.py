"""The health score: 0–100, high = healthy, with its components and each metric's contribution in points.

score = Σ over components with data of W_c × component_c ÷ Σ W_c, and component_c = Σ w_m × points_m ÷ Σ w_m over
its metrics with data. A metric or component the data cannot support drops out and its weight is shared among the
rest; `weight_coverage` says how much of the profile's weight had data. Accounts younger than the profile's
onboarding period are scored on onboarding signals instead of usage and growth, and are labelled so.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from .common import Envelope, resolve_as_of, rnd, trusted
from .dataset import Dataset
from .errors import InputError
from .metrics import CATALOGUE, account_metrics, lost_accounts
from .profiles import COMPONENTS, MetricSpec, Profile, load_profile
from .semantics import ResolvedSemantics, resolve_semantics

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
    status: Literal["customer", "churned"] = Field(
        "customer", description="churned: lost by as_of (from churn dates/outcomes; never a score input)."
    )
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
    from .usage import percentile_in_group

    return percentile_in_group(values.astype(float), groups) * 100


def score_accounts(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    profile: Profile | str | None = None,
    semantics: ResolvedSemantics | None = None,
    history: bool = True,
) -> HealthScores:
    """Score every account as of a date, with drivers; with `history`, also the score 30 days earlier."""
    day = resolve_as_of(ds, as_of)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    sem = semantics or (resolve_semantics(ds) if ds.has("events") else None)
    metrics = account_metrics(ds, day, sem)
    if metrics.empty:
        raise InputError(
            "there are no accounts to score.", fix="Load an accounts table or events with accounts."
        )
    rows = score_frame(metrics, prof)
    if history and ds.has("events"):
        earlier = score_frame(account_metrics(ds, day - timedelta(days=30), sem), prof, drivers=False)
        apply_previous(rows, {r.account_id: r.health_score for r in earlier})
    lost = lost_accounts(ds, day)
    for r in rows:
        if r.account_id in lost:
            r.status = "churned"
    rows.sort(key=lambda r: (r.health_score, r.account_id))
    current = [r for r in rows if r.status == "customer"]
    counts = {
        t: sum(r.tier == t for r in current)
        for t in ("thriving", "healthy", "neutral", "at_risk", "critical")
    }
    caveats = list(sem.caveats()) if sem else []
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
    if lost:
        caveats.append(
            f"{len(rows) - len(current)} account(s) were already lost by {day}; they are scored and "
            "listed (status churned) but left out of the tier counts."
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
    import pandas as pd

    segments = (
        metrics["segment"].fillna("(none)")
        if "segment" in metrics
        else pd.Series("(none)", index=metrics.index)
    )
    onboarding = (
        (metrics["tenure_days"] < prof.onboarding_days).fillna(False)
        if (prof.onboarding is not None and "tenure_days" in metrics)
        else pd.Series(False, index=metrics.index)
    )
    points: dict[tuple[str, str], pd.Series] = {}
    specs: dict[tuple[str, str], MetricSpec] = {}
    parts = [(c, prof.components[c]) for c in COMPONENTS if c in prof.components]
    if prof.onboarding is not None:
        parts.append(("onboarding", prof.onboarding))
    for comp, component in parts:
        for metric, spec in component.metrics.items():
            values = (
                pd.to_numeric(metrics[metric], errors="coerce")
                if metric in metrics
                else pd.Series(float("nan"), index=metrics.index)
            )
            points[(comp, metric)] = normalize(values, spec, segments)
            specs[(comp, metric)] = spec
    medians: dict[str, dict[str, float | None]] = {
        m: {
            str(k): (float(v) if v == v else None)
            for k, v in pd.to_numeric(metrics[m], errors="coerce").groupby(segments).median().items()
        }
        for m in {m for _, m in specs}
        if m in metrics
    }
    # plain Python lists: per-account arithmetic on floats is far cheaper than pandas row access
    pts = {key: series.to_numpy(dtype=float).tolist() for key, series in points.items()}
    values = {m: [_float(v) for v in metrics[m].tolist()] for m in {m for _, m in specs} if m in metrics}
    by_comp = {comp: [(m, specs[(c, m)].weight) for (c, m) in specs if c == comp] for comp, _ in parts}
    names = metrics["name"].tolist() if "name" in metrics else [None] * len(metrics)
    arrs = metrics["arr"].tolist() if "arr" in metrics else [None] * len(metrics)
    trends = (
        [_float(v) for v in metrics["core_trend"].tolist()]
        if prof.trend_adjustment.enabled and "core_trend" in metrics
        else None
    )
    weight_cache: dict[tuple[str, bool], dict[str, float]] = {}
    out = []
    for i, (acct, seg, new) in enumerate(
        zip(metrics.index, segments.tolist(), onboarding.tolist(), strict=True)
    ):
        new = bool(new)
        weights = weight_cache.get((seg, new))
        if weights is None:
            weights = _weights(prof, seg, new)
            weight_cache[(seg, new)] = weights
        comp_scores: dict[str, float | None] = {}
        comp_parts: dict[str, list[tuple[str, float, float]]] = {}
        for comp, _ in parts:
            if comp not in weights:
                continue
            got = [(m, w, pts[(comp, m)][i]) for m, w in by_comp[comp]]
            got = [(m, w, p) for m, w, p in got if p == p]
            comp_parts[comp] = got
            total_w = sum(w for _, w, _ in got)
            comp_scores[comp] = sum(w * p for _, w, p in got) / total_w if total_w else None
        available = {c: weights[c] for c, s in comp_scores.items() if s is not None and weights[c] > 0}
        denom = sum(available.values())
        if not denom:
            raise InputError(
                f"account {acct} has no data for any health component.",
                fix="Load usage events or a snapshot with usage columns.",
            )
        score = sum(weights[c] * comp_scores[c] for c in available) / denom
        if trends is not None and trends[i] is not None:
            trend = max(-1.0, min(1.0, trends[i]))
            score = max(0.0, min(100.0, score * (1 + trend * prof.trend_adjustment.factor)))
        score = round(score, 1)
        explained = []
        for comp in available if drivers else ():
            comp_w = comp_parts[comp]
            total_w = sum(w for _, w, _ in comp_w)
            for metric, w, p in comp_w:
                eff = weights[comp] / denom * w / total_w * 100
                seg_med = medians[metric].get(seg) if metric in medians else None
                value = values[metric][i] if metric in values else None
                explained.append(
                    trusted(
                        Driver,
                        metric=metric,
                        component=comp,
                        label=CATALOGUE[metric].label,
                        value=rnd(value),
                        points_scale=round(p, 1),
                        weight=round(eff, 2),
                        points=round(eff * p / 100, 2),
                        lost=round(eff * (100 - p) / 100, 2),
                        segment_median=rnd(seg_med),
                        text=driver_text(metric, value, seg_med, seg),
                    )
                )
        explained.sort(key=lambda d: (-d.lost, d.metric))
        tier = prof.tiers_for(None if seg == "(none)" else seg).tier(score)
        full = sum(weights.values())
        out.append(
            trusted(
                AccountScore,
                account_id=str(acct),
                name=_str(names[i]),
                segment=None if seg == "(none)" else seg,
                arr=rnd(_float(arrs[i]), 2),
                health_score=score,
                tier=tier,
                colour=COLOURS[tier],
                lifecycle="onboarding" if new else "established",
                status="customer",
                previous_score=None,
                trend=None,
                components={c: (round(s, 1) if s is not None else None) for c, s in comp_scores.items()},
                weight_coverage=round(denom / full, 4) if full else 0.0,
                drivers=explained,
                signals=[],
                next_action=None,
            )
        )
    return out


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
    text = f"{info.label}: {format_value(value, info.unit)}"
    if segment_median is not None and segment != "(none)" and info.unit != "flag":
        text += f" vs {format_value(segment_median, info.unit)} {segment} median"
    return text


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "change":
        return f"{value:+.0%}"
    if unit == "flag":
        return "yes" if value >= 0.5 else "no"
    if unit == "days":
        return f"{value:.0f} days"
    if unit == "months":
        return f"{value:.0f} months"
    return f"{value:.1f}" if value != int(value) else f"{value:.0f}"


def _float(value: object) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _str(value: object) -> str | None:
    return None if value is None or value != value else str(value)
