"""The risk rules: signals, playbooks, the combination matrix and the escalation path, read from the YAML
front matter of the markdown files in `rules/` and validated on load. The markdown bodies guide the LLM; the
front matter drives the engine, so the two cannot drift apart.

This module is the one reader of `rules/`: the engine, the prompts, the Claude system block, the facts packs and the
MCP `rules://` resource all get a file through `rules_document` (front matter parsed, body without it).

Conditions are declarative (`{metric, op, value}`, `all: [...]`, `any: [...]`) and evaluated here; nothing in
a rules file is ever executed.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from customer_health.tools.base.errors import InputError, nearest
from customer_health.tools.data.paths import safe_yaml
from customer_health.tools.health.metrics import CATALOGUE
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SEEN_DAYS = 90


# What these inputs add to the metric catalogue (metrics.CATALOGUE), for rule authors: name → (kind, meaning).
DERIVED: dict[str, tuple[str, str]] = {
    "name": ("text", "the account's name"),
    "segment": ("text", "the account's segment"),
    "csm_owner": ("text", "the CSM who owns the account"),
    "arr": ("number", "annual recurring revenue (arr, else 12 × mrr)"),
    "tenure_days": ("number", "days since the contract started (else signup, else the first event)"),
    "contract_days": ("number", "days since the recorded contract start (else signup); never from events"),
    "days_inactive": (
        "number",
        "days since anyone was active (events, else the snapshot's days since login)",
    ),
    "last_activity": ("text", "the date of the last activity, or 'never'"),
    "core_actions_30d": ("number", "core-feature actions in the last 30 days"),
    "core_actions_prior_30d": ("number", "core-feature actions in the 30 days before those"),
    "key_user": ("text", "the user with the most core actions in the last 30 days"),
    "key_user_share": ("number", "the key user's share of those core actions (0–1)"),
    "key_user_idle_days": ("number", "days since the key user's last event"),
    "key_user_last_seen": ("text", "the date of the key user's last event"),
    "unused_core_features": (
        "number",
        "core features used in the 60 days before the last 14 but not in them",
    ),
    "unused_core_list": ("text", "those features, comma-separated"),
    "champion_left_days": ("number", "days since the latest champion deactivation"),
    "champion_left_on": ("text", "the date of that deactivation"),
    "champions_remaining": ("number", "champions not deactivated by as_of"),
    "champion_last_seen": ("text", f"the last event date of a remaining champion (within {SEEN_DAYS} days)"),
    "renewal_on": ("text", "the renewal date"),
    "days_to_renewal": ("number", "days from as_of to the renewal date (negative once past)"),
    "competitor_mentions": ("number", "tickets in 90 days naming a competitor or using evaluation language"),
    "competitors_named": ("text", "the competitors those tickets name"),
    "competitor_latest": ("text", "the latest such ticket's text, shortened"),
    "competitor_latest_on": ("text", "its date"),
    "health_score": ("number", "the health score, 0–100"),
    "tier": ("text", "the health tier"),
    "previous_score": ("number", "the health score 30 days earlier"),
    "previous_tier": ("text", "the tier of that score"),
    "health_change": ("number", "health score minus the score 30 days earlier"),
    "tier_drop": ("number", "tiers fallen in 30 days (negative: risen)"),
}

Severity = Literal["low", "medium", "high", "very_high", "critical"]
RiskLevel = Literal["none", "low", "medium", "high", "critical"]
Category = Literal[
    "usage",
    "engagement",
    "sentiment",
    "support",
    "organizational",
    "competitive",
    "contractual",
    "onboarding",
    "health",
]
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "very_high": 4, "critical": 5}
RISK_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 5}
TEXT_METRICS = frozenset(name for name, (kind, _) in DERIVED.items() if kind == "text")
METRICS = frozenset(CATALOGUE) | frozenset(DERIVED)
# each comparison as a closure over (metric, value), False when the row has no value (written out: no operator call
# per test)
_TESTS: dict[str, Callable[[str, Any], Callable[[dict[str, Any]], bool]]] = {
    "<": lambda m, x: lambda row: (v := row.get(m)) is not None and v < x,
    "<=": lambda m, x: lambda row: (v := row.get(m)) is not None and v <= x,
    ">": lambda m, x: lambda row: (v := row.get(m)) is not None and v > x,
    ">=": lambda m, x: lambda row: (v := row.get(m)) is not None and v >= x,
    "==": lambda m, x: lambda row: (v := row.get(m)) is not None and v == x,
    "!=": lambda m, x: lambda row: (v := row.get(m)) is not None and v != x,
}
_ID = r"^[a-z][a-z0-9_]*$"
_SLA = r"^\d+ (hours?|days?|weeks?)$"


def risk_level(rank: int) -> RiskLevel:
    """The risk level for a severity or risk rank (very high counts as high)."""
    return "critical" if rank >= 5 else "high" if rank >= 3 else ("medium", "low", "none")[2 - min(rank, 2)]


class _Strict(BaseModel):
    """Rules are written by hand: an unknown key is a typo, and an error."""

    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    """Exactly one of: a test `{metric, op, value}`, `all: [...]` or `any: [...]`."""

    metric: str | None = None
    op: Literal["<", "<=", ">", ">=", "==", "!=", "is_null", "not_null"] | None = None
    value: float | str | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        if sum(x is not None for x in (self.metric, self.all, self.any)) != 1:
            raise ValueError("a condition is exactly one of {metric, op, value}, all: [...] or any: [...]")
        if self.metric is None:
            if not (self.all or self.any):
                raise ValueError("all/any need at least one condition")
            return self
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric '{self.metric}'; known: {', '.join(sorted(METRICS))}")
        if self.op is None:
            raise ValueError(
                f"'{self.metric}' needs an op: one of {', '.join([*_TESTS, 'is_null', 'not_null'])}"
            )
        if (self.value is None) != (self.op in ("is_null", "not_null")):
            raise ValueError(f"op '{self.op}' {'takes no' if self.value is not None else 'needs a'} value")
        if isinstance(self.value, str) and self.op not in ("==", "!="):
            raise ValueError(f"op '{self.op}' needs a number, not '{self.value}'")
        return self

    def metrics(self) -> set[str]:
        """Every metric the condition reads."""
        if self.metric is not None:
            return {self.metric}
        return set().union(*(c.metrics() for c in (self.all or self.any or [])))

    def evaluable(self, available: set[str]) -> bool:
        """Whether the data can answer it: all branches of `all`, at least one of `any`."""
        if self.metric is not None:
            return self.metric in available
        if self.all is not None:
            return all(c.evaluable(available) for c in self.all)
        return any(c.evaluable(available) for c in self.any or [])

    def holds(self, row: dict[str, Any], available: set[str]) -> bool:
        """True when the row meets the condition; branches the data cannot answer count as false."""
        return self.compile(available)(row)

    def compile(self, available: set[str]) -> Callable[[dict[str, Any]], bool]:
        """The condition as a plain function of a row, built from closures once per run (no eval). A test is one
        closure with its comparison written out, and `all`/`any` chain their parts with `and`/`or` (no generator
        per row): the engine runs every condition on every account."""
        if self.metric is not None:
            metric, value = self.metric, self.value
            if metric not in available:
                return lambda row: False
            if self.op == "is_null":
                return lambda row: row.get(metric) is None
            if self.op == "not_null":
                return lambda row: row.get(metric) is not None
            return _TESTS[self.op](metric, value)
        parts = [c.compile(available) for c in (self.all or self.any or [])]
        return functools.reduce(_both if self.all is not None else _either, parts)


class SignalRule(_Strict):
    id: str = Field(pattern=_ID)
    title: str
    severity: Severity
    category: Category
    condition: Condition
    evidence: str = Field(description="A format string over metric names, e.g. '{core_trend:+.0%} MoM'.")
    playbook: str

    @field_validator("evidence")
    @classmethod
    def _template(cls, text: str) -> str:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        unknown = [f for f in fields if f not in METRICS]
        if unknown:
            raise ValueError(f"evidence names unknown metric(s) {unknown}")
        sample = {m: ("x" if m in TEXT_METRICS else 1.0) for m in METRICS}
        try:
            text.format(**sample)
        except (ValueError, IndexError, KeyError) as exc:
            raise ValueError(f"evidence cannot be formatted ({exc})") from None
        return text


class Action(_Strict):
    when: str = Field(min_length=1, description="The timeframe, e.g. 'within 48 hours'.")
    do: str = Field(min_length=1, description="A short imperative step.")


class Playbook(_Strict):
    id: str = Field(pattern=_ID)
    title: str
    owner: str
    sla: str = Field(pattern=_SLA)
    actions: list[Action] = Field(min_length=1)


class Combination(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=_ID)
    all_of: list[str] = Field(alias="all", min_length=1)
    none_of: list[str] = Field(default_factory=list, alias="none")
    condition: Condition | None = None
    risk_level: RiskLevel
    action: str
    playbook: str


class Stage(_Strict):
    id: str = Field(pattern=_ID)
    min_health: float = Field(ge=0, le=100)
    risk_level: RiskLevel
    owner: list[str] = Field(min_length=1)
    sla: str = Field(pattern=_SLA)


class ArrRule(_Strict):
    min_arr: float = Field(gt=0)
    stages: list[str]
    involve: str


class DropRule(_Strict):
    more_than: float = Field(gt=0)
    involve: str


class Fallback(_Strict):
    """The playbook for an account whose stage calls for action although no single signal fired."""

    playbook: str
    stages: list[str]


class EscalationRules(_Strict):
    stages: list[Stage] = Field(min_length=1)
    arr: ArrRule | None = None
    drops: list[DropRule] = Field(default_factory=list)
    fallback: Fallback | None = None

    @model_validator(mode="after")
    def _order(self) -> EscalationRules:
        bounds = [s.min_health for s in self.stages]
        if bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds) or bounds[-1] != 0:
            raise ValueError(
                "stages go from the healthiest down, min_health strictly descending, the last at 0"
            )
        named = (self.arr.stages if self.arr else []) + (self.fallback.stages if self.fallback else [])
        unknown = sorted(set(named) - {s.id for s in self.stages})
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; stages are {[s.id for s in self.stages]}")
        return self


class Rules(_Strict):
    """Everything the engine reads, plus each signal's and playbook's guidance section from the bodies."""

    signals: list[SignalRule] = Field(default_factory=list)
    playbooks: list[Playbook] = Field(default_factory=list)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    combinations: list[Combination] = Field(default_factory=list)
    escalation: EscalationRules | None = None
    competitors: list[str] = Field(default_factory=list)
    competitive_terms: list[str] = Field(default_factory=list)
    guidance: dict[str, str] = Field(
        default_factory=dict, description="signal/playbook id → its body section."
    )
    files: list[str] = Field(default_factory=list)

    def playbook(self, playbook_id: str) -> Playbook:
        return next(p for p in self.playbooks if p.id == playbook_id)


_SECTIONS = tuple(f for f in Rules.model_fields if f not in ("guidance", "files"))


def parse_rules(documents: dict[str, str]) -> Rules:
    """Merge the front matter of several markdown documents (name → text) into validated rules."""
    return _merge({name: front_matter(text, name) for name, text in documents.items()})


def _merge(documents: dict[str, tuple[dict[str, Any], str]]) -> Rules:
    """Merge parsed documents (file name → (front matter, body)) into validated rules."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    guidance: dict[str, str] = {}
    sources = []
    for name in sorted(documents):
        data, body = documents[name]
        mine = [k for k in data if k in _SECTIONS]
        if not mine:
            continue
        sources.append(name)
        extra = sorted(set(data) - set(_SECTIONS) - {"title", "description"})
        if extra:
            raise InputError(f"key '{extra[0]}' is not a rules section.", file=name, options=list(_SECTIONS))
        for key in mine:
            if key in merged and not isinstance(data[key], list):
                raise InputError(f"key '{key}' is also set in {origin[key]}.", file=name)
            merged[key] = merged.get(key, []) + data[key] if isinstance(data[key], list) else data[key]
            origin.setdefault(key, name)
        guidance.update(_body_sections(body))
    try:
        rules = Rules.model_validate({**merged, "guidance": guidance, "files": sources})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _key_path(err["loc"], merged)
        raise InputError(
            f"key '{key}': {err['msg']}.",
            file=origin.get(str(err["loc"][0]), ", ".join(sources)),
            fix="Correct that key in the rules front matter.",
        ) from None
    _cross_check(rules, origin)
    return rules


