"""The `customer-health` command: the same computations as the MCP tools, for terminals and scripts.

Bad input exits with code 2 and a message on stderr naming the file, column or row and the fix; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from customer_health.server.cli.common import data_parser, roots_of, workspace_and_load
from customer_health.server.render import health as render_health
from customer_health.server.render import rows
from customer_health.server.render import text as render
from customer_health.server.render.output import to_csv, to_json
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import example_dir

EXIT_BAD_INPUT = 2


def cmd_load(args: argparse.Namespace) -> int:
    ws, result = workspace_and_load(args, args.paths)
    ws.close()
    print(to_json(result) if args.format == "json" else render.render_load(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the bundled example: load, score, portfolio, the accounts to call first, files written."""
    from customer_health.tools.reports.portfolio import portfolio_summary

    sample = example_dir()
    print(f"Loading the bundled example portfolio from {sample}\n")
    args.map, args.config, args.allow, args.format = None, None, None, "table"
    args.as_of, args.profile = None, None
    ws, loaded = workspace_and_load(args, [str(sample)])
    args._workspace = ws
    try:
        ds = ws.dataset(loaded)
        scores, risk = _scored(ds, args)
        portfolio = portfolio_summary(ds, scores=scores)
        files = _write_demo_outputs(ws.home / "outputs" / "demo", scores, risk, portfolio)
        from customer_health.server.dashboard.build import write_dashboard

        board = write_dashboard(ds, ws.home / "outputs" / "demo", scores=scores)
        files += [board.html, *board.charts]
    finally:
        ws.close()
    tables = ", ".join(f"{t.kind} ({t.rows:,} rows)" for t in loaded.tables)
    print(f"Loaded {tables}.\n")
    print("Portfolio")
    print(f"  {portfolio.summary}\n")
    print("Health scores")
    print(f"  {scores.summary}\n")
    print("Call these five first (most urgent risk, then ARR):")
    for n, a in enumerate([a for a in risk.accounts if a.risk_level != "none"][:5], 1):
        drag = next(
            (s.drivers[0].text for s in scores.accounts if s.account_id == a.account_id and s.drivers), ""
        )
        print(
            f"  {n}. {a.name or a.account_id} ({a.account_id}) — health {a.health_score:g}, {a.risk_level} risk"
        )
        print(f"     why: {a.signals[0].evidence if a.signals else drag}")
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


def _write_demo_outputs(folder: Path, scores, risk, portfolio) -> list[Path]:
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


def _analysis(compute, renderer, rows_of=lambda result: [r.model_dump(mode="json") for r in result.accounts]):
    """A data command: load the paths (cached), run one computation, print it in the chosen format."""

    def run(args: argparse.Namespace) -> int:
        ws, loaded = workspace_and_load(args, args.paths)
        args._workspace = ws
        try:
            result = compute(ws.dataset(loaded), args)
        finally:
            ws.close()
        if args.format == "json":
            print(to_json(result))
        elif args.format == "csv":
            sys.stdout.write(to_csv(rows_of(result)))
        else:
            print(renderer(result))
        return 0

    return run


def _seats(ds, args):
    from customer_health.tools.usage.seats import seat_utilization

    return seat_utilization(ds, window_days=args.window_days, as_of=args.as_of)


def _adoption(ds, args):
    from customer_health.tools.usage.adoption import feature_adoption

    return feature_adoption(ds, window_days=args.window_days, as_of=args.as_of)


def _trends(ds, args):
    from customer_health.tools.usage.trends import usage_trends

    return usage_trends(ds, as_of=args.as_of, weeks=args.weeks, account=args.account)


def _cohorts(ds, args):
    from customer_health.tools.usage.cohorts import compute_cohorts

    return compute_cohorts(ds, as_of=args.as_of, max_months=args.months, activation_event=args.activation)


def _score(ds, args):
    return _scored(ds, args)[0]


def _scored(ds, args):
    """Scores (with the workspace's earlier uploads for the trend, and each account's signals) and the risk."""
    from customer_health.tools.health.score import apply_previous, score_accounts
    from customer_health.tools.risk.signals import attach_signals, risk_signals

    scores = score_accounts(ds, as_of=args.as_of, profile=args.profile)
    ws = args._workspace
    apply_previous(scores.accounts, {a: s for a, (s, _) in ws.earlier_scores(ds.dataset_id, scores).items()})
    ws.remember_scores(ds.dataset_id, scores)
    risk = risk_signals(ds, as_of=scores.as_of, scores=scores)
    attach_signals(scores, risk)
    return scores, risk


