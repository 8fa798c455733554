"""The `customer-health` command: the same computations as the MCP tools, for terminals and scripts. One
subcommand per analysis declared in server/analyses.py (its flags generated from the declaration), plus demo, load,
report, draft and serve.

Bad input exits with code 2 and a message on stderr naming the file, column or row and the fix; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from customer_health.server.cli.common import data_parser, load_more, terminal_output, workspace_and_load
from customer_health.tools.base.errors import InputError

if (
    TYPE_CHECKING
):  # the rest is imported by the command that needs it: `--version` starts without pandas or DuckDB
    from customer_health.server.analyses import Analysis

EXIT_BAD_INPUT = 2
DISTRIBUTION = "customer-health-analyst"


def version() -> str:
    """The installed distribution's version: pyproject.toml is the one place it is written."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def run_analysis(analysis: Analysis, args: argparse.Namespace) -> int:
    """A data command: load the paths (cached), run the analysis, print it in the chosen format."""
    from customer_health.server.analyses import Inputs
    from customer_health.server.render.output import to_csv, to_json

    ws, loaded = workspace_and_load(args, args.paths)
    try:
        inputs = Inputs(ws.dataset(loaded), lambda path: load_more(ws, args, path))
        result = analysis.run(inputs, **analysis.arguments(vars(args), "cli"))
    finally:
        ws.close()
    if args.format == "json":
        print(to_json(result))
    elif args.format == "csv":
        sys.stdout.write(to_csv(analysis.table_rows(result)))
    else:
        print(analysis.text(result))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from customer_health.server.render import text as render
    from customer_health.server.render.output import to_json

    ws, result = workspace_and_load(args, args.paths, remember=True)
    ws.close()
    print(to_json(result) if args.format == "json" else render.render_load(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the bundled example: load, score, portfolio, the accounts to call first, files written."""
    from customer_health.server.analyses import BY_NAME, Inputs
    from customer_health.server.dashboard.build import write_dashboard
    from customer_health.tools.data.workspace import example_dir
    from customer_health.tools.reports.pipeline import analyze

    sample = example_dir()
    print(f"Loading the bundled example portfolio from {sample}\n")
    args.map, args.config, args.allow, args.format = None, None, None, "table"
    ws, loaded = workspace_and_load(args, [str(sample)])
    folder = ws.home / "outputs" / "demo"
    try:
        ds = ws.dataset(loaded)
        analysis = analyze(ds)
        scores, risk = analysis.scores, analysis.risk
        portfolio = BY_NAME["portfolio"].run(
            Inputs(ds, lambda path: load_more(ws, args, path)), **_defaults("portfolio")
        )
        files = _write_demo_outputs(folder, scores, risk, portfolio)
        board = write_dashboard(ds, folder)
        files += [board.html, *board.charts]
    finally:
        ws.close()
    tables = ", ".join(f"{t.kind} ({t.rows:,} rows)" for t in loaded.tables)
    print(f"Loaded {tables}.\n")
    print("Portfolio")
    print(f"  {portfolio.summary}\n")
    print("Health scores")
    print(f"  {scores.summary}\n")
    print("Call these five first (priority, then ARR at stake, then the soonest renewal):")
    drags = {s.account_id: s.drivers[0].text for s in scores.accounts if s.drivers}
    for n, a in enumerate([a for a in risk.accounts if a.priority != "ok"][:5], 1):
        drag = drags.get(a.account_id, "")
        renews = f", renews in {a.days_to_renewal} days" if a.days_to_renewal is not None else ""
        print(
            f"  {n}. {a.name or a.account_id} ({a.account_id}) — {a.priority}: health {a.health_score:g}, "
            f"{a.risk_level} risk{renews}; owner {a.csm_owner or 'unassigned'}"
        )
        print(f"     why: {a.priority_reasons[0] if a.signals else drag}")
        if drag:
            print(f"     biggest drag on the score: {drag}")
        if a.next_action:
            act = a.next_action
            print(f"     next: {act.action} ({act.owner}, within {act.sla})")
    print("\nFiles written:")
    for f in files:
        print(f"  {f}")
    print(f"\nWorkspace: {ws.db_path}")
    return 0


def _defaults(name: str) -> dict:
    from customer_health.server.analyses import BY_NAME

    return BY_NAME[name].arguments({}, "cli")


def _write_demo_outputs(folder: Path, scores, risk, portfolio) -> list[Path]:
    from customer_health.server.render import rows
    from customer_health.server.render.output import to_csv, to_json

    folder.mkdir(parents=True, exist_ok=True)
    outputs = {
        "scores.csv": to_csv(rows.score_rows(scores)),
        "scores.json": to_json(scores),
        "signals.csv": to_csv(rows.signal_rows(risk)),
        "portfolio.json": to_json(portfolio),
    }
    for name, text in outputs.items():
        (folder / name).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return [folder / name for name in outputs]


def cmd_report(args: argparse.Namespace) -> int:
    """The executive dashboard: one self-contained HTML file and a PNG per chart."""
    from customer_health.server.dashboard.build import write_dashboard
    from customer_health.server.render.output import to_json

    ws, loaded = workspace_and_load(args, args.paths)
    try:
        out = Path(args.out) if args.out else ws.home / "outputs" / "report"
        files = write_dashboard(
            ws.dataset(loaded), out, as_of=args.as_of, profile=args.profile, top_n=args.top_n
        )
    finally:
        ws.close()
    if args.format == "json":
        print(to_json(files))
    else:
        print(files.summary)
        print(f"\nDashboard: {files.html}")
        for chart in files.charts:
            print(f"Chart:     {chart}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from customer_health.server.mcp.server import serve  # the MCP SDK is imported only by this command

    serve(
        transport=args.transport,
        host=args.host,
        port=args.port,
        allow=args.allow or [],
        load=args.load or [],
        allowed_hosts=args.allowed_host or [],
        token_file=args.token_file,
    )
    return 0


def build_parser(named: str | None = None) -> argparse.ArgumentParser:
    """Every command, or — given the command a call `named` — that one without the drafting commands, whose modules
    import the whole narrative layer (the analysis commands import nothing of theirs until one runs). The command's
    own options, help and errors are the same either way."""
    from customer_health.server.analyses import ANALYSES, AS_OF, DASHBOARD_TOP, PROFILE

    parser = argparse.ArgumentParser(
        prog="customer-health", description="Customer-health analytics from the exports you already have."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()}", help="Print the version and exit."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="Run the main job on the bundled example data.")
    demo.set_defaults(func=cmd_demo)

    load = data_parser(
        sub,
        "load",
        "Load exports; show the tables recognised, the column mapping and the data-quality report.",
        formats=("table", "json"),
    )
    load.set_defaults(func=cmd_load)

    for analysis in ANALYSES:
        command = data_parser(sub, analysis.name, analysis.help)
        for param in analysis.params:
            if "cli" in param.faces:
                param.add_to(command)
        command.set_defaults(func=lambda args, analysis=analysis: run_analysis(analysis, args))

    report = data_parser(
        sub,
        "report",
        "The executive dashboard: one self-contained HTML file (works offline) and a PNG per chart.",
        formats=("table", "json"),
    )
    report.add_argument(
        "--out", metavar="DIR", help="Where to write (default: the workspace's outputs/report)."
    )
    for param in (DASHBOARD_TOP, PROFILE, AS_OF):
        param.add_to(report)
    report.set_defaults(func=cmd_report)

    if named not in {"demo", "load", "report", "serve", *(a.name for a in ANALYSES)}:  # all, or draft/check
        from customer_health.server.cli import check, draft

        draft.add_parser(sub, data_parser)
        check.add_parser(sub, data_parser)

    serve = sub.add_parser("serve", help="Run the MCP server (stdio for Claude Code, or streamable HTTP).")
    serve.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="stdio for Claude Code and Claude Desktop (default), http for streamable HTTP.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="HTTP only; loopback unless you choose otherwise.")
    serve.add_argument("--port", type=int, default=8765, metavar="N", help="HTTP only.")
    serve.add_argument("--allow", metavar="DIR", action="append", help="Also allow loading files under DIR.")
    serve.add_argument(
        "--load", metavar="PATH", action="append", help="Exports to make the current dataset on first use."
    )
    serve.add_argument(
        "--allowed-host",
        metavar="HOST",
        action="append",
        help="HTTP only: a Host header to accept (a name, or name:port; repeatable). The bind host and localhost "
        "are always accepted; any other Host or Origin is refused (DNS-rebinding protection).",
    )
    serve.add_argument(
        "--token-file",
        metavar="FILE",
        help="HTTP only: the bearer token(s) clients must send, one a line (name:token to name its holder); "
        "default CUSTOMER_HEALTH_TOKEN. Required unless --host is loopback.",
    )
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given == ["--version"]:  # answered without building every command
        print(f"customer-health {version()}")
        return 0
    parser = build_parser(given[0] if given and not given[0].startswith("-") else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the error (exit 2) or the help (exit 0)
        return int(exc.code or 0)
    try:
        with terminal_output(args):
            return args.func(args)
    except InputError as exc:
        print(f"customer-health: error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("customer-health: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: a message, not a traceback
        if os.environ.get("CUSTOMER_HEALTH_DEBUG"):
            raise
        from customer_health.tools.data.faults import storage_advice

        if advice := storage_advice(exc):  # a disk filling up or a damaged block found mid-analysis
            print(f"customer-health: error: {advice}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(
            f"customer-health: internal error: {type(exc).__name__}: {exc}\n"
            "Please report it; set CUSTOMER_HEALTH_DEBUG=1 to see the details.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