def front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """The YAML mapping between the leading `---` lines, and the markdown body after it."""
    import yaml

    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise InputError("opens its front matter with '---' but never closes it.", file=source)
    try:
        data = safe_yaml("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"front matter is not valid YAML ({getattr(exc, 'problem', exc)}).",
            file=source,
            row=mark.line + 2 if mark else None,
        ) from None
    if not isinstance(data, dict):
        raise InputError("front matter must be a YAML mapping (key: value lines).", file=source)
    return data, "\n".join(lines[end + 1 :])


class RulesDocument(BaseModel):
    """One rules file as every reader sees it: its front matter, its markdown body without the front matter, and
    its title (the front matter's, else the body's first `# heading`, else the name)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The file's stem, e.g. 'risk-signals'.")
    front_matter: dict[str, Any]
    body: str
    title: str


def rules_dir() -> Path:
    """The folder of the rules shipped with the package (`rules/`)."""
    return Path(str(files("customer_health.rules")))


def rules_names() -> list[str]:
    """The stems of the shipped rules files, sorted: 'adoption-analytics', …, 'risk-signals'."""
    return list(_names())


def rules_document(name: str) -> RulesDocument:
    """The shipped rules file `name` (a stem such as 'playbooks'; '.md' may be added), read and parsed once."""
    stem = name[:-3] if name.endswith(".md") else name
    if stem not in _names():
        raise InputError(
            f"there is no rules document '{name}'.",
            options=nearest(stem, _names()),
            fix="Use one of the names listed (the files in rules/, without .md).",
        )
    return _read_document(stem)


@lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in rules_dir().glob("*.md")))


@lru_cache(maxsize=32)
def _read_document(stem: str) -> RulesDocument:
    file = f"{stem}.md"
    meta, body = front_matter((rules_dir() / file).read_text(encoding="utf-8"), file)
    heading = next((line[2:].strip() for line in body.splitlines() if line.startswith("# ")), None)
    return RulesDocument(
        name=stem, front_matter=meta, body=body, title=str(meta.get("title") or heading or stem)
    )


@lru_cache(maxsize=1)
def _packaged_rules() -> Rules:
    docs = {f"{n}.md": (d.front_matter, d.body) for n in rules_names() for d in (rules_document(n),)}
    return _merge(docs)


def load_rules(folder: str | Path | None = None) -> Rules:
    """The rules shipped in `customer_health.rules` (parsed once), or those of the *.md files in `folder`."""
    if folder is None:
        return _packaged_rules()
    docs = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.md"))}
    return parse_rules(docs)


def _both(first: Callable[[dict[str, Any]], bool], then: Callable[[dict[str, Any]], bool]):
    return lambda row: first(row) and then(row)  # each part gives a bool, so this does too


def _either(first: Callable[[dict[str, Any]], bool], then: Callable[[dict[str, Any]], bool]):
    return lambda row: first(row) or then(row)


def format_evidence(template: str, values: dict[str, Any]) -> str:
    """Fill an evidence template; values the data lacks read 'n/a'."""
    return template.format(**{m: _NA if values.get(m) is None else values[m] for m in _fields(template)})


class _Missing:
    def __format__(self, format_spec: str) -> str:
        return "n/a"


_NA = _Missing()


@lru_cache(maxsize=256)
def _fields(template: str) -> tuple[str, ...]:
    return tuple(f for _, f, _, _ in string.Formatter().parse(template) if f)


def _body_sections(body: str) -> dict[str, str]:
    """Sections of a body keyed by the `id` in backticks in their `## heading`."""
    out: dict[str, str] = {}
    for chunk in re.split(r"(?m)^(?=## )", body):
        match = re.match(r"## [^\n]*`([a-z][a-z0-9_]*)`", chunk)
        if match:
            out[match.group(1)] = chunk.strip()
    return out


def _key_path(loc: tuple, data: dict[str, Any]) -> str:
    """A pydantic location as the reader wrote it: signals[2] (usage_decline_high).condition.op."""
    parts, node = [], data
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            ident = node.get("id") if isinstance(node, dict) else None
            parts[-1] += f"[{part}]" + (f" ({ident})" if ident else "")
        else:
            node = node.get(part) if isinstance(node, dict) else None
            parts.append(str(part))
    return ".".join(parts)


def _cross_check(rules: Rules, origin: dict[str, str]) -> None:
    """References between sections resolve, ids are unique, and every signal and playbook has its guidance."""
    signals = [s.id for s in rules.signals]
    playbooks = [p.id for p in rules.playbooks]
    names = set(signals) | set(rules.groups) | set(Category.__args__)
    no_section = "has no '## … (`id`)' section in the body"
    checks = [("signals", s, signals.count(s) == 1, "is defined twice") for s in signals]
    checks += [("playbooks", p, playbooks.count(p) == 1, "is defined twice") for p in playbooks]
    checks += [
        (f"signals ({s.id}).playbook", s.playbook, s.playbook in playbooks, "is not a playbook")
        for s in rules.signals
    ]
    checks += [
        (f"groups.{g}", m, m in signals, "is not a signal") for g, ms in rules.groups.items() for m in ms
    ]
    for c in rules.combinations:
        checks.append(
            (f"combinations ({c.id}).playbook", c.playbook, c.playbook in playbooks, "is not a playbook")
        )
        checks += [
            (f"combinations ({c.id})", n, n in names, "is not a signal, group or category")
            for n in c.all_of + c.none_of
        ]
    fallback = rules.escalation.fallback if rules.escalation else None
    if fallback:
        checks.append(
            (
                "escalation.fallback.playbook",
                fallback.playbook,
                fallback.playbook in playbooks,
                "is not a playbook",
            )
        )
    checks += [("signals", s, s in rules.guidance, no_section) for s in signals]
    checks += [("playbooks", p, p in rules.guidance, no_section) for p in playbooks]
    for key, value, ok, problem in checks:
        if not ok:
            raise InputError(
                f"key '{key}': '{value}' {problem}.",
                file=origin.get(key.split(" ")[0].split(".")[0], ", ".join(rules.files)),
                fix="Define it, or correct the reference.",
            )