def cmd_report(args: argparse.Namespace) -> int:
    """The executive dashboard: one self-contained HTML file and a PNG per chart."""
    from customer_health.server.dashboard.build import write_dashboard

    ws, loaded = workspace_and_load(args, args.paths)
    args._workspace = ws
    try:
        ds = ws.dataset(loaded)
        scores = _scored(ds, args)[0]
        out = Path(args.out) if args.out else ws.home / "outputs" / "report"
        files = write_dashboard(ds, out, scores=scores, top_n=args.top)
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


def _workflows(ds, args):
    from customer_health.tools.usage.workflows import workflow_completion

    return workflow_completion(ds, as_of=args.as_of, weeks=args.weeks)


def _signals(ds, args):
    return _scored(ds, args)[1]


def _portfolio(ds, args):
    from customer_health.tools.reports.portfolio import portfolio_summary

    return portfolio_summary(
        ds, as_of=args.as_of, profile=args.profile, period_months=args.months, top_n=args.top
    )


def _account(ds, args):
    from customer_health.tools.reports.account import account_card

    return account_card(ds, args.id, as_of=args.as_of, profile=args.profile)


def _validate(ds, args):
    from customer_health.tools.health.validation import validate_health_model

    outcomes = _outcomes_frame(args) if args.outcomes else None
    return validate_health_model(
        ds,
        cutoff=args.cutoff,
        horizon_days=args.horizon_days,
        profile=args.profile,
        fp_cost=args.fp_cost,
        fn_cost=args.fn_cost,
        outcomes_path_frame=outcomes,
    )


def _outcomes_frame(args):
    """The --outcomes file, ingested on its own like any export, as (account_id, outcome, date) rows."""
    ws = args._workspace
    loaded = ws.load([args.outcomes], roots=roots_of(args), today=date.today())
    ds = ws.dataset(loaded)
    if not ds.has("outcomes"):
        found = ", ".join(sorted(ds.views)) or "nothing"
        raise InputError(
            f"{args.outcomes} was recognised as {found}, not as renewal outcomes.",
            fix="Give it the columns account_id, outcome (renewed/churned/contracted/expanded) and date.",
        )
    return ds.con.execute(f"SELECT account_id, outcome, date FROM {ds.view('outcomes')}").df()


