"""The `customer-health` command: the same computations as the MCP tools, for terminals and scripts.

Bad input exits with code 2 and a message on stderr naming the file, column or row and the fix; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from importlib import resources
from pathlib import Path

from customer_health.tools.errors import InputError

from . import render
from .output import to_csv, to_json

EXIT_BAD_INPUT = 2


def example_dir() -> Path:
    """The bundled example portfolio (works from a checkout and from an installed wheel)."""
    return Path(str(resources.files("customer_health.examples"))) / "sample"


def _on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def _progress_printer():
    if not _on_terminal():
        return None

    def show(done: int, total: int, label: str) -> None:
        width = 24
        filled = int(width * done / total) if total else width
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:<40}{end}")
        sys.stderr.flush()

    return show


def _workspace_and_load(args: argparse.Namespace, paths: list[str]):
    from .workspace import AllowedRoots, Workspace, read_mapping_file

    roots = AllowedRoots.from_env(getattr(args, "allow", None) or [])
    mapping = read_mapping_file(roots.resolve(args.map)) if getattr(args, "map", None) else None
    ws = Workspace(progress_bar=_on_terminal() and getattr(args, "format", "table") == "table")
    try:
        result = ws.load(
            paths,
            mapping=mapping,
            roots=roots,
            config=getattr(args, "config", None),
            today=date.today(),
            progress=_progress_printer(),
        )
    except BaseException:
        ws.close()
        raise
    return ws, result


def cmd_load(args: argparse.Namespace) -> int:
    ws, result = _workspace_and_load(args, args.paths)
    ws.close()
    print(to_json(result) if args.format == "json" else render.render_load(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    sample = example_dir()
    print(f"Loading the bundled example portfolio from {sample}\n")
    args.map, args.config, args.allow, args.format = None, None, None, "table"
    ws, result = _workspace_and_load(args, [str(sample)])
    ws.close()
    print(render.render_load(result))
    print(f"\nWorkspace: {ws.db_path}")
    return 0


def _analysis(compute, renderer, rows_of=lambda result: [r.model_dump(mode="json") for r in result.accounts]):
    """A data command: load the paths (cached), run one computation, print it in the chosen format."""

    def run(args: argparse.Namespace) -> int:
        ws, loaded = _workspace_and_load(args, args.paths)
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
    from customer_health.tools.usage import seat_utilization

    return seat_utilization(ds, window_days=args.window_days, as_of=args.as_of)


def _adoption(ds, args):
    from customer_health.tools.adoption import feature_adoption

    return feature_adoption(ds, window_days=args.window_days, as_of=args.as_of)


def _trends(ds, args):
    from customer_health.tools.trends import usage_trends

    return usage_trends(ds, as_of=args.as_of, weeks=args.weeks, account=args.account)


def _cohorts(ds, args):
    from customer_health.tools.cohorts import compute_cohorts

    return compute_cohorts(ds, as_of=args.as_of, max_months=args.months, activation_event=args.activation)


def _cohort_rows(result) -> list[dict]:
    rows = []
    for table in (result.logo, result.revenue, result.active_users):
        if table is None:
            continue
        for r in table.rows:
            rows.append(
                {
                    "metric": table.metric,
                    "cohort": r.cohort,
                    "size": r.size,
                    "low_confidence": r.low_confidence,
                    **{f"m{i}": v for i, v in enumerate(r.values)},
                }
            )
    return rows


def _score(ds, args):
    from customer_health.tools.health import apply_previous, score_accounts

    scores = score_accounts(ds, as_of=args.as_of, profile=args.profile)
    ws = args._workspace
    apply_previous(scores.accounts, {a: s for a, (s, _) in ws.earlier_scores(ds.dataset_id, scores).items()})
    ws.remember_scores(ds.dataset_id, scores)
    return scores


def _score_rows(result) -> list[dict]:
    rows = []
    for a in result.accounts:
        row = a.model_dump(mode="json", exclude={"drivers"})
        row["top_drivers"] = "; ".join(d.text for d in a.drivers[:3])
        rows.append(row)
    return rows


def cmd_serve(args: argparse.Namespace) -> int:
    from .mcp_server import run

    run(transport=args.transport, host=args.host, port=args.port, allow=args.allow or [])
    return 0


def _data_parser(sub, name: str, help_text: str, formats=("table", "json", "csv")) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("paths", nargs="+", metavar="PATH", help="Export files or folders.")
    p.add_argument(
        "--map", metavar="FILE", help="Mapping file (YAML/JSON) that forces table kinds or columns."
    )
    p.add_argument("--config", metavar="FILE", help="customer-health.yaml with the product semantics.")
    p.add_argument("--allow", metavar="DIR", action="append", help="Also allow reading under DIR.")
    p.add_argument("--format", choices=list(formats), default="table")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customer-health", description="Customer-health analytics from the exports you already have."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="Run the main job on the bundled example data.")
    demo.set_defaults(func=cmd_demo)

    load = _data_parser(
        sub,
        "load",
        "Load exports; show the tables recognised, the column mapping and the data-quality report.",
        formats=("table", "json"),
    )
    load.set_defaults(func=cmd_load)

    seats = _data_parser(sub, "seats", "Seat utilization per account: present and adopted users ÷ seats.")
    seats.add_argument("--window-days", type=int, default=30, metavar="N")
    seats.add_argument("--as-of", metavar="DATE")
    seats.set_defaults(func=_analysis(_seats, render.render_seats))

    adoption = _data_parser(sub, "adoption", "Core-feature breadth and depth per account, and concentration.")
    adoption.add_argument("--window-days", type=int, default=30, metavar="N")
    adoption.add_argument("--as-of", metavar="DATE")
    adoption.set_defaults(func=_analysis(_adoption, render.render_adoption))

    trends = _data_parser(sub, "trends", "Weekly usage series, WoW/MoM change, slopes and decline flags.")
    trends.add_argument("--weeks", type=int, default=13, metavar="N")
    trends.add_argument("--account", metavar="ID", help="Only this account.")
    trends.add_argument("--as-of", metavar="DATE")
    trends.set_defaults(func=_analysis(_trends, render.render_trends))

    cohorts = _data_parser(
        sub,
        "cohorts",
        "Retention by signup-month cohort (logos, revenue, active users), by ARR tier, and activated vs not.",
    )
    cohorts.add_argument("--months", type=int, default=12, metavar="N", help="Months since signup to show.")
    cohorts.add_argument("--activation", metavar="EVENT", help="The activation milestone event.")
    cohorts.add_argument("--as-of", metavar="DATE")
    cohorts.set_defaults(func=_analysis(_cohorts, render.render_cohorts, _cohort_rows))

    score = _data_parser(
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
    score.set_defaults(func=_analysis(_score, render.render_scores, _score_rows))

    serve = sub.add_parser("serve", help="Run the MCP server (stdio for Claude Code, or streamable HTTP).")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP only; loopback unless you choose otherwise.")
    serve.add_argument("--port", type=int, default=8765, metavar="N", help="HTTP only.")
    serve.add_argument("--allow", metavar="DIR", action="append", help="Also allow loading files under DIR.")
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
