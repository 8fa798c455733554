"""The MCP server: one read-only tool per analysis declared in server/analyses.py (generated, so its arguments,
bounds and defaults are the CLI's), plus loading, the draft check and the dashboard; the rules as resources and the
narrative prompts. This package is the only one that imports `mcp`.

Every tool returns its result model: the SDK advertises the model's schema and validates the structured content,
which holds as many rows as fit 20,000 characters (server/mcp/view.py); the text copy is compact JSON. Errors a model
can fix are raised as ordinary exceptions with the fix in the message; a prompt cannot return an error result, so
its mistakes are protocol errors (invalid params) whose message is the same fix. Folders the client offers as its
roots are allowed alongside the configured ones. Nothing here writes to stdout.
"""

from __future__ import annotations

import inspect
import logging
import sys
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from urllib.request import url2pathname

import anyio
from customer_health.server.analyses import ANALYSES, AS_OF, DASHBOARD_TOP, PROFILE, Analysis, Inputs
from customer_health.server.dashboard.build import write_dashboard
from customer_health.server.drafting.check import check_narrative
from customer_health.server.drafting.prompts import PROMPTS, render_prompt
from customer_health.server.mcp.session import Session, Sessions, capped
from customer_health.server.mcp.view import compact, fit, view_model
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.description import DatasetSummary, describe_load
from customer_health.tools.narrative.grounding import GroundingReport
from customer_health.tools.risk.rules import rules_document
from mcp import MCPError
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

log = logging.getLogger("customer_health.mcp")
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
# writes a file of its own under the session's outputs (never a source file): not read-only, not destructive
WRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

INSTRUCTIONS = """Customer-health analytics over the user's own exports (CSV, XLSX, Parquet, JSON).
Start with load_data (file or folder paths, or pasted CSV text). Then: score_accounts and risk_signals for triage,
get_account_card / analyze_funnel / feature_adoption to diagnose one account, portfolio_summary for the board,
validate_health_model against renewal outcomes. Every number comes from deterministic code: quote the numbers the
tools return and nothing else. The rules://… resources explain the method; the prompts draft QBRs, risk documents
and board summaries from computed facts. Check a draft with check_draft before sharing it."""

Limit = Annotated[
    int | None,
    Field(
        ge=1, le=10_000, description="At most this many rows (default: as many as fit; full_table has all)."
    ),
]


def session_of(ctx: Context) -> Session:
    return ctx.mcp_server.session_state


async def prepared(ctx: Context, *, refresh_roots: bool = False) -> Session:
    """The session, with the client's roots known before anything reads a file: asked at every load_data (the user
    may have opened another folder) and before the remembered dataset is picked up."""
    session = session_of(ctx)
    if refresh_roots or session.restore_pending:
        session.client_roots = await offered_roots(ctx)
    return session


async def offered_roots(ctx: Context) -> list[Path]:
    """The local folders the client offers as its roots; none when it has no roots support or cannot be asked
    (roots are deprecated in the 2026-07-28 protocol and need a back-channel, which some transports lack)."""
    caps = ctx.client_capabilities
    if caps is None or caps.roots is None:
        return []
    try:
        with warnings.catch_warnings():  # roots are deprecated, yet today's clients (Claude Code) offer them
            warnings.simplefilter("ignore")
            listed = await ctx.session.list_roots()
    except Exception as exc:  # a client that declines or cannot answer: carry on with the configured folders
        log.info("client roots unavailable: %s", exc)
        return []
    folders = []
    for root in listed.roots:
        parts = urlsplit(str(root.uri))
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            folders.append(Path(url2pathname(parts.path)))
    return folders


async def run(session: Session, fn: Callable[[], Any], key: tuple | None = None) -> Any:
    """Computations are synchronous DuckDB work: one at a time, in a worker thread. With a `key`, the answer is kept
    for the current dataset (which never changes once loaded), so asking again costs nothing."""

    def locked():
        with session.lock, readable_errors():
            return session.cached(key, fn) if key is not None else fn()

    return await anyio.to_thread.run_sync(locked)


