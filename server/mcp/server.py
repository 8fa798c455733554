"""The MCP server: about a dozen read-only tools, each a thin adapter over one `tools/` computation, plus the rules
as resources and the narrative prompts. The only module that imports `mcp`.

Heavy libraries (pandas, DuckDB, the computations) are imported on the first call, not at start-up, so
`initialize` answers quickly. Errors a model can fix are raised as ordinary exceptions with the fix in the message;
the SDK turns them into error results the model reads. Nothing here writes to stdout: logs go to stderr.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from customer_health.server.mcp.session import Session, capped
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import TextContent, ToolAnnotations
from pydantic import Field

log = logging.getLogger("customer_health.mcp")
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
LOADS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

INSTRUCTIONS = """Customer-health analytics over the user's own exports (CSV, XLSX, Parquet, JSON).
Start with load_data (file or folder paths, or pasted CSV text). Then: score_accounts and risk_signals for triage,
get_account_card / analyze_funnel / feature_adoption to diagnose one account, portfolio_summary for the board,
validate_health_model against renewal outcomes. Every number comes from deterministic code: quote the numbers the
tools return and nothing else. The rules://… resources explain the method; the prompts draft QBRs, risk documents
and board summaries from computed facts. Check a draft with check_draft before sharing it."""

Limit = Annotated[int, Field(ge=1, le=500, description="Rows to show (the full table is written to a CSV).")]
AsOf = Annotated[
    str | None, Field(description="YYYY-MM-DD; default: the latest activity date in the data (never today).")
]
Profile = Annotated[
    str | None,
    Field(
        description="Health profile: self_serve, enterprise (default), usage_based, high_touch, or a YAML path."
    ),
]
Window = Annotated[int, Field(ge=1, le=365, description="Days in the window ending at as_of.")]
AccountId = Annotated[str, Field(description="An account id (or a unique account name).", min_length=1)]


def rules_dir() -> Path:
    return Path(str(resources.files("customer_health.rules")))


def build_server(
    home: Path | None = None, allow: list[str] | tuple[str, ...] = (), preload: list[str] | tuple = ()
) -> MCPServer:
    """A server with its own session (workspace under `home`, loads allowed under cwd and `allow`); `preload`
    paths become the current dataset on the first call that needs one."""
    session = Session(home, allow, preload)
    mcp = MCPServer(name="customer-health", instructions=INSTRUCTIONS)

    def run(fn, key: tuple | None = None):
        """Computations are synchronous DuckDB work: one at a time, in a worker thread. With a `key`, the answer
        is kept for the current dataset (which never changes once loaded), so asking again costs nothing."""

        def locked():
            with session.lock, readable_errors():
                return session.cached(key, fn) if key is not None else fn()

        return anyio.to_thread.run_sync(locked)

    # --- loading ---------------------------------------------------------------------------------------------
    @mcp.tool(annotations=LOADS)
    async def load_data(
        ctx: Context,
        paths: Annotated[
            list[str] | None, Field(description="Export files or folders (every export in a folder is read).")
        ] = None,
        csv_text: Annotated[
            str | None, Field(description="CSV text pasted into the conversation, header row first (≤ 2 MB).")
        ] = None,
        name: Annotated[
            str | None, Field(description="A name for the pasted table, e.g. 'accounts'.")
        ] = None,
    ) -> dict[str, Any]:
        """Load exports and make them the current dataset: tables recognised, column mapping, quality report."""
        from customer_health.tools.base.errors import InputError

        with readable_errors():
            if not paths and not csv_text:
                raise InputError("give the paths of your exports, or paste CSV text as csv_text.")
            targets = list(paths or [])
            if csv_text:
                targets.append(str(session.paste(csv_text, name)))

        def progress(done: int, total: int, label: str) -> None:
            anyio.from_thread.run(ctx.report_progress, done, total, f"loading {label}")

        await run(lambda: session.load(targets, progress))
        return describe()

    def describe() -> dict[str, Any]:
        loaded = session.loaded
        q = loaded.quality
        tables = [
            {"kind": t.kind, "source": t.source, "rows": t.rows, "columns": t.columns, "cached": t.cached}
            for t in loaded.tables
        ]
        issues = [i.model_dump(mode="json") for i in q.issues]
        summary = (
            f"Loaded {', '.join(f'{t.kind} ({t.rows:,} rows)' for t in loaded.tables)}. "
            f"Latest activity {q.latest_date or 'unknown'}; {len(issues)} data-quality issue(s)."
        )
        return session.bounded(
            {
                "summary": summary,
                "dataset_id": loaded.dataset_id,
                "tables": tables,
                "latest_date": q.latest_date,
                "outcome_columns": q.outcome_columns,
                "semantics": q.semantics,
                "skipped": q.skipped[:10],
                "issues": issues,
                "caveats": [],
            },
            rows_key="issues",
            table="quality_issues",
            limit=15,
        )

    @mcp.tool(annotations=READ_ONLY)
    async def describe_dataset() -> dict[str, Any]:
        """The current dataset: tables, rows, latest date, what the events mean, and its quality issues."""
        return await run(describe)

    # --- scoring, risk, portfolio ----------------------------------------------------------------------------
    def scored(profile: str | None, as_of: str | None):
        def compute():
            from customer_health.tools.health.score import score_accounts
            from customer_health.tools.risk.signals import attach_signals, risk_signals

            ds = session.dataset
            scores = score_accounts(ds, as_of=as_of, profile=profile)
            risk = risk_signals(ds, as_of=scores.as_of, scores=scores)
            attach_signals(scores, risk)
            return {"scores": scores, "risk": risk}

        return session.cached(("scored", profile, as_of), compute)

    @mcp.tool(annotations=READ_ONLY)
    async def score_accounts(
        profile: Profile = None, as_of: AsOf = None, limit: Limit = 25
    ) -> dict[str, Any]:
        """Health score 0–100 (high = healthy) per account, worst first, with components, drivers and next action."""

        def compute():
            from customer_health.server.render import rows

            scores = scored(profile, as_of)["scores"]
            accounts = [
                {
                    **a.model_dump(
                        mode="json",
                        include={
                            "account_id",
                            "name",
                            "segment",
                            "arr",
                            "health_score",
                            "tier",
                            "trend",
                            "previous_score",
                            "status",
                            "components",
                            "weight_coverage",
                            "next_action",
                        },
                    ),
                    "drivers": [d.text for d in a.drivers[:3]],
                    "signals": [s["id"] for s in a.signals],
                }
                for a in scores.accounts
            ]
            payload = {
                "as_of": str(scores.as_of),
                "profile": scores.profile,
                "summary": scores.summary,
                "tier_counts": scores.tier_counts,
                "tiers": scores.tiers,
                "caveats": scores.caveats,
                "accounts": accounts,
            }
            return session.bounded(
                payload, rows_key="accounts", table="scores", limit=limit, csv_rows=rows.score_rows(scores)
            )

        return await run(compute, key=("score_accounts", *_args(locals())))

    @mcp.tool(annotations=READ_ONLY)
    async def risk_signals(profile: Profile = None, as_of: AsOf = None, limit: Limit = 25) -> dict[str, Any]:
        """Risk signals per customer, the combined risk level and one next action (owner, SLA), most urgent first."""

        def compute():
            from customer_health.server.render import rows

            risk = scored(profile, as_of)["risk"]
            payload = risk.model_dump(mode="json", exclude={"accounts"})
            payload["accounts"] = [
                a.model_dump(mode="json", exclude={"combinations"})
                for a in risk.accounts
                if a.risk_level != "none"
            ]
            return session.bounded(
                payload,
                rows_key="accounts",
                table="risk_signals",
                limit=limit,
                csv_rows=rows.signal_rows(risk),
            )

        return await run(compute, key=("risk_signals", *_args(locals())))

    @mcp.tool(annotations=READ_ONLY)
    async def portfolio_summary(
        period_months: Annotated[int, Field(ge=1, le=60, description="Retention period in months.")] = 12,
        top_n: Annotated[int, Field(ge=1, le=50, description="Accounts per list.")] = 10,
        profile: Profile = None,
        as_of: AsOf = None,
    ) -> dict[str, Any]:
        """Portfolio KPIs: GRR, NRR, logo retention, health by ARR, at-risk ARR, renewals due with low health."""

        def compute():
            from customer_health.tools.reports.portfolio import portfolio_summary as compute_portfolio

            scores = scored(profile, as_of)["scores"]
            result = compute_portfolio(
                session.dataset, scores=scores, period_months=period_months, top_n=top_n
            )
            return session.bounded(
                result.model_dump(mode="json"),
                rows_key="health_distribution",
                table="portfolio_health",
                limit=10,
            )

        return await run(compute, key=("portfolio_summary", *_args(locals())))

    @mcp.tool(annotations=READ_ONLY)
    async def get_account_card(
        account_id: AccountId, profile: Profile = None, as_of: AsOf = None
    ) -> dict[str, Any]:
        """One account: score and drivers, seats, adoption, trend, personas, peers, workflow funnel, risk, summary."""

        def compute():
            from customer_health.server.render import rows
            from customer_health.tools.narrative.facts import resolve_account
            from customer_health.tools.reports.account import account_card

            ds = session.dataset
            card = account_card(ds, resolve_account(ds, account_id), as_of=as_of, profile=profile)
            payload = card.model_dump(mode="json")
            payload["score"]["drivers"] = payload["score"]["drivers"][:8]
            return session.bounded(
                payload,
                rows_key="week_ends",
                table=f"card_{card.account_id}".lower()[:80],
                limit=13,
                csv_rows=[rows.card_row(card)],
            )

        return await run(compute, key=("get_account_card", *_args(locals())))

    # --- usage analytics -------------------------------------------------------------------------------------
    def rows_tool(table: str, compute_result, limit: int) -> dict[str, Any]:
        result = compute_result()
        payload = result.model_dump(mode="json")
        return session.bounded(payload, rows_key="accounts", table=table, limit=limit)

    @mcp.tool(annotations=READ_ONLY)
    async def seat_utilization(
        window_days: Window = 30, as_of: AsOf = None, limit: Limit = 25
    ) -> dict[str, Any]:
        """Present users (any event) and adopted users (a core feature) ÷ seats purchased, worst first."""
        from customer_health.tools.usage.seats import seat_utilization as compute

        return await run(
            lambda: rows_tool(
                "seats", lambda: compute(session.dataset, window_days=window_days, as_of=as_of), limit
            ),
            key=("seat_utilization", window_days, as_of, limit),
        )

    @mcp.tool(annotations=READ_ONLY)
    async def feature_adoption(
        window_days: Window = 30, as_of: AsOf = None, limit: Limit = 25
    ) -> dict[str, Any]:
        """Core-feature breadth and depth per account, under-used features, and how concentrated the work is."""
        from customer_health.tools.usage.adoption import feature_adoption as compute

        return await run(
            lambda: rows_tool(
                "adoption", lambda: compute(session.dataset, window_days=window_days, as_of=as_of), limit
            ),
            key=("feature_adoption", window_days, as_of, limit),
        )

    @mcp.tool(annotations=READ_ONLY)
    async def usage_trends(
        account_id: Annotated[str | None, Field(description="Only this account.")] = None,
        weeks: Annotated[int, Field(ge=2, le=104, description="Weeks in the series.")] = 13,
        as_of: AsOf = None,
        limit: Limit = 25,
    ) -> dict[str, Any]:
        """Weekly present users, adopted users and core actions; WoW/MoM change, slopes, decline flags."""
        from customer_health.tools.usage.trends import usage_trends as compute

        return await run(
            lambda: rows_tool(
                "trends",
                lambda: compute(session.dataset, as_of=as_of, weeks=weeks, account=account_id),
                limit,
            ),
            key=("usage_trends", account_id, weeks, as_of, limit),
        )

    @mcp.tool(annotations=READ_ONLY)
    async def workflow_completion(
        weeks: Annotated[int, Field(ge=1, le=52, description="Weeks to look back.")] = 4,
        as_of: AsOf = None,
        limit: Limit = 25,
    ) -> dict[str, Any]:
        """Per account and workflow: target users who completed it, how often vs target, where the rest stop."""
        from customer_health.tools.usage.workflows import workflow_completion as compute

        return await run(
            lambda: rows_tool("workflows", lambda: compute(session.dataset, as_of=as_of, weeks=weeks), limit),
            key=("workflow_completion", weeks, as_of, limit),
        )

    @mcp.tool(annotations=READ_ONLY)
    async def analyze_funnel(
        steps: Annotated[list[str], Field(min_length=2, description="Two or more event names, in order.")],
        window_days: Annotated[
            int, Field(ge=1, le=365, description="Days allowed from step 1 to the last.")
        ] = 14,
        by: Annotated[
            Literal["role", "segment", "account"] | None, Field(description="Break down by.")
        ] = None,
        account_id: Annotated[str | None, Field(description="Only this account.")] = None,
        role: Annotated[str | None, Field(description="Only users with this role.")] = None,
        as_of: AsOf = None,
    ) -> dict[str, Any]:
        """Users completing each step in order, conversions, median step times, the broken step and why."""

        def compute():
            from customer_health.tools.usage.funnel import compute_funnel

            result = compute_funnel(
                session.dataset,
                steps,
                window_days=window_days,
                as_of=as_of,
                account=account_id,
                role=role,
                by=by,
            )
            return session.bounded(result.model_dump(mode="json"), rows_key="steps", table="funnel", limit=50)

        return await run(compute, key=("analyze_funnel", *_args(locals())))

    @mcp.tool(annotations=READ_ONLY)
    async def cohort_retention(
        months: Annotated[int, Field(ge=1, le=36, description="Months since signup to show.")] = 12,
        activation_event: Annotated[str | None, Field(description="The activation milestone event.")] = None,
        as_of: AsOf = None,
    ) -> dict[str, Any]:
        """Retention by signup-month cohort (logos, revenue, active users), by ARR tier, activated vs not."""

        def compute():
            from customer_health.server.render import rows
            from customer_health.tools.usage.cohorts import compute_cohorts

            result = compute_cohorts(
                session.dataset, as_of=as_of, max_months=months, activation_event=activation_event
            )
            payload = result.model_dump(mode="json")
            payload["cohort_rows"] = rows.cohort_rows(result)
            for key in ("logo", "revenue", "active_users"):
                payload.pop(key, None)
            return session.bounded(payload, rows_key="cohort_rows", table="cohorts", limit=60)

        return await run(compute, key=("cohort_retention", *_args(locals())))

    @mcp.tool(annotations=READ_ONLY)
    async def validate_health_model(
        cutoff: Annotated[
            str | None, Field(description="Score everyone as of this date (YYYY-MM-DD).")
        ] = None,
        horizon_days: Annotated[int, Field(ge=1, le=730, description="Lead time before each outcome.")] = 90,
        profile: Profile = None,
        fp_cost: Annotated[float, Field(gt=0, description="Cost of a false alarm.")] = 1.0,
        fn_cost: Annotated[float, Field(gt=0, description="Cost of a missed churn.")] = 5.0,
    ) -> dict[str, Any]:
        """Backtest the score against renewal outcomes: AUC, lift, calibration, threshold, suggested weights."""

        def compute():
            from customer_health.tools.health.validation import validate_health_model as compute_validation

            result = compute_validation(
                session.dataset,
                cutoff=cutoff,
                horizon_days=horizon_days,
                profile=profile,
                fp_cost=fp_cost,
                fn_cost=fn_cost,
            )
            return session.bounded(
                result.model_dump(mode="json"), rows_key="accounts", table="validation", limit=20
            )

        key = ("validate", cutoff, horizon_days, profile, fp_cost, fn_cost)
        return await run(compute, key=key)

    @mcp.tool(annotations=READ_ONLY)
    async def check_draft(
        text: Annotated[str, Field(min_length=1, max_length=200_000, description="The drafted narrative.")],
        kind: Annotated[
            Literal["qbr", "risk", "board", "summary", "diagnosis"],
            Field(description="Which narrative it is: the facts it may use depend on it."),
        ],
        account_id: Annotated[str | None, Field(description="The account (not for board).")] = None,
        period: Annotated[str | None, Field(description="The board period, e.g. 2026-Q3.")] = None,
    ) -> dict[str, Any]:
        """Check every number, date and account name in a draft against the facts of its narrative."""

        def compute():
            from customer_health.tools.narrative.facts import build_facts
            from customer_health.tools.narrative.grounding import check_draft as check

            ds = session.dataset
            facts = build_facts(ds, kind, period if kind == "board" else account_id)
            report = check(text, facts, account_names=ds.account_names())
            payload = report.model_dump(mode="json")
            payload["caveats"] = []
            return session.bounded(payload, rows_key="claims", table="draft_claims", limit=100)

        return await run(compute)

    @mcp.tool(annotations=READ_ONLY)
    async def render_dashboard(
        charts: Annotated[
            list[Literal["health", "seats", "adoption", "cohorts", "funnel"]] | None,
            Field(description="Charts to hand back as images (default: health and funnel)."),
        ] = None,
        top_n: Annotated[int, Field(ge=1, le=200, description="Rows per dashboard table.")] = 25,
        profile: Profile = None,
        as_of: AsOf = None,
    ) -> list[TextContent | Image]:
        """Write the executive dashboard (one offline HTML file) and hand back its charts as PNG images."""

        def compute():
            from customer_health.server.dashboard.build import write_dashboard

            scores = scored(profile, as_of)["scores"]
            return write_dashboard(
                session.dataset, session.outputs / "dashboard", scores=scores, top_n=top_n, profile=profile
            )

        files = await run(compute)
        wanted = charts or ["health", "funnel"]
        pngs = {p.stem: p for p in files.charts}
        missing = [c for c in wanted if c not in pngs]
        text = f"{files.summary}\n\nDashboard (self-contained HTML): {files.html}"
        if missing:
            text += f"\nNot drawn for this data: {', '.join(missing)} ({'; '.join(files.sections_missing.values())})."
        return [TextContent(type="text", text=text), *[Image(path=pngs[c]) for c in wanted if c in pngs]]

    # --- resources -------------------------------------------------------------------------------------------
    @mcp.resource(
        "rules://{name}", mime_type="text/markdown", description="A rules document (method, playbooks)."
    )
    def rule(name: str) -> str:
        path = rules_dir() / f"{name}.md"
        if not path.is_file():
            options = ", ".join(sorted(p.stem for p in rules_dir().glob("*.md")))
            raise ResourceError(f"no rules document '{name}'. Valid names: {options}.")
        return path.read_text(encoding="utf-8")

    @mcp.resource(
        "dataset://current", mime_type="application/json", description="The current dataset's summary."
    )
    def dataset_summary() -> str:
        import json

        with session.lock:
            return capped(json.dumps(describe(), ensure_ascii=False, default=str, indent=1))

    @mcp.resource(
        "table://{name}", mime_type="text/csv", description="A full result table written by a tool."
    )
    def table(name: str) -> str:
        from customer_health.tools.base.errors import InputError

        try:
            return session.read_table(name)
        except InputError as exc:
            raise ResourceError(exc.message) from None

    _register_prompts(mcp, session)
    mcp.session_state = session  # for tests and for closing
    return mcp


def _args(scope: dict[str, Any]) -> tuple:
    """A tool's arguments (its plain-valued locals at the call) as a hashable cache key."""
    plain = (str, int, float, bool, type(None), list, tuple)
    return tuple(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(scope.items()) if isinstance(v, plain)
    )


