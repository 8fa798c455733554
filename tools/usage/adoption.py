"""Core-feature adoption (breadth and depth) and how concentrated core work is in one or two people."""

from __future__ import annotations

from datetime import date

from customer_health.tools.base import bounds
from customer_health.tools.base.dialects import engine_of, relation
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.models import Envelope, gc_paused, trusted
from customer_health.tools.base.numbers import ratio, rnd
from customer_health.tools.base.sql import Window, in_list, window
from customer_health.tools.base.stats import percentile_in_group
from customer_health.tools.data.accounts import account_frame, account_has
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.lifecycle import lifecycle, population_caveats
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from customer_health.tools.usage.seats import SPOF_SHARE, UNDERUSED_FEATURE
from pydantic import BaseModel, Field


class FeatureUse(BaseModel):
    feature: str
    users: int
    actions: float
    share_of_seats: float | None
    share_of_active: float | None
    underused: bool = Field(
        description="Used by fewer than 30% of seats (of active users when seats are unknown)."
    )


class AdoptionRow(BaseModel):
    account_id: str
    name: str | None = None
    segment: str | None = None
    seats_purchased: float | None
    active_users: int
    core_users: int
    breadth: float | None = Field(description="Share of the core features used at all in the window.")
    features: list[FeatureUse]
    underused_features: list[str]
    top1_share: float | None = Field(description="Share of core actions done by the busiest user.")
    top2_share: float | None
    single_point_of_failure: bool = Field(description="One user does 60% or more of the core work.")
    top_user: str | None = None
    breadth_segment_percentile: float | None = None


class Adoption(Envelope):
    window_days: int
    core_features: list[str]
    segment_medians: dict[str, dict[str, float | None]]
    accounts: list[AdoptionRow]


