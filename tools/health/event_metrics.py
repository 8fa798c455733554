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

from customer_health.tools.base.dialects import count_if, engine_of, flag, reduced, relation
from customer_health.tools.base.numbers import DECIMALS, rounded
from customer_health.tools.base.sql import change_sql, literal, window
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
    engine = engine_of(ds)
    relations = {k: relation(ds, k) for k in ("events", "users") if ds.has(k)}
    # each date's own 30 days are block j counted back from the latest date; the 30 before it are block j + 1
    blocks = {d: (latest - d).days // 30 for d in dates}
    ends = {d: window(d, 1).end for d in dates}
    flags = _flags(ds)
    sql = event_metrics_sql(
        latest,
        {blocks[d]: ends[d] for d in dates},
        core,
        sem.activation,
        "count" in ds.columns("events"),
        [f for f, _ in flags],
        relations,
    )
    con = ds.con
    windowed = reduced(con, engine, sql["windowed"], "_em_windowed", WINDOWED_TYPES)
    ever_types = EVER_TYPES | {f"last_{j}": "TIMESTAMP" for j in blocks.values()}
    ever = reduced(con, engine, sql["ever"], "_em_ever", ever_types)
    people = _people_sql(ds, ends, blocks, flags)
    pick = {  # the value of the row's own date
        "last": "CASE d.j " + " ".join(f"WHEN {j} THEN last_{j}" for j in blocks.values()) + " END",
        "end": "CASE d.j "
        + " ".join(f"WHEN {j} THEN TIMESTAMP '{ends[d]}'" for d, j in blocks.items())
        + " END",
    }
    dates_sql = ", ".join(f"({j})" for j in blocks.values())
    rows = con.execute(
        f"""
        WITH acc AS ({account_source_sql(ds, ("seats_purchased",), latest, everyone=True)}),
        w AS MATERIALIZED {windowed},
        usage AS (SELECT account_id, k, p, a, c, top1 FROM w WHERE part = 'u'),
        features AS (  -- per account, block and core feature: its users, in the core list's order
            SELECT account_id, k, list(p ORDER BY feature) AS feature_users FROM w WHERE part = 'f' GROUP BY ALL),
        active AS (SELECT user_id, k FROM w WHERE part = 'x'),
        ever AS {ever},
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


# the column types of the two reductions, as the account-level assembly reads them on every engine
WINDOWED_TYPES = {
    "part": "VARCHAR",
    "account_id": "VARCHAR",
    "user_id": "VARCHAR",
    "k": "BIGINT",
    "feature": "INTEGER",
    "p": "BIGINT",
    "a": "BIGINT",
    "c": "DOUBLE",
    "top1": "DOUBLE",
}
EVER_TYPES = {
    "account_id": "VARCHAR",
    "first_activity": "TIMESTAMP",
    "activated_at": "TIMESTAMP",
    "first_core_at": "TIMESTAMP",
}


def event_metrics_sql(
    latest: date,
    ends: dict[int, object],
    core: list[str],
    activation: str | None,
    counted: bool,
    flags: list[str],
    relations: dict[str, str],
) -> dict[str, str]:
    """The score's event-level reductions, in the portable subset (`dialects`), from the 30-day blocks counted
    back from `latest` (block j of each date ends at `ends[j]`).

    "windowed" scans the blocks the dates need once (their own and the one before) and returns, by `part`:
    'u' — per account × block k: present users p, adopted users a, core actions c and the top user's core
    actions top1; 'f' — per account × block × core feature (its 1-based position in `core`): its users (in p);
    'x' — the blocks each user flagged in one of the users-table `flags` columns was active in.
    "ever" scans all events once: per account, the first event, the first activation event, the first core
    event and, for each block j, the last event before `ends[j]` (last_j).
    `counted`: the events carry a count column (NULL counts 1)."""
    events = relations["events"]
    weight = "COALESCE(count, 1)" if counted else "1"
    # a core feature is named by its position in the core list: a small integer to group on, and the order in
    # which depth adds up the features' shares (as feature_adoption does)
    if core:
        feature = (
            "CASE " + " ".join(f"WHEN event = {literal(e)} THEN {i}" for i, e in enumerate(core, 1)) + " END"
        )
    else:
        feature = "CAST(NULL AS INTEGER)"
    k = f"DATE_DIFF('day', CAST(timestamp AS DATE), DATE '{latest}') // 30"
    span = window(latest, 30 * (max(ends) + 2)).sql()
    none = "CAST(NULL AS BIGINT)"
    parts = [
        f"SELECT 'u' AS part, CAST(account_id AS VARCHAR) AS account_id, CAST(NULL AS VARCHAR) AS user_id, k, CAST(NULL AS INTEGER) AS feature, "
        f"COUNT(*) AS p, {count_if('adopted = 1')} AS a, COALESCE(SUM(core_n), 0) AS c, MAX(core_n) AS top1 "
        "FROM per_user WHERE account_id IS NOT NULL GROUP BY account_id, k",
        # base holds each user once per account, block and feature: COUNT(*) counts users
        f"SELECT 'f' AS part, CAST(account_id AS VARCHAR) AS account_id, CAST(NULL AS VARCHAR) AS user_id, k, feature, COUNT(*) AS p, {none} AS a, "
        f"{none} AS c, {none} AS top1 FROM base WHERE feature IS NOT NULL AND account_id IS NOT NULL "
        "GROUP BY account_id, k, feature",
    ]
    if flags:
        anyone = " OR ".join(f"{f} = TRUE" for f in flags)
        parts.append(
            f"SELECT DISTINCT 'x' AS part, CAST(NULL AS VARCHAR) AS account_id, CAST(user_id AS VARCHAR) AS user_id, k, "
            f"CAST(NULL AS INTEGER) AS feature, {none} AS p, {none} AS a, {none} AS c, {none} AS top1 FROM base "
            f"WHERE user_id IN (SELECT user_id FROM {relations['users']} WHERE {anyone})"
        )
    windowed = (
        f"WITH base AS (SELECT account_id, user_id, {k} AS k, {feature} AS feature, SUM({weight}) AS n "
        f"FROM {events} WHERE {span} GROUP BY account_id, user_id, {k}, {feature}), "
        f"per_user AS (SELECT account_id, user_id, k, MAX({flag('feature IS NOT NULL')}) AS adopted, "
        "SUM(CASE WHEN feature IS NOT NULL THEN n END) AS core_n FROM base GROUP BY account_id, user_id, k) "
        + " UNION ALL ".join(parts)
    )
    activated = (
        f"MIN(CASE WHEN event = {literal(activation)} THEN timestamp END)"
        if activation
        else "CAST(NULL AS TIMESTAMP)"
    )
    last = ", ".join(
        f"MAX(CASE WHEN timestamp < TIMESTAMP '{end}' THEN timestamp END) AS last_{j}"
        for j, end in ends.items()
    )
    ever = (
        f"SELECT CAST(account_id AS VARCHAR) AS account_id, MIN(timestamp) AS first_activity, {activated} AS activated_at, "
        f"MIN(CASE WHEN {feature} IS NOT NULL THEN timestamp END) AS first_core_at, {last} "
        f"FROM {events} WHERE account_id IS NOT NULL GROUP BY account_id"
    )
    return {"windowed": windowed, "ever": ever}


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


def _flags(ds: Dataset) -> list[tuple[str, str]]:
    """The users-table flags present (column, metric): champions and executive sponsors."""
    cols = set(ds.columns("users")) if ds.has("users") else set()
    return [
        (f, m)
        for f, m in (("is_champion", "champion_active"), ("is_exec_sponsor", "sponsor_active"))
        if f in cols
    ]


def _people_sql(ds: Dataset, ends: dict, blocks: dict, flags: list[tuple[str, str]]) -> dict[str, str]:
    """Champion and sponsor activity in each date's 30 days (1/0; NULL when nobody is flagged), as a CTE over
    `active` (the blocks each flagged user was active in): a flagged user counts as active with any event in the
    window, unless deactivated by then."""
    cols = set(ds.columns("users")) if ds.has("users") else set()
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
            LEFT JOIN active b ON b.user_id = u.user_id AND b.k = d.j
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
