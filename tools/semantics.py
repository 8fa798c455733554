"""What a product's events mean: core features, passive events, value events, workflows, personas.

Read from `customer-health.yaml` when the user has one; otherwise inferred from the events and labelled as such.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InputError
from .values import quote

if TYPE_CHECKING:
    import duckdb

    from .dataset import Dataset

PASSIVE_PATTERN = re.compile(
    r"(^|[_\s.$-])(log_?in|sign_?in|logged_?in|session|page_?view|pageview|screen_?view|app_?open|"
    r"open_?app|visit|view_?page|heartbeat|identify|pageleave|autocapture)",
    re.IGNORECASE,
)


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(min_length=1)
    weekly_active_target: float = Field(ge=0, le=1)


class WorkflowTarget(BaseModel):
    """Who is expected to run a workflow, how often, and how long one run may take."""

    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(
        default_factory=list, description="Roles expected to run it; empty means every user."
    )
    target_per_week: float = Field(
        1.0, gt=0, le=100, description="Completions per target user per week that count as on target."
    )
    window_days: int = Field(14, ge=1, le=365, description="Most days from the first step to the last.")


class WorkflowSpec(WorkflowTarget):
    """The mapping form of a workflow in customer-health.yaml: its steps plus its target."""

    steps: list[str]


class ProductSemantics(BaseModel):
    """The `customer-health.yaml` product section; every field optional, unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")

    core_features: list[str] = Field(default_factory=list, max_length=12)
    passive_events: list[str] = Field(default_factory=list)
    value_events: list[str] = Field(default_factory=list)
    workflows: dict[str, list[str]] = Field(default_factory=dict)
    workflow_targets: dict[str, WorkflowTarget] = Field(
        default_factory=dict, description="Per workflow: roles, target per week, window (defaults filled in)."
    )
    activation: str | None = None
    personas: dict[str, Persona] = Field(default_factory=dict)
    health_profile: str | dict[str, Any] | None = None
    mapping: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_workflows(cls, data: Any) -> Any:
        """A workflow is a list of steps or a mapping {steps, roles, target_per_week, window_days}: the steps
        go to `workflows` (its shape never changes), the rest to `workflow_targets`."""
        if not isinstance(data, dict) or not isinstance(data.get("workflows"), dict):
            return data
        workflows, targets = {}, dict(data.get("workflow_targets") or {})
        for name, value in data["workflows"].items():
            if not isinstance(value, dict):
                workflows[name] = value
                continue
            if name in targets:
                raise ValueError(f"workflow '{name}' has targets both inline and under workflow_targets")
            try:
                spec = WorkflowSpec.model_validate(value)
            except ValidationError as exc:
                raise _under(exc, ("workflows", name), cls.__name__) from None
            workflows[name] = spec.steps
            targets[name] = spec.model_dump(exclude={"steps"})
        return {**data, "workflows": workflows, "workflow_targets": targets}

    @field_validator("workflows")
    @classmethod
    def _steps(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, steps in value.items():
            if len(steps) < 2:
                raise ValueError(f"workflow '{name}' needs at least two steps")
        return value

    @model_validator(mode="after")
    def _targets_match_workflows(self) -> ProductSemantics:
        unknown = sorted(set(self.workflow_targets) - set(self.workflows))
        if unknown:
            raise ValueError(
                f"workflow_targets names {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} "
                f"not among the workflows ({', '.join(self.workflows) or 'none'})"
            )
        for name in self.workflows:
            self.workflow_targets.setdefault(name, WorkflowTarget())
        return self

    @classmethod
    def from_yaml_text(cls, text: str, source: str) -> ProductSemantics:
        """Parse and validate; the error names the key and what it accepts."""
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(
                f"is not valid YAML ({getattr(exc, 'problem', exc)}).",
                file=source,
                row=mark.line + 1 if mark else None,
                fix="Fix the YAML syntax at that line.",
            ) from None
        if not isinstance(data, dict):
            raise InputError("must be a YAML mapping (key: value lines).", file=source)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = []
            for err in exc.errors()[:10]:
                key = ".".join(str(p) for p in err["loc"])
                problems.append(f"{key}: {err['msg']}" if key else err["msg"].removeprefix("Value error, "))
            raise InputError(
                "has invalid settings: " + "; ".join(problems) + ".",
                file=source,
                options=sorted(cls.model_fields),
                fix="See the README section 'customer-health.yaml'.",
            ) from None


def _under(exc: ValidationError, prefix: tuple, title: str) -> ValidationError:
    """The same errors with their locations under `prefix`, so a message names the full YAML key."""
    from pydantic_core import InitErrorDetails

    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=e["type"], loc=(*prefix, *e["loc"]), input=e["input"], ctx=e.get("ctx", {}))
            for e in exc.errors()
        ],
    )


class EventSemantics(BaseModel):
    """The event vocabulary as used by the rest of the product, with where each part came from."""

    source: str = Field(
        description="'configured' (customer-health.yaml) or 'inferred' (from event names/usage)"
    )
    distinct_events: int
    top_events: list[dict] = Field(description="Most frequent events: name, events, accounts.")
    passive_events: list[str]
    core_features: list[str]
    core_features_source: str