def _funnel(ds, args):
    from customer_health.tools.usage.funnel import compute_funnel

    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    return compute_funnel(
        ds,
        steps,
        window_days=args.window_days,
        as_of=args.as_of,
        lookback_days=args.lookback_days,
        account=args.account,
        role=args.role,
        by=args.by,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from customer_health.server.mcp.server import run

    run(
        transport=args.transport, host=args.host, port=args.port, allow=args.allow or [], load=args.load or []
    )
    return 0


def _profile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", metavar="NAME|FILE", help="Health profile preset or YAML file.")
    p.add_argument("--as-of", metavar="DATE")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customer-health", description="Customer-health analytics from the exports you already have."
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

    seats = data_parser(sub, "seats", "Seat utilization per account: present and adopted users ÷ seats.")
    seats.add_argument("--window-days", type=int, default=30, metavar="N")
    seats.add_argument("--as-of", metavar="DATE")
    seats.set_defaults(func=_analysis(_seats, render.render_seats))

    adoption = data_parser(sub, "adoption", "Core-feature breadth and depth per account, and concentration.")
    adoption.add_argument("--window-days", type=int, default=30, metavar="N")
    adoption.add_argument("--as-of", metavar="DATE")
    adoption.set_defaults(func=_analysis(_adoption, render.render_adoption))

    trends = data_parser(sub, "trends", "Weekly usage series, WoW/MoM change, slopes and decline flags.")
    trends.add_argument("--weeks", type=int, default=13, metavar="N")
    trends.add_argument("--account", metavar="ID", help="Only this account.")
    trends.add_argument("--as-of", metavar="DATE")
    trends.set_defaults(func=_analysis(_trends, render.render_trends))

    cohorts = data_parser(
        sub,
        "cohorts",
        "Retention by signup-month cohort (logos, revenue, active users), by ARR tier, and activated vs not.",
    )
    cohorts.add_argument("--months", type=int, default=12, metavar="N", help="Months since signup to show.")
    cohorts.add_argument("--activation", metavar="EVENT", help="The activation milestone event.")
    cohorts.add_argument("--as-of", metavar="DATE")
    cohorts.set_defaults(func=_analysis(_cohorts, render.render_cohorts, rows.cohort_rows))

    score = data_parser(
        sub,
        "score",
        "Health score 0–100 (high = healthy) per account, worst first, with its components and drivers.",
    )
    score.add_argument(
        "--profile",
        metavar="NAME|FILE",
        help="self_serve, enterprise (default), usage_based, high_touch, or a profile YAML file.",
    )
    score.add_argument("--as-of", metavar="DATE")
    score.set_defaults(func=_analysis(_score, render.render_scores, rows.score_rows))

    funnel = data_parser(
        sub,
        "funnel",
        "Users reaching each step of a workflow in order, the broken step and the evidence why.",
    )
    funnel.add_argument("--steps", required=True, metavar="A,B,C", help="Two or more events, in order.")
    funnel.add_argument(
        "--window-days", type=int, default=14, metavar="N", help="Days to finish (default 14)."
    )
    funnel.add_argument("--by", choices=["role", "segment", "account"], help="Break the funnel down.")
    funnel.add_argument("--account", metavar="ID", help="Only this account.")
    funnel.add_argument("--role", metavar="ROLE", help="Only users with this role.")
    funnel.add_argument(
        "--lookback-days", type=int, metavar="N", help="Only funnels started in the last N days."
    )
    funnel.add_argument("--as-of", metavar="DATE")
    funnel.set_defaults(func=_analysis(_funnel, render_health.render_funnel, rows.funnel_rows))

    workflows = data_parser(
        sub,
        "workflows",
        "Per account and workflow: who completed it, how often, vs target, and where others stop.",
    )
    workflows.add_argument(
        "--weeks", type=int, default=4, metavar="N", help="Weeks to look back (default 4)."
    )
    workflows.add_argument("--as-of", metavar="DATE")
    workflows.set_defaults(func=_analysis(_workflows, render_health.render_workflows, rows.workflow_rows))

    signals = data_parser(
        sub, "signals", "Risk signals per account, the combined risk level and one next action (owner, SLA)."
    )
    _profile_options(signals)
    signals.set_defaults(func=_analysis(_signals, render_health.render_signals, rows.signal_rows))

    portfolio = data_parser(
        sub,
        "portfolio",
        "Portfolio KPIs: GRR, NRR, logo retention, health by ARR, at-risk ARR, renewals due.",
    )
    _profile_options(portfolio)
    portfolio.add_argument(
        "--months", type=int, default=12, metavar="N", help="Retention period (default 12)."
    )
    portfolio.add_argument("--top", type=int, default=10, metavar="N", help="Accounts listed per table.")
    portfolio.set_defaults(func=_analysis(_portfolio, render_health.render_portfolio, rows.portfolio_rows))

    account = data_parser(sub, "account", "One account's card: score, drivers, seats, adoption, trend, risk.")
    account.add_argument("--id", required=True, metavar="ACCOUNT_ID", help="The account to show.")
    _profile_options(account)
    account.set_defaults(func=_analysis(_account, render_health.render_account, lambda c: [rows.card_row(c)]))

    validate = data_parser(
        sub,
        "validate",
        "Backtest the health score against renewal outcomes: AUC, lift, calibration, threshold.",
    )
    validate.add_argument("--outcomes", metavar="FILE", help="Renewal outcomes, if not among the PATHs.")
    validate.add_argument(
        "--cutoff", metavar="DATE", help="Score everyone as of this date, before the outcomes."
    )
    validate.add_argument("--horizon-days", type=int, default=90, metavar="N")
    validate.add_argument("--fp-cost", type=float, default=1.0, metavar="X", help="Cost of a false alarm.")
    validate.add_argument("--fn-cost", type=float, default=5.0, metavar="X", help="Cost of a missed churn.")
    validate.add_argument("--profile", metavar="NAME|FILE")
    validate.set_defaults(func=_analysis(_validate, render_health.render_validation, rows.validation_rows))

    report = data_parser(
        sub,
        "report",
        "The executive dashboard: one self-contained HTML file (works offline) and a PNG per chart.",
        formats=("table", "json"),
    )
    report.add_argument(
        "--out", metavar="DIR", help="Where to write (default: the workspace's outputs/report)."
    )
    report.add_argument("--top", type=int, default=25, metavar="N", help="Rows per table (default 25).")
    _profile_options(report)
    report.set_defaults(func=cmd_report)

    from customer_health.server.cli import draft as draft_cli

    draft_cli.add_parser(sub, data_parser)

    serve = sub.add_parser("serve", help="Run the MCP server (stdio for Claude Code, or streamable HTTP).")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP only; loopback unless you choose otherwise.")
    serve.add_argument("--port", type=int, default=8765, metavar="N", help="HTTP only.")
    serve.add_argument("--allow", metavar="DIR", action="append", help="Also allow loading files under DIR.")
    serve.add_argument(
        "--load", metavar="PATH", action="append", help="Exports to make the current dataset on first use."
    )
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
        print(
            f"customer-health: internal error: {type(exc).__name__}: {exc}\n"
            "Please report it; set CUSTOMER_HEALTH_DEBUG=1 to see the details.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
