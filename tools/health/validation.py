"""Is the health score any good? A point-in-time backtest of a profile against decided renewals.

Each renewal is judged by the score its account had `horizon_days` before the outcome, computed from data up to
that day only (the metrics never read outcome columns). As-of dates are snapped back to the month end on or before
`outcome date − horizon`, so the lead time is never shorter than the horizon and a year of renewals costs about
twelve scoring passes. The same rows also score a logins-only baseline, so the adoption score can be compared.

Outcomes come from an outcomes table or, failing that, from the accounts table's churned flag dated by a churn
date or a renewal date; a flag with no dates is judged at the end of the data, every account scored once at a
cutoff `horizon_days` earlier. The caveats name the source and the rule.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from customer_health.tools.base import bounds, stats
from customer_health.tools.base.dialects import engine_of, relation
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.formats import percent
from customer_health.tools.base.models import Envelope
from customer_health.tools.base.numbers import rnd
from customer_health.tools.base.sql import in_list, window
from customer_health.tools.base.stats import percentile_in_group
from customer_health.tools.data.accounts import account_has, account_source_sql
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.lifecycle import lifecycle
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.health.metrics import account_metrics
from customer_health.tools.health.profiles import (
    COMPONENTS,
    DEFAULT_PROFILE,
    PRESETS,
    Profile,
    load_profile,
    preset,
)
from customer_health.tools.health.score import score_frame, score_values
from pydantic import BaseModel, Field, PrivateAttr

if TYPE_CHECKING:
    import pandas as pd

PositiveClass = Literal["churn", "churn_and_contraction"]
LOST = {"churn": ("churned",), "churn_and_contraction": ("churned", "contracted")}
KNOWN = ("renewed", "churned", "contracted", "expanded")
MIN_EVENT_DAYS = 60
SURPRISE_ABOVE = 60.0
MAX_ROWS = 50
FEW_LOST = 10
TOO_EARLY = f"fewer than {MIN_EVENT_DAYS} days of events by the as-of date (events start {{}})"
Skips = dict[str, list[str]]
NOT_REACHED = "renewal not reached"
NO_RENEWAL_DATE = "not churned and no renewal date"
CHURNED_UNDATED = "churned with no churn date or renewal date"
LEARNED_MARK = "Learned by customer-health fit"  # how a learned profile's description starts
BETTER_BY = 0.02  # AUC a profile must gain over the expert one on the same renewals to be recommended


class Row(NamedTuple):
    account_id: str
    as_of: date
    outcome_date: date
    outcome: str
    health_score: float
    components: list[float | None]
    logins: float | None


class CalibrationRow(BaseModel):
    decile: int = Field(description="1 = the riskiest tenth (lowest scores).")
    n: int
    mean_score: float
    min_score: float
    max_score: float
    observed_rate: float = Field(description="Share of the decile that was lost.")
    predicted_rate: float = Field(description="Mean Platt-calibrated loss probability in the decile.")
    lift: float | None = Field(description="observed_rate ÷ the overall loss rate.")


class ThresholdChoice(BaseModel):
    threshold: int = Field(description="Flag accounts whose health score is below this.")
    flagged: int
    precision: float | None
    recall: float | None
    false_positives: int
    false_negatives: int
    expected_cost: float = Field(description="fp_cost × false positives + fn_cost × false negatives.")
    cost_at_flag_threshold: float = Field(description="The same cost when flagging below the at-risk line.")


class Baseline(BaseModel):
    name: str = "logins_only"
    description: str = "Logins per seat in the 30 days before each as-of date, as a percentile 0–100."
    auc: float | None
    top_decile_lift: float | None


class WeightFit(BaseModel):
    current_weights: dict[str, float]
    coefficients: dict[str, float | None] = Field(
        description="Change in the log-odds of loss per component point (negative = protective)."
    )
    clipped: list[str] = Field(description="Components whose fitted effect pointed the wrong way, set to 0.")
    in_sample_auc: float | None = Field(description="AUC of the suggested weights on these same rows.")


class ProfileComparison(BaseModel):
    name: str
    kind: Literal["expert", "learned", "given", "baseline"]
    auc: float | None = Field(description="On the same renewals as every other row.")
    top_decile_lift: float | None


class Skipped(BaseModel):
    reason: str
    n: int
    examples: list[str] = Field(description="Up to five account ids.")


class OutcomeSource(NamedTuple):
    """The outcome rows (account_id, outcome, date), how they were derived, and the accounts with none yet."""

    frame: pd.DataFrame
    caveats: list[str]
    skipped: Skips
    flags_only: bool = False
    end: date | None = None


class EvaluatedAccount(BaseModel):
    account_id: str
    as_of: date = Field(description="The day the account was scored.")
    outcome_date: date
    outcome: str
    lost: bool = Field(description="True when the outcome is in the positive class.")
    health_score: float
    churn_probability: float = Field(description="Platt-calibrated probability of loss from the score.")
    probability_tier: Literal["high", "medium", "low"] = Field(description="high ≥ 0.5, medium ≥ 0.2.")


class Validation(Envelope):
    as_of: date = Field(description="The latest as-of date at which accounts were scored.")
    profile: str
    positive_class: PositiveClass
    positive_outcomes: list[str]
    horizon_days: int
    cutoff: date | None
    as_of_dates: list[date]
    n_accounts: int = Field(description="Evaluated renewals (an account renewing twice counts twice).")
    n_churned: int = Field(description="Evaluated renewals in the positive class.")
    auc: float | None = Field(description="P(a lost account scored below a kept one); 0.5 = chance.")
    top_decile_lift: float | None
    flag_threshold: float = Field(description="The profile's at-risk line: scores below it are flagged.")
    precision: float | None
    recall: float | None
    surprise_churn_rate: float | None = Field(description="Share of lost accounts that scored above 60.")
    false_alarm_rate: float | None = Field(description="Share of flagged accounts that were kept.")
    correlation: float | None = Field(description="Pearson correlation of score with the outcome (kept = 1).")
    calibration: list[CalibrationRow]
    calibration_error: float = Field(description="Mean |predicted − observed| over deciles, by rows.")
    recommended_threshold: int
    threshold_choice: ThresholdChoice
    fp_cost: float
    fn_cost: float
    suggested_weights: dict[str, float] = Field(description="Component weights summing to 100.")
    weight_fit: WeightFit
    platt: dict[str, float] = Field(description="P(lost) = 1 / (1 + exp(−(a + b × score))).")
    baseline: Baseline | None
    comparison: list[ProfileComparison] = Field(
        default_factory=list,
        description="The expert profile, the profile given (learned or not) and the logins-only baseline, side by side.",
    )
    recommended_profile: str | None = Field(
        None, description="A profile that beat the expert one here by at least 0.02 AUC; none otherwise."
    )
    skipped: list[Skipped]
    accounts: list[EvaluatedAccount] = Field(description="Riskiest first.")
    total_rows: int
    truncated: bool
    _evaluated: list[tuple[str, date, bool]] = PrivateAttr(default_factory=list)

    def evaluated_rows(self) -> list[tuple[str, date, bool]]:
        """Every evaluated renewal as (account id, as-of date, lost), not only the listed ones."""
        return list(self._evaluated)


def outcomes_frame(ds: Dataset, source: str) -> pd.DataFrame:
    """The renewal outcomes of a separately loaded file (`source`, for the message), as (account_id, outcome, date)."""
    if not ds.has("outcomes"):
        found = ", ".join(sorted(ds.views)) or "nothing"
        raise InputError(
            f"{source} was recognised as {found}, not as renewal outcomes.",
            fix="Give it the columns account_id, outcome (renewed/churned/contracted/expanded) and date.",
        )
    return ds.con.execute(f"SELECT account_id, outcome, date FROM {ds.view('outcomes')}").df()


def validate_health_model(
    ds: Dataset,
    *,
    cutoff: date | str | None = None,
    horizon_days: int = 90,
    profile: Profile | str | None = None,
    fp_cost: float = 1.0,
    fn_cost: float = 5.0,
    positive_class: PositiveClass = "churn_and_contraction",
    outcomes_path_frame: pd.DataFrame | None = None,
) -> Validation:
    """Backtest a health profile against renewal outcomes: discrimination, lift, calibration, threshold, weights.

    With `cutoff`, everyone is scored once as of the cutoff against each account's first outcome after it
    (`horizon_days` is then unused). `outcomes_path_frame` (account_id, outcome, date) replaces the data's outcomes.
    """
    bounds.check("horizon_days", horizon_days, bounds.HORIZON_DAYS)
    for name, cost in (("fp_cost", fp_cost), ("fn_cost", fn_cost)):
        if not (isinstance(cost, int | float) and math.isfinite(cost) and cost > 0):
            raise InputError(
                f"{name} must be a positive, finite number (got {cost!r}).",
                column=name,
                fix="Give the relative cost of each mistake, e.g. fp_cost 1 and fn_cost 5.",
            )
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    source = _outcomes(ds, outcomes_path_frame)
    caveats = list(source.caveats)
    day = resolve_as_of(ds, cutoff) if cutoff is not None else None
    if source.flags_only:
        day = day or source.end - timedelta(days=horizon_days)
        caveats.append(
            f"Churn flags have no dates: every account was scored as of {day} and compared with its flag at "
            f"the end of the data ({source.end})."
        )
    plan, skipped = _plan(ds, source.frame, day, horizon_days, source.skipped)
    rows = _score_plan(ds, plan, prof, skipped, caveats)
    lost = np.array([r.outcome in LOST[positive_class] for r in rows], dtype=bool)
    if lost.all() or not lost.any():
        reasons = "; ".join(f"{k}: {len(v)}" for k, v in sorted(skipped.items()))
        raise InputError(
            f"the backtest needs both kept and lost renewals; it has {int(lost.sum())} lost and "
            f"{int((~lost).sum())} kept after skipping {sum(map(len, skipped.values()))}"
            + (f" ({reasons})." if reasons else "."),
            fix="Load more outcome history, use an earlier cutoff or a shorter horizon_days.",
        )
    skips = [Skipped(reason=k, n=len(v), examples=sorted(set(v))[:5]) for k, v in sorted(skipped.items())]
    context = dict(positive_class=positive_class, positive_outcomes=list(LOST[positive_class]), skipped=skips)
    context.update(horizon_days=horizon_days, cutoff=day)
    result = _result(rows, lost, prof, fp_cost, fn_cost, context)
    result._evaluated = [(r.account_id, r.as_of, bool(x)) for r, x in zip(rows, lost, strict=True)]
    caveats += _compare(ds, rows, lost, prof, result)
    result.caveats = caveats + _caveats(result, sum(map(len, skipped.values())))
    result.summary = _summary(result, lost.mean())
    return result


def outcome_plan(
    ds: Dataset, horizon_days: int, outcomes_path_frame: pd.DataFrame | None = None
) -> tuple[list[tuple[str, str, date, date]], Skips, list[str]]:
    """The backtest's plan for other callers (`fit`): (account, outcome, outcome date, as-of date) per usable
    outcome — each as-of the month end on or before the outcome date minus `horizon_days` — the skipped outcomes
    by reason, and the caveats that say where the outcomes came from. A flag with no dates gives no plan."""
    source = _outcomes(ds, outcomes_path_frame)
    if source.flags_only:
        raise InputError(
            "the churn flags have no dates, so there is no history of outcomes over time to learn from.",
            column="churned",
            fix="Load an outcomes table (account_id, outcome, date) or a churn_date column.",
        )
    plan, skipped = _plan(ds, source.frame, None, horizon_days, source.skipped)
    return plan, skipped, list(source.caveats)


def dated_outcomes(ds: Dataset, day: date) -> tuple[bool, pd.DataFrame | None]:
    """Whether a backtest as of `day` can use the outcomes without reading the future, and the frame to pass as
    `outcomes_path_frame`: the outcomes decided on or before `day`, or None to use the data's own when they are
    undated flags read at the end of the data (usable only when `day` is that end or later)."""
    import pandas as pd

    source = _outcomes(ds, None)
    if source.flags_only:
        return source.end is not None and day >= source.end, None
    return True, source.frame[source.frame["date"] <= pd.Timestamp(day)].reset_index(drop=True)


def _outcomes(ds: Dataset, given: pd.DataFrame | None) -> OutcomeSource:
    """The outcome rows: the frame given, the outcomes table, or the accounts table's churn columns."""
    cols = ["account_id", "outcome", "date"]
    if given is not None:
        if missing := [c for c in cols if c not in given.columns]:
            raise InputError(f"the outcomes frame lacks {missing}.", options=cols)
        source = OutcomeSource(
            given[cols].copy(), ["Outcomes: the outcomes file given, one row per decided renewal."], {}
        )
    elif ds.has("outcomes"):
        source = OutcomeSource(
            ds.frame("outcomes", cols), ["Outcomes: the outcomes table, one row per decided renewal."], {}
        )
    elif ds.has("accounts") and {"churned", "churn_date"} & set(ds.columns("accounts")):
        source = _account_outcomes(ds)
    else:
        raise InputError(
            "there are no renewal outcomes to validate the score against.",
            fix="Load an outcomes table (account_id, outcome, date), or accounts with a churned flag and a "
            "churn_date or renewal_date.",
        )
    frame = source.frame
    frame["account_id"] = frame["account_id"].astype(str)
    frame["outcome"] = frame["outcome"].fillna("").astype(str).str.strip().str.lower()
    frame["date"] = _dates(frame["date"])
    return source._replace(frame=frame.reset_index(drop=True))


