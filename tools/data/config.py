"""The product semantics a user writes in `customer-health.yaml`: core features, passive and value events, workflows,
personas, the activation milestone and the health profile. Validated on load; every problem named with its key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from customer_health.tools.base.bounds import FUNNEL_STEPS
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.paths import parse_yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(min_length=1)
    weekly_active_target: float = Field(ge=0, le=1)
    steps: list[str] | None = Field(
        None,
        description="The events (workflow steps) this persona's people are expected to do; a funnel compares a "
        "role at a step only when its persona lists that step. Omitted: not said, so every step is theirs.",
    )


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
        most = FUNNEL_STEPS[1]
        for name, steps in value.items():
            if len(steps) < 2:
                raise ValueError(f"workflow '{name}' needs at least two steps")
            if len(steps) > most:
                raise ValueError(f"workflow '{name}' has {len(steps)} steps; at most {most} are allowed")
        return value

    def unknown_events(self, names: Iterable[str]) -> list[str]:
        """One warning per event this file names (a core feature, value event, activation or workflow step) that
        the events never hold — usually a misspelling — with the closest event names."""
        import difflib

        known = [n for n in names if n is not None]
        present = set(known)
        named = {
            "core_features": self.core_features,
            "value_events": self.value_events,
            "activation": [self.activation] if self.activation else [],
            **{f"workflows.{w}": steps for w, steps in self.workflows.items()},
        }
        out = []
        for key, events in named.items():
            for event in dict.fromkeys(events):
                if event in present:
                    continue
                close = difflib.get_close_matches(event, known, n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "."
                out.append(f"{key}: no event is named '{event}' in the data{hint}")
        return out

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
        return cls.from_document(parse_yaml(text, source), source)

    @classmethod
    def from_document(cls, document: Any, source: str) -> ProductSemantics:
        """Validate the file's parsed document; the error names the key and what it accepts."""
        data = document or {}
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
