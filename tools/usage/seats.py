"""Seat utilization, core-feature adoption, concentration of core work, and peer percentiles.

Event-level counting runs in DuckDB and comes back aggregated per account (and per account × feature); the
account-level arithmetic, bands and percentiles run in pandas on at most one row per account.
"""

from __future__ import annotations

from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Literal

from customer_health.tools.base import bounds
from customer_health.tools.base.dialects import engine_of, reduced, relation
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.models import Envelope, constructor, gc_paused
from customer_health.tools.base.numbers import DECIMALS, rnd
from customer_health.tools.base.sql import Window, fetch_dicts, in_list, window
from customer_health.tools.data.accounts import account_has, account_source_sql
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.lifecycle import population_caveats, table_stage_counts
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

LOW_UTILIZATION = 0.5
GOOD_UTILIZATION = 0.75
UNDERUSED_FEATURE = 0.3
SPOF_SHARE = 0.6
Flag = Literal["over_deployed", "good", "ok", "low", "unknown_seats", "no_activity"]


def utilization_flag(present_utilization: float | None, present_users: int) -> Flag:
    """<50% low, 50–75% ok, ≥75% good, >100% over-deployed (an expansion signal)."""
    if present_utilization is None:
        return "unknown_seats" if present_users else "no_activity"
    if present_utilization > 1:
        return "over_deployed"
    if present_utilization >= GOOD_UTILIZATION:
        return "good"
    if present_utilization >= LOW_UTILIZATION:
        return "ok"
    return "low"


# the column types of `activity_sql`'s rows (as DuckDB gives them), for an engine whose rows travel
ACTIVITY = {"account_id": "VARCHAR", "present_users": "BIGINT", "adopted_users": "BIGINT"}


def activity_sql(win: Window, core: list[str], relations: dict[str, str]) -> str:
    """The seats' event-level reduction, in the portable subset (`dialects`): per account in the window, distinct
    users with any event (present) and with at least one core-feature event (adopted)."""
    return (
        f"SELECT account_id, COUNT(DISTINCT user_id) AS present_users, "
        f"COUNT(DISTINCT CASE WHEN event IN {in_list(core)} THEN user_id END) AS adopted_users "
        f"FROM {relations['events']} WHERE {win.sql()} AND account_id IS NOT NULL GROUP BY account_id"
    )


def active_users(ds: Dataset, win: Window, core: list[str]) -> pd.DataFrame:
    """Per account in the window: distinct users with any event, and with at least one core-feature event."""
    sql = activity_sql(win, core, {"events": relation(ds, "events")})
    return ds.con.execute(
        f"SELECT * FROM {reduced(ds.con, engine_of(ds), sql, '_seats_activity', ACTIVITY)}"
    ).df()


class SeatRow(BaseModel):
    account_id: str
    name: str | None = None
    segment: str | None = None
    seats_purchased: float | None
    present_users: int | None = Field(description="Distinct users with any event in the window.")
    adopted_users: int | None = Field(description="Distinct users with at least one core-feature event.")
    present_utilization: float | None
    adopted_utilization: float | None
    adoption_gap: float | None = Field(description="present − adopted utilization: present but not adopted.")
    flag: Flag
    present_not_adopted: bool
    segment_percentile: float | None = Field(description="present utilization vs same-segment accounts, 0–1.")
    adopted_segment_percentile: float | None


class SeatUtilization(Envelope):
    window_days: int
    core_features: list[str]
    segment_medians: dict[str, dict[str, float | None]]
    accounts: list[SeatRow]


def percentiles_in_groups(values: list[float | None], groups: list[str]) -> list[float | None]:
    """Each value's position among its group's values, 0 (lowest) … 1 (highest), ties sharing the mean rank; None
    for a missing value or one alone in its group. `stats.percentile_in_group` without pandas (a warm `seats`
    process imports neither pandas nor numpy), value for value the same."""
    members: dict[str, list[tuple[float, int]]] = {}
    for i, (v, g) in enumerate(zip(values, groups, strict=True)):
        if v is not None and v == v:
            members.setdefault(g, []).append((v, i))
    out: list[float | None] = [None] * len(values)
    value = itemgetter(0)
    for group in members.values():
        last = len(group) - 1
        if last < 1:
            continue
        group.sort(key=value)
        # a run of ties holds positions start … end - 1, ranks start + 1 … end: each gets their mean, as pandas does
        start = 0
        for _, run in groupby(group, key=value):
            tied = list(run)
            end = start + len(tied)
            share = ((start + 1 + end) / 2 - 1) / last
            for _, i in tied:
                out[i] = share
            start = end
    return out


def _median(values: list[float]) -> float | None:
    """The median as pandas' groupby gives it: the mean of the two middle values of an even count."""
    if not values:
        return None
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _seat_rows(rows: list[dict]) -> tuple[list[SeatRow], dict[str, dict[str, float | None]]]:
    """Seat rows from the query's dicts (typed by the SQL, so built without validation), with each account's
    percentile of present and adopted utilization within its segment, and the segment medians.

    Percentiles rank the unrounded ratios (`pu`, `au`), as `percentile_in_group` does for every other metric; a
    few thousand accounts rank faster here than in window functions over the events query."""
    segments = [r["segment"] or "(none)" for r in rows]
    ranked = {}
    for raw, name in (("pu", "segment_percentile"), ("au", "adopted_segment_percentile")):
        ranked[name] = [rnd(v) for v in percentiles_in_groups([r.pop(raw) for r in rows], segments)]
    make = constructor(SeatRow)
    accounts = []
    for i, r in enumerate(rows):
        r["segment_percentile"] = ranked["segment_percentile"][i]
        r["adopted_segment_percentile"] = ranked["adopted_segment_percentile"][i]
        accounts.append(make(r))
    medians: dict[str, dict[str, float | None]] = {}
    for field in ("present_utilization", "adopted_utilization"):
        by_segment: dict[str, list[float]] = {seg: [] for seg in segments}
        for seg, r in zip(segments, accounts, strict=True):
            if (v := getattr(r, field)) is not None and v == v:
                by_segment[seg].append(v)
        for seg, values in by_segment.items():
            medians.setdefault(str(seg), {})[field] = rnd(_median(values))
    return accounts, dict(sorted(medians.items()))


