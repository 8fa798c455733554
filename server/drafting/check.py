"""Checking a narrative draft against the facts of its kind: the one path behind `customer-health draft`,
`customer-health check` and the MCP `check_draft` tool, so that a draft gets the same report wherever it is checked.

The check reads the draft as a markdown reader sees it: backslash escapes (which template drafts put before the
markdown characters of names from the data) are undone first, so `\\[Acme\\]` is the account `[Acme]`; markdown
footnotes that name fact ids (how `draft --citations footnotes` writes citations) are read as `[f:<id>]` markers.
"""

from __future__ import annotations

from datetime import date

from customer_health.server.drafting.citations import footnotes_to_markers
from customer_health.server.render.output import markdown_plain
from customer_health.tools.health.profiles import Profile
from customer_health.tools.narrative.facts import build_facts
from customer_health.tools.narrative.grounding import GroundingReport, check_draft


def check_against(text: str, facts, account_names: list[str], *, strict: bool = False) -> GroundingReport:
    """Judge every figure, date and account name of `text` against `facts`; `strict` also fails uncited figures."""
    return check_draft(
        markdown_plain(footnotes_to_markers(text)), facts, account_names=account_names, strict=strict
    )


def check_narrative(
    ds,
    text: str,
    kind: str,
    *,
    account: str | None = None,
    period: str | None = None,
    as_of: date | str | None = None,
    profile: Profile | str | None = None,
    strict: bool = False,
) -> GroundingReport:
    """Build the facts pack of `kind` (for `period` when it is a board summary, else for `account`) and check `text`
    against it, with every account name of the dataset known, so that another account's name is caught."""
    facts = build_facts(ds, kind, period if kind == "board" else account, as_of, profile)
    return check_against(text, facts, ds.account_names(), strict=strict)


def report_lines(report: GroundingReport, limit: int = 20) -> list[str]:
    """The report for a person: the summary, then each failing claim with its verdict, the right value when the
    facts hold one, and its sentence."""
    lines = [f"Grounding check: {report.summary}"]
    for claim in report.unsupported[:limit]:
        right = f" (the facts say {claim.expected})" if claim.expected else ""
        verdict = claim.verdict.replace("_", " ")
        lines.append(f"  {verdict} {claim.kind} '{claim.text}'{right} in: {claim.sentence}")
    if len(report.unsupported) > limit:
        lines.append(f"  … {len(report.unsupported) - limit} more (use --format json)")
    return lines