def _dates(values: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_datetime(values, errors="coerce").dt.normalize()


def _account_outcomes(ds: Dataset) -> OutcomeSource:
    """Outcomes from the accounts table, by the first rule its columns allow.

    With churn dates: a churned account churned on its churn date (else its renewal date), and every other
    account renewed at the end of the data. With renewal dates but no churn dates (a CRM's `Churned` flag beside
    `Renewal Date` or `Contract End`): a churned account churned on its renewal date, a kept one renewed on a
    renewal date on or before the end of the data, and a later renewal date is no outcome yet. With a flag
    alone, the flag is the outcome at the end of the data, and every account is scored once at a cutoff
    `horizon_days` before it.
    """
    import pandas as pd

    acc = ds.frame("accounts", ["account_id", "churned", "churn_date", "renewal_date"])
    ids = acc["account_id"].astype(str)
    nat = pd.Series(pd.NaT, index=acc.index)
    churn_date = _dates(acc["churn_date"]) if "churn_date" in acc else nat
    renewal = _dates(acc["renewal_date"]) if "renewal_date" in acc else nat
    flag = acc["churned"] if "churned" in acc else pd.Series(False, index=acc.index)
    churned = flag.astype("boolean").fillna(False).astype(bool) | churn_date.notna()
    end = ds.default_as_of()
    latest = pd.Timestamp(end)
    outcome = pd.Series(np.where(churned, "churned", "renewed"), index=acc.index)
    when = churn_date.where(churn_date.notna(), renewal)  # a churn's date: its churn date, else its renewal
    if churn_date.notna().any():
        frame = pd.DataFrame({"account_id": ids, "outcome": outcome, "date": when.where(churned, latest)})
        rule = (
            "No outcomes table: churned accounts count as churned on their churn date"
            + (" (else their renewal date)" if renewal.notna().any() else "")
            + f", and every other account as renewed on the latest data date ({end})."
        )
        skips = {CHURNED_UNDATED: ids[churned & when.isna()].tolist()}
        return OutcomeSource(frame[~churned | when.notna()], [rule], skips, end=end)
    if renewal.notna().any():
        undecided = {
            CHURNED_UNDATED: churned & when.isna(),
            NO_RENEWAL_DATE: ~churned & renewal.isna(),
            NOT_REACHED: ~churned & (renewal > latest),
        }
        keep = when.notna() & (churned | (renewal <= latest))
        frame = pd.DataFrame({"account_id": ids, "outcome": outcome, "date": when})[keep]
        rule = (
            "Outcomes from the accounts table's churn flag and renewal dates: churned accounts count as churned "
            f"on their renewal date; every other account as renewed on a renewal date on or before the end of "
            f"the data ({end}), and not yet decided when its renewal date is later."
        )
        return OutcomeSource(frame, [rule], {k: ids[m].tolist() for k, m in undecided.items()}, end=end)
    frame = pd.DataFrame({"account_id": ids, "outcome": outcome, "date": latest})
    rule = "Outcomes from the accounts table's churn flag alone: no churn or renewal dates."
    return OutcomeSource(frame, [rule], {}, flags_only=True, end=end)


def _plan(
    ds: Dataset, outcomes: pd.DataFrame, cutoff: date | None, horizon: int, undecided: Skips
) -> tuple[list, Skips]:
    """(account, outcome, outcome date, as-of) for each usable outcome, and the skipped ones by reason."""
    skipped: Skips = defaultdict(list, {k: list(v) for k, v in undecided.items() if v})
    first, last = ds.events_span()
    plan, seen = [], set()
    for acct, outcome, stamp in outcomes.sort_values(["date", "account_id"]).itertuples(index=False):
        when = None if stamp is None or stamp != stamp else stamp.date()
        if outcome not in KNOWN or when is None:
            skipped[f"no date, or an outcome other than {', '.join(KNOWN)}"].append(acct)
            continue
        if cutoff is not None and (when <= cutoff or acct in seen):
            why = "decided on or before the cutoff" if when <= cutoff else "a later renewal after the cutoff"
            skipped[why].append(acct)
            continue
        seen.add(acct)
        as_of = cutoff if cutoff is not None else _month_end_on_or_before(when - timedelta(days=horizon))
        if first is not None and (as_of - first).days + 1 < MIN_EVENT_DAYS:
            skipped[TOO_EARLY.format(first)].append(acct)
        elif last is not None and as_of > last:
            skipped[f"as-of date after the last event ({last})"].append(acct)
        else:
            plan.append((acct, outcome, when, as_of))
    return plan, skipped


def _month_end_on_or_before(day: date) -> date:
    following = day + timedelta(days=1)
    return day if following.month != day.month else date(day.year, day.month, 1) - timedelta(days=1)


def _score_plan(
    ds: Dataset, plan: list[tuple], prof: Profile, skipped: Skips, caveats: list[str]
) -> list[Row]:
    """Score the planned rows with one scoring pass per distinct as-of date."""
    by_day: dict[date, list[tuple]] = defaultdict(list)
    for item in plan:
        by_day[item[3]].append(item)
    rows, notes = [], set()
    for day in sorted(by_day):
        sem = resolve_semantics(ds, f"TIMESTAMP '{window(day, 1).end}'") if ds.has("events") else None
        metrics = account_metrics(ds, day, sem, everyone=True)
        stages = lifecycle(ds, day)["stage"]
        seats = _seats(ds, day)
        scored = {s.account_id: s for s in score_frame(metrics, prof, drivers=False)} if len(metrics) else {}
        logins = _login_score(ds, day, metrics, seats, sem.passive_events if sem else [])
        notes.update(sem.caveats() if sem else [])
        tenure = metrics.get("tenure_days")
        for acct, outcome, when, as_of in by_day[day]:
            if acct not in scored:
                skipped["account not found in the data"].append(acct)
            elif stages.get(acct) == "not_yet_customer" or (tenure is not None and tenure.get(acct, 0) < 0):
                skipped["not yet a customer on the as-of date"].append(acct)
            else:
                s, login = scored[acct], None if logins is None else float(logins.get(acct, 50.0))
                comps = [s.components.get(c) for c in COMPONENTS]
                rows.append(Row(acct, as_of, when, outcome, s.health_score, comps, login))
    caveats.extend(sorted(notes))
    if not ds.has("events"):
        caveats.append(
            "No events: accounts are scored from the snapshot columns, which is point-in-time only if the "
            "snapshot was taken before the outcomes."
        )
    return rows


def _seats(ds: Dataset, day: date) -> pd.Series | None:
    if not account_has(ds, "seats_purchased"):
        return None
    frame = ds.con.execute(account_source_sql(ds, ("seats_purchased",), day, everyone=True)).df()
    seats = frame.set_index(frame["account_id"].astype(str))["seats_purchased"].astype(float)
    return seats.where(seats > 0)


def _login_score(
    ds: Dataset, day: date, metrics: pd.DataFrame, seats: pd.Series | None, passive: list[str]
) -> pd.Series | None:
    """Logins per seat in the 30 days to `day` as a percentile 0–100 among all accounts; None without logins."""
    import pandas as pd

    if ds.has("events") and passive:
        counts = engine_of(ds).fetch(
            f"SELECT account_id, COUNT(*) AS n FROM {relation(ds, 'events')} WHERE event IN {in_list(passive)} "
            f"AND {window(day, 30).sql()} AND account_id IS NOT NULL GROUP BY account_id"
        )
        logins = pd.Series({r["account_id"]: int(r["n"]) for r in counts}, dtype=float)
        logins = logins.reindex(metrics.index).fillna(0.0)
    elif "logins_30d" in metrics and metrics["logins_30d"].notna().any():
        logins = metrics["logins_30d"].astype(float)
    else:
        return None
    if seats is not None:
        logins = logins / seats.reindex(metrics.index)
    pct = percentile_in_group(logins, pd.Series(0, index=metrics.index)) * 100
    return pct.fillna(50.0)  # no seat count, or no peers: the middle of the range


def _result(
    rows: list[Row], lost: np.ndarray, prof: Profile, fp_cost: float, fn_cost: float, context: dict
) -> Validation:
    """Every metric of the backtest on the scored rows; `context` says how the rows were chosen."""
    scores = np.array([r.health_score for r in rows], dtype=float)
    keys = np.array([f"{r.account_id}|{r.as_of}" for r in rows])
    line = prof.tiers.neutral
    at_line, best = stats.confusion(scores, lost, line), stats.best_threshold(scores, lost, fp_cost, fn_cost)
    a, b = stats.platt(scores, lost)
    prob = stats.sigmoid(a + b * scores)
    calibration = [
        CalibrationRow(**g.report(), predicted_rate=rnd(prob[g.rows].mean()))
        for g in stats.deciles(scores, lost, keys)
    ]
    logins = [r.logins for r in rows]
    order = stats.riskiest_first(scores, keys)
    days = sorted({r.as_of for r in rows})
    return Validation(
        as_of=days[-1],
        profile=prof.name,
        as_of_dates=days,
        n_accounts=len(rows),
        n_churned=int(lost.sum()),
        auc=rnd(stats.auc(scores, lost)),
        top_decile_lift=rnd(stats.top_decile_lift(scores, lost, keys), 2),
        flag_threshold=line,
        precision=rnd(at_line.precision),
        recall=rnd(at_line.recall),
        surprise_churn_rate=rnd((scores[lost] > SURPRISE_ABOVE).mean()),
        false_alarm_rate=rnd(at_line.fp / at_line.flagged) if at_line.flagged else None,
        correlation=rnd(stats.pearson(scores, ~lost)),
        calibration=calibration,
        calibration_error=rnd(
            sum(abs(c.predicted_rate - c.observed_rate) * c.n for c in calibration) / len(rows)
        ),
        recommended_threshold=int(best.threshold),
        threshold_choice=ThresholdChoice(
            **best.report(fp_cost, fn_cost), cost_at_flag_threshold=round(at_line.cost(fp_cost, fn_cost), 2)
        ),
        fp_cost=fp_cost,
        fn_cost=fn_cost,
        **_weights(np.array([r.components for r in rows], dtype=float), lost, prof),
        platt={"a": rnd(a, 6), "b": rnd(b, 6)},
        baseline=None if None in logins else _baseline(np.array(logins), lost, keys),
        accounts=[_account(rows[i], lost[i], prob[i]) for i in order[:MAX_ROWS]],
        total_rows=len(rows),
        truncated=len(rows) > MAX_ROWS,
        **context,
    )


def _account(row: Row, lost: bool, prob: float) -> EvaluatedAccount:
    tier = "high" if prob >= 0.5 else ("medium" if prob >= 0.2 else "low")
    fields = ("account_id", "as_of", "outcome_date", "outcome", "health_score")
    return EvaluatedAccount(
        **{k: getattr(row, k) for k in fields},
        lost=bool(lost),
        churn_probability=rnd(prob),
        probability_tier=tier,
    )


def _baseline(logins: np.ndarray, lost: np.ndarray, keys: np.ndarray) -> Baseline:
    return Baseline(
        auc=rnd(stats.auc(logins, lost)), top_decile_lift=rnd(stats.top_decile_lift(logins, lost, keys), 2)
    )


def _weights(x: np.ndarray, lost: np.ndarray, prof: Profile) -> dict:
    """Suggested weights: the protective effect of each component point, clipped at 0 and scaled to 100."""
    current = {c: float(prof.components[c].weight) for c in COMPONENTS if c in prof.components}
    coef = stats.loss_coefficients(x, lost)
    protective = np.where(np.isfinite(coef), np.clip(-coef, 0, None), 0.0)
    if protective.sum() > 0:
        weights = stats.shares_of_hundred(protective)
    else:
        weights = np.array([current.get(c, 0.0) for c in COMPONENTS])
    fit = WeightFit(
        current_weights=current,
        coefficients={c: rnd(v, 6) for c, v in zip(COMPONENTS, coef, strict=True)},
        clipped=[c for c, v in zip(COMPONENTS, coef, strict=True) if v > 0],
        in_sample_auc=rnd(stats.auc(stats.fill_missing(x) @ weights, lost)),
    )
    return {"suggested_weights": dict(zip(COMPONENTS, map(float, weights), strict=True)), "weight_fit": fit}


def _compare(ds: Dataset, rows: list[Row], lost: np.ndarray, prof: Profile, v: Validation) -> list[str]:
    """Fill `comparison` (expert, the profile given, logins only: same rows) and `recommended_profile`; the caveats."""
    keys = np.array([f"{r.account_id}|{r.as_of}" for r in rows])
    kind = (
        "learned"
        if prof.description.startswith(LEARNED_MARK)
        else "expert"
        if prof.name in PRESETS
        else "given"
    )
    given = ProfileComparison(name=prof.name, kind=kind, auc=v.auc, top_decile_lift=v.top_decile_lift)
    if kind == "expert":
        table = [given]
    else:
        expert = preset(DEFAULT_PROFILE)
        scores = np.full(len(rows), np.nan)
        for day in sorted({r.as_of for r in rows}):  # the metrics of each day are kept: no new data pass
            sem = resolve_semantics(ds, f"TIMESTAMP '{window(day, 1).end}'") if ds.has("events") else None
            metrics = account_metrics(ds, day, sem, everyone=True)
            at = [i for i, r in enumerate(rows) if r.as_of == day]
            by_id = score_values(metrics, expert)
            scores[at] = [by_id[rows[i].account_id] for i in at]
        table = [
            ProfileComparison(
                name=expert.name,
                kind="expert",
                auc=rnd(stats.auc(scores, lost)),
                top_decile_lift=rnd(stats.top_decile_lift(scores, lost, keys), 2),
            ),
            given,
        ]
    if v.baseline is not None:
        table.append(
            ProfileComparison(
                name="logins_only",
                kind="baseline",
                auc=v.baseline.auc,
                top_decile_lift=v.baseline.top_decile_lift,
            )
        )
    v.comparison = table
    expert_auc, notes = table[0].auc or 0.0, []
    if kind != "expert" and (given.auc or 0.0) >= expert_auc + BETTER_BY:
        v.recommended_profile = prof.name
        notes.append(
            f"On these renewals {prof.name} ranks losses better than {table[0].name} "
            f"(AUC {_f(given.auc)} vs {_f(expert_auc)})."
        )
    elif kind != "expert":
        notes.append(
            f"{prof.name} did not beat {table[0].name} by {BETTER_BY} AUC on these renewals, so no profile is "
            "recommended over the expert one."
        )
    if kind == "learned":
        notes.append(
            "A learned profile scored on the renewals it was fitted on looks better than it is; trust the held-out "
            "AUC that fit reports, or renewals decided after the fit."
        )
    return notes


def _caveats(v: Validation, n_skipped: int) -> list[str]:
    out = []
    if v.cutoff is None:
        out.append(
            f"Each renewal is scored at the month end on or before its date minus {v.horizon_days} days, so the "
            f"lead time is at least {v.horizon_days} days (scoring passes: {len(v.as_of_dates)})."
        )
    if v.n_churned < FEW_LOST:
        out.append(f"Only {v.n_churned} lost renewals: treat every figure here as low confidence.")
    if n_skipped:
        out.append(f"{n_skipped} outcome(s) were skipped; see skipped for why.")
    if v.weight_fit.clipped:
        clipped = ", ".join(v.weight_fit.clipped)
        out.append(f"Higher {clipped} went with more losses here, so the suggested weight is clipped to 0.")
    out.append(
        "The suggested weights are fitted and scored on the same renewals, so their AUC is optimistic."
    )
    if v.baseline is None:
        out.append("No login events or logins_30d column, so there is no logins-only baseline.")
    return out


def _summary(v: Validation, base_rate: float) -> str:
    when = (
        f"as of the cutoff {v.cutoff}" if v.cutoff else f"at least {v.horizon_days} days before its outcome"
    )
    text = (
        f"The {v.profile} profile was backtested on {v.n_accounts} renewals ({v.n_churned} lost: "
        f"{' or '.join(v.positive_outcomes)}), each account scored {when}. AUC {_f(v.auc)}"
    )
    if v.baseline is not None:
        text += f" against {_f(v.baseline.auc)} for logins alone"
    text += (
        f"; the riskiest tenth was lost at {_f(v.top_decile_lift, 1)}× the {percent(base_rate)} base rate. "
    )
    if v.precision is None:
        text += f"No account scored below {v.flag_threshold:g}, so that line flagged none of the losses; "
    else:
        text += f"Flagging below {v.flag_threshold:g} caught {_p(v.recall)} of losses at {_p(v.precision)} precision; "
    text += f"{_p(v.surprise_churn_rate)} of losses scored above {SURPRISE_ABOVE:g}. "
    c = v.threshold_choice
    return text + (
        f"At a {v.fp_cost:g}:{v.fn_cost:g} false-alarm to missed-loss cost, the cheapest line is {c.threshold} "
        f"(recall {_p(c.recall)}, precision {_p(c.precision)})."
    )


def _f(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    return "n/a" if value is None else percent(value)
