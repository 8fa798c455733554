"""Two independent baselines for the health score of the benchmark data: plain DuckDB SQL, and pandas.

Both compute, for every account at one date, every input the default profile reads from data shaped like the
example generator's (accounts, events, users, tickets, NPS, revenue) and then the 0–100 score, following the
formula in rules/health-score-design.md written out directly:

    metric points = linear (value − floor) ÷ (target − floor) × 100 clipped to 0…100, NPS bands, or the
                    percentile within the segment (× 100) for core actions per seat
    component     = Σ metric weight × points ÷ Σ metric weight, over metrics with data
    score         = Σ component weight × component ÷ Σ component weight, over components with data
    accounts younger than the onboarding period: onboarding signals replace usage and growth, with their weight

Ratios are rounded to 4 decimals where the design rounds them. Only the profile's numbers (weights, floors, targets, bands) and the dataset's configuration (core features,
activation event) are read from the project; none of its code runs here. The same few lines of numpy turn either
baseline's metrics into scores (10,000 rows: milliseconds).
"""

from __future__ import annotations

from datetime import date, timedelta

WINDOW = 30
TICKET_DAYS, NPS_DAYS = 90, 180


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def metrics_duckdb(con, views: dict[str, str], as_of: date, core: list[str], activation: str):
    """Every score input per account, in one SQL query. `views` maps table kinds to view names."""
    end = as_of + timedelta(days=1)
    core_sql = "(" + ", ".join(_lit(c) for c in core) + ")"
    month = date(as_of.year, as_of.month, 1)
    ev, acc, users, tickets, nps, revenue = (
        views[k] for k in ("events", "accounts", "users", "tickets", "nps", "revenue")
    )
    return (
        con.execute(f"""
        WITH w AS (
            SELECT account_id, user_id, event, event IN {core_sql} AS is_core,
                   date_diff('day', CAST(timestamp AS DATE), DATE '{as_of}') AS age
            FROM {ev} WHERE timestamp >= DATE '{as_of}' - INTERVAL 59 DAY AND timestamp < DATE '{end}'),
        usage AS (
            SELECT account_id,
                   count(DISTINCT user_id) FILTER (WHERE age < 30) AS p0,
                   count(DISTINCT user_id) FILTER (WHERE age >= 30) AS p1,
                   count(DISTINCT user_id) FILTER (WHERE age < 30 AND is_core) AS a0,
                   count(*) FILTER (WHERE age < 30 AND is_core) AS c0,
                   count(*) FILTER (WHERE age >= 30 AND is_core) AS c1
            FROM w WHERE account_id IS NOT NULL GROUP BY 1),
        per_feature AS (
            SELECT account_id, event, count(DISTINCT user_id) AS users FROM w
            WHERE age < 30 AND is_core AND account_id IS NOT NULL GROUP BY ALL),
        per_user AS (
            SELECT account_id, user_id, count(*) AS n FROM w
            WHERE age < 30 AND is_core AND account_id IS NOT NULL GROUP BY ALL),
        top AS (SELECT account_id, max(n) AS top1, sum(n) AS total FROM per_user GROUP BY 1),
        ever AS (
            SELECT account_id, max(timestamp) FILTER (WHERE timestamp < DATE '{end}') AS last_ts,
                   min(timestamp) AS first_ts,
                   bool_or(event = {_lit(activation)} AND timestamp < DATE '{end}') AS activated
            FROM {ev} WHERE account_id IS NOT NULL GROUP BY 1),
        active_people AS (SELECT DISTINCT user_id FROM w WHERE age < 30),
        people AS (
            SELECT u.account_id,
                   max(CASE WHEN u.deactivated_at < DATE '{end}' THEN 0 WHEN a.user_id IS NOT NULL THEN 1 ELSE 0 END)
                       FILTER (WHERE u.is_champion) AS champion_active,
                   max(CASE WHEN u.deactivated_at < DATE '{end}' THEN 0 WHEN a.user_id IS NOT NULL THEN 1 ELSE 0 END)
                       FILTER (WHERE u.is_exec_sponsor) AS sponsor_active
            FROM {users} u LEFT JOIN active_people a USING (user_id) GROUP BY 1),
        tix AS (
            SELECT account_id,
                   count(*) FILTER (WHERE resolved_at IS NULL OR resolved_at >= DATE '{end}') AS open_tickets,
                   count(*) FILTER (WHERE escalated AND created_at >= DATE '{end}' - INTERVAL {TICKET_DAYS} DAY)
                       AS escalations_90d,
                   avg(csat / scale) FILTER (WHERE created_at >= DATE '{end}' - INTERVAL {TICKET_DAYS} DAY) AS csat_90d
            FROM (SELECT *, CASE WHEN max(csat) OVER () <= 5 THEN 5.0 ELSE 100.0 END AS scale FROM {tickets})
            WHERE created_at < DATE '{end}' GROUP BY 1),
        score_nps AS (
            SELECT account_id, avg(score) AS nps FROM {nps}
            WHERE responded_at < DATE '{end}' AND responded_at >= DATE '{end}' - INTERVAL {NPS_DAYS} DAY GROUP BY 1),
        mrr AS (
            SELECT account_id, coalesce(sum(mrr) FILTER (WHERE month = DATE '{month}'), 0) AS now,
                   sum(mrr) FILTER (WHERE month = DATE '{month}' - INTERVAL 3 MONTH) AS m3,
                   sum(mrr) FILTER (WHERE month = DATE '{month}' - INTERVAL 6 MONTH) AS m6
            FROM {revenue} GROUP BY 1)
        SELECT a.account_id, coalesce(a.segment, '(none)') AS segment,
               round(CASE WHEN a.seats_purchased > 0 THEN coalesce(a0, 0) / a.seats_purchased END, 4) AS adopted_utilization,
               round(coalesce((SELECT count(*) FROM per_feature f WHERE f.account_id = a.account_id), 0)
                     / {len(core)}, 4) AS breadth,
               CASE WHEN coalesce(p0, 0) > 0 THEN coalesce((SELECT sum(round(users / p0, 4)) FROM per_feature f
                                                             WHERE f.account_id = a.account_id), 0) / {len(core)}
                    ELSE 0 END AS core_depth,
               CASE WHEN a.seats_purchased > 0 THEN coalesce(c0, 0) / a.seats_purchased END AS core_actions_per_seat,
               round(CASE WHEN total > 0 THEN top1 / total END, 4) AS top1_share,
               date_diff('day', CAST(last_ts AS DATE), DATE '{as_of}') AS days_since_last_activity,
               nps, champion_active, sponsor_active,
               round(CASE WHEN coalesce(c1, 0) <> 0 THEN (coalesce(c0, 0) - c1) / c1 END, 4) AS core_trend,
               round(CASE WHEN coalesce(p1, 0) <> 0 THEN (coalesce(p0, 0) - p1) / p1 END, 4) AS present_trend,
               CASE WHEN m3 > 0 THEN (now - m3) / m3 END AS mrr_change_90d,
               CASE WHEN m6 > 0 THEN (now - m6) / m6 END AS mrr_change_180d,
               coalesce(open_tickets, 0) AS open_tickets, coalesce(escalations_90d, 0) AS escalations_90d, csat_90d,
               date_diff('day', CAST(coalesce(a.contract_start, a.signup_date, first_ts) AS DATE), DATE '{as_of}')
                   AS tenure_days,
               CASE WHEN coalesce(activated, false) THEN 1.0 ELSE 0.0 END AS activated
        FROM {acc} a LEFT JOIN usage USING (account_id) LEFT JOIN top USING (account_id)
             LEFT JOIN ever USING (account_id) LEFT JOIN people USING (account_id)
             LEFT JOIN tix USING (account_id) LEFT JOIN score_nps USING (account_id) LEFT JOIN mrr USING (account_id)
        -- the accounts that had become customers by the date (a contract signed later is not one yet)
        WHERE coalesce(CAST(coalesce(a.contract_start, a.signup_date) AS DATE) <= DATE '{as_of}', true)
        """)
        .df()
        .set_index("account_id")
    )