def infer_event_semantics(
    con: duckdb.DuckDBPyConnection,
    events_view: str,
    configured: ProductSemantics | None = None,
    top_n: int = 15,
) -> EventSemantics:
    """Count the vocabulary; passive events by name; core features as the non-passive events used by most accounts."""
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {quote(events_view)}").fetchall()}
    acct = "count(DISTINCT account_id)" if "account_id" in cols else "count(DISTINCT user_id)"
    rows = con.execute(
        f"SELECT event, count(*) AS n, {acct} AS a FROM {quote(events_view)} GROUP BY event "
        f"ORDER BY a DESC, n DESC, event"
    ).fetchall()
    names = [r[0] for r in rows]
    if configured and configured.passive_events:
        passive = [e for e in configured.passive_events]
    else:
        passive = [e for e in names if PASSIVE_PATTERN.search(str(e))]
    if configured and configured.core_features:
        core, core_source = list(configured.core_features), "configured"
    else:
        active = [r for r in rows if r[0] not in passive and not re.search(r"error|fail", str(r[0]), re.I)]
        core, core_source = (
            [r[0] for r in active[:5]],
            "inferred: the non-passive events used by the most accounts",
        )
    top = sorted(rows, key=lambda r: (-r[1], r[0]))[:top_n]
    return EventSemantics(
        source="configured" if configured else "inferred",
        distinct_events=len(rows),
        top_events=[{"event": e, "events": n, "accounts": a} for e, n, a in top],
        passive_events=passive,
        core_features=core,
        core_features_source=core_source,
    )


class ResolvedSemantics(BaseModel):
    """The semantics every computation uses, each part labelled 'configured' or 'inferred'."""

    core_features: list[str]
    passive_events: list[str]
    value_events: list[str]
    workflows: dict[str, list[str]]
    workflow_targets: dict[str, WorkflowTarget] = Field(default_factory=dict)
    activation: str | None
    personas: dict[str, Persona]
    sources: dict[str, str] = Field(description="part → 'configured' or 'inferred: how'")

    def caveats(self, *parts: str) -> list[str]:
        """One sentence per inferred part among `parts` (default: core features), for a result's caveats."""
        out = []
        for part in parts or ("core_features",):
            how = self.sources.get(part, "")
            if how.startswith("inferred"):
                label = part.replace("_", " ")
                out.append(f"{label[0].upper()}{label[1:]} were {how} (set them in customer-health.yaml).")
        return out


def resolve_semantics(ds: Dataset, as_of_sql_end: str | None = None) -> ResolvedSemantics:
    """Configured parts as given; the rest inferred from the events, without reading any outcome column.

    Core features are inferred as the non-passive events used by the largest share of the most active half of
    accounts (by distinct users in the last 90 days) — 'what engaged customers do', not what churners didn't.
    """
    cfg = ds.semantics or ProductSemantics()
    sources: dict[str, str] = {}
    events = ds.view("events")
    upto = f"WHERE timestamp < {as_of_sql_end}" if as_of_sql_end else ""
    if cfg.passive_events:
        passive, sources["passive_events"] = list(cfg.passive_events), "configured"
    else:
        names = [
            r[0]
            for r in ds.con.execute(
                f"SELECT event FROM {events} {upto} GROUP BY event ORDER BY count(*) DESC, event"
            ).fetchall()
        ]
        passive = [e for e in names if PASSIVE_PATTERN.search(str(e))]
        sources["passive_events"] = "inferred: event names that mean presence (login, page view, session)"
    if cfg.core_features:
        core, sources["core_features"] = list(cfg.core_features), "configured"
    else:
        core = _infer_core(ds, events, upto, passive)
        sources["core_features"] = (
            "inferred: the non-passive events used by the most accounts among the more active half"
        )
    value = list(cfg.value_events)
    sources["value_events"] = "configured" if value else "inferred: none configured"
    workflows = dict(cfg.workflows)
    sources["workflows"] = "configured" if workflows else "inferred: none configured"
    activation = cfg.activation or (value[0] if value else (core[0] if core else None))
    sources["activation"] = (
        "configured" if cfg.activation else "inferred: the first value event or core feature"
    )
    personas = dict(cfg.personas)
    sources["personas"] = "configured" if personas else "inferred: none configured"
    return ResolvedSemantics(
        core_features=core,
        passive_events=passive,
        value_events=value,
        workflows=workflows,
        workflow_targets=dict(cfg.workflow_targets),
        activation=activation,
        personas=personas,
        sources=sources,
    )


def _infer_core(ds: Dataset, events: str, upto: str, passive: list[str], n: int = 5) -> list[str]:
    excluded = [*passive, "__none__"]
    placeholders = ", ".join("?" for _ in excluded)
    key = "account_id" if ds.events_tied() else "user_id"
    rows = ds.con.execute(
        f"""
        WITH recent AS (SELECT * FROM {events} {upto}),
        last_day AS (SELECT max(timestamp) AS t FROM recent),
        activity AS (
            SELECT {key} AS k, count(DISTINCT user_id) AS users FROM recent, last_day
            WHERE timestamp >= t - INTERVAL 90 DAY AND {key} IS NOT NULL GROUP BY 1),
        engaged AS (SELECT k FROM activity WHERE users >= (SELECT median(users) FROM activity))
        SELECT event, count(DISTINCT {key}) AS accounts, count(*) AS n
        FROM recent WHERE {key} IN (SELECT k FROM engaged) AND event NOT IN ({placeholders})
          AND NOT regexp_matches(event, '(?i)error|fail')
        GROUP BY event ORDER BY accounts DESC, n DESC, event LIMIT {n}""",
        excluded,
    ).fetchall()
    return [r[0] for r in rows]
