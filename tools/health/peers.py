"""Peers: each account's standing among accounts of the same segment (and use case) on the usage metrics.

"40% utilization" reads differently for a 500-seat enterprise and a 20-seat SMB, so every metric is given as a
percentile among like accounts next to the segment median.
"""

from __future__ import annotations

from datetime import date

from customer_health.tools.base.models import Envelope, gc_paused
from customer_health.tools.base.numbers import rnd, text_or_none
from customer_health.tools.base.stats import percentile_in_group
from customer_health.tools.data.accounts import account_source_sql
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.health.event_metrics import event_metrics
from pydantic import BaseModel, Field

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


@gc_paused
def peer_comparison(ds: Dataset, *, as_of: date | str | None = None) -> Peers:
    """Percentile of each usage metric within segment and use case, with segment medians (30-day window).

    The metrics are the seat, adoption and trend numbers of the 30 days to as_of, read from `event_metrics` (the
    same numbers those tools report, from one scan)."""
    import pandas as pd

    day = resolve_as_of(ds, as_of)
    sem = resolve_semantics(ds)
    usage = event_metrics(ds, day, sem)
    info = ds.con.execute(account_source_sql(ds, ("name", "segment", "use_case"), day, everyone=True)).df()
    info["account_id"] = info["account_id"].astype(str)
    info = info.set_index("account_id").reindex(usage.index)
    use_cases = ds.has("accounts") and "use_case" in ds.columns("accounts")
    seats = usage["seats_purchased"]
    per_seat = usage["core_actions_30d"].astype(float) / seats.where(seats > 0)
    records = [
        {
            "account_id": acct,
            "name": text_or_none(name),
            "segment": text_or_none(segment),
            "use_case": text_or_none(use_case),
            "present_utilization": _nan(present),
            "adopted_utilization": _nan(adopted),
            "breadth": _nan(breadth),
            "core_actions_per_seat": rnd(_nan(core)),
            "core_mom": _nan(mom),
        }
        for acct, name, segment, use_case, present, adopted, breadth, core, mom in zip(
            usage.index,
            info["name"].tolist(),
            info["segment"].tolist(),
            info["use_case"].tolist(),
            usage["present_utilization"].tolist(),
            usage["adopted_utilization"].tolist(),
            usage["breadth"].tolist(),
            per_seat.tolist(),
            usage["core_trend"].tolist(),
            strict=True,
        )
    ]
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
