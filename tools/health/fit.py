"""A health profile learned from the user's own history: which metrics went with losses here, and by how much.

Each decided renewal is paired with its account's metrics on a day at least `horizon_days` before the outcome (the
backtest's plan: the month end on or before outcome − horizon; the metrics never read outcome columns and only data
up to that day). On those snapshots an L2-regularised logistic regression is fitted on the metric catalogue, each
metric clipped to its 1st–99th percentile, missing values set to the median, then standardised; of two metrics
correlated beyond |r| = 0.8 only the one more associated with losses is kept.

The model becomes a profile the scorer reads like any other: each metric a linear 0–100 scale over mean ± 2.5 sd
(direction from the coefficient's sign), weighted by |coefficient|, so the score is a straight line in the model's
log-odds (up to the clamp) and the drivers still add up to every point. Tier lines are the scores at which the
Platt-calibrated loss probability crosses multiples of the base rate.

Cross-validation is by time: each fold tests the rows of later as-of dates on a model trained only on renewals
decided by the first of those dates, and compares with the expert profile on the same held-out rows.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from customer_health.tools.base import bounds, stats
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.models import Envelope
from customer_health.tools.base.numbers import rnd
from customer_health.tools.base.sql import window
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.lifecycle import lifecycle
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.health.metrics import CATALOGUE, account_metrics
from customer_health.tools.health.profiles import (
    COMPONENTS,
    DEFAULT_PROFILE,
    Profile,
    load_profile,
    preset,
    profile_from_dict,
)
from customer_health.tools.health.score import score_frame
from customer_health.tools.health.validation import LEARNED_MARK, LOST, PositiveClass, outcome_plan
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

MIN_OUTCOMES = 30
MIN_LOST = 10
MIN_FOLD_LOST = 5  # a training or test set needs this many losses (and as many kept) to count as a fold
MAX_FOLDS = 4
CORRELATED = 0.8
MAX_MISSING = 0.5
L2 = 1.0
SPREAD = 2.5  # the linear scale of a metric runs over mean ± SPREAD standard deviations
MIN_SHARE = 0.01  # a metric with under 1% of the total |coefficient| is left out of the profile
TIERS = ("thriving", "healthy", "neutral", "at_risk")
FILE_MARK = "# customer-health learned profile"
FALLBACK = (
    "Keep scoring with the expert preset (--profile enterprise, or the one for your business model) and check "
    "it with validate until more renewals have been decided."
)


class Snapshot(NamedTuple):
    """One training row: the account's metrics on `as_of`, and the outcome decided on `outcome_date`."""

    account_id: str
    as_of: date
    outcome_date: date
    lost: bool


class FittedMetric(BaseModel):
    metric: str
    label: str
    component: str = Field(description="The component it sits in, in the written profile.")
    coefficient: float = Field(description="Change in the log-odds of loss per standard deviation.")
    direction: Literal["higher_is_better", "lower_is_better"]
    weight: float = Field(description="Its share of the score, in %.")
    median: float
    mean: float
    sd: float
    floor: float = Field(description="The value that scores 0 points.")
    target: float = Field(description="The value that scores 100 points.")
    coverage: float = Field(description="Share of the training rows with a value (the rest took the median).")


class DroppedMetric(BaseModel):
    metric: str
    reason: str
    kept_instead: str | None = Field(None, description="The correlated metric kept in its place.")


class Fold(BaseModel):
    test_from: date
    test_to: date
    train_rows: int
    train_lost: int
    test_rows: int
    test_lost: int
    auc: float | None = Field(description="The learned profile's AUC on the held-out rows.")
    expert_auc: float | None = Field(description="The expert profile's AUC on the same rows.")


class TierLine(BaseModel):
    tier: str
    lower_bound: float = Field(description="Scores at or above this (and below the tier above) are in it.")
    churn_probability: float | None = Field(
        description="Calibrated loss probability at the line (none when the seed's bands were kept)."
    )


