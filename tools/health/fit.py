"""A health profile learned from the user's own history, starting from what the expert profile knows.

Each decided renewal is paired with its account's metrics on a day at least `horizon_days` before the outcome (the
backtest's plan: the month end on or before outcome − horizon; the metrics never read outcome columns and only data
up to that day).

The model keeps the expert's view unless the history argues against it. Its log-odds of loss are

    a + b · E + Σ δ_m · P_m + Σ ρ_m · R_m + Σ γ_k · Q_k

where E is the expert profile's score, P_m the expert's own 0–100 points for each of its metrics (the normalisation
the expert applies), R_m a linear scale over the same metric's raw values (mean ± 2.5 sd, clipped to its 1st–99th
percentile: it sees what the expert's clamp or bands hide, e.g. logins beyond 40 or tenure beyond 24 months; not for
a percentile metric), and Q_k the points of a catalogue metric the expert leaves out, on a linear scale over its mean
± 2.5 sd (clipped to its 1st–99th percentile, missing values at the median; of two metrics correlated beyond
|r| = 0.8 only the one more associated with losses is kept, and an expert metric wins over a new one). All columns are
standardised; a and b are free, and the departures δ, ρ, γ carry an L2 penalty whose strength is chosen by
time-ordered cross-validation inside the training rows (never the held-out ones), from "none allowed" (the expert's
ranking exactly) to weak, each strength with and without the raw scales R. Inside an outer fold's training rows
every outcome is already known, so the inner folds train on the as-of dates before the one they test. A departure
is taken only when it raises the AUC on that later time by more than one standard error of the paired difference
(DeLong) — 1.645 when the inner held-out rows hold fewer than 100 losses.

The model becomes a profile the scorer reads like any other: every metric keeps its normalisation, its weight is its
(non-negative) share of the model's slope, and the component weights are the sums of their metrics' weights, so
with full data the score is a straight line in the model's log-odds (up to the clamp) and the drivers still add up
to every point. An expert metric whose raw scale departed is written as ONE metric on a band scale: the model's
protection from its expert points and its raw scale together, stepped at 40 quantiles of its training values (and
the scales' corners) and stretched to 0–100, its weight the log-odds that span covers. When no departure was taken the profile is the expert's own components. Tier lines are the scores at
which the Platt-calibrated loss probability crosses multiples of the base rate.

Cross-validation is by time: each fold tests the rows of a run of later as-of dates on a model trained only on
renewals decided by the first of those dates, and compares with the expert profile on the same held-out rows. The
first fold's training rows hold at least half an even share of the losses (a fit on a handful of early rows says
little about the fit on the whole history).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from datetime import date, timedelta
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
    MetricSpec,
    Profile,
    load_profile,
    preset,
    profile_from_dict,
)
from customer_health.tools.health.score import normalize, score_values
from customer_health.tools.health.validation import LEARNED_MARK, LOST, PositiveClass, outcome_plan
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

MIN_OUTCOMES = 30
MIN_LOST = 10
MIN_FOLD_LOST = 5  # a training or test set needs this many losses (and as many kept) to count as a fold
MAX_FOLDS = 6
TRAIN_SHARE = 0.5  # a fold's training set holds at least half of an even share of the losses
INNER_FOLDS = 3  # time folds inside the training rows that choose the penalty
PENALTIES = (3000.0, 1000.0, 300.0, 100.0, 30.0, 10.0, 3.0, 1.0)  # tried on top of "no departure"
SUPPORT = 1.0  # a departure must raise the inner held-out AUC by this many standard errors (DeLong)…
LARGE = 100  # …when the inner held-out rows hold this many losses; with fewer, by STRICT standard errors
STRICT = 1.645  # (one-sided 95%): few inner losses, a noisy gain, and the best of 16 candidates is taken
FREE = 1e3  # the expert score's column is scaled up by this, so its coefficient is in effect unpenalised
CORRELATED = 0.8
MAX_MISSING = 0.5
CURVE_STEPS = 40  # a learned band scale steps at this many quantiles of the metric (and its scales' corners)
SPREAD = 2.5  # the linear scale of a learned metric runs over mean ± SPREAD standard deviations
MIN_SHARE = 0.001  # a metric with under 0.1% of the slope is left out of the profile
TIERS = ("thriving", "healthy", "neutral", "at_risk")
FILE_MARK = "# customer-health learned profile"
FALLBACK = (
    "Keep scoring with the expert preset (--profile enterprise, or the one for your business model) and check "
    "it with validate until more renewals have been decided."
)
KEEP_EXPERT = "no better than the expert: keep it"


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
    coefficient: float = Field(
        description="Change in the log-odds of loss per standard deviation of the metric, through its 0–100 scale "
        "(for a band or percentile scale: per standard deviation of its points)."
    )
    direction: Literal["higher_is_better", "lower_is_better"]
    weight: float = Field(description="Its share of the score, in %.")
    expert_weight: float | None = Field(
        None,
        description="Its share of the expert profile's score with full data, in % (none: not an expert metric).",
    )
    source: Literal["expert", "learned"] = Field(
        "learned",
        description="expert: a metric of the expert profile, on the expert's scale; learned: added from this history.",
    )
    method: Literal["linear", "bands", "percentile"] = "linear"
    learned_scale: bool = Field(
        False,
        description="Its 0–100 scale was learned from this history (an added metric's linear scale, or an expert "
        "metric's band scale when its raw values ranked losses better than the expert's scale alone).",
    )
    median: float | None
    mean: float | None
    sd: float | None
    floor: float | None = Field(
        description="The value that scores 0 points (none for a band or percentile scale)."
    )
    target: float | None = Field(
        description="The value that scores 100 points (none for a band or percentile scale)."
    )
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
    l2: float | None = Field(
        None,
        description="Penalty on departures from the expert chosen on this fold's training rows (none: no departure "
        "was supported, so the fold's profile ranks exactly like the expert).",
    )
    learned_scales: bool = Field(
        False, description="Expert metrics could take learned scales over their raw values in this fold."
    )


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
    l2: float | None = Field(
        description="Penalty on departures from the expert profile, chosen on earlier time inside the history "
        "(none: no departure was supported and the learned profile is the expert's own)."
    )
    kept_expert: bool = Field(
        False, description="The learned profile scores exactly like the expert profile."
    )
    learned_scales: bool = Field(
        False,
        description="Expert metrics could take learned band scales over their raw values (chosen on earlier time "
        "inside the history, like the penalty).",
    )
    folds: list[Fold]
    cv_auc: float | None = Field(description="AUC of the learned profiles over every held-out row, pooled.")
    cv_auc_mean: float | None = Field(None, description="Mean of the folds' learned AUCs.")
    expert_profile: str
    expert_auc: float | None = Field(
        description="The expert profile's AUC on the same held-out rows, pooled."
    )
    expert_auc_mean: float | None = Field(None, description="Mean of the folds' expert AUCs.")
    better_than_expert: bool
    in_sample_auc: float | None = Field(description="The final profile on the rows it was fitted on.")
    tiers: list[TierLine]
    profile_path: str | None = Field(description="Where the profile YAML was written.")
    profile: dict = Field(description="The profile document written.")


class History(NamedTuple):
    """The training rows and what the expert makes of them: its score and its per-metric points on each row."""

    frame: pd.DataFrame
    x: np.ndarray  # the catalogue metrics' raw values, one row per snapshot
    names: list[str]
    y: np.ndarray
    days: np.ndarray
    decided: np.ndarray
    expert: Profile
    e: np.ndarray  # the expert's score
    p: (
        np.ndarray
    )  # the expert's 0–100 points per (component, metric) in `keys`, NaN where the metric has no value
    keys: list[tuple[str, str]]
    w: np.ndarray  # each key's share of the expert score with full data (sums to 1 over the keys with data)


class _Spec(NamedTuple):
    """How a fit prepares its columns, learned from its training rows only."""

    lo: (
        np.ndarray
    )  # per catalogue metric: clip range, median, mean and sd after clipping and filling, coverage
    hi: np.ndarray
    median: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    coverage: np.ndarray
    new: list[int]  # catalogue metrics the expert leaves out that the model may add
    q_mean: np.ndarray
    q_sd: np.ndarray
    p_cols: list[int]  # expert keys whose points may depart from the expert's weight
    p_median: np.ndarray
    p_mean: np.ndarray
    p_sd: np.ndarray
    r_cols: list[int]  # expert keys that may also take a learned linear scale over their raw values
    r_idx: list[int]  # each one's catalogue metric
    r_mean: np.ndarray
    r_sd: np.ndarray
    e_mean: float
    e_sd: float
    dropped: list[DroppedMetric]


class _Model(NamedTuple):
    spec: _Spec
    l2: float | None  # None: no departure from the expert
    intercept: float
    coef: np.ndarray  # [b on the expert score, δ on its points, γ on added metrics, ρ on raw scales]
    scales: bool = False  # the raw scales ρ were free to depart (else held at 0)


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
    h, snaps, skipped, caveats = load_history(ds, horizon_days, expert, positive_class, outcomes_path_frame)
    folds, held = _cross_validate(h)
    if not folds:
        raise InputError(
            f"no as-of date has at least {MIN_FOLD_LOST} lost and {MIN_FOLD_LOST} kept renewals decided before "
            f"it to train on and as many after it to test on, so the fit cannot be checked on held-out time.",
            fix="Load a longer outcome history or use a shorter horizon_days. " + FALLBACK,
        )
    pred, expert_scores, lost_held = held
    learned_aucs = [f.auc for f in folds if f.auc is not None and f.expert_auc is not None]
    expert_aucs = [f.expert_auc for f in folds if f.auc is not None and f.expert_auc is not None]
    # the folds' mean decides: pooling mixes scores of different fold profiles, which need not share a scale
    better = bool(learned_aucs) and float(np.mean(learned_aucs)) > float(np.mean(expert_aucs))
    everything = np.ones(len(h.y), dtype=bool)
    # the procedure that departs from the expert is kept only where it beat the expert on held-out time; else the
    # profile written is the expert's own scoring (its tier lines calibrated here)
    model = learn(h, everything, depart=better)
    doc, probs = profile_document(h, model, everything)
    in_sample = scores_by_day(h.frame, profile_from_dict(dict(doc), "learned profile"), h.days)
    result = FitResult(
        as_of=max(h.days),
        profile_name=doc["name"],
        positive_class=positive_class,
        horizon_days=horizon_days,
        as_of_dates=sorted(set(h.days.tolist())),
        n_outcomes=len(snaps),
        n_lost=int(h.y.sum()),
        base_rate=rnd(h.y.mean()),
        metrics=_fitted(h, model, doc),
        weights={c: spec_c["weight"] for c, spec_c in doc["components"].items()},
        dropped=model.spec.dropped + _unused_expert_metrics(h, doc),
        intercept=rnd(model.intercept, 6),
        l2=model.l2,
        learned_scales=model.scales,
        kept_expert=doc["components"] == h.expert.model_dump(mode="json", exclude_none=True)["components"],
        folds=folds,
        cv_auc=rnd(stats.auc(pred, lost_held)),
        cv_auc_mean=rnd(float(np.mean(learned_aucs)), 4) if learned_aucs else None,
        expert_profile=h.expert.name,
        expert_auc=rnd(stats.auc(expert_scores, lost_held)),
        expert_auc_mean=rnd(float(np.mean(expert_aucs)), 4) if expert_aucs else None,
        better_than_expert=better,
        in_sample_auc=rnd(stats.auc(in_sample, h.y)),
        tiers=_tier_lines(doc["tiers"], probs),
        profile_path=None,
        profile=doc,
    )
    if out is not None:
        result.profile_path = str(write_profile(doc, probs, out, allowed or [Path.cwd()]))
    result.caveats = caveats + _caveats(result, skipped, h.expert)
    result.summary = _summary(result)
    return result


def load_history(
    ds: Dataset,
    horizon_days: int,
    expert: Profile | str | None = None,
    positive_class: PositiveClass = "churn_and_contraction",
    outcomes_path_frame: pd.DataFrame | None = None,
) -> tuple[History, list[Snapshot], dict[str, list[str]], list[str]]:
    """The snapshots before each decided renewal, with the expert's score and points on each (no outcome enters
    them), the skipped outcomes and the plan's caveats; refuses a history too small to learn from."""
    expert_prof = expert if isinstance(expert, Profile) else load_profile(expert)
    plan, skipped, caveats = outcome_plan(ds, horizon_days, outcomes_path_frame)
    snaps, frame = snapshots(ds, plan, positive_class, skipped)
    _enough(snaps, skipped)
    h = history_from_frame(frame, snaps, expert_prof)
    return h, snaps, skipped, caveats


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


