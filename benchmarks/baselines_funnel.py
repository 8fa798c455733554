"""Two independent ordered-funnel baselines for the benchmarks: DuckDB SQL with window functions, and pandas.

Same semantics as tools/funnel.py over all the events given: every step-1 event starts an attempt; each next
step is the earliest event of that step at or after the previous match (strictly after when the name repeats)
and no later than `window_days` after the attempt's step 1; a user counts at the furthest step any attempt
reaches.
"""

from __future__ import annotations


def _source(events: str) -> str:
    if events.endswith(".parquet"):
        return "read_parquet('" + events.replace("'", "''") + "')"
    return '"' + events.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_funnel(con, events: str, steps: list[str], window_days: int) -> list[int]:
    """Users reaching at least each step, by one plain SQL query over a table/view name or a .parquet path.

    No ASOF joins: the live attempts (probes at their previous step's time) are unioned with the next step's
    events, and a running minimum per user, walking back in time, gives each probe the first event at or after
    it.
    """
    ctes = [
        f"e AS NOT MATERIALIZED (SELECT user_id, timestamp AS t, event FROM {_source(events)})",
        f"p1 AS (SELECT row_number() OVER () AS id, user_id, t AS t1, t AS tk FROM e "
        f"WHERE event = {_lit(steps[0])})",
    ]
    for k in range(2, len(steps) + 1):
        # ties in time: an event sorts before the probe (so "at or after" sees it) unless the name repeats
        event_first = steps[k - 1] != steps[k - 2]
        ctes.append(f"""p{k} AS (
            SELECT id, user_id, t1, nxt AS tk FROM (
                SELECT id, user_id, t1, kind, min(CASE WHEN kind = 'event' THEN t END) OVER (
                    PARTITION BY user_id ORDER BY t DESC, (kind = 'event') = {event_first} DESC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS nxt
                FROM (SELECT id, user_id, t1, tk AS t, 'probe' AS kind FROM p{k - 1}
                      UNION ALL
                      SELECT NULL, user_id, NULL, t, 'event' FROM e WHERE event = {_lit(steps[k - 1])}))
            WHERE kind = 'probe' AND nxt <= t1 + INTERVAL '{window_days} days')""")
    reached = " UNION ALL ".join(f"SELECT user_id, {k} AS k FROM p{k}" for k in range(1, len(steps) + 1))
    counts = ", ".join(f"count(*) FILTER (WHERE furthest >= {k})" for k in range(1, len(steps) + 1))
    sql = (
        f"WITH {', '.join(ctes)}, r AS (SELECT user_id, max(k) AS furthest FROM ({reached}) "
        f"GROUP BY user_id) SELECT {counts} FROM r"
    )
    return [int(v) for v in con.execute(sql).fetchone()]


def pandas_funnel(df, steps: list[str], window_days: int) -> list[int]:
    """Users reaching at least each step; pandas.merge_asof finds the next step of every live attempt."""
    import pandas as pd

    ev = df.loc[df["event"].isin(steps), ["user_id", "timestamp", "event"]]
    att = ev.loc[ev["event"] == steps[0], ["user_id", "timestamp"]].rename(columns={"timestamp": "t1"})
    att = att.reset_index(drop=True)
    att["t"], att["reached"] = att["t1"], 1
    window = pd.Timedelta(days=window_days)
    for k in range(1, len(steps)):
        alive = att[att["reached"] == k].sort_values("t").reset_index()
        nxt = ev.loc[ev["event"] == steps[k], ["user_id", "timestamp"]].sort_values("timestamp")
        if alive.empty or nxt.empty:
            break
        m = pd.merge_asof(
            alive,
            nxt.rename(columns={"timestamp": "tk"}),
            left_on="t",
            right_on="tk",
            by="user_id",
            direction="forward",
            allow_exact_matches=steps[k] != steps[k - 1],
        )
        hit = m[m["tk"].notna() & (m["tk"] <= m["t1"] + window)]
        att.loc[hit["index"].to_numpy(), "t"] = hit["tk"].to_numpy()
        att.loc[hit["index"].to_numpy(), "reached"] = k + 1
    furthest = att.groupby("user_id")["reached"].max()
    return [int((furthest >= k).sum()) for k in range(1, len(steps) + 1)]
