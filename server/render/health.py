"""Terminal views of the health-level results: funnel, risk signals, portfolio, validation and the account card."""

from __future__ import annotations

from customer_health.server.render.text import head, limit_rows, table
from customer_health.tools.base.formats import change, money, percent
from customer_health.tools.reports.portfolio import AT_RISK


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def _funnel_table(steps) -> str:
    return table(
        ["STEP", "USERS", "FROM START", "FROM PREVIOUS", "MEDIAN TIME"],
        [
            (
                s.step,
                s.users,
                percent(s.conversion_from_start),
                percent(s.conversion_from_previous),
                _hours(s.median_time_to_step_hours),
            )
            for s in steps
        ],
        right=[1, 2, 3, 4],
    )


def render_funnel(result) -> str:
    lines = head(result) + [_funnel_table(result.steps), ""]
    if result.broken_step:
        lines.append(f"Broken step: {result.broken_step}. Evidence ({result.evidence.pattern}):")
    lines.append(f"  {result.evidence.explanation}")
    if result.by:
        lines += ["", f"By {result.by} (up to 20 groups with the most starters):"]
        for group, steps in result.breakdown.items():
            lines.append(
                f"  {group}: "
                + " → ".join(f"{s.step} {s.users} ({percent(s.conversion_from_start)})" for s in steps)
            )
        if result.breakdown_truncated:
            lines.append(f"  … {result.breakdown_total - len(result.breakdown)} more groups (--format json)")
    return "\n".join(lines).rstrip()


def render_signals(result) -> str:
    listed = [a for a in result.accounts if a.priority != "ok"]
    rows, more = limit_rows(listed)
    body = table(
        [
            "ACCOUNT",
            "NAME",
            "PRIORITY",
            "RISK",
            "SCORE",
            "ARR",
            "RENEWS",
            "CSM",
            "SIGNALS",
            "NEXT ACTION",
            "OWNER",
            "SLA",
        ],
        [
            (
                a.account_id,
                (a.name or "")[:24],
                a.priority,
                a.risk_level,
                f"{a.health_score:.0f}",
                money(a.arr),
                f"{a.days_to_renewal} d" if a.days_to_renewal is not None else "",
                a.csm_owner or "",
                ", ".join(s.id for s in a.signals[:3]) + (" …" if len(a.signals) > 3 else ""),
                (a.next_action.action[:48] if a.next_action else ""),
                a.next_action.owner if a.next_action else "",
                a.next_action.sla if a.next_action else "",
            )
            for a in rows
        ],
        right=[4, 5, 6],
    )
    counts = ", ".join(f"{n} {lvl}" for lvl, n in result.risk_counts.items())
    priorities = ", ".join(f"{n} {p}" for p, n in result.priority_counts.items())
    lines = head(result, f"Priorities: {priorities} (accounts at ok are not listed). Risk levels: {counts}.")
    return "\n".join([*lines, body, more]).rstrip()


def render_portfolio(result) -> str:
    k = result.revenue_kpis
    lines = head(result)
    lines.append(
        f"Retention ({result.period.start} to {result.period.end}, from {k.source}): GRR {percent(k.grr)}, "
        f"NRR {percent(k.nrr)}, logo retention {percent(k.logo_retention)}, expansion {percent(k.expansion_rate)}."
    )
    line = result.at_risk_line
    lines.append(
        f"{result.customers} customers, ARR {money(result.total_arr)}; at risk (health < "
        f"{line.value if line else AT_RISK:g}): {money(result.at_risk_arr)} ({percent(result.at_risk_share)})."
        + (f" {line.basis}" if line else "")
    )
    lines += ["", "Health distribution:"]
    lines.append(
        table(
            ["TIER", "ACCOUNTS", "ARR", "SHARE OF ARR"],
            [(t.tier, t.accounts, money(t.arr), percent(t.arr_share)) for t in result.health_distribution],
            right=[1, 2, 3],
        )
    )
    for key, renewals in result.renewals.items():
        days = key.split("_")[-1]
        lines += [
            "",
            f"Renewals in the next {days} days with health < 60: {renewals.count} ({money(renewals.arr)})",
        ]
        lines += [_account_lines(renewals.accounts)] if renewals.accounts else []
    red = result.top_red_accounts
    lines += ["", f"At-risk and critical customers: {red.count} ({money(red.arr)}), largest first:"]
    lines += [_account_lines(red.accounts)] if red.accounts else []
    for title, breakdown in (("segment", result.by_segment), ("CSM owner", result.by_owner)):
        if breakdown.rows:
            lines += ["", f"By {title}:"]
            lines.append(
                table(
                    ["GROUP", "ACCOUNTS", "ARR", "MEAN HEALTH", "AT-RISK ARR"],
                    [
                        (
                            g.group,
                            g.accounts,
                            money(g.arr),
                            "—" if g.mean_health is None else f"{g.mean_health:.0f}",
                            money(g.at_risk_arr),
                        )
                        for g in breakdown.rows
                    ],
                    right=[1, 2, 3, 4],
                )
            )
    return "\n".join(lines).rstrip()


def _account_lines(accounts) -> str:
    return table(
        ["ACCOUNT", "NAME", "ARR", "SCORE", "RENEWAL", "BIGGEST DRAG"],
        [
            (
                a.account_id,
                (a.name or "")[:24],
                money(a.arr),
                f"{a.health_score:.0f}",
                str(a.renewal_date or "—"),
                (a.driver or "")[:60],
            )
            for a in accounts
        ],
        right=[2, 3],
    )