def answer(payload: dict[str, Any]) -> CallToolResult:
    """The structured content and its compact JSON copy (the SDK validates it against the tool's output schema)."""
    return CallToolResult(
        content=[TextContent(type="text", text=compact(payload))], structured_content=payload
    )


@contextmanager
def readable_errors():
    """A mistake the model can fix (InputError) reaches it with its message; anything else stays a crash."""
    try:
        yield
    except InputError as exc:
        raise ToolError(exc.message) from None


# --- one tool per declared analysis -------------------------------------------------------------------------------
def analysis_tool(analysis: Analysis) -> Callable[..., Any]:
    """The MCP tool of an analysis: its declared parameters as typed arguments (plus `limit`), its result model as
    the output schema."""
    params = [p for p in analysis.params if "mcp" in p.faces]

    async def tool(ctx: Context, **given: Any) -> CallToolResult:
        session = await prepared(ctx)
        limit = given.pop("limit", None)

        def compute() -> dict[str, Any]:
            result = analysis.run(
                Inputs(session.dataset, session.load_more, session.outputs),
                **analysis.arguments(given, "mcp"),
            )
            account = given.get("account_id")
            name = f"{analysis.name}_{account}" if account else analysis.name
            table = session.full_table(name, analysis.table_rows(result))
            return fit(result, analysis.rows, analysis.trim, limit, extra=table)

        key = (
            analysis.name,
            limit,
            *sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in given.items()),
        )
        return answer(await run(session, compute, key))

    keyword = inspect.Parameter.KEYWORD_ONLY
    signature = [
        inspect.Parameter("ctx", keyword, annotation=Context),
        *(
            inspect.Parameter(
                p.name,
                keyword,
                annotation=p.annotation(),
                default=inspect.Parameter.empty if p.required else p.default,
            )
            for p in params
        ),
        inspect.Parameter("limit", keyword, annotation=Limit, default=None),
    ]
    output = view_model(analysis.model)
    tool.__signature__ = inspect.Signature(signature, return_annotation=output)
    tool.__annotations__ = {p.name: p.annotation for p in signature} | {"return": output}
    tool.__name__ = tool.__qualname__ = analysis.tool
    tool.__doc__ = analysis.help
    return tool


# --- loading, the draft check, the dashboard ------------------------------------------------------------------------
async def load_data(
    ctx: Context,
    paths: Annotated[
        list[str] | None, Field(description="Export files or folders (every export in a folder is read).")
    ] = None,
    csv_text: Annotated[
        str | None, Field(description="CSV text pasted into the conversation, header row first (≤ 2 MB).")
    ] = None,
    name: Annotated[str | None, Field(description="A name for the pasted table, e.g. 'accounts'.")] = None,
    engine: Annotated[
        Literal["duckdb", "postgres", "spark"],
        Field(
            description="Where the events live: duckdb (files, the default); postgres (paths holds one "
            "postgresql://USER@HOST:PORT/DATABASE, password from PGPASSWORD or ~/.pgpass) or spark (local[*] or "
            "sc://HOST:PORT): the events stay there, only per-account results come back."
        ),
    ] = "duckdb",
) -> view_model(DatasetSummary):
    """Load exports and make them the current dataset: tables recognised, column mapping, quality report.
    The workspace remembers it: the next session picks it up until another load replaces it."""
    session = await prepared(ctx, refresh_roots=True)
    with readable_errors():
        if not paths and not csv_text:
            raise InputError("give the paths of your exports, or paste CSV text as csv_text.")
        targets = list(paths or [])
        if csv_text:
            targets.append(str(session.paste(csv_text, name)))

    def progress(done: int, total: int, label: str) -> None:
        anyio.from_thread.run(ctx.report_progress, done, total, f"loading {label}")

    await run(session, lambda: session.load(targets, progress, engine))
    return answer(await run(session, lambda: describe(session)))


async def describe_dataset(ctx: Context) -> view_model(DatasetSummary):
    """The current dataset: tables, rows, latest date, what the events mean, its quality issues, and when and
    from where it was loaded (restored: picked up from an earlier session)."""
    session = await prepared(ctx)
    return answer(await run(session, lambda: describe(session)))


