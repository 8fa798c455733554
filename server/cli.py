"""The `customer-health` command: the same computations as the MCP tools, for terminals and scripts.

Bad input exits with code 2 and a message on stderr naming the file, column or row and the fix; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from importlib import resources
from pathlib import Path

from customer_health.tools.errors import InputError

EXIT_BAD_INPUT = 2


def example_dir() -> Path:
    """The bundled example portfolio (works from a checkout and from an installed wheel)."""
    return Path(str(resources.files("customer_health.examples"))) / "sample"


def _progress_printer():
    if not sys.stderr.isatty():
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
    ws = Workspace()
    result = ws.load(paths, mapping=mapping, roots=roots, config=getattr(args, "config", None),
                     today=date.today(), progress=_progress_printer())
    return ws, result


def cmd_load(args: argparse.Namespace) -> int:
    ws, result = _workspace_and_load(args, args.paths)
    ws.close()
    if args.format == "json":
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        from .render import render_load

        print(render_load(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .render import render_load

    sample = example_dir()
    print(f"Loading the bundled example portfolio from {sample}\n")
    args.paths, args.map, args.config = [str(sample)], None, None
    ws, result = _workspace_and_load(args, [str(sample)])
    ws.close()
    print(render_load(result))
    print(f"\nWorkspace: {ws.db_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customer-health",
        description="Customer-health analytics from the exports you already have.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="Run the main job on the bundled example data.")
    demo.set_defaults(func=cmd_demo)

    load = sub.add_parser("load", help="Load exports; show the tables recognised, the column mapping and the "
                                       "data-quality report.")
    load.add_argument("paths", nargs="+", metavar="PATH", help="Export files or folders.")
    load.add_argument("--map", metavar="FILE", help="Mapping file (YAML/JSON) that forces table kinds or columns.")
    load.add_argument("--config", metavar="FILE", help="customer-health.yaml with the product semantics.")
    load.add_argument("--allow", metavar="DIR", action="append", help="Also allow reading under DIR.")
    load.add_argument("--format", choices=["table", "json"], default="table")
    load.set_defaults(func=cmd_load)
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
        print(f"customer-health: internal error: {type(exc).__name__}: {exc}\n"
              "Please report it; set CUSTOMER_HEALTH_DEBUG=1 to see the details.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