def render_validation(result) -> str:
    lines = head(result)
    base = result.baseline
    lines.append(
        table(
            ["MEASURE", f"{result.profile.upper()} PROFILE", "LOGINS ONLY"],
            [
                ("AUC", _num(result.auc), _num(base.auc if base else None)),
                (
                    "top-decile lift",
                    _num(result.top_decile_lift),
                    _num(base.top_decile_lift if base else None),
                ),
                (f"precision (score < {result.flag_threshold:g})", percent(result.precision), ""),
                (f"recall (score < {result.flag_threshold:g})", percent(result.recall), ""),
                ("surprise churn (lost, scored > 60)", percent(result.surprise_churn_rate), ""),
                ("false alarms (flagged, kept)", percent(result.false_alarm_rate), ""),
            ],
        )
    )
    lines += ["", f"{result.n_accounts} renewals evaluated, {result.n_churned} lost. Calibration by decile:"]
    lines.append(
        table(
            ["DECILE", "N", "SCORES", "LOST", "PREDICTED", "LIFT"],
            [
                (
                    c.decile,
                    c.n,
                    f"{c.min_score:.0f}–{c.max_score:.0f}",
                    percent(c.observed_rate),
                    percent(c.predicted_rate),
                    _num(c.lift),
                )
                for c in result.calibration
            ],
            right=[1, 3, 4, 5],
        )
    )
    t = result.threshold_choice
    lines += [
        "",
        f"Recommended threshold: flag below {result.recommended_threshold} (cost {t.expected_cost:g} with "
        f"false positive = {result.fp_cost:g}, false negative = {result.fn_cost:g}; "
        f"{t.cost_at_flag_threshold:g} at the current line).",
        "Suggested weights: "
        + ", ".join(f"{c} {w:g}" for c, w in result.suggested_weights.items())
        + f" (current: {', '.join(f'{c} {w:g}' for c, w in result.weight_fit.current_weights.items())}).",
    ]
    if getattr(result, "priorities", None):
        b = result.priorities
        lines += ["", f"Call-list priority on each backtest date ({percent(b.base_rate)} lost overall):"]
        lines.append(
            table(
                ["PRIORITY", "RENEWALS", "SHARE", "LOST", "CHURN RATE", "PRECISION ≥", "RECALL ≥"],
                [
                    (
                        lv.priority,
                        lv.renewals,
                        percent(lv.share),
                        lv.lost,
                        percent(lv.churn_rate),
                        percent(lv.precision_at_or_above),
                        percent(lv.recall_at_or_above),
                    )
                    for lv in b.levels
                ],
                right=[1, 2, 3, 4, 5, 6],
            )
        )
    return "\n".join(lines).rstrip()


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render_account(card) -> str:
    s = card.score
    lines = head(card)
    lines.append(card.one_sentence)
    profile = ", ".join(f"{k}: {v}" for k, v in card.profile.items() if v is not None and k != "name")
    lines += [profile, ""]
    lines.append(
        "Components: "
        + ", ".join(f"{c} {'—' if v is None else f'{v:.0f}'}" for c, v in s.components.items())
        + f" (weight coverage {percent(s.weight_coverage)})"
    )
    lines.append("Drivers, biggest drag first:")
    lines += [f"  −{d.lost:.1f} pts  {d.text}" for d in s.drivers[:6]]
    if card.seats is not None:
        st = card.seats
        lines.append(
            f"Seats: {st.present_users} present, {st.adopted_users} using a core feature"
            + (f" of {st.seats_purchased:.0f} purchased" if st.seats_purchased else "")
            + f" ({percent(st.adopted_utilization)} adopted)."
        )
    if card.trend is not None:
        mom = card.trend.mom
        lines.append(
            f"Trend, last 30 days vs the 30 before: core actions {change(mom['core_actions'])}, "
            f"active users {change(mom['present_users'])}."
        )
    if card.funnel:
        f = card.funnel
        lines += ["", f"Workflow '{f['workflow']}' (last 90 days):"]
        lines += [
            "  "
            + " → ".join(f"{st['step']} {st['users']}" for st in f["steps"])
            + (f"; broken step: {f['broken_step']}" if f.get("broken_step") else "")
        ]
    if card.risk:
        r = card.risk
        lines += [
            "",
            f"Risk: {r['risk_level']}. Signals: " + (", ".join(x["id"] for x in r["signals"]) or "none"),
        ]
        if r.get("next_action"):
            a = r["next_action"]
            lines.append(f"Next action: {a['action']} (owner {a['owner']}, within {a['sla']}).")
    return "\n".join(lines).rstrip()


def render_workflows(result) -> str:
    lines = head(result)
    lines.append(
        table(
            ["WORKFLOW", "TARGET USERS", "COMPLETED", "SHARE", "PER USER-WEEK", "TARGET", "MOST STOP AT"],
            [
                (
                    w.workflow,
                    w.target_users,
                    w.completers,
                    percent(w.completion_rate),
                    "—" if w.completions_per_user_week is None else f"{w.completions_per_user_week:.2f}",
                    f"{w.target_per_week:g}",
                    w.stop_step or "—",
                )
                for w in result.totals
            ],
            right=[1, 2, 3, 4, 5],
        )
    )
    rows, more = limit_rows(result.accounts)
    lines += ["", "Accounts, worst first:"]
    lines.append(
        table(
            ["ACCOUNT", "NAME", "WORKFLOW", "COMPLETED", "SHARE", "PER USER-WEEK", "MOST STOP AT"],
            [
                (
                    a.account_id,
                    (a.name or "")[:24],
                    w.workflow,
                    f"{w.completers}/{w.target_users}",
                    percent(w.completion_rate),
                    "—" if w.completions_per_user_week is None else f"{w.completions_per_user_week:.2f}",
                    w.stop_step or "—",
                )
                for a in rows
                for w in a.workflows
            ],
            right=[3, 4, 5],
        )
    )
    return "\n".join([*lines, more]).rstrip()