def describe(session: Session) -> dict[str, Any]:
    summary = describe_load(session.loaded)
    table = session.full_table("quality_issues", [i.model_dump(mode="json") for i in summary.issues])
    return fit(summary, ("issues",), extra=table)


async def check_draft(
    ctx: Context,
    text: Annotated[str, Field(min_length=1, max_length=200_000, description="The drafted narrative.")],
    kind: Annotated[
        Literal["qbr", "risk", "board", "summary", "diagnosis"],
        Field(description="Which narrative it is: the facts it may use depend on it."),
    ],
    account_id: Annotated[str | None, Field(description="The account (not for board).")] = None,
    period: Annotated[str | None, Field(description="The board period, e.g. 2026-Q3.")] = None,
    profile: PROFILE.annotation() = None,
    as_of: AS_OF.annotation() = None,
    strict: Annotated[
        bool,
        Field(
            description="Also fail figures that cite no fact with a [f:<id>] marker (template drafts cite every "
            "figure; a draft written elsewhere may not, so the default only fails wrong or unsupported claims)."
        ),
    ] = False,
) -> view_model(GroundingReport):
    """Check every number, date and account name in a draft against the facts of its narrative, by meaning: a
    figure citing a fact ([f:<id>]) must equal it; an uncited one must fit its sentence's unit and subject."""
    session = await prepared(ctx)

    def compute():
        ds = session.dataset
        report = check_narrative(
            ds, text, kind, account=account_id, period=period, as_of=as_of, profile=profile, strict=strict
        )
        table = session.full_table("draft_claims", [c.model_dump(mode="json") for c in report.claims])
        return fit(report, ("claims",), extra=table)

    return answer(await run(session, compute))


async def render_dashboard(
    ctx: Context,
    charts: Annotated[
        list[Literal["health", "seats", "adoption", "cohorts", "funnel"]] | None,
        Field(description="Charts to hand back as images (default: health and funnel)."),
    ] = None,
    top_n: DASHBOARD_TOP.annotation() = DASHBOARD_TOP.default,
    profile: PROFILE.annotation() = None,
    as_of: AS_OF.annotation() = None,
) -> list[TextContent | Image]:
    """Write the executive dashboard (one offline HTML file) and hand back its charts as PNG images."""
    session = await prepared(ctx)

    def compute():
        out = session.outputs / "dashboard"
        return write_dashboard(session.dataset, out, as_of=as_of, profile=profile, top_n=top_n)

    files = await run(session, compute)
    wanted = charts or ["health", "funnel"]
    pngs = {p.stem: p for p in files.charts}
    missing = [c for c in wanted if c not in pngs]
    text = f"{files.summary}\n\nDashboard (self-contained HTML): {files.html}"
    if missing:
        text += (
            f"\nNot drawn for this data: {', '.join(missing)} ({'; '.join(files.sections_missing.values())})."
        )
    return [TextContent(type="text", text=text), *[Image(path=pngs[c]) for c in wanted if c in pngs]]


HAND_WRITTEN = (load_data, describe_dataset, check_draft, render_dashboard)


# --- resources and prompts ------------------------------------------------------------------------------------------
def _register_resources(mcp: MCPServer, session: Session) -> None:
    @mcp.resource(
        "rules://{name}", mime_type="text/markdown", description="A rules document (method, playbooks)."
    )
    def rule(name: str) -> str:
        try:
            return rules_document(name).body  # what guides the model; the front matter drives the engine
        except InputError as exc:
            raise ResourceError(exc.message) from None

    @mcp.resource(
        "dataset://current", mime_type="application/json", description="The current dataset's summary."
    )
    def dataset_summary() -> str:
        with session.lock:
            return capped(compact(describe(session)))

    @mcp.resource(
        "table://{name}", mime_type="text/csv", description="A full result table written by a tool."
    )
    def table(name: str) -> str:
        try:
            return session.read_table(name)
        except InputError as exc:
            raise ResourceError(exc.message) from None


