"""Seat utilization, core-feature adoption, concentration of core work, and peer percentiles.

Event-level counting runs in DuckDB and comes back aggregated per account (and per account × feature); the
account-level arithmetic, bands and percentiles run in pandas on at most one row per account.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from .common import Envelope, Window, ratio, resolve_as_of, rnd, window
from .dataset import Dataset
from .errors import InputError
from .semantics import ResolvedSemantics, resolve_semantics

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


def percentile_in_group(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Each value's position among its group's values, 0 (lowest) … 1 (highest); ties share the mean rank.

    A group of one has no peers and gets None.
    """
    ranks = values.groupby(groups, dropna=False).rank(method="average")
    sizes = values.groupby(groups, dropna=False).transform("count")
    pct = (ranks - 1) / (sizes - 1)
    return pct.where(sizes > 1)


def account_frame(ds: Dataset) -> pd.DataFrame:
    """One row per account: the accounts table, or the distinct account ids seen in events."""
    import pandas as pd

    if ds.has("accounts"):
        want = ["account_id", "name", "segment", "use_case", "seats_purchased", "active_users_30d", "arr", "mrr"]
        return ds.frame("accounts", want)
    if "account_id" not in ds.columns("events"):
        raise InputError("the events have no account column and there is no users table to map them.",
                         fix="Load a users export (user_id, account_id) or events with an account/group id.")
    ids = ds.con.execute(f"SELECT DISTINCT account_id FROM {ds.view('events')} WHERE account_id IS NOT NULL "
                         "ORDER BY 1").fetchall()
    return pd.DataFrame({"account_id": [r[0] for r in ids]})


def _in_list(values: list[str]) -> str:
    from .values import literal

    return "(" + ", ".join(literal(v) for v in values) + ")" if values else "(NULL)"


def user_activity(ds: Dataset, win: Window, core: list[str]) -> pd.DataFrame:
    """Per account × user in the window: any events, core events (summing a `count` column when present)."""
    weight = "coalesce(count, 1)" if "count" in ds.columns("events") else "1"
    return ds.con.execute(
        f"""SELECT account_id, user_id, count(*) AS events,
                   sum(CASE WHEN event IN {_in_list(core)} THEN {weight} ELSE 0 END) AS core_actions
            FROM {ds.view('events')} WHERE {win.sql()} AND account_id IS NOT NULL
            GROUP BY account_id, user_id""").df()


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


def seat_utilization(ds: Dataset, *, window_days: int = 30, as_of: date | str | None = None,
                     semantics: ResolvedSemantics | None = None) -> SeatUtilization:
    """Present and adopted users ÷ seats purchased per account, with bands and segment percentiles."""
    import pandas as pd

    if not 1 <= window_days <= 365:
        raise InputError(f"window_days must be between 1 and 365 (got {window_days}).", column="window_days")
    caveats: list[str] = []
    accounts = account_frame(ds) if (ds.has("accounts") or ds.has("events")) else None
    if accounts is None:
        raise InputError("seat utilization needs accounts or events.", fix="Load an accounts or events export.")
    if ds.has("events"):
        day = resolve_as_of(ds, as_of)
        sem = semantics or resolve_semantics(ds)
        acts = user_activity(ds, window(day, window_days), sem.core_features)
        per = acts.groupby("account_id").agg(present_users=("user_id", "nunique"),
                                             adopted_users=("core_actions", lambda s: int((s > 0).sum())))
        frame = accounts.merge(per, how="left", left_on="account_id", right_index=True)
        frame[["present_users", "adopted_users"]] = frame[["present_users", "adopted_users"]].fillna(0)
        core = sem.core_features
        caveats += sem.caveats()
    else:
        day = as_of if isinstance(as_of, date) else (date.fromisoformat(as_of) if as_of else None)
        frame, core = accounts.copy(), []
        if "active_users_30d" in frame and window_days == 30:
            frame["present_users"] = frame["active_users_30d"]
            caveats.append("No events: present users come from the snapshot's active_users_30d; adopted users "
                           "(core-feature use) cannot be computed.")
        else:
            frame["present_users"] = None
            caveats.append("No events and no active_users_30d column: utilization cannot be computed.")
        frame["adopted_users"] = None
        if day is None:
            raise InputError("without events the as-of date cannot be inferred.", fix="Pass --as-of YYYY-MM-DD.")
    if "seats_purchased" not in frame or frame["seats_purchased"].isna().all():
        frame["seats_purchased"] = None
        caveats.append("No seats_purchased: utilization ratios and bands are unavailable; counts are shown.")
    for col in ("segment", "name"):
        if col not in frame:
            frame[col] = None
    seats = pd.to_numeric(frame["seats_purchased"], errors="coerce").where(lambda s: s > 0)
    frame["present_utilization"] = pd.to_numeric(frame["present_users"], errors="coerce") / seats
    frame["adopted_utilization"] = pd.to_numeric(frame["adopted_users"], errors="coerce") / seats
    frame["segment_percentile"] = percentile_in_group(frame["present_utilization"], frame["segment"])
    frame["adopted_segment_percentile"] = percentile_in_group(frame["adopted_utilization"], frame["segment"])
    rows = [_seat_row(r) for r in frame.to_dict("records")]
    rows.sort(key=lambda r: (r.present_utilization is None, r.present_utilization or 0, r.account_id))
    medians = {str(seg): {"present_utilization": rnd(g["present_utilization"].median()),
                          "adopted_utilization": rnd(g["adopted_utilization"].median())}
               for seg, g in frame.groupby(frame["segment"].fillna("(none)"))}
    low = sum(r.flag == "low" for r in rows)
    gap = sum(r.present_not_adopted for r in rows)
    summary = (f"{len(rows)} accounts over the {window_days} days to {day}: {low} below 50% seat utilization, "
               f"{gap} present but not adopted (fewer than half their active users touch a core feature).")
    return SeatUtilization(as_of=day, window_days=window_days, core_features=core, segment_medians=medians,
                           accounts=rows, summary=summary, caveats=caveats)


def _num(value: object) -> float | None:
    return None if value is None or value != value else float(value)


def _seat_row(r: dict) -> SeatRow:
    present, adopted = _num(r.get("present_users")), _num(r.get("adopted_users"))
    pu, au = rnd(_num(r.get("present_utilization"))), rnd(_num(r.get("adopted_utilization")))
    not_adopted = bool(present and present >= 3 and adopted is not None and adopted / present < 0.5)
    return SeatRow(
        account_id=str(r["account_id"]), name=r.get("name"), segment=r.get("segment"),
        seats_purchased=_num(r.get("seats_purchased")),
        present_users=None if present is None else int(present), adopted_users=None if adopted is None else int(adopted),
        present_utilization=pu, adopted_utilization=au,
        adoption_gap=rnd(pu - au) if pu is not None and au is not None else None,
        flag=utilization_flag(pu, int(present or 0)), present_not_adopted=not_adopted,
        segment_percentile=rnd(_num(r.get("segment_percentile"))),
        adopted_segment_percentile=rnd(_num(r.get("adopted_segment_percentile"))))


__all__ = ["SeatUtilization", "account_frame", "percentile_in_group", "ratio", "seat_utilization",
           "user_activity", "utilization_flag"]
