"""The executive dashboard: one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched) and
the same charts as PNG files an MCP tool can hand back as images.

Every number comes from a computation in tools/ — portfolio summary, health scores, risk signals, seat
utilization, feature adoption, cohorts and the core workflow's funnel; this module only selects, counts into
chart bins and formats. A section whose inputs are missing says why instead of failing the whole dashboard.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from customer_health.server.dashboard.usage import (
    adoption_section,
    cohort_section,
    funnel_section,
    seat_section,
)
from customer_health.server.dashboard.view import (
    Section,
    View,
    health_section,
    kpis,
    renewal_section,
    risk_sections,
)
from customer_health.tools.base import bounds
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.health.profiles import Profile
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.reports.portfolio import portfolio_summary
from customer_health.tools.usage.adoption import feature_adoption
from customer_health.tools.usage.cohorts import compute_cohorts
from customer_health.tools.usage.funnel import DEFAULT_LOOKBACK_DAYS, compute_funnel
from customer_health.tools.usage.seats import seat_utilization
from pydantic import BaseModel, Field

HTML_NAME = "dashboard.html"
TEMPLATE = "dashboard.html.j2"
COHORTS = 12  # the most recent signup months: a year of cohorts reads at a glance


class DashboardFiles(BaseModel):
    html: Path = Field(description="The self-contained HTML dashboard.")
    charts: list[Path] = Field(description="PNG charts, one per section that could be drawn.")
    summary: str = Field(description="What was written, with the portfolio's headline numbers.")
    as_of: date
    html_bytes: int
    sections_missing: dict[str, str] = Field(
        default_factory=dict, description="Section → why it is not on the dashboard."
    )


def write_dashboard(
    ds: Dataset,
    out_dir: Path,
    *,
    as_of: date | str | None = None,
    profile: Profile | str | None = None,
    top_n: int = 25,
) -> DashboardFiles:
    """Write `dashboard.html` and one PNG per chart into `out_dir`; tables show at most `top_n` rows.

    Scores and risk are the analysis pipeline's for `as_of` and `profile` (default enterprise), the numbers every
    other view gives for them. Files are overwritten; a section's PNG from an earlier run is removed when this data
    cannot draw it.
    """
    bounds.check("top_n", top_n, bounds.TOP_N)
    analysis = analyze(ds, as_of=as_of, profile=profile)
    scores, risk = analysis.scores, analysis.risk
    day = scores.as_of
    portfolio = portfolio_summary(ds, as_of=as_of, scores=scores, profile=analysis.profile, top_n=top_n)
    customers = {a.account_id for a in scores.accounts if a.status == "customer"}
    sem = _semantics(ds)
    caveats = [*portfolio.caveats, *risk.caveats]
    sections: list[Section] = [health_section(portfolio, scores)]
    sections += risk_sections(portfolio, risk, top_n)
    sections.append(renewal_section(portfolio, risk))
    sections.append(
        _guarded("seats", "Seat utilization", lambda: seat_section(_seats(ds, day, sem), customers))
    )
    sections.append(
        _guarded(
            "adoption", "Core-feature adoption", lambda: adoption_section(_adoption(ds, day, sem), customers)
        )
    )
    sections.append(_guarded("cohorts", "Cohort retention", lambda: cohort_section(_cohorts(ds, day))))
    sections.append(
        _guarded("funnel", "Core workflow funnel", lambda: funnel_section(*_funnel(ds, day, sem)))
    )
    for s in sections:
        caveats += s.caveats
    view = View(
        title="Customer health dashboard",
        as_of=str(day),
        profile=scores.profile,
        summary=portfolio.summary,
        kpis=kpis(portfolio, risk),
        sections=sections,
        caveats=list(dict.fromkeys(caveats)),
    )
    return _write(view, Path(out_dir), day)


def _semantics(ds: Dataset):
    return resolve_semantics(ds) if ds.has("events") else None


def _seats(ds: Dataset, day: date, sem):
    return seat_utilization(ds, as_of=day, semantics=sem)


def _adoption(ds: Dataset, day: date, sem):
    if sem is None:
        ds.view("events")  # raises: adoption is measured on product events
    return feature_adoption(ds, as_of=day, semantics=sem)


def _cohorts(ds: Dataset, day: date):
    return compute_cohorts(ds, as_of=day, max_cohorts=COHORTS)


def _funnel(ds: Dataset, day: date, sem):
    """The first configured workflow, by role when roles are known: the same funnel as the account card's."""
    if sem is None:
        ds.view("events")
    if not sem.workflows:
        raise InputError(
            "no workflow is configured, so there is no core workflow to follow.",
            fix="List the core workflow's steps under workflows in customer-health.yaml.",
        )
    name, steps = next(iter(sem.workflows.items()))
    by = "role" if ds.has("users") and "role" in ds.columns("users") else None
    result = compute_funnel(ds, steps, as_of=day, by=by, lookback_days=DEFAULT_LOOKBACK_DAYS)
    return name, result, DEFAULT_LOOKBACK_DAYS


def _guarded(key: str, title: str, build) -> Section:
    """The section, or a placeholder naming what it lacks when the data cannot support it."""
    try:
        return build()
    except InputError as exc:
        return Section(key=key, title=title, missing=exc.message)


def _write(view: View, out: Path, day: date) -> DashboardFiles:
    out.mkdir(parents=True, exist_ok=True)
    pngs = []
    for s in view.sections:
        if s.chart is not None:
            path = out / f"{s.key}.png"
            path.write_bytes(s.chart.png)
            pngs.append(path)
        else:  # a chart left from an earlier run would contradict this dashboard
            (out / f"{s.key}.png").unlink(missing_ok=True)
    html = _render(view)
    path = out / HTML_NAME
    path.write_text(html, encoding="utf-8")
    size = path.stat().st_size
    missing = {s.key: s.missing for s in view.sections if s.missing}
    text = (
        f"Dashboard as of {day} written to {path} ({size / 1024:,.0f} KB) with {len(pngs)} PNG chart(s)."
        + (f" Not shown for lack of data: {', '.join(missing)}." if missing else "")
        + f" {view.summary}"
    )
    return DashboardFiles(
        html=path, charts=pngs, summary=text, as_of=day, html_bytes=size, sections_missing=missing
    )


def _render(view: View) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE).render(view=view)
