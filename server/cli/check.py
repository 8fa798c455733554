"""`customer-health check DRAFT_FILE --kind KIND …`: the grounding check on a draft written elsewhere (by a person,
another tool, a chat), against the same facts pack and with the same report as `draft` and the MCP `check_draft`.

Exit codes: 0 when the draft passes, 2 on bad input (no such file, not text, unknown kind or account), 3 when a claim
fails the check (EXIT_UNGROUNDED, as for `draft`).
"""

from __future__ import annotations

import argparse

from customer_health.server.cli.common import EXIT_UNGROUNDED, roots_of, workspace_and_load
from customer_health.server.drafting.check import check_narrative, report_lines
from customer_health.server.render.output import to_json
from customer_health.tools.base.errors import InputError
from customer_health.tools.narrative.facts import KINDS

MAX_CHARS = 200_000  # as the MCP tool accepts

_HELP = (
    "Check a draft written elsewhere (a QBR, risk document, board summary, account summary or adoption diagnosis) "
    "against the facts computed from your exports: every figure, date and account name, with the same report as "
    "`draft`. Exit status: 0 the draft passes, 2 bad input, 3 a claim fails the check."
)


def add_parser(sub, data_parser) -> None:
    def leading(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "draft_file", metavar="DRAFT_FILE", help="The draft to check (markdown or plain text)."
        )

    p = data_parser(sub, "check", _HELP, formats=("text", "json"), leading=leading)
    p.epilog = "Exit status: 0 passed, 2 bad input, 3 a claim fails the check."
    p.add_argument("--kind", required=True, choices=list(KINDS), help="Which narrative the draft is.")
    p.add_argument(
        "--account", metavar="ID", help="The account (id or unique name) for qbr, risk, summary, diagnosis."
    )
    p.add_argument("--period", metavar="PERIOD", help="For board: YYYY-QN, YYYY-MM or YYYY.")
    p.add_argument("--as-of", metavar="DATE", help="The facts as of this date (default: the latest data).")
    p.add_argument(
        "--profile",
        metavar="NAME|FILE",
        help="Health profile preset or YAML file the facts are scored with (default: enterprise).",
    )
    p.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Also fail figures that cite no fact id (default: --no-strict; uncited figures are reported).",
    )
    p.add_argument(
        "--json", dest="format", action="store_const", const="json", help="The same as --format json."
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = read_draft(args, args.draft_file)
    ws, loaded = workspace_and_load(args, args.paths)
    try:
        report = check_narrative(
            ws.dataset(loaded),
            text,
            args.kind,
            account=args.account,
            period=args.period,
            as_of=args.as_of,
            profile=args.profile,
            strict=args.strict,
        )
    finally:
        ws.close()
    print(to_json(report) if args.format == "json" else "\n".join(report_lines(report)))
    return 0 if report.passed else EXIT_UNGROUNDED


def read_draft(args: argparse.Namespace, path: str) -> str:
    """The draft's text: a UTF-8 file under the allowed folders, not empty, at most MAX_CHARS characters."""
    real = roots_of(args).resolve(path, folder=False)
    try:
        text = real.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            "is not UTF-8 text.", file=path, fix="Save the draft as UTF-8 text (markdown or plain text)."
        ) from None
    if not text.strip():
        raise InputError("is empty: there is no draft to check.", file=path, fix="Point at the draft's file.")
    if len(text) > MAX_CHARS:
        raise InputError(
            f"has {len(text):,} characters; the check reads drafts of up to {MAX_CHARS:,}.",
            file=path,
            fix="Check the draft in parts.",
        )
    return text