class FitResult(Envelope):
    profile_name: str
    positive_class: PositiveClass
    horizon_days: int
    as_of_dates: list[date]
    n_outcomes: int
    n_lost: int
    base_rate: float
    metrics: list[FittedMetric] = Field(
        description="The metrics of the learned profile, biggest weight first."
    )
    weights: dict[str, float] = Field(description="Component weights of the learned profile, summing to 100.")
    dropped: list[DroppedMetric]
    intercept: float
    l2: float
    folds: list[Fold]
    cv_auc: float | None = Field(description="AUC of the learned profile over every held-out row.")
    expert_profile: str
    expert_auc: float | None = Field(description="The expert profile's AUC on the same held-out rows.")
    better_than_expert: bool
    in_sample_auc: float | None = Field(description="The final profile on the rows it was fitted on.")
    tiers: list[TierLine]
    profile_path: str | None = Field(description="Where the profile YAML was written.")
    profile: dict = Field(description="The profile document written.")


class _Spec(NamedTuple):
    """What a fit learned from its training rows: how to prepare each kept metric, and the coefficients."""

    names: list[str]
    lo: np.ndarray
    hi: np.ndarray
    median: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    coverage: np.ndarray
    intercept: float
    coef: np.ndarray
    dropped: list[DroppedMetric]


def fit_health_profile(
    ds: Dataset,
    *,
    horizon_days: int = 90,
    expert: Profile | str | None = None,
    positive_class: PositiveClass = "churn_and_contraction",
    outcomes_path_frame: pd.DataFrame | None = None,
    out: str | Path | None = None,
    allowed: list[Path] | None = None,
) -> FitResult:
    """Learn a profile from decided renewals, test it on held-out time against `expert`, write it to `out`."""
    bounds.check("horizon_days", horizon_days, bounds.HORIZON_DAYS)
    expert_prof = expert if isinstance(expert, Profile) else load_profile(expert)
    plan, skipped, caveats = outcome_plan(ds, horizon_days, outcomes_path_frame)
    snaps, frame = snapshots(ds, plan, positive_class, skipped)
    _enough(snaps, skipped)
    names = [m for m in CATALOGUE if m in frame.columns]
    x = frame[names].to_numpy(dtype=float)
    y = np.array([s.lost for s in snaps], dtype=bool)
    days = np.array([s.as_of for s in snaps])
    decided = np.array([s.outcome_date for s in snaps])
    folds, held = _cross_validate(frame, x, y, days, decided, names, expert_prof)
    if not folds:
        raise InputError(
            f"no as-of date has at least {MIN_FOLD_LOST} lost and {MIN_FOLD_LOST} kept renewals decided before "
            f"it to train on and as many after it to test on, so the fit cannot be checked on held-out time.",
            fix="Load a longer outcome history or use a shorter horizon_days. " + FALLBACK,
        )
    spec = _fit(x, y, names)
    doc, probs = profile_document(spec, y, frame, days)
    in_sample = scores_by_day(frame, profile_from_dict(dict(doc), "learned profile"), days)
    rows, pred, expert_scores, lost_held = held
    result = FitResult(
        as_of=max(days),
        profile_name=doc["name"],
        positive_class=positive_class,
        horizon_days=horizon_days,
        as_of_dates=sorted(set(days.tolist())),
        n_outcomes=len(snaps),
        n_lost=int(y.sum()),
        base_rate=rnd(y.mean()),
        metrics=_fitted(spec, doc),
        weights={c: spec_c["weight"] for c, spec_c in doc["components"].items()},
        dropped=spec.dropped,
        intercept=rnd(spec.intercept, 6),
        l2=L2,
        folds=folds,
        cv_auc=rnd(stats.auc(pred, lost_held)),
        expert_profile=expert_prof.name,
        expert_auc=rnd(stats.auc(expert_scores, lost_held)),
        better_than_expert=False,
        in_sample_auc=rnd(stats.auc(in_sample, y)),
        tiers=_tier_lines(doc["tiers"], probs),
        profile_path=None,
        profile=doc,
    )
    result.better_than_expert = (result.cv_auc or 0) > (result.expert_auc or 0)
    if out is not None:
        result.profile_path = str(write_profile(doc, probs, out, allowed or [Path.cwd()]))
    result.caveats = caveats + _caveats(result, skipped)
    result.summary = _summary(result)
    return result


