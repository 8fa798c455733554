"""Plain-text rendering of results for a terminal: readable at a glance, no colours needed."""

from __future__ import annotations

from collections.abc import Sequence

from customer_health.server.render.output import terminal_text
from customer_health.tools.base.formats import change, money, percent
from customer_health.tools.data.description import lifecycle_sentence
from customer_health.tools.data.workspace import LoadResult


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """A fixed-width text table; columns listed in `right` are right-aligned. Cells are measured as the terminal shows
    them: without the escape sequences and control characters a name from the data may carry."""
    cells = [[str(h) for h in headers]] + [
        ["" if v is None else terminal_text(str(v)) for v in r] for r in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        parts = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _mapping_text(columns: dict[str, str], extras: list[str], limit: int = 6) -> str:
    parts = [c if c == s else f"{c}←'{s}'" for c, s in columns.items()]
    text = ", ".join(parts[:limit]) + (f", +{len(parts) - limit} more" if len(parts) > limit else "")
    if extras:
        text += f"  (+{len(extras)} extra)"
    return text


def render_load(result: LoadResult) -> str:
    q = result.quality
    lines = [
        f"Dataset {result.dataset_id}: {len(result.tables)} table(s)"
        + (f", latest activity {q.latest_date}" if q.latest_date else "")
        + (f" ({q.age_days} days ago)" if q.age_days is not None else ""),
        "",
    ]
    rows = [
        (
            t.kind,
            t.source,
            f"{t.rows:,}",
            _mapping_text(t.columns, t.extra_columns),
            "cached" if t.cached else "",
        )
        for t in result.tables
    ]
    lines.append(table(["TABLE", "SOURCE", "ROWS", "COLUMNS (canonical←source)", ""], rows, right=[2]))
    if result.lifecycle:
        lines += ["", f"Lifecycle: {lifecycle_sentence(result.lifecycle, q.latest_date)}"]
    dated = [t for t in q.tables if t.date_min]
    if dated:
        lines += [
            "",
            table(
                ["SOURCE", "DATES", "FROM", "TO", "LEAST COMPLETE COLUMN"],
                [
                    (
                        t.source,
                        t.date_column,
                        t.date_min[:10],
                        t.date_max[:10],
                        _least_complete(t.completeness),
                    )
                    for t in dated
                ],
            ),
        ]
    warnings = sum(i.severity == "warning" for i in q.issues)
    notes = len(q.issues) - warnings
    head = f"Quality: {warnings} warning(s)" if warnings else "Quality: no problems found"
    lines += [
        "",
        head + (f"; {notes} note(s) on how the data was read or what it leaves out" if notes else ""),
    ]
    for issue in q.issues[:20]:
        example = f"  e.g. {'; '.join(issue.examples[:3])}" if issue.examples else ""
        lines.append(f"  ! {issue.message}{example}")
    if len(q.issues) > 20:
        lines.append(f"  … {len(q.issues) - 20} more (use --format json)")
    for skipped in q.skipped:
        lines.append(f"  - skipped {skipped}")
    if q.outcome_columns:
        lines += ["", "Outcome columns (used only to validate the score, never as inputs):"]
        lines += [f"  {c}" for c in q.outcome_columns]
    if q.semantics:
        s = q.semantics
        lines += [
            "",
            f"Product semantics ({s['source']}): {s['distinct_events']} distinct events",
            f"  core features: {', '.join(s['core_features']) or '—'}  [{s['core_features_source']}]",
            f"  passive events: {', '.join(s['passive_events']) or '—'}",
        ]
    return "\n".join(lines)


def _least_complete(completeness: dict[str, float]) -> str:
    if not completeness:
        return ""
    col, share = min(completeness.items(), key=lambda kv: (kv[1], kv[0]))
    return f"{col} {percent(share)}"


def head(result, extra: str = "") -> list[str]:
    lines = [result.summary]
    lines += [f"Note: {c}" for c in result.caveats]
    return lines + ([extra] if extra else []) + [""]


def limit_rows(rows: list, n: int = 40) -> tuple[list, str]:
    more = f"… {len(rows) - n} more accounts (use --format csv or json for all)" if len(rows) > n else ""
    return rows[:n], more


def render_seats(result) -> str:
    rows, more = limit_rows(result.accounts)
    body = table(
        [
            "ACCOUNT",
            "NAME",
            "SEGMENT",
            "SEATS",
            "PRESENT",
            "ADOPTED",
            "PRESENT %",
            "ADOPTED %",
            "FLAG",
            "PCTL",
        ],
        [
            (
                r.account_id,
                (r.name or "")[:28],
                r.segment or "",
                "—" if r.seats_purchased is None else int(r.seats_purchased),
                r.present_users,
                r.adopted_users,
                percent(r.present_utilization),
                percent(r.adopted_utilization),
                r.flag + (" / not adopted" if r.present_not_adopted else ""),
                percent(r.segment_percentile),
            )
            for r in rows
        ],
        right=[3, 4, 5, 6, 7, 9],
    )
    return "\n".join(
        head(result, f"Window: {result.window_days} days to {result.as_of}") + [body, more]
    ).rstrip()


def render_adoption(result) -> str:
    rows, more = limit_rows(result.accounts)
    body = table(
        ["ACCOUNT", "NAME", "BREADTH", "UNDER-USED (<30% of seats)", "TOP USER SHARE", "SPOF"],
        [
            (
                r.account_id,
                (r.name or "")[:28],
                percent(r.breadth),
                ", ".join(r.underused_features) or "—",
                percent(r.top1_share),
                "yes" if r.single_point_of_failure else "",
            )
            for r in rows
        ],
        right=[2, 4],
    )
    return "\n".join(
        head(result, f"Core features: {', '.join(result.core_features)}") + [body, more]
    ).rstrip()


def render_trends(result) -> str:
    rows, more = limit_rows(result.accounts)
    body = table(
        [
            "ACCOUNT",
            "NAME",
            "CORE 30D",
            "MOM CORE",
            "MOM PRESENT",
            "WOW CORE",
            "SLOPE 90D",
            "FLAG",
            "DIVERGENCE",
        ],
        [
            (
                r.account_id,
                (r.name or "")[:28],
                f"{r.last_30['core_actions']:,.0f}",
                change(r.mom["core_actions"]),
                change(r.mom["present_users"]),
                change(r.wow["core_actions"]),
                change(r.slopes["90"]),
                r.decline_flag or "",
                "logins flat, core down" if r.divergence else "",
            )
            for r in rows
        ],
        right=[2, 3, 4, 5, 6],
    )
    return "\n".join(head(result) + [body, more]).rstrip()


def render_cohorts(result) -> str:
    lines = head(result)
    for table_ in (result.logo, result.revenue, result.active_users):
        if table_ is None:
            continue
        months = max((len(r.values) for r in table_.rows), default=0)
        lines.append(f"{table_.metric.replace('_', ' ').capitalize()} — {table_.definition}")
        body = [
            (
                r.cohort + (" *" if r.low_confidence else ""),
                r.size,
                *[percent(v) for v in r.values],
                *[""] * (months - len(r.values)),
            )
            for r in table_.rows
        ]
        body.append(
            ("average", "", *[percent(v) for v in table_.average], *[""] * (months - len(table_.average)))
        )
        lines += [
            table(["COHORT", "N", *[f"M{i}" for i in range(months)]], body, right=list(range(1, months + 2))),
            "",
        ]
    if result.arr_tiers:
        lines.append("By ARR tier")
        lines += [
            table(
                ["TIER", "ACCOUNTS", "CHURNED", "LOGO RETENTION", "ARR", "NRR 12M"],
                [
                    (
                        t.tier + (" *" if t.low_confidence else ""),
                        t.accounts,
                        t.churned,
                        percent(t.logo_retention),
                        money(t.total_arr),
                        percent(t.revenue_retention_12m),
                    )
                    for t in result.arr_tiers
                ],
                right=[1, 2, 3, 4, 5],
            ),
            "",
        ]
    b = result.behavioural
    if b:
        lines.append(
            f"Activated ({b.activation_event} within {b.activation_days} days) vs not — "
            f"retention index {b.retention_index if b.retention_index is not None else '—'}"
            + (f" at month {b.index_month}" if b.index_month else "")
        )
        lines += [
            table(
                ["COHORT", "N", "M3", "M6", "M12"],
                [
                    (
                        c.cohort,
                        c.size,
                        percent(c.retention.get("3")),
                        percent(c.retention.get("6")),
                        percent(c.retention.get("12")),
                    )
                    for c in b.cohorts
                ],
                right=[1, 2, 3, 4],
            )
        ]
    lines.append("* fewer than 30 in the cohort: low confidence")
    return "\n".join(lines)


_ARROWS = {"up": "↑", "down": "↓", "flat": "→", None: " "}


def _stage(r) -> str:
    """'churned 2026-07-29', 'not yet a customer', 'onboarding', 'active'."""
    if r.stage == "not_yet_customer":
        return "not yet a customer"
    return f"churned {r.stage_since}" if r.stage == "churned" and r.stage_since else r.stage


def render_scores(result) -> str:
    rows, more = limit_rows(result.accounts)
    staged = any(r.status != "customer" for r in result.accounts)  # every account listed (--all-accounts)
    body = table(
        [
            "ACCOUNT",
            "NAME",
            "SCORE",
            "",
            "TIER",
            *(["STAGE"] if staged else []),
            "USAGE",
            "ENGAGE",
            "GROWTH",
            "SUPPORT",
            "FIN",
            "BIGGEST DRAG",
        ],
        [
            (
                r.account_id,
                (r.name or "")[:26],
                f"{r.health_score:.0f}",
                _ARROWS[r.trend],
                r.tier + (" (new)" if r.lifecycle == "onboarding" else ""),
                *([_stage(r)] if staged else []),
                *[
                    ("—" if r.components.get(c) is None else f"{r.components[c]:.0f}")
                    for c in ("usage", "engagement", "growth", "support", "financial")
                ],
                r.drivers[0].text[:60] if r.drivers else "",
            )
            for r in rows
        ],
        right=[2, 6, 7, 8, 9, 10] if staged else [2, 5, 6, 7, 8, 9],
    )
    return "\n".join(
        head(
            result,
            f"Profile: {result.profile}; tiers: thriving ≥{result.tiers['thriving']:g}, "
            f"healthy ≥{result.tiers['healthy']:g}, neutral ≥{result.tiers['neutral']:g}, "
            f"at risk ≥{result.tiers['at_risk']:g}, critical below",
        )
        + [body, more]
    ).rstrip()
