"""Narrative prompts and template drafts, rendered from jinja2 files in `prompts/` with the facts packs.

A prompt embeds the rules it relies on (by name, from `rules/`), the facts fenced as data, and the contract: use only
those numbers, mark anything unsupported. A template draft is the deterministic narrative the same facts give without
a language model. Both are data files validated on load: `StrictUndefined` turns a missing variable into an error and
each prompt template has a context model that forbids unknown fields.

Text from the data is data: a template draft receives its facts with every string escaped for markdown (an account
named `<script>` or `[x](y)` reads literally wherever the template puts it), and jinja never evaluates a value, so a
name such as `{{ 77 }}` is printed as written.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from datetime import date
from functools import lru_cache
from typing import Literal

from customer_health.server.drafting.citations import fact_list_text
from customer_health.server.render.output import markdown_text
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.formats import change, percent
from customer_health.tools.health.profiles import Profile
from customer_health.tools.narrative.fact_list import CitedStr, with_fact_ids
from customer_health.tools.narrative.facts import KINDS, build_facts
from customer_health.tools.narrative.facts_common import FactKind, Facts, Money, Share
from customer_health.tools.narrative.grounding import cite_draft
from customer_health.tools.risk.rules import rules_document, rules_names
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

UNSUPPORTED = "[unsupported]"
FACT_LIST_HEADING = "Fact list (id: value unit (subject)) — the ids to cite:"
_DRAFT_FOLDER = "drafts"


class PromptSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: FactKind
    description: str
    argument: str | None = Field(description="The single argument's name (Claude Code splits on spaces).")
    argument_description: str | None = None
    required: bool
    rules: tuple[str, ...] = Field(description="The rules files (stems) the prompt embeds, in order.")


_ACCOUNT = "Account id or name (a unique prefix such as 'acme' works; no spaces)."
PROMPTS: dict[str, PromptSpec] = {
    spec.name: spec
    for spec in (
        PromptSpec(
            name="qbr_narrative",
            kind="qbr",
            description="Draft a QBR narrative for one account from its computed facts, opening with who is "
            "active, what they are doing and what it is producing.",
            argument="account_id",
            argument_description=_ACCOUNT,
            required=True,
            rules=(
                "narrative-voice",
                "adoption-analytics",
                "health-score-design",
                "funnel-diagnosis",
                "playbooks",
            ),
        ),
        PromptSpec(
            name="risk_document",
            kind="risk",
            description="Write the at-risk analysis for one account: signals, root cause, stakeholders, action "
            "plan with owners and deadlines, and the escalation.",
            argument="account_id",
            argument_description=_ACCOUNT,
            required=True,
            rules=(
                "narrative-voice",
                "risk-signals",
                "indicators",
                "escalation",
                "playbooks",
                "funnel-diagnosis",
            ),
        ),
        PromptSpec(
            name="board_summary",
            kind="board",
            description="Draft the board's customer-health summary (situation, complication, resolution) from "
            "the portfolio KPIs of a period.",
            argument="period",
            argument_description="YYYY-QN, YYYY-MM or YYYY (e.g. 2026-Q3); omit for the 12 months to the "
            "latest data.",
            required=False,
            rules=(
                "narrative-voice",
                "executive-reporting",
                "health-score-design",
                "indicators",
                "cohort-analysis",
            ),
        ),
        PromptSpec(
            name="account_summary",
            kind="summary",
            description="Write one account's one-sentence summary — who is active, what they are doing, what it "
            "is producing — with its score and next action.",
            argument="account_id",
            argument_description=_ACCOUNT,
            required=True,
            rules=("narrative-voice", "adoption-analytics", "health-score-design"),
        ),
        PromptSpec(
            name="adoption_diagnosis",
            kind="diagnosis",
            description="Diagnose where the core workflow stalls — the broken step, who drops there, the likely "
            "cause and the next action — for one account or the whole portfolio.",
            argument="account_id",
            argument_description="Account id or name; omit to diagnose the whole portfolio.",
            required=False,
            rules=("narrative-voice", "funnel-diagnosis", "adoption-analytics"),
        ),
    )
}


class RuleText(BaseModel):
    """One rules document as a prompt embeds it: the body without its front matter, cut to what the facts use."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    body: str


class RenderedPrompt(BaseModel):
    name: str
    text: str
    rules: list[str] = Field(description="The rules files embedded, in order.")
    rule_texts: list[RuleText] = Field(
        default_factory=list,
        description="Those rules as embedded: the same text wherever the prompt is sent.",
    )
    facts: SerializeAsAny[BaseModel]