def _register_prompts(mcp: MCPServer, session: Session) -> None:
    """One prompt per entry of server/drafting/prompts.py; Claude Code passes single-token arguments. A prompt has
    no error result: a mistake (nothing loaded, an unknown or ambiguous account, a bad period, as_of or profile) is
    an invalid-params error whose message is the tools' own — what to do, with the candidates."""

    async def render(
        ctx: Context, name: str, argument: str | None, profile: str | None, as_of: str | None
    ) -> str:
        await prepared(ctx)
        try:
            return await run(
                session,
                lambda: render_prompt(session.dataset, name, argument, as_of=as_of, profile=profile).text,
            )
        except ToolError as exc:  # the tools' readable message, as the only kind of error a prompt can give
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None

    @mcp.prompt(description=PROMPTS["qbr_narrative"].description)
    async def qbr_narrative(
        ctx: Context, account_id: str, profile: str | None = None, as_of: str | None = None
    ) -> str:
        return await render(ctx, "qbr_narrative", account_id, profile, as_of)

    @mcp.prompt(description=PROMPTS["risk_document"].description)
    async def risk_document(
        ctx: Context, account_id: str, profile: str | None = None, as_of: str | None = None
    ) -> str:
        return await render(ctx, "risk_document", account_id, profile, as_of)

    @mcp.prompt(description=PROMPTS["board_summary"].description)
    async def board_summary(
        ctx: Context, period: str | None = None, profile: str | None = None, as_of: str | None = None
    ) -> str:
        return await render(ctx, "board_summary", period, profile, as_of)

    @mcp.prompt(description=PROMPTS["account_summary"].description)
    async def account_summary(
        ctx: Context, account_id: str, profile: str | None = None, as_of: str | None = None
    ) -> str:
        return await render(ctx, "account_summary", account_id, profile, as_of)

    @mcp.prompt(description=PROMPTS["adoption_diagnosis"].description)
    async def adoption_diagnosis(
        ctx: Context, account_id: str | None = None, profile: str | None = None, as_of: str | None = None
    ) -> str:
        return await render(ctx, "adoption_diagnosis", account_id, profile, as_of)


def build_server(
    home: Path | None = None,
    allow: list[str] | tuple[str, ...] = (),
    preload: list[str] | tuple = (),
    *,
    sessions: Sessions | None = None,
) -> MCPServer:
    """A server with its own session (workspace under `home`, loads allowed under cwd and `allow`); `preload`
    paths become the current dataset on the first call that needs one. With `sessions` (HTTP), each MCP session
    has a session of its own instead."""
    mcp = MCPServer(name="customer-health", instructions=INSTRUCTIONS)
    session = sessions if sessions is not None else Session(home, allow, preload)
    mcp.session_state = session  # what the tools reach through their Context; tests and close() use it too
    for fn in HAND_WRITTEN:
        mcp.add_tool(fn, annotations=WRITES if fn is render_dashboard else READ_ONLY)
    for analysis in ANALYSES:
        mcp.add_tool(
            analysis_tool(analysis),
            name=analysis.tool,
            description=analysis.help,
            annotations=WRITES if analysis.writes else READ_ONLY,
        )
    _register_resources(mcp, session)
    _register_prompts(mcp, session)
    return mcp


def serve(
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    allow: list[str] = (),
    load: list[str] = (),
    allowed_hosts: list[str] = (),
    token_file: str | None = None,
) -> None:
    """Serve over stdio (Claude Code: one session) or streamable HTTP (a session per client, a bearer token off
    loopback, allowed Host headers: server/mcp/http.py); logs go to stderr, never stdout."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    if transport == "http":
        from customer_health.server.mcp.http import run_http, team_tokens

        tokens = team_tokens(
            host, token_file
        )  # refuses to start (InputError, exit 2) before anything listens
        sessions = Sessions(allow=allow, preload=load)
        try:
            run_http(
                build_server(sessions=sessions),
                sessions,
                host=host,
                port=port,
                tokens=tokens,
                allowed_hosts=allowed_hosts,
            )
        finally:
            sessions.close()
        return
    server = build_server(allow=allow, preload=load)
    try:
        server.run()
    finally:
        server.session_state.close()