def metrics_pandas(tables: dict, as_of: date, core: list[str], activation: str):
    """The same inputs with pandas over DataFrames: `tables` maps kinds to frames (events: timestamp, user_id,
    event, account_id)."""
    import numpy as np
    import pandas as pd

    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    ev, acc = tables["events"], tables["accounts"].set_index("account_id")
    w = ev[(ev["timestamp"] >= end - pd.Timedelta(days=60)) & (ev["timestamp"] < end)]
    age = (pd.Timestamp(as_of) - w["timestamp"].dt.normalize()).dt.days
    recent = age < 30
    tied = w["account_id"].notna()
    r, p = w[recent & tied], w[~recent & tied]
    rc, pc = r[r["event"].isin(core)], p[p["event"].isin(core)]
    out = pd.DataFrame(index=acc.index)
    out["segment"] = acc["segment"].fillna("(none)")
    seats = acc["seats_purchased"].where(acc["seats_purchased"] > 0)
    p0 = r.groupby("account_id")["user_id"].nunique().reindex(out.index).fillna(0)
    p1 = p.groupby("account_id")["user_id"].nunique().reindex(out.index).fillna(0)
    a0 = rc.groupby("account_id")["user_id"].nunique().reindex(out.index).fillna(0)
    c0 = rc.groupby("account_id").size().reindex(out.index).fillna(0)
    c1 = pc.groupby("account_id").size().reindex(out.index).fillna(0)
    out["adopted_utilization"] = (a0 / seats).round(4)
    feature_users = rc.groupby(["account_id", "event"])["user_id"].nunique()
    out["breadth"] = (feature_users.groupby(level=0).size().reindex(out.index).fillna(0) / len(core)).round(4)
    shares = (feature_users / p0.reindex(feature_users.index.get_level_values(0)).to_numpy()).round(4)
    depth = shares.groupby(level=0).sum().reindex(out.index).fillna(0) / len(core)
    out["core_depth"] = depth.where(p0 > 0, 0.0)
    out["core_actions_per_seat"] = c0 / seats
    per_user = rc.groupby(["account_id", "user_id"]).size()
    top1, total = per_user.groupby(level=0).max(), per_user.groupby(level=0).sum()
    out["top1_share"] = (top1 / total).round(4).reindex(out.index)
    before = ev[(ev["timestamp"] < end) & ev["account_id"].notna()]
    last = before.groupby("account_id")["timestamp"].max().reindex(out.index)
    out["days_since_last_activity"] = (pd.Timestamp(as_of) - last.dt.normalize()).dt.days
    n = tables["nps"]
    n = n[(n["responded_at"] < end) & (n["responded_at"] >= end - pd.Timedelta(days=NPS_DAYS))]
    out["nps"] = n.groupby("account_id")["score"].mean().reindex(out.index)
    u = tables["users"]
    active = set(w.loc[recent, "user_id"])
    state = np.where(u["deactivated_at"] < end, 0, u["user_id"].isin(active).astype(int))
    for flag, name in (("is_champion", "champion_active"), ("is_exec_sponsor", "sponsor_active")):
        chosen = u[flag].fillna(False).astype(bool)
        out[name] = (
            pd.Series(state[chosen.to_numpy()], index=u.loc[chosen, "account_id"]).groupby(level=0).max()
        )
    out["core_trend"] = ((c0 - c1) / c1).where(c1 != 0).round(4)
    out["present_trend"] = ((p0 - p1) / p1).where(p1 != 0).round(4)
    rev = tables["revenue"]
    month = pd.Timestamp(date(as_of.year, as_of.month, 1))
    by_month = rev.groupby(["account_id", "month"])["mrr"].sum()

    def at(ts):
        s = by_month[by_month.index.get_level_values(1) == ts]
        return s.droplevel(1).reindex(out.index)

    now = at(month).fillna(0)
    for months, name in ((3, "mrr_change_90d"), (6, "mrr_change_180d")):
        then = at(month - pd.DateOffset(months=months))
        out[name] = ((now - then) / then).where(then > 0)
    t = tables["tickets"]
    scale = 5.0 if t["csat"].max() <= 5 else 100.0
    t = t[t["created_at"] < end]
    recent_t = t["created_at"] >= end - pd.Timedelta(days=TICKET_DAYS)
    still_open = t["resolved_at"].isna() | (t["resolved_at"] >= end)
    out["open_tickets"] = t[still_open].groupby("account_id").size().reindex(out.index).fillna(0)
    esc = t[recent_t & t["escalated"].fillna(False).astype(bool)]
    out["escalations_90d"] = esc.groupby("account_id").size().reindex(out.index).fillna(0)
    out["csat_90d"] = (t[recent_t].groupby("account_id")["csat"].mean() / scale).reindex(out.index)
    first = ev[ev["account_id"].notna()].groupby("account_id")["timestamp"].min().reindex(out.index)
    start = pd.to_datetime(acc["contract_start"]).fillna(pd.to_datetime(acc["signup_date"])).fillna(first)
    out["tenure_days"] = (pd.Timestamp(as_of) - start.dt.normalize()).dt.days
    done = set(before.loc[before["event"] == activation, "account_id"])
    out["activated"] = [1.0 if a in done else 0.0 for a in out.index]
    signed = pd.to_datetime(acc["contract_start"]).fillna(pd.to_datetime(acc["signup_date"]))
    return out[~(signed.dt.normalize() > pd.Timestamp(as_of)).reindex(out.index, fill_value=False)]