def snapshots(
    ds: Dataset, plan: list[tuple], positive_class: PositiveClass, skipped: dict[str, list[str]]
) -> tuple[list[Snapshot], pd.DataFrame]:
    """Every planned outcome's metrics on its as-of date (one metrics pass per date), customers only."""
    import pandas as pd

    by_day: dict[date, list[tuple]] = defaultdict(list)
    for item in plan:
        by_day[item[3]].append(item)
    snaps, frames = [], []
    for day in sorted(by_day):
        sem = resolve_semantics(ds, f"TIMESTAMP '{window(day, 1).end}'") if ds.has("events") else None
        metrics = account_metrics(ds, day, sem, everyone=True)
        stages = lifecycle(ds, day)["stage"]
        tenure = metrics.get("tenure_days")
        keep = []
        for acct, outcome, when, as_of in by_day[day]:
            if acct not in metrics.index:
                skipped.setdefault("account not found in the data", []).append(acct)
            elif stages.get(acct) == "not_yet_customer" or (tenure is not None and tenure.get(acct, 0) < 0):
                skipped.setdefault("not yet a customer on the as-of date", []).append(acct)
            else:
                snaps.append(Snapshot(acct, as_of, when, outcome in LOST[positive_class]))
                keep.append(acct)
        frames.append(metrics.loc[keep])
    frame = pd.concat(frames) if frames else pd.DataFrame()
    frame.index = [f"{s.account_id}|{s.as_of}|{i}" for i, s in enumerate(snaps)]  # one row per snapshot
    return snaps, frame


def _enough(snaps: list[Snapshot], skipped: dict[str, list[str]]) -> None:
    n, lost = len(snaps), sum(s.lost for s in snaps)
    days = {s.as_of for s in snaps}
    missing = []
    if n < MIN_OUTCOMES:
        missing.append(f"{n} decided renewals with data before them (at least {MIN_OUTCOMES} are needed)")
    if lost < MIN_LOST or n - lost < MIN_LOST:
        missing.append(f"{lost} lost and {n - lost} kept (at least {MIN_LOST} of each are needed)")
    if len(days) < 2:
        missing.append(f"{len(days)} as-of date(s) (at least two are needed to test on later time)")
    if missing:
        n_skipped = sum(map(len, skipped.values()))
        raise InputError(
            "too little history to learn a profile: "
            + "; ".join(missing)
            + (f" ({n_skipped} outcome(s) skipped)." if n_skipped else "."),
            fix=FALLBACK,
        )


def _cross_validate(frame, x, y, days, decided, names, expert_prof):
    """Forward-chaining folds over the later as-of dates: train on renewals decided by the fold's first date."""
    distinct = sorted(set(days.tolist()))
    expert_all = scores_by_day(frame, expert_prof, days)
    blocks = [b for b in np.array_split(np.array(distinct[1:], dtype=object), MAX_FOLDS) if len(b)]
    folds, rows = [], []
    pred_all = np.full(len(y), np.nan)
    for block in blocks:
        start, end = block[0], block[-1]
        train = decided <= start
        test = (days >= start) & (days <= end)
        if min(y[train].sum(), (~y[train]).sum(), y[test].sum(), (~y[test]).sum()) < MIN_FOLD_LOST:
            continue
        spec = _fit(x[train], y[train], names)
        doc, _ = profile_document(spec, y[train], frame[train], days[train])
        pred = scores_by_day(frame[test], profile_from_dict(doc, "fold"), days[test])
        pred_all[test] = pred
        rows.append(test)
        folds.append(
            Fold(
                test_from=start,
                test_to=end,
                train_rows=int(train.sum()),
                train_lost=int(y[train].sum()),
                test_rows=int(test.sum()),
                test_lost=int(y[test].sum()),
                auc=rnd(stats.auc(pred, y[test])),
                expert_auc=rnd(stats.auc(expert_all[test], y[test])),
            )
        )
    held = np.any(rows, axis=0) if rows else np.zeros(len(y), dtype=bool)
    return folds, (held, pred_all[held], expert_all[held], y[held])


