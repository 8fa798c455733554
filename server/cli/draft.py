"""`customer-health draft`: a narrative from computed facts — through Claude when ANTHROPIC_API_KEY is set, else a
deterministic template draft plus the prompt pack to use elsewhere — and the grounding check on what came out."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from customer_health.server.cli.common import EXIT_UNGROUNDED, workspace_and_load
from customer_health.server.drafting.check import check_against, report_lines
from customer_health.server.drafting.citations import STYLES, facts_document, mark_blocks, show_citations
from customer_health.server.drafting.claude import DraftError, draft_with_claude
from customer_health.server.drafting.prompts import (
    FACT_LIST_HEADING,
    RuleText,
    render_prompt,
    render_template_draft,
    rules_element,
)
from customer_health.server.render.output import terminal_text
from customer_health.tools.base.errors import InputError

KINDS = {
    "qbr": ("qbr_narrative", "account"),
    "risk": ("risk_document", "account"),
    "board": ("board_summary", "period"),
    "summary": ("account_summary", "account"),
    "diagnosis": ("adoption_diagnosis", "account"),
}
HTTP_CLIENT = None  # tests put a fake transport here; None means the SDK's own client
_RULE_BLOCK = re.compile(r'<rules name="[^"]+" title="[^"]*">.*?</rules>\n*', re.S)
_FACT_LIST = re.compile(re.escape(FACT_LIST_HEADING) + r"\n.*?</data>", re.S)


def add_parser(sub, data_parser) -> None:
    p = data_parser(
        sub,
        "draft",
        "Draft a QBR, risk document, board summary, account summary or adoption diagnosis from computed facts, "
        "then check every number in it against those facts.",
        formats=("text", "json"),
        leading=lambda p: p.add_argument("kind", choices=list(KINDS), help="What to draft."),
    )
    p.add_argument(
        "--account", metavar="ID", help="The account (id or unique name) for qbr, risk, summary, diagnosis."
    )
    p.add_argument("--period", metavar="PERIOD", help="For board: YYYY-QN, YYYY-MM or YYYY.")
    p.add_argument(
        "--model", metavar="NAME", help="Claude model (default: CUSTOMER_HEALTH_MODEL or the built-in)."
    )
    p.add_argument("--out", metavar="FILE", help="Write the draft here instead of to standard output.")
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="Compute the facts as of this day, YYYY-MM-DD (default: the latest date in the data).",
    )
    p.add_argument(
        "--citations",
        choices=STYLES,
        default="footnotes",
        help="How the draft shows the fact behind each figure: footnotes (default; markdown [^n] with the fact "
        "ids listed at the end), inline [f:<id>] markers, or none. The check reads all three the same way.",
    )
    p.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Fail (exit 3) on figures that cite no fact, as well as on wrong ones (default); --no-strict fails "
        "only wrong, misattributed or unsupported claims.",
    )
    p.add_argument(
        "--profile",
        metavar="NAME|FILE",
        help="Health profile preset or YAML file the facts are scored with (default: enterprise).",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    name, arg_kind = KINDS[args.kind]
    argument = args.account if arg_kind == "account" else args.period
    ws, loaded = workspace_and_load(args, args.paths)
    try:
        ds = ws.dataset(loaded)
        rendered = render_prompt(ds, name, argument, as_of=args.as_of, profile=args.profile)
        names = ds.account_names()
        outputs = ws.home / "outputs" / "drafts"
    finally:
        ws.close()
    key = os.environ.get("ANTHROPIC_API_KEY")
    if key:
        text, source = _with_claude(rendered, key, args.model, _title(args.kind, argument)), "claude"
    else:
        text, source = render_template_draft(args.kind, rendered.facts), "template"
        outputs.mkdir(parents=True, exist_ok=True)
        pack = outputs / f"{name}-{_slug(argument or 'portfolio')}.prompt.md"
        pack.write_text(rendered.text, encoding="utf-8")
        print(
            f"No ANTHROPIC_API_KEY: wrote a template draft. The prompt pack for any LLM is {pack}",
            file=sys.stderr,
        )

    report = check_against(text, rendered.facts, names, strict=args.strict)
    text = show_citations(text, rendered.facts, args.citations)
    if args.out:
        Path(args.out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    if args.format == "json":
        import json

        print(
            json.dumps(
                {
                    "kind": args.kind,
                    "source": source,
                    "citations": args.citations,
                    "draft": text,
                    "grounding": report.model_dump(mode="json"),
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
    elif not args.out:
        print(text)
    print(terminal_text("\n".join(report_lines(report))), file=sys.stderr)
    return 0 if report.passed else EXIT_UNGROUNDED


def _with_claude(rendered, key: str, model: str | None, title: str) -> str:
    """Rules in a cached system block; the facts as a custom-content document with citations on (one block per
    fact) and the task in the user message. The text returned carries a `[f:<id>]` marker after every figure the
    API's citations (or the model's own markers) tie to a fact."""
    system = _rules_text(rendered.rule_texts)
    document, ids = facts_document(rendered.facts, title)
    prompt = _RULE_BLOCK.sub("", rendered.text).replace(
        "The following rules documents are part of this task",
        "The rules documents in the system prompt are part of this task",
    )
    prompt = _FACT_LIST.sub(
        "The fact list is the document attached to this message, one block per fact as '<id>: <value> <unit> "
        "(<subject>)': cite the blocks behind every figure (or write the fact id as [f:<id>]).\n</data>",
        prompt,
    )
    kwargs = {"model": model} if model else {}
    try:
        draft = draft_with_claude(
            system, prompt, api_key=key, http_client=HTTP_CLIENT, documents=[document], **kwargs
        )
    except DraftError as exc:
        raise InputError(str(exc)) from None
    if draft.stop_reason == "max_tokens":
        print(
            f"warning: the draft was cut off at {draft.output_tokens} output tokens (max_tokens); "
            "it ends mid-way.",
            file=sys.stderr,
        )
    return mark_blocks(draft.blocks, ids) if draft.blocks else draft.text


def _title(kind: str, argument: str | None) -> str:
    return f"Facts of the {kind} narrative" + (f" for {argument}" if argument else "")


def _rules_text(rules: list[RuleText]) -> str:
    """The system block: the prompt's own rules elements (bodies without front matter, the same section cuts), so
    Claude reads exactly the rules text the prompt pack and the MCP prompt carry."""

    parts = [rules_element(r) for r in rules]
    return "You draft customer-success narratives from computed facts only. Method:\n\n" + "\n\n".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]+", "-", text)[:60]