@gc_paused
def feature_adoption(
    ds: Dataset,
    *,
    window_days: int = 30,
    as_of: date | str | None = None,
    semantics: ResolvedSemantics | None = None,
    everyone: bool = False,
) -> Adoption:
    """Per account: which core features are used, by what share of seats and active users, and by whom."""
    import pandas as pd

    bounds.check("window_days", window_days, bounds.WINDOW_DAYS)
    day = resolve_as_of(ds, as_of)
    sem = semantics or resolve_semantics(ds)
    core = sem.core_features
    if not core:
        raise InputError(
            "no core features are configured or could be inferred from the events.",
            fix="List 3–5 core features under core_features in customer-health.yaml.",
        )
    accounts, active_by, features_by, top_by = _inputs(ds, day, window_days, core, everyone)
    rows = []
    for rec in accounts.to_dict("records"):
        acct = rec["account_id"]
        seats = rec.get("seats_purchased")
        seats = float(seats) if seats is not None and seats == seats and seats > 0 else None
        rows.append(
            _row(rec, seats, int(active_by.get(acct, 0)), features_by.get(acct, {}), top_by.get(acct), core)
        )
    frame = pd.DataFrame({"breadth": [r.breadth for r in rows], "segment": [r.segment for r in rows]})
    pct = percentile_in_group(frame["breadth"].astype(float), frame["segment"])
    for r, p in zip(rows, pct, strict=True):
        r.breadth_segment_percentile = rnd(None if p != p else p)
    medians = {
        str(seg): {"breadth": rnd(g["breadth"].median())}
        for seg, g in frame.groupby(frame["segment"].fillna("(none)"))
    }
    rows.sort(key=lambda r: (r.breadth is None, r.breadth or 0, r.account_id))
    spof = sum(r.single_point_of_failure for r in rows)
    under = {}
    for r in rows:
        for f in r.underused_features:
            under[f] = under.get(f, 0) + 1
    worst = max(under.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    summary = (
        f"Across {len(rows)} accounts over the {window_days} days to {day}, {spof} depend on a single user "
        f"for 60% or more of their core work."
    )
    if worst:
        summary += (
            f" The most under-used core feature is {worst[0]} (below 30% of seats at {worst[1]} accounts)."
        )
    caveats = sem.caveats() + population_caveats(lifecycle(ds, day), day, everyone)
    if not account_has(ds, "seats_purchased"):
        caveats.append("No seats_purchased: depth is measured against active users instead of seats.")
    return Adoption(
        as_of=day,
        window_days=window_days,
        core_features=core,
        segment_medians=medians,
        accounts=rows,
        summary=summary,
        caveats=caveats,
    )


def _inputs(ds: Dataset, day: date, window_days: int, core: list[str], everyone: bool):
    """The three aggregations adoption rests on: active users, per-feature users and actions, the top users."""
    accounts = account_frame(ds, day, everyone)
    sql = adoption_sql(
        window(day, window_days), core, "count" in ds.columns("events"), {"events": relation(ds, "events")}
    )
    engine = engine_of(ds)
    per_feature, top, active = (engine.fetch(sql[part]) for part in ("features", "top_users", "active"))
    active_by = {r["account_id"]: int(r["n"]) for r in active}
    features_by: dict[str, dict[str, tuple[int, float]]] = {}
    for r in per_feature:
        features_by.setdefault(r["account_id"], {})[r["event"]] = (int(r["users"]), float(r["actions"]))
    top_by = _top_users(top)
    return accounts, active_by, features_by, top_by


def adoption_sql(win: Window, core: list[str], counted: bool, relations: dict[str, str]) -> dict[str, str]:
    """Adoption's event-level reductions over `win`, in the portable subset (`dialects`): per account × core
    feature, users and actions ('features'); each account's core users ranked by actions, the two most active
    and any tied with them, with the account's core actions and core users ('top_users'); active users per
    account ('active'). `counted`: the events carry a count column (NULL counts 1)."""
    weight = "COALESCE(count, 1)" if counted else "1"
    inside = f"{win.sql()} AND account_id IS NOT NULL"
    ev, core_only = relations["events"], f"{inside} AND event IN {in_list(core)}"
    return {
        "features": f"SELECT account_id, event, COUNT(DISTINCT user_id) AS users, SUM({weight}) AS actions "
        f"FROM {ev} WHERE {core_only} GROUP BY account_id, event",
        "top_users": f"WITH per_user AS (SELECT account_id, user_id, SUM({weight}) AS actions FROM {ev} "
        f"WHERE {core_only} GROUP BY account_id, user_id), "
        "ranked AS (SELECT account_id, user_id, actions, "
        "RANK() OVER (PARTITION BY account_id ORDER BY actions DESC) AS rk, "
        "SUM(actions) OVER (PARTITION BY account_id) AS total, "
        "COUNT(*) OVER (PARTITION BY account_id) AS core_users FROM per_user) "
        "SELECT account_id, user_id, actions, total, core_users FROM ranked WHERE rk <= 2",
        "active": f"SELECT account_id, COUNT(DISTINCT user_id) AS n FROM {ev} WHERE {inside} GROUP BY account_id",
    }


def _top_users(rows: list[dict]) -> dict[str, tuple]:
    """Per account: its core actions, core users, the top user's actions, the top two users' actions and the top
    user — ties broken by user id here, so the answer is stable and the same on every engine."""
    by_account: dict[str, list[dict]] = {}
    for r in rows:
        by_account.setdefault(r["account_id"], []).append(r)
    out = {}
    for acct, users in by_account.items():
        users.sort(key=lambda r: (-float(r["actions"]), r["user_id"] is None, r["user_id"] or ""))
        first = users[0]
        out[acct] = (
            float(first["total"]),
            int(first["core_users"]),
            float(first["actions"]),
            sum(float(r["actions"]) for r in users[:2]),
            first["user_id"],
        )
    return out


def _row(
    rec: dict,
    seats: float | None,
    active_users: int,
    uses: dict[str, tuple[int, float]],
    top: tuple | None,
    core: list[str],
) -> AdoptionRow:
    features, underused = [], []
    for feature in core:
        users, actions = uses.get(feature, (0, 0.0))
        share = ratio(users, seats if seats else (active_users or None))
        low = share is not None and share < UNDERUSED_FEATURE
        features.append(
            trusted(  # computed here from typed query results: validation would only cost time
                FeatureUse,
                feature=feature,
                users=users,
                actions=actions,
                share_of_seats=ratio(users, seats),
                share_of_active=ratio(users, active_users or None),
                underused=low,
            )
        )
        if low:
            underused.append(feature)
    total, core_users, top1_actions, top2_actions, top_user = top if top else (0.0, 0, None, None, None)
    top1 = ratio(top1_actions, total) if total else None
    return trusted(
        AdoptionRow,
        account_id=str(rec["account_id"]),
        name=rec.get("name"),
        segment=rec.get("segment"),
        seats_purchased=seats,
        active_users=active_users,
        core_users=int(core_users),
        breadth=ratio(sum(f.users > 0 for f in features), len(core)),
        features=features,
        underused_features=underused,
        top1_share=top1,
        top2_share=ratio(top2_actions, total) if total else None,
        # a one-seat account with one user is not a single point of failure, it is the whole account
        single_point_of_failure=bool(top1 is not None and top1 >= SPOF_SHARE and (seats or active_users) > 1),
        top_user=str(top_user) if top_user is not None else None,
        breadth_segment_percentile=None,
    )
