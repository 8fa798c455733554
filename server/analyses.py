"""Every analysis declared once: its parameters (name, type, bounds, default, help), its computation, its result
model and how each face shows it. The CLI subcommands (server/cli) and the MCP tools (server/mcp) are generated from
these declarations, so a parameter, a bound or a default cannot differ between faces: adding a parameter is one
`Param(...)` in the analysis's `params` and one keyword in its `run`.

Each analysis has one name (the CLI command); `tool` is the verb-first name the MCP server registers it under.

Declaring costs nothing: the computations, result models and renderers are named here ("module:name", or imported
inside the `run` function) and imported only when an analysis runs, so building the command line imports neither
pandas nor DuckDB nor any analysis (a warm CLI call pays only for the one it runs).
"""

from __future__ import annotations

import argparse
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from customer_health.tools.base import bounds

if TYPE_CHECKING:
    from customer_health.tools.data.dataset import Dataset
    from customer_health.tools.health.fit import FitResult
    from customer_health.tools.health.score import HealthScores
    from customer_health.tools.reports.account import AccountCard
    from customer_health.tools.reports.evidence import ValidationReport
    from customer_health.tools.reports.portfolio import Portfolio
    from customer_health.tools.risk.signals import RiskSignals
    from customer_health.tools.usage.adoption import Adoption
    from customer_health.tools.usage.cohorts import CohortsResult
    from customer_health.tools.usage.funnel import FunnelResult
    from customer_health.tools.usage.seats import SeatUtilization
    from customer_health.tools.usage.trends import Trends
    from customer_health.tools.usage.workflows import Workflows
    from pydantic import BaseModel

# Two values a parameter needs before any computation is imported; tests/server/test_analyses.py checks that they
# equal the computations' own (customer_health.tools.risk.priority.Priority, tools.usage.funnel.DEFAULT_LOOKBACK_DAYS).
Priority = Literal["urgent", "high", "watch", "ok"]
FUNNEL_LOOKBACK_DAYS = 90

FACES = frozenset({"cli", "mcp"})


@dataclass(frozen=True)
class Param:
    """One parameter of an analysis, for every face: an MCP argument named `name`, a CLI flag (`--name-with-dashes`
    unless `flag` says otherwise), and a keyword of the analysis's `run`."""

    name: str
    type: Any  # int, float, str, bool (a CLI switch, default False), list[str] or a Literal
    help: str
    default: Any = None
    bounds: tuple[int, int] | None = None
    gt: float | None = None
    min_items: int | None = None
    required: bool = False
    flag: str | None = None
    metavar: str | None = None
    faces: frozenset[str] = FACES

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def annotation(self) -> Any:
        """The MCP argument's type: the SDK builds the input schema and validates calls from it."""
        from pydantic import Field

        limits: dict[str, Any] = {}
        if self.bounds:
            limits.update(ge=self.bounds[0], le=self.bounds[1])
        if self.gt is not None:
            limits["gt"] = self.gt
        if self.min_items:
            limits["min_length"] = self.min_items
        kind = self.type if self.required or self.default is not None else self.type | None
        return Annotated[kind, Field(description=self.help, **limits)]

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """The CLI flag: same bounds and default as the MCP argument; a bad value exits 2 naming the flag."""
        kwargs: dict[str, Any] = {"dest": self.name, "help": self.help, "required": self.required}
        if self.type is bool:  # a switch: off unless given
            parser.add_argument(self.cli_flag, action="store_true", **kwargs)
            return
        if self.default is not None:
            kwargs["default"] = self.default
            kwargs["help"] += f" (default {self.default})."
        if get_origin(self.type) is Literal:
            kwargs["choices"] = list(get_args(self.type))
        else:
            kwargs["type"] = self.parse
            kwargs["metavar"] = self.metavar or ("N" if self.type in (int, float) else self.name.upper())
        parser.add_argument(self.cli_flag, **kwargs)

    def parse(self, text: str) -> Any:
        """A CLI value checked as the MCP schema checks it."""
        if self.type is str:
            return text
        if self.type == list[str]:
            items = [s.strip() for s in text.split(",") if s.strip()]
            if self.min_items and len(items) < self.min_items:
                raise argparse.ArgumentTypeError(f"give at least {self.min_items}, separated by commas")
            return items
        try:
            value = self.type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a{'n integer' if self.type is int else ' number'}"
            ) from None
        if self.bounds and not self.bounds[0] <= value <= self.bounds[1]:
            raise argparse.ArgumentTypeError(
                f"must be between {self.bounds[0]} and {self.bounds[1]} (got {text})"
            )
        if self.gt is not None and not value > self.gt:
            raise argparse.ArgumentTypeError(f"must be more than {self.gt:g} (got {text})")
        return value