def scores(metrics, profile) -> dict[str, float]:
    """The 0–100 score of every account from a metrics frame, with the profile's numbers (see the module doc)."""
    import numpy as np
    import pandas as pd

    m = metrics.copy()
    m["tenure_months"] = m["tenure_days"] / 30.44
    groups = m["segment"]

    def points(name, spec) -> np.ndarray:
        if name not in m:
            return np.full(len(m), np.nan)
        v = pd.to_numeric(m[name], errors="coerce").astype(float)
        if spec.method == "linear":
            return ((v - spec.floor) / (spec.target - spec.floor) * 100).clip(0, 100).to_numpy()
        if spec.method == "bands":
            out = np.zeros(len(v))
            for start, pts in spec.bands:
                out = np.where(v.to_numpy() >= start, pts, out)
            return np.where(v.isna(), np.nan, out)
        rank = v.groupby(groups).rank(method="average")
        size = v.groupby(groups).transform("count")
        return (((rank - 1) / (size - 1)).where(size > 1) * 100).to_numpy()

    parts = {**{c: comp for c, comp in profile.components.items()}, "onboarding": profile.onboarding}
    comp = {}
    for c, spec in parts.items():
        num = np.zeros(len(m))
        den = np.zeros(len(m))
        for name, s in spec.metrics.items():
            p = points(name, s)
            num += np.where(np.isnan(p), 0, s.weight * np.nan_to_num(p))
            den += np.where(np.isnan(p), 0, s.weight)
        with np.errstate(invalid="ignore"):
            comp[c] = np.where(den > 0, num / den, np.nan)
    young = (m["tenure_days"] < profile.onboarding_days).fillna(False).to_numpy()
    weights = {c: np.full(len(m), float(spec.weight)) for c, spec in profile.components.items()}
    weights["onboarding"] = np.where(young, weights["usage"] + weights["growth"], 0.0)
    weights["usage"] = np.where(young, 0.0, weights["usage"])
    weights["growth"] = np.where(young, 0.0, weights["growth"])
    num = sum(np.where(np.isnan(comp[c]), 0, weights[c] * np.nan_to_num(comp[c])) for c in comp)
    den = sum(np.where(np.isnan(comp[c]), 0, weights[c]) for c in comp)
    return dict(zip(m.index.astype(str), np.round(num / den, 1).tolist(), strict=True))