class PromptContext(BaseModel):
    """What every prompt template reads; values from the data appear only inside `facts_json`."""

    model_config = ConfigDict(extra="forbid")

    as_of: date
    marker: str = UNSUPPORTED
    fact_list_heading: str = FACT_LIST_HEADING
    rules: list[RuleText]
    facts_json: str
    fact_ids: str = Field(
        description="The citable facts, one per line `<id>: <value> <unit> (<subject>)`, fenced like the JSON."
    )


class QbrContext(PromptContext):
    pass


class RiskContext(PromptContext):
    pass


class SummaryContext(PromptContext):
    pass


class BoardContext(PromptContext):
    period_label: str = Field(description="Our normalized label (2026-Q3, 12 months to …), never raw input.")
    period_complete: bool


class DiagnosisContext(PromptContext):
    scope: Literal["account", "portfolio"]


CONTEXTS: dict[str, type[PromptContext]] = {
    "qbr_narrative": QbrContext,
    "risk_document": RiskContext,
    "board_summary": BoardContext,
    "account_summary": SummaryContext,
    "adoption_diagnosis": DiagnosisContext,
}


class DraftContext(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    kind: FactKind
    f: SerializeAsAny[Facts]
    marker: str = UNSUPPORTED


def render_prompt(
    ds,
    name: str,
    argument: str | None = None,
    as_of: date | str | None = None,
    profile: Profile | str | None = None,
) -> RenderedPrompt:
    """The prompt `name` for `argument` (an account, or a period for board_summary), facts fenced as data; the
    facts' scores and risk are the analysis pipeline's for `as_of` and `profile` (default enterprise)."""
    spec = PROMPTS.get(name)
    if spec is None:
        raise InputError(f"unknown prompt '{name}'.", column="prompt", options=list(PROMPTS))
    if spec.required and not (argument and argument.strip()):
        raise InputError(
            f"the {name} prompt needs its {spec.argument}.",
            column=spec.argument,
            fix=spec.argument_description,
        )
    facts = build_facts(ds, spec.kind, argument, as_of, profile)
    rules = _rules_for(spec, facts)
    extra: dict[str, object] = {}
    if spec.kind == "board":
        extra = {"period_label": facts.period.label, "period_complete": facts.period.complete}
    elif spec.kind == "diagnosis":
        extra = {"scope": facts.scope}
    context = CONTEXTS[name](
        as_of=facts.as_of,
        rules=rules,
        facts_json=fence_json(facts),
        fact_ids=_fenced(fact_list_text(facts)),
        **extra,
    )
    text = render_template(f"{name}.md.j2", context)
    return RenderedPrompt(name=name, text=text, rules=[r.name for r in rules], rule_texts=rules, facts=facts)


def rules_element(rule: RuleText) -> str:
    """One rules document as every prompt embeds it (the prompt templates write the same element)."""
    return f'<rules name="{rule.name}" title="{rule.title}">\n{rule.body}\n</rules>'


def render_template_draft(kind: str, facts: Facts) -> str:
    """A deterministic narrative from the facts alone (no language model), labelled as a template draft."""
    if kind not in KINDS:
        raise InputError(f"unknown draft kind '{kind}'.", column="kind", options=list(KINDS))
    if getattr(facts, "kind", None) != kind:
        raise InputError(
            f"these facts are for a {getattr(facts, 'kind', 'unknown')} narrative, not a {kind}.",
            column="kind",
            fix="Build the facts with the same kind.",
        )
    escaped = markdown_facts(
        facts
    )  # the same fact ids; names as the draft writes them, so none is read as figures
    models: dict[int, str] = {}
    cited = with_fact_ids(escaped, models)
    token = _CITED_MODELS.set(models)
    try:
        text = render_template(f"{_DRAFT_FOLDER}/{kind}.md.j2", DraftContext(kind=kind, f=cited))
    finally:
        _CITED_MODELS.reset(token)
    # a figure printed straight from a fact cites that fact's path; one the template computed is matched by value
    return cite_draft(text, escaped)


_CITED_MODELS: ContextVar[dict[int, str] | None] = ContextVar("cited_models", default=None)


def _fact_id(value) -> str | None:
    return getattr(value, "fact_id", None) or (_CITED_MODELS.get() or {}).get(id(value))


def _cite(value, text: str) -> str:
    """`text` (how a filter printed `value`) carrying `value`'s fact id, when it has one."""
    fact = _fact_id(value)
    return CitedStr(text, fact) if fact else text


def _finalize(value):
    """What `{{ … }}` prints: a figure straight from the facts gets its citation marker."""
    fact = getattr(value, "fact_id", None)
    return f"{value} [f:{fact}]" if fact else value


def markdown_facts(value):
    """A copy of `value` (a facts model and everything in it) whose strings are escaped for markdown; numbers, dates
    and mapping keys are left as they are."""
    if isinstance(value, str):
        return markdown_text(value)
    if isinstance(value, BaseModel):
        fields = {name: markdown_facts(getattr(value, name)) for name in type(value).model_fields}
        return value.model_copy(update=fields)
    if isinstance(value, list | tuple):
        return type(value)(markdown_facts(v) for v in value)
    if isinstance(value, dict):
        return {k: markdown_facts(v) for k, v in value.items()}
    return value


def render_template(template: str, context: BaseModel) -> str:
    """Render one template file with a validated context (attributes of nested models stay models)."""
    values = {name: getattr(context, name) for name in type(context).model_fields}
    return _environment().get_template(template).render(**values)


def fence_json(facts: BaseModel) -> str:
    """The facts as JSON that cannot close its <data> fence: <, > and & are written as JSON unicode escapes."""
    return _fenced(json.dumps(facts.model_dump(mode="json"), indent=1, ensure_ascii=False))


def _fenced(text: str) -> str:
    """`text` that cannot close a <data> fence: <, > and & written as JSON unicode escapes."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


@lru_cache(maxsize=1)
def _environment():
    from importlib.resources import files

    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("customer_health.prompts"))),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
        finalize=_finalize,
    )
    env.filters.update(pct=pct, money=money, num=num, sentence=sentence, lower_first=lower_first)
    return env


def pct(value: Share | None, signed: bool = False) -> str:
    """A share as a whole percentage (0.4213 → 42%; signed: +12%, -33%)."""
    if value is None:
        return "n/a"
    return _cite(value, change(value.ratio) if signed else percent(value.ratio))


def money(value: Money | None) -> str:
    return "n/a" if value is None else _cite(value, value.display)


def num(value: float | int | None, decimals: int = 1) -> str:
    """30.6 → '30.6', 5.0 → '5', None → 'n/a'."""
    if value is None:
        return "n/a"
    rounded = round(float(value), decimals)
    return _cite(value, f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.{decimals}f}")


def sentence(text: str) -> str:
    """Upper-case the first letter only (jinja's capitalize lower-cases the rest)."""
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """Lower-case the first letter only, so that 'Detractor NPS' reads 'detractor NPS' mid-sentence."""
    return text[:1].lower() + text[1:]


def rule_documents() -> dict[str, tuple[dict, str]]:
    """Every shipped rules file: stem → (front matter, markdown body), as `rules_document` reads them."""
    return {n: (d.front_matter, d.body) for n in rules_names() for d in (rules_document(n),)}


def _rules_for(spec: PromptSpec, facts: Facts) -> list[RuleText]:
    """The prompt's rules; the long signal and playbook catalogues are cut to the sections these facts use."""
    keep = _relevant_ids(facts)
    out = []
    for name in spec.rules:
        doc = rules_document(name)
        body = excerpt(doc.body, keep) if name in ("risk-signals", "playbooks") else doc.body
        out.append(RuleText(name=name, title=doc.title, body=body.strip()))
    return out


def _relevant_ids(facts: Facts) -> set[str]:
    ids: set[str] = set()
    for signal in getattr(facts, "signals", []) or []:
        ids |= {signal.id, signal.playbook}
    for combo in getattr(facts, "combinations", []) or []:
        ids.add(combo.playbook)
    step = getattr(facts, "next_action", None) or getattr(
        getattr(facts, "action_plan", None), "next_action", None
    )
    if step is not None:
        ids.add(step.playbook)
    return ids


def excerpt(body: str, ids: set[str]) -> str:
    """The body's introduction plus only the `## … (`id`)` sections whose id is in `ids`."""
    chunks = re.split(r"(?m)^(?=## )", body)
    kept = [chunks[0]]
    for chunk in chunks[1:]:
        match = re.match(r"## [^\n]*`([a-z][a-z0-9_]*)`", chunk)
        if match is None or match.group(1) in ids:
            kept.append(chunk)
    return "".join(kept)
