"""The dashboard's usage sections: seat utilization, core-feature adoption, cohort retention, the core workflow's
funnel. Each is built from one computation's result; one that the data cannot support raises InputError, which
the dashboard shows in the section's place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer_health.server.dashboard import charts as ch
from customer_health.server.dashboard.view import Section, num, table, txt
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.formats import percent
from customer_health.tools.usage.seats import GOOD_UTILIZATION, LOW_UTILIZATION

if TYPE_CHECKING:
    from customer_health.tools.usage.adoption import Adoption
    from customer_health.tools.usage.cohorts import CohortsResult
    from customer_health.tools.usage.funnel import FunnelResult
    from customer_health.tools.usage.seats import SeatUtilization

FLAGS = {
    "over_deployed": "over 100% (expansion signal)",
    "good": "75% and up",
    "ok": "50–75%",
    "low": "below 50%",
    "unknown_seats": "active, seats unknown",
    "no_activity": "no activity, seats unknown",
}


def seat_section(su: SeatUtilization, customers: set[str]) -> Section:

    rows = [r for r in su.accounts if r.account_id in customers]
    if all(r.present_utilization is None for r in rows):
        raise InputError(
            "no customer account has both seats purchased and a count of active users. "
            + " ".join(su.caveats),
            fix="Load product events and an accounts export with seats_purchased.",
        )
    bins = ch.utilization_bins(rows)
    flags = {f: sum(r.flag == f for r in rows) for f in FLAGS}
    gap = sum(r.present_not_adopted for r in rows)
    lead = (
        f"{len(rows)} customer accounts over the {su.window_days} days to {su.as_of}: {flags['low']} below 50% "
        f"seat utilization, {gap} present but not adopted (fewer than half their active users touch a core "
        f"feature), {flags['over_deployed']} with more active users than seats."
    )
    band_rows = [
        [txt(b), num(bins["present"][i]), num(bins["adopted"][i])] for i, b in enumerate(ch.UTILIZATION_BINS)
    ]
    flag_rows = [[txt(label, cls=f"flag {f}"), num(flags[f])] for f, label in FLAGS.items()]
    flag_rows.append([txt("present but not adopted"), num(gap)])
    return Section(
        key="seats",
        title="Seat utilization",
        lead=lead,
        chart=ch.render(
            "seats",
            "Accounts by seat utilization band",
            ch.seat_utilization,
            bins,
            LOW_UTILIZATION,
            GOOD_UTILIZATION,
        ),
        tables=[
            table("seat_flags", [("Present utilization", False), ("Accounts", True)], flag_rows),
            table(
                "seat_bands",
                [("Utilization", False), ("Present", True), ("Adopted", True)],
                band_rows,
                collapsed=True,
            ),
        ],
        caveats=su.caveats,
    )


def adoption_section(ad: Adoption, customers: set[str]) -> Section:
    rows = [r for r in ad.accounts if r.account_id in customers]
    levels = ch.adoption_levels(ad.core_features, rows)
    spof = sum(r.single_point_of_failure for r in rows)
    lead = (
        f"Core features across {len(rows)} customer accounts over the {ad.window_days} days to {ad.as_of}; "
        f"{spof} accounts rely on one user for 60% or more of their core work."
    )
    body = [
        [txt(f, "feature"), *(num(counts[k]) for k, _, _ in ch.ADOPTION_LEVELS)]
        for f, counts in levels.items()
    ]
    cols = [("Core feature", False)] + [(label, True) for _, label, _ in ch.ADOPTION_LEVELS]
    return Section(
        key="adoption",
        title="Core-feature adoption",
        lead=lead,
        chart=ch.render("adoption", "Accounts by core-feature adoption", ch.feature_adoption, levels),
        tables=[table("adoption", cols, body, "Accounts per core feature, by the share of seats using it.")],
        caveats=ad.caveats,
    )


def cohort_section(co: CohortsResult) -> Section:
    tables = [t for t in (co.logo, co.revenue, co.active_users) if t is not None and t.rows]
    if not tables:
        raise InputError("no signup-month cohorts could be formed.", fix="Add signup_date to the accounts.")
    details = []
    for t in tables:
        width = max(len(r.values) for r in t.rows)
        cols = [("Cohort", False), ("Size", True)] + [(f"m{m}", True) for m in range(width)]
        body = [
            [txt(r.cohort), num(r.size)]
            + [num(v, percent(v)) for v in r.values]
            + [txt("")] * (width - len(r.values))
            for r in t.rows
        ]
        body.append([txt("average"), txt("")] + [num(v, percent(v)) for v in t.average[:width]])
        more = f" The {len(t.rows)} most recent of {t.total_rows} cohorts." if t.truncated else ""
        details.append(table(f"cohort_{t.metric}", cols, body, t.definition + more, collapsed=True))
    return Section(
        key="cohorts",
        title="Cohort retention",
        lead=f"Signup-month cohorts as of {co.as_of}; {ch.LOW_N_MARK} marks cohorts of fewer than 30, (n) is the size.",
        chart=ch.render("cohorts", "Cohort retention heatmap", ch.cohort_heatmap, tables),
        tables=details,
        caveats=co.caveats,
    )


def funnel_section(name: str, f: FunnelResult, lookback_days: int) -> Section:
    title = f"Users through the {name} workflow (attempts of the last {lookback_days} days)"
    cols = [
        ("Step", False),
        ("Users", True),
        ("From start", True),
        ("From previous", True),
        ("Median hours", True),
    ]
    body = [
        [
            txt(s.step, "step"),
            num(s.users, f"{s.users:,}"),
            num(s.conversion_from_start, percent(s.conversion_from_start, 1)),
            num(s.conversion_from_previous, percent(s.conversion_from_previous, 1)),
            num(
                s.median_time_to_step_hours,
                "—" if s.median_time_to_step_hours is None else f"{s.median_time_to_step_hours:.2f}",
            ),
        ]
        for s in f.steps
    ]
    tables = [table("funnel", cols, body)]
    if f.breakdown:
        last = f.steps[-1].step
        brows = [
            [
                txt(g),
                num(st[0].users, f"{st[0].users:,}"),
                num(st[-1].users, f"{st[-1].users:,}"),
                num(st[-1].conversion_from_start, percent(st[-1].conversion_from_start, 1)),
            ]
            for g, st in f.breakdown.items()
        ]
        bcols = [
            (str(f.by).capitalize(), False),
            ("Started", True),
            (f"Reached {last}", True),
            ("Conversion", True),
        ]
        note = f"The {len(brows)} of {f.breakdown_total} with most starters." if f.breakdown_truncated else ""
        tables.append(table("funnel_by", bcols, brows, note))
    notes = [
        f"Broken step: {f.broken_step} — {f.evidence.explanation}"
        if f.broken_step
        else f.evidence.explanation
    ]
    return Section(
        key="funnel",
        title=f"Core workflow funnel: {name}",
        lead=f"Attempts started in the last {lookback_days} days, {f.window_days}-day conversion window. {f.summary}",
        chart=ch.render("funnel", title, ch.funnel, f.steps, f.broken_step, title),
        tables=tables,
        notes=notes,
        caveats=f.caveats,
    )
