"""Peers: each account's standing among accounts of the same segment (and use case) on the usage metrics.

"40% utilization" reads differently for a 500-seat enterprise and a 20-seat SMB, so every metric is given as a
percentile among like accounts next to the segment median.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from .adoption import feature_adoption
from .common import Envelope, resolve_as_of, rnd
from .dataset import Dataset
from .semantics import resolve_semantics
from .trends import usage_trends
from .usage import percentile_in_group, seat_utilization

PEER_METRICS = ("present_utilization", "adopted_utilization", "breadth", "core_actions_per_seat", "core_mom")


class PeerRow(BaseModel):
    account_id: str
    name: str | None = None
    segment: str | None = None
    use_case: str | None = None
    metrics: dict[str, float | None]
    segment_percentile: dict[str, float | None] = Field(description="0 = lowest in segment, 1 = highest.")
    use_case_percentile: dict[str, float | None]


class Peers(Envelope):
    metrics: list[str]
    segment_medians: dict[str, dict[str, float | None]]
    segment_sizes: dict[str, int]
    accounts: list[PeerRow]


def peer_comparison(ds: Dataset, *, as_of: date | str | None = None, window_days: int = 30) -> Peers:
    """Percentile of each usage metric within segment and use case, with segment medians."""
    import pandas as pd

    day = resolve_as_of(ds, as_of)
    sem = resolve_semantics(ds)
    seats = {
        r.account_id: r
        for r in seat_utilization(ds, window_days=window_days, as_of=day, semantics=sem).accounts
    }
    adoption = {
        r.account_id: r
        for r in feature_adoption(ds, window_days=window_days, as_of=day, semantics=sem).accounts
    }
    trends = {r.account_id: r for r in usage_trends(ds, as_of=day, weeks=4, semantics=sem).accounts}
    use_cases = {}
    if ds.has("accounts") and "use_case" in ds.columns("accounts"):
        use_cases = dict(ds.con.execute(f"SELECT account_id, use_case FROM {ds.view('accounts')}").fetchall())
    records = []
    for acct, s in seats.items():
        seats_n = s.seats_purchased
        core30 = trends[acct].last_30["core_actions"] if acct in trends else None
        records.append(
            {
                "account_id": acct,
                "name": s.name,
                "segment": s.segment,
                "use_case": use_cases.get(acct),
                "present_utilization": s.present_utilization,
                "adopted_utilization": s.adopted_utilization,
                "breadth": adoption[acct].breadth if acct in adoption else None,
                "core_actions_per_seat": rnd(core30 / seats_n) if core30 is not None and seats_n else None,
                "core_mom": trends[acct].mom["core_actions"] if acct in trends else None,
            }
        )
    frame = pd.DataFrame.from_records(records)
    for metric in PEER_METRICS:
        values = pd.to_numeric(frame[metric], errors="coerce")
        frame[f"seg_{metric}"] = percentile_in_group(values, frame["segment"].fillna("(none)"))
        frame[f"uc_{metric}"] = percentile_in_group(values, frame["use_case"].fillna("(none)"))
    medians, sizes = {}, {}
    for seg, g in frame.groupby(frame["segment"].fillna("(none)")):
        medians[str(seg)] = {m: rnd(pd.to_numeric(g[m], errors="coerce").median()) for m in PEER_METRICS}
        sizes[str(seg)] = len(g)
    rows = [
        PeerRow(
            account_id=r["account_id"],
            name=r["name"],
            segment=r["segment"],
            use_case=r["use_case"],
            metrics={m: rnd(_nan(r[m])) for m in PEER_METRICS},
            segment_percentile={m: rnd(_nan(r[f"seg_{m}"])) for m in PEER_METRICS},
            use_case_percentile={m: rnd(_nan(r[f"uc_{m}"])) for m in PEER_METRICS},
        )
        for r in frame.to_dict("records")
    ]
    rows.sort(
        key=lambda r: (
            r.segment_percentile["adopted_utilization"] is None,
            r.segment_percentile["adopted_utilization"] or 0,
            r.account_id,
        )
    )
    bottom = sum(1 for r in rows if (r.segment_percentile["adopted_utilization"] or 1) <= 0.25)
    summary = (
        f"{len(rows)} accounts in {len(sizes)} segments as of {day}; {bottom} sit in the bottom quarter of "
        f"their segment for adopted seat utilization."
    )
    caveats = sem.caveats()
    if not use_cases:
        caveats.append("No use_case column: use-case percentiles treat all accounts as one group.")
    return Peers(
        as_of=day,
        metrics=list(PEER_METRICS),
        segment_medians=medians,
        segment_sizes=sizes,
        accounts=rows,
        summary=summary,
        caveats=caveats,
    )


def _nan(value: object) -> float | None:
    return None if value is None or value != value else float(value)