def _fit(x: np.ndarray, y: np.ndarray, names: list[str]) -> _Spec:
    """Choose the metrics (coverage, spread, correlation) and fit the regularised logistic regression."""
    dropped: list[DroppedMetric] = []
    seen = np.isfinite(x)
    coverage = seen.mean(axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: dropped below
        lo = np.nanpercentile(np.where(seen, x, np.nan), 1, axis=0) if len(x) else np.zeros(len(names))
        hi = np.nanpercentile(np.where(seen, x, np.nan), 99, axis=0) if len(x) else np.zeros(len(names))
        median = np.nanmedian(np.where(seen, x, np.nan), axis=0)
    filled = np.where(seen, np.clip(x, lo, hi), median)
    usable = []
    for j, name in enumerate(names):
        if coverage[j] < 1 - MAX_MISSING:
            dropped.append(
                DroppedMetric(metric=name, reason=f"missing for {1 - coverage[j]:.0%} of the rows")
            )
        elif not np.nanstd(filled[:, j]) > 0:
            dropped.append(DroppedMetric(metric=name, reason="the same value for every row"))
        else:
            usable.append(j)
    # the metric most associated with losses first; a later one correlated beyond the limit joins its group
    strength = {j: abs((stats.auc(filled[:, j], y) or 0.5) - 0.5) for j in usable}
    kept: list[int] = []
    for j in sorted(usable, key=lambda j: (-strength[j], names[j])):
        partner = next(
            (k for k in kept if abs(np.corrcoef(filled[:, j], filled[:, k])[0, 1]) > CORRELATED), None
        )
        if partner is None:
            kept.append(j)
        else:
            r = np.corrcoef(filled[:, j], filled[:, partner])[0, 1]
            dropped.append(
                DroppedMetric(
                    metric=names[j],
                    reason=f"correlated with {names[partner]} (r = {r:.2f})",
                    kept_instead=names[partner],
                )
            )
    kept.sort()
    z = filled[:, kept]
    mean, sd = z.mean(axis=0), z.std(axis=0)
    intercept, coef = stats.fit_logistic((z - mean) / sd, y.astype(float), L2)
    return _Spec(
        [names[j] for j in kept],
        lo[kept],
        hi[kept],
        median[kept],
        mean,
        sd,
        coverage[kept],
        intercept,
        coef,
        dropped,
    )


def scores_by_day(frame: pd.DataFrame, prof: Profile, days: np.ndarray) -> np.ndarray:
    """Each snapshot's score, scored among the snapshots of its own as-of date (percentiles compare like with like)."""
    out = np.full(len(frame), np.nan)
    for day in sorted(set(days.tolist())):
        rows = np.flatnonzero(days == day)
        part = frame.iloc[rows]
        out[rows] = [s.health_score for s in score_frame(part, prof, drivers=False)]
    return out


def _component_of(metric: str) -> str:
    base = preset(DEFAULT_PROFILE)
    for name in COMPONENTS:
        if metric in base.components[name].metrics:
            return name
    return "usage"  # onboarding signals (activation, pace) sit with usage on the one scale


def profile_document(
    spec: _Spec, y: np.ndarray, frame: pd.DataFrame, days: np.ndarray
) -> tuple[dict, list[float] | None]:
    """The profile YAML's content: metrics weighted by |coefficient|, linear over mean ± SPREAD sd, calibrated tiers."""
    size = np.abs(spec.coef)
    share = size / size.sum() if size.sum() > 0 else size
    metrics: dict[str, dict[str, dict]] = defaultdict(dict)
    for j, name in enumerate(spec.names):
        if share[j] < MIN_SHARE:
            continue
        protective = spec.coef[j] < 0  # higher values, fewer losses
        low, high = spec.mean[j] - SPREAD * spec.sd[j], spec.mean[j] + SPREAD * spec.sd[j]
        floor, target = (low, high) if protective else (high, low)
        metrics[_component_of(name)][name] = {
            "method": "linear",
            "weight": round(float(share[j]) * 100, 4),
            "floor": round(float(floor), 6),
            "target": round(float(target), 6),
        }
    if not metrics:
        raise InputError(
            "no metric was associated with losses in this history, so there is nothing to learn a profile from.",
            fix=FALLBACK,
        )
    totals = {c: sum(m["weight"] for m in metrics[c].values()) for c in COMPONENTS if c in metrics}
    grand = sum(totals.values())
    weights = {c: round(t / grand * 100, 4) for c, t in totals.items()}
    last = list(weights)[-1]
    weights[last] = round(100 - sum(w for c, w in weights.items() if c != last), 4)
    doc = {
        "name": "learned",
        "description": f"{LEARNED_MARK} from {len(y)} decided renewals ({int(y.sum())} lost).",
        "components": {c: {"weight": weights[c], "metrics": dict(metrics[c])} for c in weights},
        "onboarding": None,
    }
    prof = profile_from_dict(dict(doc), "learned profile")
    doc["tiers"], probs = _tiers(scores_by_day(frame, prof, days), y)
    return doc, probs


def _tiers(scores: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], list[float] | None]:
    """Tier lines where the Platt-calibrated loss probability crosses ½, 1, 2 and 3 × the base rate (each kept
    below 0.6–0.9), and those probabilities; the seed's bands when the score does not fall as risk rises."""
    rate = float(y.mean())
    a, b = stats.platt(scores, y)
    if not b < 0:
        return {"thriving": 85.0, "healthy": 70.0, "neutral": 50.0, "at_risk": 30.0}, None
    probs = [float(p) for p in np.minimum([0.5 * rate, rate, 2 * rate, 3 * rate], [0.6, 0.7, 0.8, 0.9])]
    lines: list[float] = []
    for i, p in enumerate(probs):  # rising probability, falling score; each line half a point below the last
        raw = (np.log(p / (1 - p)) - a) / b
        top = 100.0 if i == 0 else lines[-1] - 0.5
        lines.append(round(float(min(max(raw, 0.5 * (4 - i)), top)), 1))
    return dict(zip(TIERS, lines, strict=True)), [round(p, 4) for p in probs]