@contextmanager
def readable_errors():
    """A mistake the model can fix (InputError) reaches it with its message; anything else stays a crash."""
    from customer_health.tools.base.errors import InputError

    try:
        yield
    except InputError as exc:
        raise ToolError(exc.message) from None


def _register_prompts(mcp: MCPServer, session: Session) -> None:
    """One prompt per entry of server/prompting.py; Claude Code passes single-token arguments."""
    from customer_health.server.drafting.prompts import PROMPTS

    def render(name: str, argument: str | None) -> str:
        from customer_health.server.drafting.prompts import render_prompt

        with session.lock, readable_errors():
            return render_prompt(session.dataset, name, argument).text

    @mcp.prompt(description=PROMPTS["qbr_narrative"].description)
    def qbr_narrative(account_id: str) -> str:
        return render("qbr_narrative", account_id)

    @mcp.prompt(description=PROMPTS["risk_document"].description)
    def risk_document(account_id: str) -> str:
        return render("risk_document", account_id)

    @mcp.prompt(description=PROMPTS["board_summary"].description)
    def board_summary(period: str | None = None) -> str:
        return render("board_summary", period)

    @mcp.prompt(description=PROMPTS["account_summary"].description)
    def account_summary(account_id: str) -> str:
        return render("account_summary", account_id)

    @mcp.prompt(description=PROMPTS["adoption_diagnosis"].description)
    def adoption_diagnosis(account_id: str | None = None) -> str:
        return render("adoption_diagnosis", account_id)


def run(
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    allow: list[str] = (),
    load: list[str] = (),
) -> None:
    """Serve over stdio (Claude Code) or streamable HTTP; logs go to stderr, never stdout."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    server = build_server(allow=allow, preload=load)
    try:
        if transport == "http":
            log.warning("customer-health MCP server on http://%s:%d/mcp", host, port)
            server.run(transport="streamable-http", host=host, port=port)
        else:
            server.run()
    finally:
        server.session_state.close()