@gc_paused
def seat_utilization(
    ds: Dataset,
    *,
    window_days: int = 30,
    as_of: date | str | None = None,
    semantics: ResolvedSemantics | None = None,
    everyone: bool = False,
) -> SeatUtilization:
    """Present and adopted users ÷ seats purchased per customer on as_of (with `everyone`, every account), with
    bands and segment percentiles."""
    bounds.check("window_days", window_days, bounds.WINDOW_DAYS)
    if not (ds.has("accounts") or ds.has("events")):
        raise InputError(
            "seat utilization needs accounts or events.", fix="Load an accounts or events export."
        )
    caveats: list[str] = []
    columns = ("name", "segment", "seats_purchased", "active_users_30d")
    if ds.has("events"):
        day = resolve_as_of(ds, as_of)
        sem = semantics or resolve_semantics(ds)
        core = sem.core_features
        caveats += sem.caveats()
        # reduced where the events are; only the per-account table joins the accounts below
        sql = activity_sql(window(day, window_days), core, {"events": relation(ds, "events")})
        activity = f"SELECT * FROM {reduced(ds.con, engine_of(ds), sql, '_seats_activity', ACTIVITY)}"
        present, adopted = "coalesce(t.present_users, 0)", "coalesce(t.adopted_users, 0)"
    else:
        day, core = (resolve_as_of(ds, as_of) if as_of else None), []
        if day is None:
            raise InputError(
                "without events the as-of date cannot be inferred.", fix="Pass --as-of YYYY-MM-DD."
            )
        activity = (
            "SELECT NULL::VARCHAR AS account_id, NULL AS present_users, NULL AS adopted_users WHERE false"
        )
        snapshot = window_days == 30 and ds.has("accounts") and "active_users_30d" in ds.columns("accounts")
        present, adopted = ("a.active_users_30d" if snapshot else "NULL"), "NULL"
        caveats.append(
            "No events: present users come from the snapshot's active_users_30d; adopted users "
            "(core-feature use) cannot be computed."
            if snapshot
            else "No events and no 30-day active-user column: utilization cannot be computed."
        )
    source = account_source_sql(ds, columns, day, everyone)
    caveats += population_caveats(table_stage_counts(ds, day), day, everyone)
    if not account_has(ds, "seats_purchased"):
        caveats.append("No seats_purchased: utilization ratios and bands are unavailable; counts are shown.")
    if ds.has("events") and not ds.events_tied():
        caveats.append(
            "The events cannot be tied to accounts (no account column and no users table): nobody is counted "
            "as present. Load a users export (user_id, account_id) with them."
        )
    rows = fetch_dicts(
        ds.con,
        f"""
        WITH j AS (
            SELECT a.account_id, a.name, a.segment, CAST(a.seats_purchased AS DOUBLE) AS seats_purchased,
                   CAST({present} AS INTEGER) AS present_users, CAST({adopted} AS INTEGER) AS adopted_users,
                   CASE WHEN a.seats_purchased > 0 THEN {present} / a.seats_purchased END AS pu,
                   CASE WHEN a.seats_purchased > 0 THEN {adopted} / a.seats_purchased END AS au
            FROM ({source}) a LEFT JOIN ({activity}) t USING (account_id))
        SELECT account_id, name, segment, seats_purchased, present_users, adopted_users,
               round(pu, {DECIMALS}) AS present_utilization, round(au, {DECIMALS}) AS adopted_utilization,
               round(pu - au, {DECIMALS}) AS adoption_gap,
               CASE WHEN pu IS NULL THEN (CASE WHEN coalesce(present_users, 0) > 0 THEN 'unknown_seats'
                                               ELSE 'no_activity' END)
                    WHEN pu > 1 THEN 'over_deployed' WHEN pu >= {GOOD_UTILIZATION} THEN 'good'
                    WHEN pu >= {LOW_UTILIZATION} THEN 'ok' ELSE 'low' END AS flag,
               coalesce(present_users >= 3 AND adopted_users < 0.5 * present_users, false) AS present_not_adopted,
               pu, au
        FROM j ORDER BY pu IS NULL, pu, account_id""",
    )
    accounts, medians = _seat_rows(rows)
    low = sum(r.flag == "low" for r in accounts)
    gap = sum(r.present_not_adopted for r in accounts)
    summary = (
        f"{len(accounts)} accounts over the {window_days} days to {day}: {low} below 50% seat utilization, "
        f"{gap} present but not adopted (fewer than half their active users touch a core feature)."
    )
    return SeatUtilization(
        as_of=day,
        window_days=window_days,
        core_features=core,
        segment_medians=medians,
        accounts=accounts,
        summary=summary,
        caveats=caveats,
    )


__all__ = ["SeatRow", "SeatUtilization", "percentiles_in_groups", "seat_utilization", "utilization_flag"]