def history_from_frame(frame: pd.DataFrame, snaps: list[Snapshot], expert: Profile) -> History:
    """The history of a metrics frame with one row per snapshot (in `snaps`' order), as `snapshots` returns it."""
    names = [m for m in CATALOGUE if m in frame.columns]
    days = np.array([s.as_of for s in snaps])
    keys, p = expert_points(frame, expert, days)
    return History(
        frame=frame,
        x=frame[names].to_numpy(dtype=float),
        names=names,
        y=np.array([s.lost for s in snaps], dtype=bool),
        days=days,
        decided=np.array([s.outcome_date for s in snaps]),
        expert=expert,
        e=scores_by_day(frame, expert, days),
        p=p,
        keys=keys,
        w=_expert_shares(expert, keys, p),
    )


def cross_validate(h: History) -> list[Fold]:
    """The time folds of a history: each fold's learned profile against the expert on the same held-out rows."""
    return _cross_validate(h)[0]


def expert_points(
    frame: pd.DataFrame, prof: Profile, days: np.ndarray
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Each snapshot's 0–100 points on every metric of the profile's components, normalised as the scorer does
    (a percentile among the snapshots of the same as-of date and segment); NaN where the metric has no value."""
    import pandas as pd

    keys = [(c, m) for c, comp in prof.components.items() if comp.weight > 0 for m in comp.metrics]
    out = np.full((len(frame), len(keys)), np.nan)
    for day in sorted(set(days.tolist())):
        rows = np.flatnonzero(days == day)
        part = frame.iloc[rows]
        seg = (
            part["segment"].fillna("(none)").astype(str)
            if "segment" in part
            else pd.Series("(none)", index=part.index)
        )
        for j, (c, m) in enumerate(keys):
            if m in part:
                values = pd.to_numeric(part[m], errors="coerce")
                out[rows, j] = normalize(values, prof.components[c].metrics[m], seg).to_numpy(dtype=float)
    return keys, out


def _expert_shares(prof: Profile, keys: list[tuple[str, str]], p: np.ndarray) -> np.ndarray:
    """Each key's share of the expert score for an account with a value on every metric the data has."""
    have = ~np.isnan(p).all(axis=0)
    metric_w = np.array([prof.components[c].metrics[m].weight for c, m in keys]) * have
    comps = {c for (c, _), ok in zip(keys, have, strict=True) if ok}
    within = {c: sum(metric_w[j] for j, (cj, _) in enumerate(keys) if cj == c) for c in comps}
    total = sum(prof.components[c].weight for c in comps)
    out = np.zeros(len(keys))
    for j, (c, _) in enumerate(keys):
        if have[j] and total > 0:
            out[j] = prof.components[c].weight / total * metric_w[j] / within[c]
    return out


def time_blocks(h: History, rows: np.ndarray, max_folds: int, known: bool = False) -> list[tuple[date, date]]:
    """Runs of consecutive as-of dates among `rows` to test on, oldest first: each holds MIN_FOLD_LOST lost and kept
    renewals, as do the rows decided by its first date (its training set); up to `max_folds` of about equal losses.
    The first training set also holds a share of the losses (TRAIN_SHARE of an even split into max_folds + 1
    parts): a model fitted on a handful of early rows says little about one fitted on the history. `known`: every
    outcome among `rows` is already known (the training rows of an outer fold), so a block trains on the rows of
    the as-of dates before it rather than only those decided by its first date."""
    y, days = h.y[rows], h.days[rows]
    # with every outcome known, a row is usable for training from the day after its as-of date
    decided = np.array([d + timedelta(days=1) for d in days]) if known else h.decided[rows]
    distinct = sorted(set(days.tolist()))

    def enough(mask: np.ndarray) -> bool:
        return min(int(y[mask].sum()), int((~y[mask]).sum())) >= MIN_FOLD_LOST

    need = max(MIN_FOLD_LOST, math.ceil(TRAIN_SHARE * int(y.sum()) / (max_folds + 1)))
    first = next((d for d in distinct[1:] if enough(decided <= d) and y[decided <= d].sum() >= need), None)
    if first is None:
        return []
    later = [d for d in distinct if d >= first]
    target = max(MIN_FOLD_LOST, math.ceil(int(y[days >= first].sum()) / max_folds))
    blocks: list[list[date]] = []
    run: list[date] = []
    for d in later:
        run.append(d)
        test = np.isin(days, run)
        if y[test].sum() >= target and enough(test):
            blocks.append(run)
            run = []
    if run and blocks:
        blocks[-1] += run  # the tail too small to stand alone joins the last fold
    return [(b[0], b[-1]) for b in blocks]


def _cross_validate(h: History) -> tuple[list[Fold], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Forward-chaining folds over the later as-of dates: train on renewals decided by the fold's first date."""
    folds = []
    pred_all = np.full(len(h.y), np.nan)
    held = np.zeros(len(h.y), dtype=bool)
    for start, end in time_blocks(h, np.ones(len(h.y), dtype=bool), MAX_FOLDS):
        train = h.decided <= start
        test = (h.days >= start) & (h.days <= end)
        pred, model = fold_scores(h, start, end)
        pred_all[test] = pred
        held |= test
        folds.append(
            Fold(
                test_from=start,
                test_to=end,
                train_rows=int(train.sum()),
                train_lost=int(h.y[train].sum()),
                test_rows=int(test.sum()),
                test_lost=int(h.y[test].sum()),
                auc=rnd(stats.auc(pred, h.y[test])),
                expert_auc=rnd(stats.auc(h.e[test], h.y[test])),
                l2=model.l2,
                learned_scales=model.scales,
            )
        )
    return folds, (pred_all[held], h.e[held], h.y[held])


def fold_scores(h: History, start: date, end: date) -> tuple[np.ndarray, _Model]:
    """The scores, under the profile learned from the renewals decided by `start`, of the rows as of `start`…`end`
    (only the training rows' outcomes are read)."""
    train = h.decided <= start
    test = (h.days >= start) & (h.days <= end)
    model = learn(h, train)
    doc, _ = profile_document(h, model, train)
    return scores_by_day(h.frame[test], profile_from_dict(doc, "fold"), h.days[test]), model


def learn(h: History, train: np.ndarray, depart: bool = True) -> _Model:
    """The model on the `train` rows, its penalty (and whether expert metrics may take learned scales) chosen by
    time folds inside them; `depart=False`: no departure (the expert's ranking)."""
    l2, scales = _choose_penalty(h, train) if depart else (None, False)
    spec = _prepare(h, train)
    intercept, coef = _solve(_design(h, spec, train), h.y[train], l2, 0 if scales else len(spec.r_cols))
    return _Model(spec, l2, intercept, coef, scales)


def _choose_penalty(h: History, train: np.ndarray) -> tuple[float | None, bool]:
    """The penalty whose departures from the expert most raise the AUC on later time inside `train` (forward time
    folds), when they raise it by more than SUPPORT standard errors of the paired difference (DeLong); else None:
    no departure (STRICT standard errors when the inner held-out rows hold fewer than LARGE losses). Each penalty
    is tried twice: with the expert's scales only, and with learned raw scales beside them (True). The AUC, not the log-loss: a shift of the loss rate between periods moves every model's log-loss
    alike and says nothing about the ranking a CSM acts on."""
    choices = [(None, False)] + [(l2, scales) for scales in (False, True) for l2 in PENALTIES]
    parts: dict[tuple[float | None, bool], list[tuple[np.ndarray, np.ndarray]]] = {c: [] for c in choices}
    for start, end in time_blocks(h, train, INNER_FOLDS, known=True):
        inner = train & (h.days < start)
        test = train & (h.days >= start) & (h.days <= end)
        spec = _prepare(h, inner)
        x_in, x_out = _design(h, spec, inner), _design(h, spec, test)
        for l2, scales in parts:
            if scales and not spec.r_cols:
                continue
            _, coef = _solve(x_in, h.y[inner], l2, 0 if scales else len(spec.r_cols))
            parts[l2, scales].append(_auc_parts(-(x_out @ coef), h.y[test]))
    base = parts[None, False]
    if not base:
        return None, False
    best, best_gain = (None, False), 0.0
    for choice in choices[1:]:
        if len(parts[choice]) != len(base):  # a fold without raw scales to learn: not a candidate
            continue
        diffs, variances = [], []
        for (v, w), (v0, w0) in zip(parts[choice], base, strict=True):
            diffs.append(v.mean() - v0.mean())
            variances.append(np.var(v - v0, ddof=1) / len(v) + np.var(w - w0, ddof=1) / len(w))
        gain, se = float(np.mean(diffs)), math.sqrt(sum(variances)) / len(diffs)
        z = SUPPORT if sum(len(v) for v, _ in base) >= LARGE else STRICT
        if gain > z * se and gain > best_gain:
            best, best_gain = choice, gain
    return best


def _auc_parts(scores: np.ndarray, lost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's placements: for each lost row the share of kept rows scored above it, for each kept row the share of
    lost rows scored below it (ties one half); either's mean is the AUC."""
    lost = np.asarray(lost, dtype=bool)
    n_lost, n_kept = int(lost.sum()), int((~lost).sum())
    above = stats.average_ranks(-scores)  # rank counting the rows scored at or above
    below = stats.average_ranks(scores)
    v = (above[lost] - stats.average_ranks(-scores[lost])) / n_kept
    w = (below[~lost] - stats.average_ranks(scores[~lost])) / n_lost
    return v, w


def _prepare(h: History, train: np.ndarray) -> _Spec:
    """Clip ranges, medians and scales from the training rows; the metrics the expert leaves out that may join
    (enough coverage, some spread, not correlated beyond the limit with an expert metric or a stronger newcomer)."""
    x, y = h.x[train], h.y[train]
    seen = np.isfinite(x)
    coverage = seen.mean(axis=0) if len(x) else np.zeros(len(h.names))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: not used
        masked = np.where(seen, x, np.nan)
        lo = np.nanpercentile(masked, 1, axis=0) if len(x) else np.zeros(len(h.names))
        hi = np.nanpercentile(masked, 99, axis=0) if len(x) else np.zeros(len(h.names))
        median = np.nanmedian(masked, axis=0)
        filled = np.where(seen, np.clip(x, lo, hi), median)
        mean, sd = filled.mean(axis=0), filled.std(axis=0)
    in_expert = {m for _, m in h.keys}
    dropped: list[DroppedMetric] = []
    usable = []
    for j, name in enumerate(h.names):
        if coverage[j] < 1 - MAX_MISSING:
            if name not in in_expert:
                dropped.append(
                    DroppedMetric(metric=name, reason=f"missing for {1 - coverage[j]:.0%} of the rows")
                )
        elif not sd[j] > 0:
            if name not in in_expert:
                dropped.append(DroppedMetric(metric=name, reason="the same value for every row"))
        else:
            usable.append(j)
    # the expert's metrics stand first; a newcomer correlated with one already kept joins its group
    strength = {j: abs((stats.auc(filled[:, j], y) or 0.5) - 0.5) for j in usable}
    kept = [j for j in usable if h.names[j] in in_expert]
    new: list[int] = []
    for j in sorted(
        (j for j in usable if h.names[j] not in in_expert), key=lambda j: (-strength[j], h.names[j])
    ):
        partner = next(
            (k for k in kept if abs(np.corrcoef(filled[:, j], filled[:, k])[0, 1]) > CORRELATED), None
        )
        if partner is None:
            kept.append(j)
            new.append(j)
        else:
            r = np.corrcoef(filled[:, j], filled[:, partner])[0, 1]
            dropped.append(
                DroppedMetric(
                    metric=h.names[j],
                    reason=f"correlated with {h.names[partner]} (r = {r:.2f})",
                    kept_instead=h.names[partner],
                )
            )
    new.sort()
    q = _added_points(h.x[train], new, lo, hi, median, mean, sd)
    p = h.p[train]
    p_cover = np.isfinite(p).mean(axis=0) if len(p) else np.zeros(len(h.keys))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_median = np.nanmedian(p, axis=0)
        p_filled = np.where(np.isnan(p), p_median, p)
    p_sd_all = p_filled.std(axis=0) if len(p) else np.zeros(len(h.keys))
    # a departure needs points that vary over most rows: on a scale where nearly every row sits at one value (a
    # clamp, a rare flag), a few outlying rows would set its weight
    middle = np.percentile(p_filled, [10, 90], axis=0) if len(p) else np.zeros((2, len(h.keys)))
    p_cols = [
        j
        for j in range(len(h.keys))
        if p_cover[j] >= 1 - MAX_MISSING and p_sd_all[j] > 0 and middle[1, j] > middle[0, j]
    ]
    # an expert metric on a clamped or band scale may hide signal its raw values carry: beside its points, a linear
    # scale over its raw values (as for an added metric) may depart too, when those values vary over most rows
    col = {name: j for j, name in enumerate(h.names)}
    spread = np.percentile(filled, [10, 90], axis=0) if len(x) else np.zeros((2, len(h.names)))
    r_cols = [
        k
        for k, (c, m) in enumerate(h.keys)
        if h.expert.components[c].metrics[m].method != "percentile"
        and m in col
        and col[m] in usable
        and spread[1, col[m]] > spread[0, col[m]]
    ]
    r_idx = [col[h.keys[k][1]] for k in r_cols]
    r = _added_points(h.x[train], r_idx, lo, hi, median, mean, sd)
    e = h.e[train]
    return _Spec(
        lo=lo,
        hi=hi,
        median=median,
        mean=mean,
        sd=sd,
        coverage=coverage,
        new=new,
        q_mean=q.mean(axis=0),
        q_sd=np.where(q.std(axis=0) > 0, q.std(axis=0), 1.0),
        p_cols=p_cols,
        p_median=p_median[p_cols],
        p_mean=p_filled[:, p_cols].mean(axis=0),
        p_sd=p_sd_all[p_cols],
        r_cols=r_cols,
        r_idx=r_idx,
        r_mean=r.mean(axis=0),
        r_sd=np.where(r.std(axis=0) > 0, r.std(axis=0), 1.0),
        e_mean=float(e.mean()),
        e_sd=float(e.std()) or 1.0,
        dropped=dropped,
    )


def _added_points(x, new, lo, hi, median, mean, sd) -> np.ndarray:
    """The 0–100 points of the added metrics: linear over mean ± SPREAD sd, rising with the value (clipped and
    median-filled as in training)."""
    x = x[:, new]
    filled = np.where(np.isfinite(x), np.clip(x, lo[new], hi[new]), median[new])
    return np.clip(50 + 50 / SPREAD * (filled - mean[new]) / sd[new], 0, 100)


def _design(h: History, spec: _Spec, rows: np.ndarray) -> np.ndarray:
    """Standardised columns: the expert score, the expert points that may depart, the added metrics' points."""
    e = (h.e[rows] - spec.e_mean) / spec.e_sd
    p = h.p[rows][:, spec.p_cols]
    p = (np.where(np.isnan(p), spec.p_median, p) - spec.p_mean) / spec.p_sd
    q = _added_points(h.x[rows], spec.new, spec.lo, spec.hi, spec.median, spec.mean, spec.sd)
    r = _added_points(h.x[rows], spec.r_idx, spec.lo, spec.hi, spec.median, spec.mean, spec.sd)
    return np.column_stack([e, p, (q - spec.q_mean) / spec.q_sd, (r - spec.r_mean) / spec.r_sd])


def _solve(x: np.ndarray, y: np.ndarray, l2: float | None, held: int = 0) -> tuple[float, np.ndarray]:
    """Intercept and coefficients: the expert score's free, the departures' penalised by `l2` (None: held at 0);
    the last `held` columns are held at 0."""
    if l2 is None:
        intercept, b = stats.fit_logistic(x[:, :1], y.astype(float), 1e-3)
        return intercept, np.r_[b, np.zeros(x.shape[1] - 1)]
    scaled = x[:, : x.shape[1] - held].copy()
    scaled[:, 0] *= FREE  # l2 · (b / FREE)² is next to nothing: the expert score's weight is free
    intercept, coef = stats.fit_logistic(scaled, y.astype(float), l2)
    coef[0] *= FREE
    return intercept, np.r_[coef, np.zeros(held)]


def _slopes(h: History, model: _Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's change in log-odds per point: of each expert key on the expert's scale (b × its expert share +
    δ), of each added metric (γ) and of each expert key's raw linear scale (ρ, over `spec.r_cols`)."""
    spec, coef = model.spec, model.coef
    n_p, n_q = len(spec.p_cols), len(spec.new)
    beta = coef[0] / spec.e_sd * h.w
    beta[spec.p_cols] += coef[1 : 1 + n_p] / spec.p_sd
    return beta, coef[1 + n_p : 1 + n_p + n_q] / spec.q_sd, coef[1 + n_p + n_q :] / spec.r_sd


def scores_by_day(frame: pd.DataFrame, prof: Profile, days: np.ndarray) -> np.ndarray:
    """Each snapshot's score, scored among the snapshots of its own as-of date (percentiles compare like with like)."""
    out = np.full(len(frame), np.nan)
    for day in sorted(set(days.tolist())):
        rows = np.flatnonzero(days == day)
        part = frame.iloc[rows]
        scores = score_values(part, prof)
        out[rows] = [scores[str(k)] for k in part.index]
    return out


def _component_of(metric: str) -> str:
    base = preset(DEFAULT_PROFILE)
    for name in COMPONENTS:
        if metric in base.components[name].metrics:
            return name
    return "usage"  # onboarding signals (activation, pace) sit with usage on the one scale


def profile_document(h: History, model: _Model, train: np.ndarray) -> tuple[dict, list[float] | None]:
    """The profile YAML's content: every metric weighted by its share of the model's slope (the expert's own
    components when no departure was taken), with tiers calibrated on the `train` rows."""
    expert = h.expert.model_dump(mode="json", exclude_none=True)
    doc: dict = {
        "name": "learned",
        "description": f"{LEARNED_MARK} from {int(train.sum())} decided renewals ({int(h.y[train].sum())} lost), "
        f"starting from the {h.expert.name} profile.",
    }
    metrics = _learned_metrics(h, model) if model.l2 is not None else {}
    if not metrics:  # no departure (or none left a protective weight): the expert's scoring as it is
        doc |= {
            k: expert[k] for k in ("components", "onboarding", "onboarding_days", "segments") if k in expert
        }
        doc["trend_adjustment"] = expert["trend_adjustment"]
    else:
        totals = {c: sum(m["weight"] for m in metrics[c].values()) for c in COMPONENTS if c in metrics}
        grand = sum(totals.values())
        weights = {c: round(t / grand * 100, 4) for c, t in totals.items()}
        last = list(weights)[-1]
        weights[last] = round(100 - sum(w for c, w in weights.items() if c != last), 4)
        doc["components"] = {c: {"weight": weights[c], "metrics": dict(metrics[c])} for c in weights}
        doc["onboarding"] = expert.get("onboarding")
        doc["onboarding_days"] = h.expert.onboarding_days
    prof = profile_from_dict(dict(doc), "learned profile")
    doc["tiers"], probs = _tiers(scores_by_day(h.frame[train], prof, h.days[train]), h.y[train])
    return doc, probs


def _learned_metrics(h: History, model: _Model) -> dict[str, dict[str, dict]]:
    """Per component, each metric's spec with its weight: the share of the slope it carries (expert metrics on the
    expert's scale when their points still protect, or on a learned band scale when their raw values departed;
    added metrics on a linear scale pointing the way losses fall)."""
    beta, gamma, rho = _slopes(h, model)
    s = model.spec
    rescaled = {
        k: curve for k, r in zip(s.r_cols, rho, strict=True) if (curve := _learned_curve(h, s, k, beta[k], r))
    }
    omega = np.maximum(-beta, 0.0)
    for k, (_, span) in rescaled.items():
        omega[k] = span / 100  # its log-odds per point of its band scale
    total = omega.sum() + np.abs(gamma).sum()
    metrics: dict[str, dict[str, dict]] = defaultdict(dict)
    if not total > 0:
        return metrics
    for j, (c, m) in enumerate(h.keys):
        if j in rescaled and omega[j] / total >= MIN_SHARE:
            weight = round(float(omega[j] / total) * 100, 4)
            metrics[c][m] = {"method": "bands", "weight": weight, "bands": rescaled[j][0]}
        elif omega[j] / total >= MIN_SHARE:
            spec = h.expert.components[c].metrics[m].model_dump(mode="json", exclude_none=True)
            metrics[c][m] = spec | {"weight": round(float(omega[j] / total) * 100, 4)}
    for i, j in enumerate(s.new):
        if abs(gamma[i]) / total < MIN_SHARE:
            continue
        low, high = s.mean[j] - SPREAD * s.sd[j], s.mean[j] + SPREAD * s.sd[j]
        floor, target = (low, high) if gamma[i] < 0 else (high, low)  # γ < 0: higher values, fewer losses
        metrics[_component_of(h.names[j])][h.names[j]] = {
            "method": "linear",
            "weight": round(float(abs(gamma[i]) / total) * 100, 4),
            "floor": round(float(floor), 6),
            "target": round(float(target), 6),
        }
    return metrics


def _learned_curve(
    h: History, s: _Spec, k: int, beta: float, rho: float
) -> tuple[list[list[float]], float] | None:
    """An expert metric whose raw scale departed (ρ ≠ 0), as one band scale: the model's protection (minus its
    log-odds) from the expert's points and the raw linear scale together, as a function of the metric's value,
    stepped at the training rows' quantiles and the scales' corners and stretched to 0–100. Returns the bands and
    the log-odds the scale spans (none when ρ is 0 or the curve is flat)."""
    import pandas as pd

    if rho == 0:
        return None
    c, m = h.keys[k]
    spec = h.expert.components[c].metrics[m]
    j = s.r_idx[s.r_cols.index(k)]
    values = h.x[:, j][np.isfinite(h.x[:, j])]
    corners = [s.lo[j], s.hi[j], s.mean[j] - SPREAD * s.sd[j], s.mean[j] + SPREAD * s.sd[j]]
    corners += [v for v in (spec.floor, spec.target) if v is not None] + [b[0] for b in spec.bands or []]
    grid = np.unique(np.r_[np.percentile(values, np.linspace(0, 100, CURVE_STEPS + 1)), corners])
    points = normalize(pd.Series(grid), spec, pd.Series("(none)", index=range(len(grid)))).to_numpy(float)
    raw = _added_points(grid[:, None], [0], s.lo[[j]], s.hi[[j]], s.median[[j]], s.mean[[j]], s.sd[[j]])[:, 0]
    protect = -(beta * points + rho * raw)
    # one direction, as a CSM reads a scale ("higher is better"): the closest monotone curve (pool adjacent
    # violators, each step weighted by the training rows it holds) in the direction of the curve's overall trend
    weight = np.bincount(np.searchsorted(grid, values, side="right") - 1, minlength=len(grid)) + 1e-9
    trend = np.average(grid * protect, weights=weight) - np.average(grid, weights=weight) * np.average(
        protect, weights=weight
    )
    rising = trend >= 0
    protect = _monotone(protect, weight, rising)
    span = float(protect.max() - protect.min())
    if not span > 1e-9:
        return None
    level = np.round((protect - protect.min()) / span * 100, 2)
    starts = np.r_[-1e9, (grid[1:] + grid[:-1]) / 2]  # each grid value's step starts halfway from the last
    bands: list[list[float]] = []
    for start, score in zip(starts, level, strict=True):  # a step is kept where the score changes
        start = round(float(start), 6)
        if not bands or (score != bands[-1][1] and start > bands[-1][0]):
            bands.append([start, float(score)])
    return bands, span


def _monotone(values: np.ndarray, weight: np.ndarray, rising: bool) -> np.ndarray:
    """The weighted least-squares fit of `values` that never falls (or, rising=False, never rises) along them."""
    sign = 1.0 if rising else -1.0
    blocks: list[list[float]] = []  # [mean, weight, length]
    for v, w in zip(sign * values, weight, strict=True):
        blocks.append([float(v), float(w), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m2, w2, n2), (m1, w1, n1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return sign * np.repeat([b[0] for b in blocks], [b[2] for b in blocks])


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


def _fitted(h: History, model: _Model, doc: dict) -> list[FittedMetric]:
    import pandas as pd

    beta, gamma, rho = _slopes(h, model)
    spec = model.spec
    col = {name: j for j, name in enumerate(h.names)}
    comp_w = {c: comp["weight"] for c, comp in doc["components"].items()}
    comp_t = {c: sum(s["weight"] for s in comp["metrics"].values()) for c, comp in doc["components"].items()}
    added = {h.names[j]: i for i, j in enumerate(spec.new)}
    out = []
    for comp, body in doc["components"].items():
        for name, s in body["metrics"].items():
            j = col.get(name)
            sd = float(spec.sd[j]) if j is not None else None
            method = s["method"]
            if (comp, name) in h.keys:
                k = h.keys.index((comp, name))
                curve = None
                own = h.expert.components[comp].metrics[name].model_dump(mode="json", exclude_none=True)
                if k in spec.r_cols and method == "bands" and s["bands"] != own.get("bands"):
                    curve = _learned_curve(h, spec, k, beta[k], rho[spec.r_cols.index(k)])
                if curve is not None and j is not None:  # a learned band scale: its log-odds per point × sd
                    raw = pd.Series(h.x[:, j]).dropna()
                    pts = normalize(raw, MetricSpec(**s), pd.Series("(none)", index=raw.index))
                    higher = bool(np.corrcoef(raw, pts)[0, 1] >= 0) if pts.std() > 0 else True
                    per_sd = (-1 if higher else 1) * curve[1] / 100 * float(pts.std(ddof=0))
                elif method == "linear":  # points per unit of the metric: 100 / (target − floor)
                    per_sd = beta[k] * 100 / (s["target"] - s["floor"]) * (sd or 0.0)
                else:
                    seen = h.p[:, k][~np.isnan(h.p[:, k])]
                    per_sd = beta[k] * float(seen.std()) if len(seen) else 0.0
                if curve is None:
                    higher = s["target"] > s["floor"] if method == "linear" else True
                source, expert_weight = "expert", rnd(float(h.w[k]) * 100, 2)
            else:
                per_sd = gamma[added[name]] * 50 / SPREAD
                higher = gamma[added[name]] < 0
                source, expert_weight = "learned", None
            per_sd = per_sd if math.isfinite(per_sd) else 0.0  # a metric without data in this history
            out.append(
                FittedMetric(
                    metric=name,
                    label=CATALOGUE[name].label,
                    component=comp,
                    coefficient=rnd(float(per_sd), 6),
                    direction="higher_is_better" if higher else "lower_is_better",
                    weight=rnd(comp_w[comp] * s["weight"] / comp_t[comp], 2),
                    expert_weight=expert_weight,
                    source=source,
                    learned_scale=curve is not None if (comp, name) in h.keys else True,
                    method=method,
                    median=rnd(float(spec.median[j]), 6) if j is not None else None,
                    mean=rnd(float(spec.mean[j]), 6) if j is not None else None,
                    sd=rnd(sd, 6) if sd is not None else None,
                    floor=s.get("floor"),
                    target=s.get("target"),
                    coverage=rnd(float(spec.coverage[j])) if j is not None else 0.0,
                )
            )
    return sorted(out, key=lambda m: (-m.weight, m.metric))


def _unused_expert_metrics(h: History, doc: dict) -> list[DroppedMetric]:
    placed = {(c, m) for c, comp in doc["components"].items() for m in comp["metrics"]}
    return [
        DroppedMetric(
            metric=m, reason="in the expert profile, but its points did not go with fewer losses here"
        )
        for (c, m), share in zip(h.keys, h.w, strict=True)
        if share > 0 and (c, m) not in placed
    ]


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


def _caveats(r: FitResult, skipped: dict[str, list[str]], expert: Profile) -> list[str]:
    out = [
        f"Each renewal is described by its account's metrics at the month end on or before its date minus "
        f"{r.horizon_days} days; nothing after that day enters.",
        f"The fit starts from the {r.expert_profile} profile and departs from it only where time-ordered checks "
        "inside the training rows (never the held-out ones) show the departure ranks later renewals better.",
    ]
    if r.kept_expert:
        out.append(
            "This history did not support any departure: the learned profile scores exactly like "
            f"{r.expert_profile}; only its tier lines are calibrated to the losses here."
        )
    else:
        out.append(
            "Missing values took the metric's median in the fit; the profile is linear in the model's log-odds "
            "except where a metric is beyond its scale (clamped) or missing (its weight shared by the others)."
        )
        if expert.segments:
            out.append("The expert profile's per-segment weights are not carried into the learned profile.")
        rescaled = [m.metric for m in r.metrics if m.source == "expert" and m.learned_scale]
        if rescaled:
            out.append(
                "Scored on a band scale learned here (the expert's points and the metric's raw values together, "
                "made to run one way): " + ", ".join(rescaled) + "."
            )
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
    if len(r.folds) < 2:
        out.append("Only one held-out fold: the comparison with the expert rests on few renewals.")
    if not r.better_than_expert:
        out.append(f"On held-out time the learned profile was {KEEP_EXPERT} ({r.expert_profile}).")
    return out


def _summary(r: FitResult) -> str:
    top = ", ".join(f"{m.label} ({m.direction.replace('_', ' ')}, {m.weight:g}%)" for m in r.metrics[:3])
    per_fold = ", ".join(f"{_f(f.auc)}/{_f(f.expert_auc)}" for f in r.folds)
    n = len(r.folds)
    text = (
        f"Learned from {r.n_outcomes} renewals ({r.n_lost} lost) over {len(r.as_of_dates)} as-of dates, starting "
        f"from {r.expert_profile}"
        + (" (no departure was supported)" if r.kept_expert else "")
        + f"; the biggest weights: {top}. On held-out later time mean AUC {_f(r.cv_auc_mean)} against "
        f"{_f(r.expert_auc_mean)} for {r.expert_profile} over {n} fold{'s' if n > 1 else ''} "
        f"({sum(f.test_rows for f in r.folds)} rows; per fold learned/expert {per_fold}): "
        + (f"better than {r.expert_profile}." if r.better_than_expert else f"{KEEP_EXPERT}.")
    )
    if r.profile_path:
        text += f" Written to {r.profile_path}."
    return text


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
