"""What every data command shares: the PATH… arguments, the allowed roots, loading through the workspace, and the
one place where a command's text meets the terminal."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

from customer_health.tools.data.engines import (
    ENGINES,
)  # light: no engine driver is imported until one is opened

if TYPE_CHECKING:  # imported where used: a command that needs no data starts without pandas and DuckDB
    from customer_health.tools.data.workspace import AllowedRoots, Workspace

EXIT_UNGROUNDED = 3  # draft and check: a claim of the draft fails the grounding check
TEXT_FORMATS = ("table", "text")


def terminal_output(args: argparse.Namespace):
    """Run a command inside this: its text output (table or text format) reaches standard output without the escape
    sequences and control characters that names in the data may carry; JSON and CSV are written as they are, and
    `serve` keeps standard output for the MCP protocol."""
    from customer_health.server.render.output import terminal_safe_stdout

    text = getattr(args, "format", "table") in TEXT_FORMATS and getattr(args, "command", None) != "serve"
    return terminal_safe_stdout(text)


def on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def progress_printer():
    if not on_terminal():
        return None

    def show(done: int, total: int, label: str) -> None:
        width = 24
        filled = int(width * done / total) if total else width
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:<40}{end}")
        sys.stderr.flush()

    return show


def roots_of(args: argparse.Namespace) -> AllowedRoots:
    from customer_health.tools.data.workspace import AllowedRoots

    return AllowedRoots.from_env(getattr(args, "allow", None) or [])


def workspace_and_load(args: argparse.Namespace, paths: list[str], remember: bool = False):
    """Open the workspace and load `paths` (ingested once, cached by content); the caller closes it. With
    `remember`, the load becomes the workspace's current dataset, which a new MCP server picks up."""
    from customer_health.tools.data.workspace import Workspace, read_mapping_file

    roots = roots_of(args)
    mapping = read_mapping_file(roots.resolve(args.map, folder=False)) if getattr(args, "map", None) else None
    ws = Workspace(progress_bar=on_terminal() and getattr(args, "format", "table") == "table")
    try:
        result = ws.load(
            paths,
            mapping=mapping,
            roots=roots,
            config=getattr(args, "config", None),
            today=date.today(),
            progress=progress_printer(),
            remember=remember,
            engine=getattr(args, "engine", None) or "duckdb",
        )
    except BaseException:
        ws.close()
        raise
    for note in result.workspace_notes:  # a damaged workspace set aside and rebuilt: said, not silent
        print(f"customer-health: note: {note}", file=sys.stderr)
    return ws, result


def data_parser(
    sub, name: str, help_text: str, formats=("table", "json", "csv"), leading=None
) -> argparse.ArgumentParser:
    """A command over loaded exports; `leading(parser)` adds positionals that come before PATH…."""
    p = sub.add_parser(name, help=help_text, description=help_text)
    if leading is not None:
        leading(p)
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="Export files or folders, or a database: postgresql://USER@HOST:PORT/DATABASE (password in "
        "PGPASSWORD or ~/.pgpass), or with --engine spark local[*] or sc://HOST:PORT.",
    )
    p.add_argument(
        "--map",
        metavar="FILE",
        help="Mapping file (YAML/JSON) that forces table kinds or columns (for a database, files: names each "
        "table or view: {schema.table: events}).",
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="duckdb",
        help="Where the events live and the event-level work runs: duckdb (the files, loaded into the "
        "workspace; default), postgres or spark (the events stay there).",
    )
    p.add_argument("--config", metavar="FILE", help="customer-health.yaml with the product semantics.")
    p.add_argument("--allow", metavar="DIR", action="append", help="Also allow reading under DIR.")
    p.add_argument(
        "--format",
        choices=list(formats),
        default=formats[0],
        help=f"Output format: {', '.join(formats)} (default: {formats[0]}).",
    )
    return p


def load_more(ws: Workspace, args: argparse.Namespace, path: str):
    """Another export (an outcomes file) as a dataset of its own, under the same allowed folders."""
    return ws.dataset(ws.load([path], roots=roots_of(args), today=date.today()))
