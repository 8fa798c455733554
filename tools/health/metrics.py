"""The per-account metrics a health score is built from, all computed as of one date from the data itself.

Outcome columns (churned, churn_date, the outcomes table) are never read here: this is what makes a backtest
leakage-free. A metric the data cannot support is simply absent (NaN) and drops out of the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from customer_health.tools.data.accounts import account_source_sql
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.lifecycle import ONBOARDING_DAYS
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from customer_health.tools.health.event_metrics import event_metrics

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class MetricInfo:
    """How to read a metric: a label, its unit for the driver sentences, and which way is good."""

    label: str
    unit: str  # "share" (0–1 shown as %), "change" (±%), "count", "days", "score", "months"
    higher_is_better: bool = True


CATALOGUE: dict[str, MetricInfo] = {
    "adopted_utilization": MetricInfo("seats using a core feature", "share"),
    "present_utilization": MetricInfo("seats active at all", "share"),
    "breadth": MetricInfo("core features in use", "share"),
    "core_depth": MetricInfo("active users per core feature", "share"),
    "core_actions_per_seat": MetricInfo("core actions per seat (30 days)", "count"),
    "top1_share": MetricInfo("core work done by the busiest user", "share", higher_is_better=False),
    "days_since_last_activity": MetricInfo("days since anyone was active", "days", higher_is_better=False),
    "logins_30d": MetricInfo("logins in 30 days", "count"),
    "features_used": MetricInfo("features used", "count"),
    "days_since_last_login": MetricInfo("days since the last login", "days", higher_is_better=False),
    "nps": MetricInfo("NPS (0–10)", "score"),
    "champion_active": MetricInfo("champion active in the last 30 days", "flag"),
    "sponsor_active": MetricInfo("executive sponsor active in the last 30 days", "flag"),
    "persona_coverage": MetricInfo("personas meeting their weekly-active target", "share"),
    "core_trend": MetricInfo("core actions, last 30 days vs the 30 before", "change"),
    "present_trend": MetricInfo("active users, last 30 days vs the 30 before", "change"),
    "mrr_change_90d": MetricInfo("MRR change over 90 days", "change"),
    "open_tickets": MetricInfo("open support tickets", "count", higher_is_better=False),
    "escalations_90d": MetricInfo("escalated tickets in 90 days", "count", higher_is_better=False),
    "csat_90d": MetricInfo("support satisfaction (share of the top score)", "share"),
    "mrr_change_180d": MetricInfo("MRR change over 180 days", "change"),
    "tenure_months": MetricInfo("months as a customer", "months"),
    "activated": MetricInfo("reached the activation milestone", "flag"),
    "activation_pace": MetricInfo("activation on pace with retained accounts of the same age", "share"),
    "first_value_pace": MetricInfo(
        "first core action on pace with retained accounts of the same age", "share"
    ),
}
WINDOW_DAYS = 30  # the event metrics' blocks: the last 30 days, and the 30 before for trends
INFO_ONLY = ("tenure_days", "segment", "name", "arr", "csm_owner", "renewal_date", "use_case")


def account_metrics(
    ds: Dataset, as_of: date, semantics: ResolvedSemantics | None = None, everyone: bool = False
) -> pd.DataFrame:
    """One row per account (index account_id) with every metric the data supports, as of the end of `as_of`: the
    accounts that had become customers by that day, churned or not (so who has churned, an outcome, never moves
    another account's percentiles), or with `everyone` every account the data names (see tools/data/lifecycle).

    Computed once per dataset, date, semantics and population (scores, signals and the account card all read it);
    the caller gets its own copy.
    """
    key = ("account_metrics", as_of, semantics.model_dump_json() if semantics is not None else None, everyone)
    return ds.memo(key, lambda: _account_metrics(ds, as_of, semantics, everyone)).copy()


def _account_metrics(
    ds: Dataset, as_of: date, semantics: ResolvedSemantics | None, everyone: bool
) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    source = account_source_sql(
        ds,
        (
            "name",
            "segment",
            "use_case",
            "csm_owner",
            "arr",
            "mrr",
            "renewal_date",
            "contract_start",
            "signup_date",
            "logins_30d",
            "features_used",
            "open_tickets",
            "nps_score",
            "days_since_last_login",
        ),
        as_of,
        everyone,
        existing=True,
    )
    frame = ds.con.execute(source).df().set_index("account_id")
    frame.index = frame.index.astype(str)
    out = pd.DataFrame(index=frame.index)
    for col in ("name", "segment", "use_case", "csm_owner", "renewal_date"):
        out[col] = frame[col]
    out["arr"] = pd.to_numeric(frame["arr"], errors="coerce").fillna(
        pd.to_numeric(frame["mrr"], errors="coerce") * 12
    )
    for col in ("logins_30d", "features_used", "days_since_last_login"):
        out[col] = pd.to_numeric(frame[col], errors="coerce")
    out["open_tickets"] = pd.to_numeric(frame["open_tickets"], errors="coerce")
    out["nps"] = pd.to_numeric(frame["nps_score"], errors="coerce")
    start = pd.to_datetime(frame["contract_start"]).fillna(pd.to_datetime(frame["signup_date"]))
    end = datetime.combine(as_of + timedelta(days=1), time.min)
    milestones = None
    if ds.events_tied():
        sem = semantics or resolve_semantics(ds)
        first, milestones = _event_metrics(ds, as_of, sem, out)
        # one unit on both sides: pandas will refuse to fill datetime64[s] with datetime64[us] values
        start = start.astype("datetime64[us]").fillna(first.astype("datetime64[us]"))
    out["tenure_days"] = (pd.Timestamp(as_of) - start.dt.normalize()).dt.days
    out["tenure_months"] = out["tenure_days"] / 30.44
    per_window_of_life(out)
    if milestones is not None:
        since = ds.events_first_day()
        for name, column in (("activation_pace", "activated_at"), ("first_value_pace", "first_core_at")):
            out[name] = on_pace(milestones[column], start, out["tenure_days"], since)
    if ds.has("tickets"):
        _ticket_metrics(ds, end, out)
    if ds.has("nps"):
        nps = dict(
            ds.con.execute(
                f"""SELECT account_id, avg(score) FROM {ds.view("nps")} WHERE responded_at < TIMESTAMP '{end}'
                AND responded_at >= TIMESTAMP '{end}' - INTERVAL 180 DAY GROUP BY 1"""
            ).fetchall()
        )
        out["nps"] = pd.Series(nps, dtype=float).reindex(out.index).combine_first(out["nps"])
    if ds.has("revenue"):
        _revenue_metrics(ds, as_of, out)
    return out.replace([np.inf, -np.inf], np.nan)


def per_window_of_life(out: pd.DataFrame) -> None:
    """Counts over the last 30 days become rates per 30 days of the account's life, so an account ten days old is
    not read as a third as active; the core-action trend (the last 30 days against the 30 before) compares rates
    per day when the account lived only part of the earlier window: (now ÷ 30) ÷ (before ÷ days lived) − 1."""
    import pandas as pd

    alive = pd.to_numeric(out["tenure_days"], errors="coerce") + 1
    young = (alive >= 1) & (alive < WINDOW_DAYS)
    # read the rows from the column, not with out.loc[rows, name]: that copies the rows of every column first
    for name in ("core_actions_per_seat", "logins_30d"):
        if name in out and young.any():
            out.loc[young, name] = out[name][young] * WINDOW_DAYS / alive[young]
    if "core_trend" in out:
        part = (alive > WINDOW_DAYS) & (alive < 2 * WINDOW_DAYS)
        if part.any():
            lived = alive[part] - WINDOW_DAYS
            out.loc[part, "core_trend"] = (out["core_trend"][part] + 1) * lived / WINDOW_DAYS - 1


def on_pace(
    reached: pd.Series, start: pd.Series, tenure_days: pd.Series, observed_from: date | None = None
) -> pd.Series:
    """For each new account (tenure below ONBOARDING_DAYS): 1 if it reached the milestone (`reached`, a time per
    account, NaT: not yet), else the share of the accounts that came through onboarding that had not reached it
    either at the same age — so a new account still short of a milestone most accounts reach within days scores near
    0, and one short of a milestone accounts take months to reach scores near 1. NaN for established accounts, for
    accounts of unknown age, and when no established account is there to compare with.

    The accounts that came through onboarding: every account at least ONBOARDING_DAYS old, whether it churned since
    or not (who churned is an outcome, which never moves a score), whose start is on or after `observed_from` (the
    day the events begin): an account that started before the export did seems to reach every milestone late, as its
    first days are not in the data. Their age at the milestone is counted from the same start as the tenure; one
    that never reached it counts as not reaching it at any age."""
    import numpy as np
    import pandas as pd

    start = pd.to_datetime(start).dt.normalize()
    age_at = (pd.to_datetime(reached).dt.normalize() - start).dt.days.astype(float)
    tenure = pd.to_numeric(tenure_days, errors="coerce").astype(float)
    seen = (
        (start >= pd.Timestamp(observed_from))
        if observed_from is not None
        else pd.Series(True, index=start.index)
    )
    reference = age_at[((tenure >= ONBOARDING_DAYS) & seen.fillna(False)).to_numpy()]
    out = pd.Series(np.nan, index=tenure.index, dtype=float)
    new = (tenure >= 0) & (tenure < ONBOARDING_DAYS)
    if reference.empty or not new.any():
        return out
    never = np.inf
    ages = np.sort(reference.fillna(never).to_numpy())
    done = new & age_at.notna() & (age_at <= tenure)
    waiting = new & ~done
    # share of the reference whose age at the milestone is above this account's age (not reached by then)
    later = len(ages) - np.searchsorted(ages, tenure[waiting].to_numpy(), side="right")
    out[done] = 1.0
    out[waiting] = np.round(later / len(ages), 4)
    return out


def _event_metrics(
    ds: Dataset, as_of: date, sem: ResolvedSemantics, out: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    """The usage metrics, from one scan (`event_metrics`); returns each account's first event time, and when it
    reached the activation milestone and made its first core action (NaT: not by as_of)."""
    import pandas as pd

    ev = event_metrics(ds, as_of, sem).reindex(out.index)  # reindex: a new frame, the kept one stays as is
    for name in (
        "adopted_utilization",
        "present_utilization",
        "breadth",
        "core_depth",
        "top1_share",
        "core_trend",
        "present_trend",
    ):
        out[name] = ev[name]
    seats = ev["seats_purchased"]
    out["core_actions_per_seat"] = ev["core_actions_30d"].astype(float) / seats.where(seats > 0)
    last = pd.to_datetime(ev["last_activity"]).astype("datetime64[us]")
    out["days_since_last_activity"] = (pd.Timestamp(as_of) - last.dt.normalize()).dt.days
    for name in ("champion_active", "sponsor_active"):
        if name in ev:
            out[name] = ev[name].astype(float)
    if sem.activation:
        out["activated"] = ev["activated"]
    milestones = pd.DataFrame(
        {
            "activated_at": pd.to_datetime(ev["activated_at"]) if sem.activation else pd.NaT,
            "first_core_at": pd.to_datetime(ev["first_core_at"]),
        },
        index=ev.index,
    )
    return pd.to_datetime(ev["first_activity"]), milestones


def _ticket_metrics(ds: Dataset, end: datetime, out: pd.DataFrame) -> None:
    import pandas as pd

    cols = set(ds.columns("tickets"))
    t = ds.view("tickets")
    still_open = (
        f"(resolved_at IS NULL OR resolved_at >= TIMESTAMP '{end}')"
        if "resolved_at" in cols
        else "lower(coalesce(status, 'open')) NOT IN ('solved', 'closed', 'resolved')"
        if "status" in cols
        else "true"
    )
    escalated = (
        "escalated"
        if "escalated" in cols
        else ("lower(priority) IN ('urgent', 'critical')" if "priority" in cols else "false")
    )
    csat = f"csat / {_csat_scale(ds)}" if "csat" in cols else "NULL"
    rows = ds.con.execute(
        f"""SELECT account_id, count(*) FILTER (WHERE {still_open}),
                   count(*) FILTER (WHERE {escalated} AND created_at >= TIMESTAMP '{end}' - INTERVAL 90 DAY),
                   avg({csat}) FILTER (WHERE created_at >= TIMESTAMP '{end}' - INTERVAL 90 DAY)
            FROM {t} WHERE created_at < TIMESTAMP '{end}' GROUP BY 1"""
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["account_id", "open", "esc", "csat"]).set_index("account_id")
    frame = frame.reindex(out.index)
    out["open_tickets"] = frame["open"].astype(float).fillna(0).combine_first(out["open_tickets"])
    out["escalations_90d"] = frame["esc"].astype(float).fillna(0)
    if "csat" in cols:
        out["csat_90d"] = frame["csat"].astype(float)


def _csat_scale(ds: Dataset) -> float:
    """CSAT as a share of the top score: a 1–5 scale when no rating in the table exceeds 5, else 0–100."""
    top = ds.memo(
        ("csat_max",), lambda: ds.con.execute(f"SELECT max(csat) FROM {ds.view('tickets')}").fetchone()[0]
    )
    return 5.0 if top is not None and top <= 5 else 100.0


def _revenue_metrics(ds: Dataset, as_of: date, out: pd.DataFrame) -> None:
    import pandas as pd

    month = date(as_of.year, as_of.month, 1)
    rows = ds.con.execute(
        f"""SELECT account_id,
                   sum(mrr) FILTER (WHERE month = DATE '{month}'),
                   sum(mrr) FILTER (WHERE month = DATE '{month}' - INTERVAL 3 MONTH),
                   sum(mrr) FILTER (WHERE month = DATE '{month}' - INTERVAL 6 MONTH)
            FROM {ds.view("revenue")} WHERE month <= DATE '{month}' GROUP BY 1"""
    ).fetchall()
    frame = (
        pd.DataFrame(rows, columns=["account_id", "now", "m3", "m6"])
        .set_index("account_id")
        .reindex(out.index)
    )
    now = frame["now"].astype(float).fillna(0)
    out["mrr_change_90d"] = (now - frame["m3"]) / frame["m3"].where(frame["m3"] > 0)
    out["mrr_change_180d"] = (now - frame["m6"]) / frame["m6"].where(frame["m6"] > 0)
