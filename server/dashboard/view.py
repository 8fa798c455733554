"""What the dashboard template shows: KPI cards and sections of charts and tables, built from computed results.

Each cell keeps the computed value beside its formatted text (`data-v` in the HTML), so a reader or a test can
check the page against the computations. Nothing here computes a metric: it selects rows, counts flags into chart
bins, and formats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer_health.server.dashboard import charts as ch
from customer_health.tools.base.formats import money, percent
from customer_health.tools.reports.portfolio import AT_RISK, RENEWAL_RISK
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from customer_health.tools.health.score import HealthScores
    from customer_health.tools.reports.portfolio import AccountLine, Portfolio
    from customer_health.tools.risk.signals import AccountRisk, RiskSignals

URGENT = ("urgent", "high")  # the priorities on the call list


class Cell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    value: str | None = Field(None, description="The computed value behind the text (data-v).")
    cls: str = ""
    sub: str = Field("", description="A second, smaller line (an account id, days to renewal).")


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    headers: list[str]
    numeric: list[bool]
    rows: list[list[Cell]]
    note: str = ""
    collapsed: bool = Field(False, description="Shown under a 'the numbers' disclosure, below a chart.")


class Kpi(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    label: str
    text: str
    value: str | None
    detail: str = ""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    key: str
    title: str
    lead: str = ""
    chart: ch.Chart | None = None
    tables: list[Table] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    missing: str | None = Field(None, description="Why the section could not be built from this data.")


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    as_of: str
    profile: str
    summary: str
    kpis: list[Kpi]
    sections: list[Section]
    caveats: list[str]


def _v(value: object) -> str | None:
    return None if value is None else str(value)


def num(value: float | int | None, text: str | None = None, cls: str = "") -> Cell:
    if text is None:
        text = "—" if value is None else (f"{value:,}" if isinstance(value, int) else f"{value:g}")
    return Cell(text=text, value=_v(value), cls=cls)


def txt(value: object, cls: str = "") -> Cell:
    return Cell(text="—" if value is None else str(value), value=_v(value), cls=cls)


def table(key: str, columns: list[tuple[str, bool]], rows: list[list[Cell]], note: str = "", **kw) -> Table:
    return Table(
        key=key, headers=[c for c, _ in columns], numeric=[n for _, n in columns], rows=rows, note=note, **kw
    )


def shown(count: int, rows: int, what: str, order: str) -> str:
    if not count:
        return ""
    return (
        f"All {count} {what}, {order}." if rows >= count else f"The first {rows} of {count} {what}, {order}."
    )


def kpis(p: Portfolio, risk: RiskSignals) -> list[Kpi]:
    k, due = p.revenue_kpis, p.renewals["next_90"]
    months = f"over {p.period.months} months"
    return [
        Kpi(key="customers", label="Customers", text=f"{p.customers:,}", value=_v(p.customers)),
        Kpi(key="total_arr", label="Total ARR", text=money(p.total_arr), value=_v(p.total_arr)),
        Kpi(key="nrr", label="Net revenue retention", text=percent(k.nrr, 1), value=_v(k.nrr), detail=months),
        Kpi(
            key="grr", label="Gross revenue retention", text=percent(k.grr, 1), value=_v(k.grr), detail=months
        ),
        Kpi(
            key="logo_retention",
            label="Logo retention",
            text=percent(k.logo_retention, 1),
            value=_v(k.logo_retention),
            detail=f"{months}, from {k.source}",
        ),
        Kpi(
            key="at_risk_arr",
            label=f"At-risk ARR (health < {_at_risk_value(p):g})",
            text=money(p.at_risk_arr),
            value=_v(p.at_risk_arr),
            detail=f"{percent(p.at_risk_share, 1)} of ARR; {_line_source(p)}",
        ),
        Kpi(
            key="renewals_90",
            label=f"Renewing ≤ 90 days, health < {RENEWAL_RISK}",
            text=f"{due.count:,}",
            value=_v(due.count),
            detail=f"{money(due.arr)} ARR",
        ),
        Kpi(
            key="urgent",
            label="Urgent or high priority",
            text=f"{sum(risk.priority_counts[r] for r in URGENT):,}",
            value=_v(sum(risk.priority_counts[r] for r in URGENT)),
            detail=f"{risk.priority_counts['urgent']} urgent, {risk.priority_counts['high']} high",
        ),
    ]


def health_section(p: Portfolio, scores: HealthScores) -> Section:
    rows = [
        [
            txt(t.tier.replace("_", " "), cls=f"tier {t.tier}"),
            num(t.accounts),
            num(t.arr, money(t.arr)),
            num(t.arr_share, percent(t.arr_share, 1)),
        ]
        for t in p.health_distribution
    ]
    cols = [("Tier", False), ("Accounts", True), ("ARR", True), ("Share of ARR", True)]
    return Section(
        key="health",
        title="Health distribution",
        lead=scores.summary,
        chart=ch.render(
            "health", "ARR and accounts by health tier", ch.health_distribution, p.health_distribution
        ),
        tables=[table("tiers", cols, rows)],
    )


def _account(name: str | None, account_id: str) -> Cell:
    return Cell(text=name or account_id, value=account_id, cls="account", sub=account_id if name else "")


def _action(r: AccountRisk | None) -> list[Cell]:
    a = r.next_action if r else None
    return [txt(a.action if a else None, "action"), txt(a.owner if a else None), txt(a.sla if a else None)]


def _line(a: AccountLine, r: AccountRisk | None) -> list[Cell]:
    return [
        _account(a.name, a.account_id),
        txt(a.csm_owner),
        num(a.arr, money(a.arr)),
        num(a.health_score),
        num(r.previous_score if r else None),
        txt(a.tier.replace("_", " "), f"tier {a.tier}"),
        Cell(
            text=str(a.renewal_date or "—"),
            value=_v(a.renewal_date),
            sub=f"in {a.days_to_renewal} days" if a.days_to_renewal is not None else "",
            cls="date",
        ),
        txt(a.driver, "driver"),
        txt(r.risk_level if r else None, f"risk {r.risk_level if r else ''}"),
        *_action(r),
    ]


LINE_COLUMNS = [
    ("Account", False),
    ("CSM", False),
    ("ARR", True),
    ("Health", True),
    ("30 d ago", True),
    ("Tier", False),
    ("Renewal", False),
    ("Top driver", False),
    ("Risk", False),
    ("Next action", False),
    ("Action owner", False),
    ("SLA", False),
]


def risk_sections(p: Portfolio, risk: RiskSignals, top_n: int) -> list[Section]:
    by_id = {a.account_id: a for a in risk.accounts}
    red = p.top_red_accounts
    at_risk = Section(
        key="at_risk",
        title=f"At-risk accounts (health below {_at_risk_value(p):g})",
        lead=f"{red.count} customers, {money(red.arr)} ARR. {p.at_risk_line.basis if p.at_risk_line else ''}".strip()
        if red.count
        else f"No customer scores below {_at_risk_value(p):g}.",
        tables=[
            table(
                "at_risk",
                LINE_COLUMNS,
                [_line(a, by_id.get(a.account_id)) for a in red.accounts],
                shown(red.count, len(red.accounts), "accounts", "largest ARR first"),
            )
        ],
    )
    urgent = [a for a in risk.accounts if a.priority in URGENT]
    rows = [
        [
            _account(a.name, a.account_id),
            txt(a.csm_owner),
            num(a.arr, money(a.arr)),
            num(a.days_to_renewal, None if a.days_to_renewal is None else f"{a.days_to_renewal:,} d"),
            num(a.health_score),
            txt(a.priority, f"risk {a.priority}"),
            num(len(a.signals)),
            txt(a.signals[0].evidence if a.signals else None, "driver"),
            *_action(a),
        ]
        for a in urgent[:top_n]
    ]
    cols = [
        ("Account", False),
        ("CSM", False),
        ("ARR", True),
        ("Renews in", True),
        ("Health", True),
        ("Priority", False),
        ("Signals", True),
        ("Strongest signal", False),
        ("Next action", False),
        ("Action owner", False),
        ("SLA", False),
    ]
    signals = Section(
        key="urgent",
        title="Call list: urgent and high priority",
        lead=risk.summary,
        tables=[
            table(
                "urgent",
                cols,
                rows,
                shown(
                    len(urgent),
                    len(rows),
                    "accounts at urgent or high priority",
                    "priority first, then ARR, then the soonest renewal",
                ),
            )
        ],
    )
    return [at_risk, signals]


def renewal_section(p: Portfolio, risk: RiskSignals) -> Section:
    by_id = {a.account_id: a for a in risk.accounts}
    due = p.renewals["next_90"]
    return Section(
        key="renewals",
        title=f"Renewals in the next 90 days with health below {RENEWAL_RISK}",
        lead=f"{due.count} accounts, {money(due.arr)} ARR."
        if due.count
        else f"None due with health below {RENEWAL_RISK}.",
        tables=[
            table(
                "renewals",
                LINE_COLUMNS,
                [_line(a, by_id.get(a.account_id)) for a in due.accounts],
                shown(due.count, len(due.accounts), "accounts", "largest ARR first"),
            )
        ],
    )


def _at_risk_value(p: Portfolio) -> float:
    return p.at_risk_line.value if p.at_risk_line else AT_RISK


def _line_source(p: Portfolio) -> str:
    if p.at_risk_line and p.at_risk_line.source == "backtest":
        return "line from the renewal backtest"
    return "line from the seed's bands (no outcomes to test it)"
