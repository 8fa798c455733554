"""Usage trends per account: weekly series, week-over-week and month-over-month change, normalized slopes,
decline flags, and the divergence signal — present users flat while core use declines.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from .common import Envelope, ratio, resolve_as_of, rnd, window
from .dataset import Dataset
from .errors import InputError, nearest
from .semantics import ResolvedSemantics, resolve_semantics
from .usage import _in_list, account_frame

HIGH_DECLINE = -0.25
CRITICAL_DECLINE = -0.5
FLAT = 0.10
METRICS = ("present_users", "adopted_users", "core_actions")


class Week(BaseModel):
    week_start: date
    week_end: date
    present_users: int
    adopted_users: int
    core_actions: float


class TrendRow(BaseModel):
    account_id: str
    name: str | None = None
    weekly: list[Week] = Field(description="Oldest first; the last week ends on as_of.")
    wow: dict[str, float | None] = Field(description="Last 7 days vs the 7 before, as a change (−0.3 = −30%).")
    mom: dict[str, float | None] = Field(description="Last 30 days vs the 30 before, as a change.")
    last_30: dict[str, float]
    prior_30: dict[str, float]
    slopes: dict[str, float | None] = Field(
        description="Least-squares slope of daily core actions over the last 30/60/90 days, per 30 days, divided "
                    "by the mean daily level (−0.2 = falling 20% of its level a month).")
    decline_flag: Literal["high", "critical"] | None = Field(
        description="Core actions down more than 25% (high) or 50% (critical) month over month.")
    divergence: bool = Field(description="Present users within ±10% while core actions fall more than 25%.")


class Trends(Envelope):
    weeks: int
    core_features: list[str]
    accounts: list[TrendRow]


def _change(now: float, before: float) -> float | None:
    return ratio(now - before, before)


def usage_trends(ds: Dataset, *, as_of: date | str | None = None, weeks: int = 13, account: str | None = None,
                 semantics: ResolvedSemantics | None = None) -> Trends:
    """Weekly series and changes of present users, adopted users and core actions for every account."""
    import numpy as np
    import pandas as pd

    if not 2 <= weeks <= 104:
        raise InputError(f"weeks must be between 2 and 104 (got {weeks}).", column="weeks")
    day = resolve_as_of(ds, as_of)
    sem = semantics or resolve_semantics(ds)
    accounts = account_frame(ds)
    if account is not None:
        if account not in set(accounts["account_id"]):
            raise InputError(f"unknown account '{account}'.", options=nearest(account, accounts["account_id"]))
        accounts = accounts[accounts["account_id"] == account]
    core = _in_list(sem.core_features)
    weight = "coalesce(count, 1)" if "count" in ds.columns("events") else "1"
    span = max(weeks * 7, 90 + 30)
    win = window(day, span)
    ev = ds.view("events")
    base = (f"SELECT account_id, user_id, event IN {core} AS is_core, {weight} AS w, "
            f"date_diff('day', CAST(timestamp AS DATE), DATE '{day}') AS age FROM {ev} "
            f"WHERE {win.sql()} AND account_id IS NOT NULL")
    weekly = ds.con.execute(
        f"""SELECT account_id, age // 7 AS wk, count(DISTINCT user_id) AS present_users,
                   count(DISTINCT CASE WHEN is_core THEN user_id END) AS adopted_users,
                   sum(CASE WHEN is_core THEN w ELSE 0 END) AS core_actions
            FROM ({base}) WHERE age < {weeks * 7} GROUP BY 1, 2""").df()
    periods = ds.con.execute(
        f"""SELECT account_id, age // 30 AS p, count(DISTINCT user_id) AS present_users,
                   count(DISTINCT CASE WHEN is_core THEN user_id END) AS adopted_users,
                   sum(CASE WHEN is_core THEN w ELSE 0 END) AS core_actions
            FROM ({base}) WHERE age < 60 GROUP BY 1, 2""").df()
    daily = ds.con.execute(
        f"""SELECT account_id, age, sum(CASE WHEN is_core THEN w ELSE 0 END) AS core_actions
            FROM ({base}) WHERE age < 90 GROUP BY 1, 2""").df()
    ids = list(accounts["account_id"])
    names = dict(zip(accounts["account_id"], accounts.get("name", pd.Series([None] * len(accounts))), strict=False))
    # accounts × 90 days, zero-filled, newest day last
    grid = np.zeros((len(ids), 90))
    pos = {a: i for i, a in enumerate(ids)}
    d = daily[daily["account_id"].isin(pos)]
    grid[d["account_id"].map(pos).to_numpy(), 89 - d["age"].to_numpy().astype(int)] = d["core_actions"].to_numpy()
    slopes = {n: _relative_slopes(grid[:, 90 - n:]) for n in (30, 60, 90)}
    wk = {(a, int(k)): r for a, k, r in zip(weekly["account_id"], weekly["wk"], weekly.to_dict("records"),
                                            strict=True)}
    per = {(a, int(p)): r for a, p, r in zip(periods["account_id"], periods["p"], periods.to_dict("records"),
                                             strict=True)}
    rows = []
    for i, acct in enumerate(ids):
        series = []
        for k in range(weeks - 1, -1, -1):
            r = wk.get((acct, k), {})
            series.append(Week(week_start=day - timedelta(days=7 * k + 6), week_end=day - timedelta(days=7 * k),
                               present_users=int(r.get("present_users", 0)),
                               adopted_users=int(r.get("adopted_users", 0)),
                               core_actions=float(r.get("core_actions", 0))))
        last, prior = per.get((acct, 0), {}), per.get((acct, 1), {})
        last30 = {m: float(last.get(m, 0)) for m in METRICS}
        prior30 = {m: float(prior.get(m, 0)) for m in METRICS}
        mom = {m: _change(last30[m], prior30[m]) for m in METRICS}
        wow = {m: _change(getattr(series[-1], m), getattr(series[-2], m)) for m in METRICS}
        core_change = mom["core_actions"]
        flag = None
        if core_change is not None and core_change < CRITICAL_DECLINE:
            flag = "critical"
        elif core_change is not None and core_change < HIGH_DECLINE:
            flag = "high"
        present_change = mom["present_users"]
        divergence = bool(present_change is not None and abs(present_change) <= FLAT and core_change is not None
                          and core_change < HIGH_DECLINE)
        rows.append(TrendRow(account_id=str(acct), name=names.get(acct), weekly=series, wow=wow, mom=mom,
                             last_30=last30, prior_30=prior30,
                             slopes={str(n): rnd(slopes[n][i]) for n in (30, 60, 90)},
                             decline_flag=flag, divergence=divergence))
    rows.sort(key=lambda r: (r.mom["core_actions"] is None, r.mom["core_actions"] or 0, r.account_id))
    n_crit = sum(r.decline_flag == "critical" for r in rows)
    n_high = sum(r.decline_flag == "high" for r in rows)
    n_div = sum(r.divergence for r in rows)
    summary = (f"Month over month to {day}, core actions fell more than 50% at {n_crit} of {len(rows)} accounts and "
               f"25–50% at {n_high}; {n_div} show present users flat while core use declines.")
    caveats = sem.caveats()
    return Trends(as_of=day, weeks=weeks, core_features=sem.core_features, accounts=rows, summary=summary,
                  caveats=caveats)


def _relative_slopes(y):
    """Per row: OLS slope of y over its days × 30, divided by the row's mean; None where the mean is 0."""
    import numpy as np

    n = y.shape[1]
    x = np.arange(n, dtype=float)
    xc = x - x.mean()
    mean = y.mean(axis=1)
    slope = (y - mean[:, None]) @ xc / (xc @ xc)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mean > 0, slope * 30 / mean, np.nan)
    return [None if v != v else float(v) for v in rel]