def _tier_lines(tiers: dict[str, float], probs: list[float] | None) -> list[TierLine]:
    return [
        TierLine(tier=t, lower_bound=tiers[t], churn_probability=probs[i] if probs else None)
        for i, t in enumerate(TIERS)
    ]


def _fitted(spec: _Spec, doc: dict) -> list[FittedMetric]:
    placed = {m: (c, s) for c, comp in doc["components"].items() for m, s in comp["metrics"].items()}
    comp_w = {c: comp["weight"] for c, comp in doc["components"].items()}
    comp_t = {c: sum(s["weight"] for s in comp["metrics"].values()) for c, comp in doc["components"].items()}
    out = []
    for j, name in enumerate(spec.names):
        if name not in placed:
            continue
        comp, s = placed[name]
        out.append(
            FittedMetric(
                metric=name,
                label=CATALOGUE[name].label,
                component=comp,
                coefficient=rnd(float(spec.coef[j]), 6),
                direction="higher_is_better" if spec.coef[j] < 0 else "lower_is_better",
                weight=rnd(comp_w[comp] * s["weight"] / comp_t[comp], 2),
                median=rnd(float(spec.median[j]), 6),
                mean=rnd(float(spec.mean[j]), 6),
                sd=rnd(float(spec.sd[j]), 6),
                floor=s["floor"],
                target=s["target"],
                coverage=rnd(float(spec.coverage[j])),
            )
        )
    return sorted(out, key=lambda m: (-m.weight, m.metric))


