"""Usage trends per account: weekly series, week-over-week and month-over-month change, normalized slopes,
decline flags, and the divergence signal — present users flat while core use declines.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from customer_health.tools.base import bounds
from customer_health.tools.base.dialects import engine_of, reduced, relation
from customer_health.tools.base.models import Envelope, gc_paused, validate_rows
from customer_health.tools.base.numbers import DECIMALS
from customer_health.tools.base.sql import change_sql, fetch_dicts, in_list, literal, window
from customer_health.tools.data.accounts import account_source_sql, resolve_account
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from pydantic import BaseModel, Field

HIGH_DECLINE = -0.25
CRITICAL_DECLINE = -0.5
FLAT = 0.10
METRICS = ("present_users", "adopted_users", "core_actions")


class WeeklySeries(BaseModel):
    present_users: list[int]
    adopted_users: list[int]
    core_actions: list[float]


class TrendRow(BaseModel):
    account_id: str
    name: str | None = None
    weekly: WeeklySeries = Field(description="One value per week of `week_ends`, oldest first.")
    wow: dict[str, float | None] = Field(
        description="Last 7 days vs the 7 before, as a change (−0.3 = −30%)."
    )
    mom: dict[str, float | None] = Field(description="Last 30 days vs the 30 before, as a change.")
    last_30: dict[str, float]
    prior_30: dict[str, float]
    slopes: dict[str, float | None] = Field(
        description="Least-squares slope of daily core actions over the last 30/60/90 days, per 30 days, divided "
        "by the mean daily level (−0.2 = falling 20% of its level a month)."
    )
    decline_flag: Literal["high", "critical"] | None = Field(
        description="Core actions down more than 25% (high) or 50% (critical) month over month."
    )
    divergence: bool = Field(description="Present users within ±10% while core actions fall more than 25%.")


class Trends(Envelope):
    weeks: int
    week_ends: list[date] = Field(description="The last day of each week of the series; the last is as_of.")
    core_features: list[str]
    accounts: list[TrendRow]


@gc_paused
def usage_trends(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    weeks: int = 13,
    account: str | None = None,
    semantics: ResolvedSemantics | None = None,
    everyone: bool = False,
) -> Trends:
    """Weekly series and changes of present users, adopted users and core actions for every account, or for the one
    `account` names (an id or a name, resolved by `resolve_account`; its row carries the id)."""
    bounds.check("weeks", weeks, bounds.TREND_WEEKS)
    day = resolve_as_of(ds, as_of)
    sem = semantics or resolve_semantics(ds)
    source = account_source_sql(ds, ("name",), day, everyone=everyone or account is not None)
    if account is not None:
        account = resolve_account(ds, account)
        source = f"SELECT * FROM ({source}) WHERE account_id = {literal(account)}"
    counted = "count" in ds.columns("events")
    sql = trend_sql(day, weeks, sem.core_features, counted, account, {"events": relation(ds, "events")})
    types = TREND | {"c": "DOUBLE" if counted else "BIGINT"}  # a count column may hold fractions
    rows = fetch_dicts(
        ds.con,
        f"""
        WITH acc AS ({source}),
        -- the event-level reduction (`trend_sql`): one row per account × week, month and day
        reduced AS MATERIALIZED (SELECT * FROM {reduced(ds.con, engine_of(ds), sql, "_trends", types)}),
        by_week AS (SELECT account_id, k, p, a, c FROM reduced WHERE grain = 'w'),
        by_month AS (SELECT account_id, k, p, a, c FROM reduced WHERE grain = 'm'),
        by_day AS (SELECT account_id, k AS age, c FROM reduced WHERE grain = 'd'),
        series AS (
            SELECT g.account_id, list(coalesce(p, 0) ORDER BY g.k DESC) AS present_users,
                   list(coalesce(a, 0) ORDER BY g.k DESC) AS adopted_users,
                   list(coalesce(c, 0) ORDER BY g.k DESC) AS core_actions
            FROM (SELECT account_id, range AS k FROM acc, range({weeks})) g
            LEFT JOIN by_week USING (account_id, k) GROUP BY g.account_id),
        months AS (
            SELECT account_id,
                   coalesce(max(p) FILTER (WHERE k = 0), 0) AS p0, coalesce(max(p) FILTER (WHERE k = 1), 0) AS p1,
                   coalesce(max(a) FILTER (WHERE k = 0), 0) AS a0, coalesce(max(a) FILTER (WHERE k = 1), 0) AS a1,
                   coalesce(max(c) FILTER (WHERE k = 0), 0) AS c0, coalesce(max(c) FILTER (WHERE k = 1), 0) AS c1
            FROM by_month GROUP BY account_id),
        days AS (
            SELECT g.account_id, {", ".join(_slope_sql(n) for n in (30, 60, 90))}
            FROM (SELECT account_id, range AS age FROM acc, range(90)) g LEFT JOIN by_day USING (account_id, age)
            GROUP BY g.account_id)
        SELECT acc.account_id, acc.name, s.present_users, s.adopted_users, s.core_actions,
               coalesce(p0, 0) AS p0, coalesce(p1, 0) AS p1, coalesce(a0, 0) AS a0, coalesce(a1, 0) AS a1,
               coalesce(c0, 0) AS c0, coalesce(c1, 0) AS c1,
               {change_sql("coalesce(p0, 0)", "coalesce(p1, 0)")} AS mp, {change_sql("coalesce(a0, 0)", "coalesce(a1, 0)")} AS ma,
               {change_sql("coalesce(c0, 0)", "coalesce(c1, 0)")} AS mc,
               {change_sql("s.present_users[-1]", "s.present_users[-2]")} AS wp,
               {change_sql("s.adopted_users[-1]", "s.adopted_users[-2]")} AS wa,
               {change_sql("s.core_actions[-1]", "s.core_actions[-2]")} AS wc,
               round(s30, {DECIMALS}) AS s30, round(s60, {DECIMALS}) AS s60, round(s90, {DECIMALS}) AS s90
        FROM acc JOIN series s USING (account_id) LEFT JOIN months USING (account_id) JOIN days USING (account_id)
        ORDER BY acc.account_id""",
    )
    accounts = validate_rows(TrendRow, [_trend_row(r) for r in rows])
    accounts.sort(key=lambda r: (r.mom["core_actions"] is None, r.mom["core_actions"] or 0, r.account_id))
    n_crit = sum(r.decline_flag == "critical" for r in accounts)
    n_high = sum(r.decline_flag == "high" for r in accounts)
    n_div = sum(r.divergence for r in accounts)
    summary = (
        f"Month over month to {day}, core actions fell more than 50% at {n_crit} of {len(accounts)} accounts "
        f"and 25–50% at {n_high}; {n_div} show present users flat while core use declines."
    )
    week_ends = [day - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
    return Trends(
        as_of=day,
        weeks=weeks,
        week_ends=week_ends,
        core_features=sem.core_features,
        accounts=accounts,
        summary=summary,
        caveats=sem.caveats(),
    )


# the column types of `trend_sql`'s rows (as DuckDB gives them), for an engine whose rows travel
TREND = {
    "account_id": "VARCHAR",
    "grain": "VARCHAR",
    "k": "BIGINT",
    "p": "BIGINT",
    "a": "BIGINT",
    "c": "BIGINT",
}


def trend_sql(
    day: date, weeks: int, core: list[str], counted: bool, account: str | None, relations: dict[str, str]
) -> str:
    """The trends' event-level reduction, in the portable subset (`dialects`): per account, present users (p),
    adopted users (a) and core actions (c) in each of the last `weeks` weeks (grain 'w', k weeks back) and the
    last two 30-day months (grain 'm'), and core actions on each of the last 90 days (grain 'd', k days back).
    `counted`: the events carry a count column (NULL counts 1)."""
    weight = "COALESCE(count, 1)" if counted else "1"
    core_event = f"event IN {in_list(core)}"
    only = f"account_id = {literal(account)}" if account is not None else "account_id IS NOT NULL"
    metrics = "COUNT(DISTINCT user_id) AS p, COUNT(DISTINCT CASE WHEN core_user = 1 THEN user_id END) AS a, COALESCE(SUM(c), 0) AS c"
    age = f"DATE_DIFF('day', CAST(timestamp AS DATE), DATE '{day}')"
    # one row per account × user × day first: every later count is over this much smaller table
    return (
        f"WITH user_days AS (SELECT account_id, user_id, {age} AS age, "
        f"MAX(CASE WHEN {core_event} THEN 1 ELSE 0 END) AS core_user, SUM(CASE WHEN {core_event} THEN {weight} END) AS c "
        f"FROM {relations['events']} WHERE {window(day, max(weeks * 7, 90)).sql()} AND {only} "
        f"GROUP BY account_id, user_id, {age}) "
        f"SELECT account_id, 'w' AS grain, age // 7 AS k, {metrics} FROM user_days WHERE age < {weeks * 7} "
        "GROUP BY account_id, age // 7 "
        f"UNION ALL SELECT account_id, 'm' AS grain, age // 30 AS k, {metrics} FROM user_days WHERE age < 60 "
        "GROUP BY account_id, age // 30 "
        "UNION ALL SELECT account_id, 'd' AS grain, age AS k, NULL AS p, NULL AS a, SUM(c) AS c FROM user_days "
        "WHERE age < 90 GROUP BY account_id, age"
    )


def _slope_sql(n: int) -> str:
    """Relative slope over the last n days: OLS slope of daily core actions × 30 ÷ their mean (NULL at 0)."""
    y, x = "coalesce(c, 0)", f"({n - 1} - age)"
    inside = f"FILTER (WHERE age < {n})"
    return (
        f"CASE WHEN avg({y}) {inside} > 0 THEN regr_slope({y}, {x}) {inside} * 30 / avg({y}) {inside} END "
        f"AS s{n}"
    )


def _trend_row(r: dict) -> dict:
    core, present = r["mc"], r["mp"]
    flag = (
        "critical"
        if core is not None and core < CRITICAL_DECLINE
        else ("high" if core is not None and core < HIGH_DECLINE else None)
    )
    return {
        "account_id": r["account_id"],
        "name": r["name"],
        "weekly": {
            "present_users": r["present_users"],
            "adopted_users": r["adopted_users"],
            "core_actions": r["core_actions"],
        },
        "wow": {"present_users": r["wp"], "adopted_users": r["wa"], "core_actions": r["wc"]},
        "mom": {"present_users": present, "adopted_users": r["ma"], "core_actions": core},
        "last_30": {"present_users": r["p0"], "adopted_users": r["a0"], "core_actions": r["c0"]},
        "prior_30": {"present_users": r["p1"], "adopted_users": r["a1"], "core_actions": r["c1"]},
        "slopes": {"30": r["s30"], "60": r["s60"], "90": r["s90"]},
        "decline_flag": flag,
        "divergence": bool(
            present is not None and abs(present) <= FLAT and core is not None and core < HIGH_DECLINE
        ),
    }
