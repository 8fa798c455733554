"""The event-level inputs of the health score, for every account, from one scan of the events.

The score needs a dozen numbers per account that the analytics tools also report (seat utilization, adoption,
month-over-month trends, last activity, activation, champion activity). Building those tools' full per-account
rows only to read a few fields from them costs far more than the counting itself at 10,000 accounts, and each tool
scans the events on its own. Here one query reduces the 60 days of events before `as_of` to one row per account ×
user × 30-day block × core feature, and every windowed number is counted from that small table; one more pass
over all events gives first and last activity and activation. The numbers are the same as the tools' (same
windows, same rounding) — tests hold them equal.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .common import DECIMALS, window
from .dataset import Dataset
from .semantics import ResolvedSemantics
from .trends import _change_sql
from .usage import _in_list, account_source_sql

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "seats_purchased",
    "present_users",
    "adopted_users",
    "present_utilization",
    "adopted_utilization",
    "core_actions_30d",
    "core_trend",
    "present_trend",
    "breadth",
    "core_depth",
    "top1_share",
    "last_activity",
    "first_activity",
    "activated",
    "champion_active",
    "sponsor_active",
)


def event_metrics(ds: Dataset, as_of: date, sem: ResolvedSemantics) -> pd.DataFrame:
    """One row per account (index account_id, every account of `account_source_sql`) with `COLUMNS` (the
    champion/sponsor columns only when the users table has the flag).

    present/adopted users and core actions are over the 30 days to `as_of` (window(as_of, 30)); the trends compare
    them with the 30 days before; breadth, depth and top-user share are over the same 30 days, as in
    `feature_adoption`. champion/sponsor_active are NaN for accounts with nobody flagged (or no users table).
    """
    import pandas as pd

    core = sem.core_features
    ev = ds.view("events")
    weight = "coalesce(count, 1)" if "count" in ds.columns("events") else "1"
    is_core = f"event IN {_in_list(core)}" if core else "false"
    end = window(as_of, 1).end
    people = _people_sql(ds, end)
    order = (
        "[" + _in_list(core)[1:-1] + "]" if core else "[]"
    )  # sums in the core list's order, as adoption does
    rows = ds.con.execute(
        f"""
        WITH acc AS ({account_source_sql(ds, ("seats_purchased",))}),
        -- one row per account × user × 30-day block × core feature (NULL: the user's other events)
        base AS MATERIALIZED (
            SELECT account_id, user_id,
                   date_diff('day', CAST(timestamp AS DATE), DATE '{as_of}') // 30 AS k,
                   CASE WHEN {is_core} THEN event END AS feature, sum({weight}) AS n
            FROM {ev} WHERE {window(as_of, 60).sql()} GROUP BY ALL),
        per_user AS (
            SELECT account_id, user_id, k, bool_or(feature IS NOT NULL) AS adopted,
                   sum(n) FILTER (WHERE feature IS NOT NULL) AS core_n
            FROM base WHERE account_id IS NOT NULL GROUP BY ALL),
        usage AS (
            SELECT account_id,
                   count(*) FILTER (WHERE k = 0) AS p0, count(*) FILTER (WHERE k = 1) AS p1,
                   count(*) FILTER (WHERE k = 0 AND adopted) AS a0,
                   coalesce(sum(core_n) FILTER (WHERE k = 0), 0) AS c0,
                   coalesce(sum(core_n) FILTER (WHERE k = 1), 0) AS c1,
                   max(core_n) FILTER (WHERE k = 0) AS top1
            FROM per_user GROUP BY 1),
        features AS (
            SELECT account_id, list(users ORDER BY list_position({order}, feature)) AS feature_users
            FROM (SELECT account_id, feature, count(DISTINCT user_id) AS users FROM base
                  WHERE k = 0 AND feature IS NOT NULL AND account_id IS NOT NULL GROUP BY ALL)
            GROUP BY 1),
        ever AS (
            SELECT account_id, max(timestamp) FILTER (WHERE timestamp < TIMESTAMP '{end}') AS last_activity,
                   min(timestamp) AS first_activity,
                   {_activated_sql(sem, end)} AS activated
            FROM {ev} WHERE account_id IS NOT NULL GROUP BY 1)
        {people["cte"]}
        SELECT acc.account_id, acc.seats_purchased,
               coalesce(p0, 0) AS present_users, coalesce(a0, 0) AS adopted_users,
               round(CASE WHEN acc.seats_purchased > 0 THEN coalesce(p0, 0) / acc.seats_purchased END,
                     {DECIMALS}) AS present_utilization,
               round(CASE WHEN acc.seats_purchased > 0 THEN coalesce(a0, 0) / acc.seats_purchased END,
                     {DECIMALS}) AS adopted_utilization,
               coalesce(c0, 0) AS core_actions_30d,
               {_change_sql("coalesce(c0, 0)", "coalesce(c1, 0)")} AS core_trend,
               {_change_sql("coalesce(p0, 0)", "coalesce(p1, 0)")} AS present_trend,
               feature_users, coalesce(c0, 0) AS core_total, top1,
               last_activity, first_activity, coalesce(activated, false) AS activated,
               {people["columns"]}
        FROM acc LEFT JOIN usage USING (account_id) LEFT JOIN features USING (account_id)
             LEFT JOIN ever USING (account_id) {people["join"]}
        """
    ).df()
    rows["account_id"] = rows["account_id"].astype(str)
    frame = rows.set_index("account_id")
    breadth, depth, top1 = _adoption(frame, len(core))
    for name, values in (("breadth", breadth), ("core_depth", depth), ("top1_share", top1)):
        frame[name] = pd.Series(values, index=frame.index, dtype=float)
    frame["activated"] = frame["activated"].astype(float) if sem.activation else float("nan")
    for col in (
        "seats_purchased",
        "present_utilization",
        "adopted_utilization",
        "core_trend",
        "present_trend",
    ):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    flagged = people["flagged"].split()
    return frame[[c for c in COLUMNS if c not in ("champion_active", "sponsor_active") or c in flagged]]


def _adoption(frame: pd.DataFrame, n_core: int) -> tuple[list, list, list]:
    """Breadth, depth and top-user share, rounded exactly as `feature_adoption` rounds them."""
    from .common import ratio

    breadth, depth, top1 = [], [], []
    for users, active, total, top in zip(
        frame["feature_users"].tolist(),
        frame["present_users"].tolist(),
        frame["core_total"].tolist(),
        frame["top1"].tolist(),
        strict=True,
    ):
        used = list(users) if hasattr(users, "__len__") else []  # NULL (no core use) comes back as NA
        if not n_core:
            breadth.append(None)
            depth.append(None)
            top1.append(None)
            continue
        breadth.append(ratio(len(used), n_core))
        # the mean over every core feature of its share of active users, unused features counting 0
        depth.append(sum(ratio(u, active) for u in used) / n_core if active else 0.0)
        top1.append(ratio(top, total) if total and top == top else None)
    return breadth, depth, top1


def _activated_sql(sem: ResolvedSemantics, end) -> str:
    from .values import literal

    if not sem.activation:
        return "NULL::BOOLEAN"
    return f"bool_or(event = {literal(sem.activation)} AND timestamp < TIMESTAMP '{end}')"


def _people_sql(ds: Dataset, end) -> dict[str, str]:
    """Champion and sponsor activity in the 30 days to `as_of` (1/0; NULL when nobody is flagged), as a CTE over
    `base`: a flagged user counts as active with any event in the window, unless deactivated by then."""
    cols = set(ds.columns("users")) if ds.has("users") else set()
    flags = [
        (f, m)
        for f, m in (("is_champion", "champion_active"), ("is_exec_sponsor", "sponsor_active"))
        if f in cols
    ]
    if not flags:
        return {
            "cte": "",
            "columns": "NULL AS champion_active, NULL AS sponsor_active",
            "join": "",
            "flagged": "",
        }
    gone = (
        f"u.deactivated_at IS NOT NULL AND u.deactivated_at < TIMESTAMP '{end}'"
        if "deactivated_at" in cols
        else "false"
    )
    state = f"CASE WHEN {gone} THEN 0 WHEN b.user_id IS NOT NULL THEN 1 ELSE 0 END"
    aggs = ", ".join(f"max({state}) FILTER (WHERE u.{f}) AS {m}" for f, m in flags)
    cte = f""", people AS (
            SELECT u.account_id, {aggs} FROM {ds.view("users")} u
            LEFT JOIN (SELECT DISTINCT user_id FROM base WHERE k = 0) b USING (user_id) GROUP BY 1)"""
    have = {m for _, m in flags}
    columns = ", ".join(m if m in have else f"NULL AS {m}" for m in ("champion_active", "sponsor_active"))
    return {
        "cte": cte,
        "columns": columns,
        "join": "LEFT JOIN people USING (account_id)",
        "flagged": " ".join(sorted(have)),  # the metrics the users table can support
    }