def write_profile(doc: dict, probs: list[float] | None, out: str | Path, allowed: list[Path]) -> Path:
    """Write the profile YAML under an allowed folder, never over a file this command did not write."""
    import yaml

    path = Path(out).expanduser()
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(
            "must end in .yaml or .yml.", file=str(out), fix="Name the profile e.g. profile.yaml."
        )
    real = path.resolve()
    roots = [Path(r).expanduser().resolve() for r in allowed]
    package = Path(__file__).resolve().parents[2]  # the product's own files (an editable checkout's too)
    own = [package / d for d in ("tools", "server", "examples", "rules", "prompts")]
    if not any(real.parent == r or r in real.parents for r in roots) or any(d in real.parents for d in own):
        raise InputError(
            "is outside the folders this command may write to (the working directory and the allowed folders).",
            file=str(out),
            fix="Write the profile under the working directory.",
        )
    if real.exists() and not real.read_text(encoding="utf-8", errors="replace").startswith(FILE_MARK):
        raise InputError(
            "exists and was not written by customer-health fit; it is left as it is.",
            file=str(out),
            fix="Choose a new file name.",
        )
    head = [
        FILE_MARK,
        f"# {doc['description']} Use it with: customer-health score PATH --profile {path.name}",
    ]
    if probs:
        head.append(
            "# Tier lines: the score at which the calibrated loss probability reaches "
            + ", ".join(f"{t} {p:.0%}" for t, p in zip(TIERS, probs, strict=True))
            + " (critical is below at_risk)."
        )
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_text("\n".join(head) + "\n" + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return real


def _caveats(r: FitResult, skipped: dict[str, list[str]]) -> list[str]:
    out = [
        f"Each renewal is described by its account's metrics at the month end on or before its date minus "
        f"{r.horizon_days} days; nothing after that day enters.",
        "Missing values took the metric's median; metrics missing for over half the rows were left out.",
        "The profile is a linear score, so the order of accounts matches the fitted model's except where a metric "
        f"is beyond mean ± {SPREAD:g} sd (clamped) or missing (its weight shared by the others).",
    ]
    grouped = [d for d in r.dropped if d.kept_instead]
    if grouped:
        out.append(
            f"Correlated beyond |r| = {CORRELATED:g}, so one stands for the group: "
            + "; ".join(f"{d.kept_instead} for {d.metric}" for d in grouped)
            + "."
        )
    n_skipped = sum(map(len, skipped.values()))
    if n_skipped:
        out.append(
            f"{n_skipped} outcome(s) were skipped (no date, not a customer yet, or too early in the data)."
        )
    if r.n_lost < 3 * MIN_LOST:
        out.append(
            f"Only {r.n_lost} lost renewals: the weights are rough; refit as more renewals are decided."
        )
    if not r.better_than_expert:
        out.append(
            f"On held-out time the learned profile did not beat {r.expert_profile}: keep the expert profile."
        )
    return out


def _summary(r: FitResult) -> str:
    top = ", ".join(f"{m.label} ({m.direction.replace('_', ' ')}, {m.weight:g}%)" for m in r.metrics[:3])
    text = (
        f"Learned from {r.n_outcomes} renewals ({r.n_lost} lost) over {len(r.as_of_dates)} as-of dates; the biggest "
        f"weights: {top}. On held-out later time AUC {_f(r.cv_auc)} against {_f(r.expert_auc)} for {r.expert_profile} "
        f"on the same {sum(f.test_rows for f in r.folds)} rows ({len(r.folds)} fold{'s' if len(r.folds) > 1 else ''})."
    )
    if r.profile_path:
        text += f" Written to {r.profile_path}."
    return text


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
