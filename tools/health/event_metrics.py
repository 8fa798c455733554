"""The event-level inputs of the health score, for every account, from one scan of the events.

The score needs a dozen numbers per account that the analytics tools also report (seat utilization, adoption,
month-over-month trends, last activity, activation, champion activity). Building those tools' full per-account
rows only to read a few fields from them costs far more than the counting itself at 10,000 accounts, and each tool
scans the events on its own. Here one query reduces the events of the 30-day blocks before `as_of` (60 days; 90
when the date 30 days earlier comes along) to one row per account × user × block × core feature, and every windowed
number is counted from that small table; one more pass over all events gives first and last activity and
activation. The numbers are the same as the tools' (same
windows, same rounding) — tests hold them equal.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from customer_health.tools.base.numbers import DECIMALS, rounded
from customer_health.tools.base.sql import change_sql, in_list, literal, window
from customer_health.tools.data.accounts import account_source_sql
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import ResolvedSemantics

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
    "activated_at",
    "first_core_at",
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
    return event_metrics_at(ds, [as_of], sem)[as_of]


def event_metrics_at(ds: Dataset, dates: list[date], sem: ResolvedSemantics) -> dict[date, pd.DataFrame]:
    """`event_metrics` for several dates, each kept per dataset (callers must not mutate the frames). Dates a
    multiple of 30 days apart (the score's now and 30 days earlier) share one scan: their windows are the same
    30-day blocks counted back from the latest."""
    semantics = sem.model_dump_json()
    return ds.memo_many(
        {d: ("event_metrics", d, semantics) for d in dates}, lambda missing: _compute(ds, missing, sem)
    )


def _compute(ds: Dataset, dates: list[date], sem: ResolvedSemantics) -> dict[date, pd.DataFrame]:
    latest = max(dates)
    # seats from subscriptions differ from day to day: then each date is its own query
    together = [
        d for d in dict.fromkeys(dates) if (latest - d).days % 30 == 0 and not ds.has("subscriptions")
    ]
    together = together or [latest]
    out = _query(ds, latest, together, sem)
    for d in dates:
        if d not in out:
            out |= _query(ds, d, [d], sem)
    return out


def _query(ds: Dataset, latest: date, dates: list[date], sem: ResolvedSemantics) -> dict[date, pd.DataFrame]:
    import pandas as pd

    core = sem.core_features
    ev = ds.view("events")
    weight = "coalesce(count, 1)" if "count" in ds.columns("events") else "1"
    # each date's own 30 days are block j counted back from the latest date; the 30 before it are block j + 1
    blocks = {d: (latest - d).days // 30 for d in dates}
    ends = {d: window(d, 1).end for d in dates}
    people = _people_sql(ds, ends, blocks)
    # a core feature is named by its position in the core list: a small integer to group on, and the order in
    # which depth adds up the features' shares (as feature_adoption does)
    feature = f"list_position([{in_list(core)[1:-1]}], event)" if core else "NULL::INTEGER"
    activation = (
        f"min(timestamp) FILTER (WHERE event = {literal(sem.activation)})"
        if sem.activation
        else "NULL::TIMESTAMP"
    )
    ever = ", ".join(
        f"max(timestamp) FILTER (WHERE timestamp < TIMESTAMP '{ends[d]}') AS last_{j}"
        for d, j in blocks.items()
    )
    pick = {  # the value of the row's own date
        "last": "CASE d.j " + " ".join(f"WHEN {j} THEN last_{j}" for j in blocks.values()) + " END",
        "end": "CASE d.j "
        + " ".join(f"WHEN {j} THEN TIMESTAMP '{ends[d]}'" for d, j in blocks.items())
        + " END",
    }
    dates_sql = ", ".join(f"({j})" for j in blocks.values())
    rows = ds.con.execute(
        f"""
        WITH acc AS ({account_source_sql(ds, ("seats_purchased",), latest, everyone=True)}),
        -- one row per account × user × 30-day block × core feature (its position in the core list; NULL: the
        -- user's other events)
        base AS MATERIALIZED (
            SELECT account_id, user_id,
                   date_diff('day', CAST(timestamp AS DATE), DATE '{latest}') // 30 AS k,
                   {feature} AS feature, sum({weight}) AS n
            FROM {ev} WHERE {window(latest, 30 * (max(blocks.values()) + 2)).sql()} GROUP BY ALL),
        per_user AS (
            SELECT account_id, user_id, k, bool_or(feature IS NOT NULL) AS adopted,
                   sum(n) FILTER (WHERE feature IS NOT NULL) AS core_n
            FROM base GROUP BY ALL),
        usage AS (
            SELECT account_id, k, count(*) AS p, count(*) FILTER (WHERE adopted) AS a,
                   coalesce(sum(core_n), 0) AS c, max(core_n) AS top1
            FROM per_user WHERE account_id IS NOT NULL GROUP BY ALL),
        features AS (  -- base holds each user once per account, block and feature: count(*) counts users
            SELECT account_id, k, list(users ORDER BY feature) AS feature_users
            FROM (SELECT account_id, k, feature, count(*) AS users FROM base
                  WHERE feature IS NOT NULL AND account_id IS NOT NULL GROUP BY ALL)
            GROUP BY ALL),
        ever AS (
            SELECT account_id, min(timestamp) AS first_activity, {activation} AS activated_at,
                   min(timestamp) FILTER (WHERE {feature} IS NOT NULL) AS first_core_at, {ever}
            FROM {ev} WHERE account_id IS NOT NULL GROUP BY 1),
        d AS (SELECT * FROM (VALUES {dates_sql}) v(j))
        {people["cte"]}
        SELECT d.j, acc.account_id, acc.seats_purchased,
               coalesce(u0.p, 0) AS present_users, coalesce(u0.a, 0) AS adopted_users,
               round(CASE WHEN acc.seats_purchased > 0 THEN coalesce(u0.p, 0) / acc.seats_purchased END,
                     {DECIMALS}) AS present_utilization,
               round(CASE WHEN acc.seats_purchased > 0 THEN coalesce(u0.a, 0) / acc.seats_purchased END,
                     {DECIMALS}) AS adopted_utilization,
               coalesce(u0.c, 0) AS core_actions_30d,
               {change_sql("coalesce(u0.c, 0)", "coalesce(u1.c, 0)")} AS core_trend,
               {change_sql("coalesce(u0.p, 0)", "coalesce(u1.p, 0)")} AS present_trend,
               f.feature_users, coalesce(u0.c, 0) AS core_total, u0.top1,
               {pick["last"]} AS last_activity, first_activity,
               coalesce(activated_at < {pick["end"]}, false) AS activated,
               CASE WHEN activated_at < {pick["end"]} THEN activated_at END AS activated_at,
               CASE WHEN first_core_at < {pick["end"]} THEN first_core_at END AS first_core_at,
               {people["columns"]}
        FROM acc CROSS JOIN d
             LEFT JOIN usage u0 ON u0.account_id = acc.account_id AND u0.k = d.j
             LEFT JOIN usage u1 ON u1.account_id = acc.account_id AND u1.k = d.j + 1
             LEFT JOIN features f ON f.account_id = acc.account_id AND f.k = d.j
             LEFT JOIN ever ON ever.account_id = acc.account_id {people["join"]}
        """
    ).df()
    rows["account_id"] = rows["account_id"].astype(str)
    flagged = people["flagged"].split()
    keep = [c for c in COLUMNS if c not in ("champion_active", "sponsor_active") or c in flagged]
    out = {}
    for d, j in blocks.items():
        frame = rows[rows["j"] == j].set_index("account_id")
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
        out[d] = frame[keep]
    return out


def _adoption(frame: pd.DataFrame, n_core: int) -> tuple[list, list, list]:
    """Breadth, depth and top-user share, rounded exactly as `feature_adoption` rounds them (`rounded` is `rnd`
    over an array); depth adds the features' shares in the core list's order, as a per-account sum would."""
    import numpy as np

    n = len(frame)
    if not n_core:
        return [None] * n, [None] * n, [None] * n
    lists = [list(u) if hasattr(u, "__len__") else [] for u in frame["feature_users"].tolist()]  # NULL: NA
    used = np.array([len(u) for u in lists], dtype=float)
    active = frame["present_users"].to_numpy(dtype=float)
    depth = np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n_core):  # the i-th used feature of every account
            users = np.array([u[i] if len(u) > i else np.nan for u in lists], dtype=float)
            shares = np.array(rounded(users / active), dtype=float)
            depth = depth + np.nan_to_num(shares)
        total = frame["core_total"].to_numpy(dtype=float)
        top = frame["top1"].to_numpy(dtype=float)
        top1 = rounded(np.where(total > 0, top / total, np.nan))
    depth = np.where(active > 0, depth / n_core, 0.0)
    return rounded(used / n_core), depth.tolist(), top1


def _people_sql(ds: Dataset, ends: dict, blocks: dict) -> dict[str, str]:
    """Champion and sponsor activity in each date's 30 days (1/0; NULL when nobody is flagged), as a CTE over
    `per_user`: a flagged user counts as active with any event in the window, unless deactivated by then."""
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
    end = "CASE d.j " + " ".join(f"WHEN {blocks[dt]} THEN TIMESTAMP '{ends[dt]}'" for dt in blocks) + " END"
    gone = (
        f"u.deactivated_at IS NOT NULL AND u.deactivated_at < {end}" if "deactivated_at" in cols else "false"
    )
    state = f"CASE WHEN {gone} THEN 0 WHEN b.user_id IS NOT NULL THEN 1 ELSE 0 END"
    aggs = ", ".join(f"max({state}) FILTER (WHERE u.{f}) AS {m}" for f, m in flags)
    cte = f""", people AS (
            SELECT u.account_id, d.j, {aggs} FROM {ds.view("users")} u CROSS JOIN d
            LEFT JOIN (SELECT DISTINCT user_id, k FROM per_user) b ON b.user_id = u.user_id AND b.k = d.j
            GROUP BY ALL)"""
    have = {m for _, m in flags}
    columns = ", ".join(
        f"p.{m}" if m in have else f"NULL AS {m}" for m in ("champion_active", "sponsor_active")
    )
    return {
        "cte": cte,
        "columns": columns,
        "join": "LEFT JOIN people p ON p.account_id = acc.account_id AND p.j = d.j",
        "flagged": " ".join(sorted(have)),  # the metrics the users table can support
    }