@dataclass(frozen=True)
class Inputs:
    """What an analysis runs on: the current dataset, and a way to load one more export under the allowed folders
    (an outcomes file beside the data)."""

    ds: Dataset
    load: Callable[[str], Dataset]
    outputs: Path | None = None  # where this face keeps what an analysis writes (MCP: the session's outputs)


Ref = str  # "package.module:name", imported on first use


@functools.cache
def resolve(ref: Ref) -> Any:
    """What a "module:name" reference names, imported the first time it is asked for."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Analysis:
    """One analysis, for every face. `rows` are the lists the conversation view shortens to fit its budget (the main
    table first; `total_rows` counts it); `trim` keeps nested lists short there (`"accounts.drivers": 3`: each
    account's three biggest drivers), while the CLI and the full table show everything.

    `run` imports its computation when called; the result model (`model_at`), the text renderer (`text_at`) and the
    flat rows (`table_at`) are references ("module:name") or callables, resolved on first use (`model`, `text`,
    `table`)."""

    name: str
    tool: str
    help: str
    params: tuple[Param, ...]
    run: Callable[..., BaseModel]
    model_at: Ref
    text_at: Ref | Callable[[Any], str]
    table_at: Ref | Callable[[Any], list[dict]] | None = None
    rows: tuple[str, ...] = ("accounts",)
    trim: dict[str, int] = field(default_factory=dict)
    writes: bool = False  # it writes a file (MCP: not a read-only tool)

    @property
    def model(self) -> type[BaseModel]:
        return resolve(self.model_at)

    @property
    def text(self) -> Callable[[Any], str]:
        return resolve(self.text_at) if isinstance(self.text_at, str) else self.text_at

    @property
    def table(self) -> Callable[[Any], list[dict]] | None:
        return resolve(self.table_at) if isinstance(self.table_at, str) else self.table_at

    def arguments(self, given: dict[str, Any], face: str) -> dict[str, Any]:
        """The keywords for `run`: what the face was given for its parameters, defaults for the others."""
        return {p.name: given.get(p.name, p.default) if face in p.faces else p.default for p in self.params}

    def table_rows(self, result: BaseModel) -> list[dict]:
        """The whole result as flat rows (CSV output and the MCP full table)."""
        if self.table is not None:
            return self.table(result)
        main = getattr(result, self.rows[0]) if self.rows else []
        return [r.model_dump(mode="json") for r in main]


# --- parameters shared by several analyses -------------------------------------------------------------------------
AS_OF = Param(
    "as_of", str, "YYYY-MM-DD; default: the latest activity date in the data (never today).", metavar="DATE"
)
PROFILE = Param(
    "profile",
    str,
    "Health profile: self_serve, enterprise (default), usage_based, high_touch, or a profile YAML file.",
    metavar="NAME|FILE",
)
ACCOUNT = Param("account_id", str, "Only this account (its id or name).", flag="--account", metavar="ID")
WINDOW = Param(
    "window_days", int, "Days in the window ending at as_of", default=30, bounds=bounds.WINDOW_DAYS
)
ALL_ACCOUNTS = Param(
    "include_all",
    bool,
    "List every account with its lifecycle stage (not yet a customer, onboarding, active, churned), not only the "
    "customers on as_of",
    default=False,
    flag="--all-accounts",
)
OWNER = Param(
    "owner", str, "Only the accounts this CSM owns (the name as the data writes it).", metavar="NAME"
)
SEGMENT = Param("segment", str, "Only the accounts of this segment.", metavar="SEGMENT")
PRIORITY = Param(
    "priority",
    Priority,
    "Only the customers at this priority: urgent, high, watch or ok (health tier and risk reconciled).",
)
OUTCOMES = Param("outcomes", str, "A renewal-outcomes file, if not among the loaded exports.", metavar="FILE")
HORIZON = Param("horizon_days", int, "Lead time before each outcome", default=90, bounds=bounds.HORIZON_DAYS)
DASHBOARD_TOP = Param("top_n", int, "Rows per dashboard table", default=25, bounds=bounds.TOP_N, flag="--top")


# --- the analyses --------------------------------------------------------------------------------------------------
def _score(
    inputs: Inputs,
    *,
    profile: str | None,
    as_of: str | None,
    include_all: bool,
    owner: str | None,
    segment: str | None,
    priority: str | None,
) -> HealthScores:
    from customer_health.tools.reports.pipeline import analyze
    from customer_health.tools.risk.priority import filter_accounts

    result = analyze(inputs.ds, as_of=as_of, profile=profile, everyone=include_all)
    by_id = {a.account_id: a.priority for a in result.risk.accounts}
    return filter_accounts(result.scores, owner=owner, segment=segment, priority=priority, priorities=by_id)


def _signals(
    inputs: Inputs,
    *,
    profile: str | None,
    as_of: str | None,
    owner: str | None,
    segment: str | None,
    priority: str | None,
) -> RiskSignals:
    from customer_health.tools.reports.pipeline import analyze
    from customer_health.tools.risk.priority import filter_accounts

    risk = analyze(inputs.ds, as_of=as_of, profile=profile).risk
    return filter_accounts(risk, owner=owner, segment=segment, priority=priority)


def _portfolio(
    inputs: Inputs, *, period_months: int, top_n: int, profile: str | None, as_of: str | None
) -> Portfolio:
    from customer_health.tools.reports.portfolio import portfolio_summary

    return portfolio_summary(
        inputs.ds, as_of=as_of, profile=profile, period_months=period_months, top_n=top_n
    )


def _account(inputs: Inputs, *, account_id: str, profile: str | None, as_of: str | None) -> AccountCard:
    from customer_health.tools.reports.account import account_card

    return account_card(inputs.ds, account_id, as_of=as_of, profile=profile)


def _seats(inputs: Inputs, *, window_days: int, as_of: str | None, include_all: bool) -> SeatUtilization:
    from customer_health.tools.usage.seats import seat_utilization

    return seat_utilization(inputs.ds, window_days=window_days, as_of=as_of, everyone=include_all)


def _adoption(inputs: Inputs, *, window_days: int, as_of: str | None, include_all: bool) -> Adoption:
    from customer_health.tools.usage.adoption import feature_adoption

    return feature_adoption(inputs.ds, window_days=window_days, as_of=as_of, everyone=include_all)


def _trends(
    inputs: Inputs, *, account_id: str | None, weeks: int, as_of: str | None, include_all: bool
) -> Trends:
    from customer_health.tools.usage.trends import usage_trends

    return usage_trends(inputs.ds, as_of=as_of, weeks=weeks, account=account_id, everyone=include_all)


def _workflows(inputs: Inputs, *, weeks: int, as_of: str | None, include_all: bool) -> Workflows:
    from customer_health.tools.usage.workflows import workflow_completion

    return workflow_completion(inputs.ds, as_of=as_of, weeks=weeks, everyone=include_all)


def _funnel(
    inputs: Inputs,
    *,
    steps: list[str],
    window_days: int,
    by: str | None,
    account_id: str | None,
    role: str | None,
    lookback_days: int | None,
    as_of: str | None,
) -> FunnelResult:
    from customer_health.tools.usage.funnel import compute_funnel

    return compute_funnel(
        inputs.ds,
        steps,
        window_days=window_days,
        as_of=as_of,
        lookback_days=lookback_days or None,
        account=account_id,
        role=role,
        by=by,
    )


def _cohorts(
    inputs: Inputs, *, months: int, activation_event: str | None, as_of: str | None
) -> CohortsResult:
    from customer_health.tools.usage.cohorts import compute_cohorts

    return compute_cohorts(inputs.ds, as_of=as_of, max_months=months, activation_event=activation_event)


def _validate(
    inputs: Inputs,
    *,
    outcomes: str | None,
    cutoff: str | None,
    horizon_days: int,
    profile: str | None,
    fp_cost: float,
    fn_cost: float,
) -> ValidationReport:
    from customer_health.tools.health.validation import outcomes_frame
    from customer_health.tools.reports.evidence import validate_with_priorities

    frame = outcomes_frame(inputs.load(outcomes), outcomes) if outcomes else None
    return validate_with_priorities(
        inputs.ds,
        cutoff=cutoff,
        horizon_days=horizon_days,
        profile=profile,
        fp_cost=fp_cost,
        fn_cost=fn_cost,
        outcomes_path_frame=frame,
    )


def _fit(
    inputs: Inputs, *, outcomes: str | None, horizon_days: int, profile: str | None, out: str
) -> FitResult:
    """Writes only under the working directory and CUSTOMER_HEALTH_ALLOW (in MCP: the session's outputs folder, where
    a relative `out` goes), never into the bundled example."""
    from customer_health.tools.data.workspace import AllowedRoots, example_dir
    from customer_health.tools.health.fit import fit_health_profile
    from customer_health.tools.health.validation import outcomes_frame

    frame = outcomes_frame(inputs.load(outcomes), outcomes) if outcomes else None
    bundled = example_dir().parent.resolve()
    allowed = [r for r in AllowedRoots.from_env().roots if r != bundled]
    if inputs.outputs is not None:
        allowed = [inputs.outputs, *allowed]
        out = str(inputs.outputs / out) if not Path(out).is_absolute() else out
    return fit_health_profile(
        inputs.ds,
        horizon_days=horizon_days,
        expert=profile,
        outcomes_path_frame=frame,
        out=out,
        allowed=allowed,
    )


def _card_table(card: AccountCard) -> list[dict]:
    from customer_health.server.render.rows import card_row

    return [card_row(card)]


ANALYSES: tuple[Analysis, ...] = (
    Analysis(
        name="score",
        tool="score_accounts",
        help="Health score 0–100 (high = healthy) per account, worst first, with its components, drivers and "
        "next action.",
        params=(PROFILE, AS_OF, ALL_ACCOUNTS, OWNER, SEGMENT, PRIORITY),
        run=_score,
        model_at="customer_health.tools.health.score:HealthScores",
        text_at="customer_health.server.render.text:render_scores",
        table_at="customer_health.server.render.rows:score_rows",
        trim={"accounts.drivers": 3, "accounts.signals": 3},
    ),
    Analysis(
        name="signals",
        tool="risk_signals",
        help="Risk signals per customer, the combined risk level, one priority (urgent, high, watch, ok) with its "
        "reasons and one next action (owner, SLA), in call-list order: priority, ARR, days to renewal.",
        params=(PROFILE, AS_OF, OWNER, SEGMENT, PRIORITY),
        run=_signals,
        model_at="customer_health.tools.risk.signals:RiskSignals",
        text_at="customer_health.server.render.health:render_signals",
        table_at="customer_health.server.render.rows:signal_rows",
        trim={"accounts.signals": 3},
    ),
    Analysis(
        name="portfolio",
        tool="portfolio_summary",
        help="Portfolio KPIs: GRR, NRR, logo retention, health by ARR, at-risk ARR, renewals due with low health.",
        params=(
            Param(
                "period_months",
                int,
                "Retention period in months",
                default=12,
                bounds=bounds.PERIOD_MONTHS,
                flag="--months",
            ),
            Param("top_n", int, "Accounts listed per table", default=10, bounds=bounds.TOP_N, flag="--top"),
            PROFILE,
            AS_OF,
        ),
        run=_portfolio,
        model_at="customer_health.tools.reports.portfolio:Portfolio",
        text_at="customer_health.server.render.health:render_portfolio",
        table_at="customer_health.server.render.rows:portfolio_rows",
        rows=("top_red_accounts.accounts", "renewals.next_90.accounts", "renewals.next_60.accounts"),
    ),
    Analysis(
        name="account",
        tool="get_account_card",
        help="One account: score and drivers, seats, adoption, trend, personas, peers, workflow funnel, risk, "
        "summary.",
        params=(
            Param(
                "account_id",
                str,
                "The account: its id, its name, or a unique part of the name.",
                required=True,
                flag="--id",
                metavar="ACCOUNT_ID",
            ),
            PROFILE,
            AS_OF,
        ),
        run=_account,
        model_at="customer_health.tools.reports.account:AccountCard",
        text_at="customer_health.server.render.health:render_account",
        table_at=_card_table,
        rows=(),
        trim={"score.drivers": 8},
    ),
    Analysis(
        name="seats",
        tool="seat_utilization",
        help="Seat utilization per account: present users (any event) and adopted users (a core feature) ÷ seats "
        "purchased, worst first.",
        params=(WINDOW, AS_OF, ALL_ACCOUNTS),
        run=_seats,
        model_at="customer_health.tools.usage.seats:SeatUtilization",
        text_at="customer_health.server.render.text:render_seats",
    ),
    Analysis(
        name="adoption",
        tool="feature_adoption",
        help="Core-feature breadth and depth per account, under-used features, and how concentrated the work is.",
        params=(WINDOW, AS_OF, ALL_ACCOUNTS),
        run=_adoption,
        model_at="customer_health.tools.usage.adoption:Adoption",
        text_at="customer_health.server.render.text:render_adoption",
    ),
    Analysis(
        name="trends",
        tool="usage_trends",
        help="Weekly present users, adopted users and core actions; WoW/MoM change, slopes and decline flags.",
        params=(
            ACCOUNT,
            Param("weeks", int, "Weeks in the series", default=13, bounds=bounds.TREND_WEEKS),
            AS_OF,
            ALL_ACCOUNTS,
        ),
        run=_trends,
        model_at="customer_health.tools.usage.trends:Trends",
        text_at="customer_health.server.render.text:render_trends",
    ),
    Analysis(
        name="workflows",
        tool="workflow_completion",
        help="Per account and workflow: target users who completed it, how often vs target, where the rest stop.",
        params=(
            Param("weeks", int, "Weeks to look back", default=4, bounds=bounds.WORKFLOW_WEEKS),
            AS_OF,
            ALL_ACCOUNTS,
        ),
        run=_workflows,
        model_at="customer_health.tools.usage.workflows:Workflows",
        text_at="customer_health.server.render.health:render_workflows",
        table_at="customer_health.server.render.rows:workflow_rows",
    ),
    Analysis(
        name="funnel",
        tool="analyze_funnel",
        help="Users reaching each step of a workflow in order, conversions, median step times, the broken step "
        "and the evidence why.",
        params=(
            Param(
                "steps",
                list[str],
                "Two or more event names, in order.",
                min_items=2,
                required=True,
                metavar="A,B,C",
            ),
            Param(
                "window_days",
                int,
                "Days allowed from step 1 to the last",
                default=14,
                bounds=bounds.FUNNEL_WINDOW_DAYS,
            ),
            Param(
                "by",
                Literal["role", "segment", "account"],
                "Break the funnel down by role, segment or account.",
            ),
            ACCOUNT,
            Param("role", str, "Only users with this role.", metavar="ROLE"),
            Param(
                "lookback_days",
                int,
                "Only funnels started in the last N days; 0 for all history",
                default=FUNNEL_LOOKBACK_DAYS,
                bounds=(0, bounds.LOOKBACK_DAYS[1]),
            ),
            AS_OF,
        ),
        run=_funnel,
        model_at="customer_health.tools.usage.funnel:FunnelResult",
        text_at="customer_health.server.render.health:render_funnel",
        table_at="customer_health.server.render.rows:funnel_rows",
        rows=("steps",),
    ),
    Analysis(
        name="cohorts",
        tool="cohort_retention",
        help="Retention by signup-month cohort (logos, revenue, active users), by ARR tier, and activated vs not.",
        params=(
            Param("months", int, "Months since signup to show", default=12, bounds=bounds.COHORT_MONTHS),
            Param(
                "activation_event",
                str,
                "The activation milestone event.",
                flag="--activation",
                metavar="EVENT",
            ),
            AS_OF,
        ),
        run=_cohorts,
        model_at="customer_health.tools.usage.cohorts:CohortsResult",
        text_at="customer_health.server.render.text:render_cohorts",
        table_at="customer_health.server.render.rows:cohort_rows",
        rows=("logo.rows", "active_users.rows", "revenue.rows"),
    ),
    Analysis(
        name="validate",
        tool="validate_health_model",
        help="Backtest the health score against renewal outcomes: AUC, lift, calibration, threshold, suggested "
        "weights.",
        params=(
            OUTCOMES,
            Param(
                "cutoff",
                str,
                "Score everyone as of this date (YYYY-MM-DD), before the outcomes.",
                metavar="DATE",
            ),
            HORIZON,
            PROFILE,
            Param("fp_cost", float, "Cost of a false alarm", default=1.0, gt=0, metavar="X"),
            Param("fn_cost", float, "Cost of a missed churn", default=5.0, gt=0, metavar="X"),
        ),
        run=_validate,
        model_at="customer_health.tools.reports.evidence:ValidationReport",
        text_at="customer_health.server.render.health:render_validation",
        table_at="customer_health.server.render.rows:validation_rows",
    ),
    Analysis(
        name="fit",
        tool="fit_health_profile",
        help="Learn a health profile from your own renewal history (regularised logistic regression on point-in-time "
        "metrics, cross-validated by time) and write it as a profile YAML for score --profile.",
        params=(
            OUTCOMES,
            HORIZON,
            Param(
                "profile",
                str,
                "The expert profile to compare with on held-out time (a preset or a profile YAML).",
                metavar="NAME|FILE",
            ),
            Param(
                "out",
                str,
                "Where to write the learned profile, under the working directory",
                default="learned-profile.yaml",
                metavar="FILE",
            ),
        ),
        run=_fit,
        model_at="customer_health.tools.health.fit:FitResult",
        writes=True,
        text_at=lambda r: r.summary + "".join(f"\n- {c}" for c in r.caveats),
        table_at=lambda r: [m.model_dump(mode="json") for m in r.metrics],
        rows=("metrics",),
    ),
)
BY_NAME = {a.name: a for a in ANALYSES}


__all__ = [
    "ACCOUNT",
    "ANALYSES",
    "AS_OF",
    "BY_NAME",
    "DASHBOARD_TOP",
    "OWNER",
    "PRIORITY",
    "PROFILE",
    "SEGMENT",
    "Analysis",
    "Inputs",
    "Param",
]
