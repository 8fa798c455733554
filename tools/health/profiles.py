"""Health profiles: which metrics make up each component, how each is normalized to 0–100, and the weights.

Presets follow the weight-by-business-model table of the customer-health seed; a YAML file may define a profile
of its own (or override a preset). Everything is validated on load with errors that name the key.
"""

from __future__ import annotations

from typing import Literal

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.paths import AllowedRoots, parse_yaml, read_text
from customer_health.tools.health.metrics import CATALOGUE
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ComponentName = Literal["usage", "engagement", "growth", "support", "financial"]
COMPONENTS: tuple[ComponentName, ...] = ("usage", "engagement", "growth", "support", "financial")


class MetricSpec(BaseModel):
    """How one metric becomes 0–100 points.

    linear: `floor` scores 0 and `target` scores 100, straight line between, clamped (floor > target reads
    "lower is better"); bands: `bands` is [[from_value, score], …] ascending, the last band reached wins;
    percentile: the account's percentile among its segment's accounts, × 100.
    """

    model_config = ConfigDict(extra="forbid")

    method: Literal["linear", "bands", "percentile"]
    weight: float = Field(gt=0)
    floor: float | None = None
    target: float | None = None
    bands: list[tuple[float, float]] | None = None

    @model_validator(mode="after")
    def _params(self) -> MetricSpec:
        if self.method == "linear" and (
            self.floor is None or self.target is None or self.floor == self.target
        ):
            raise ValueError("a linear metric needs a floor and a target that differ")
        if self.method == "bands":
            if not self.bands:
                raise ValueError("a bands metric needs bands: [[from_value, score], ...]")
            starts = [b[0] for b in self.bands]
            if starts != sorted(starts) or len(set(starts)) != len(starts):
                raise ValueError("bands must be in ascending order of their from_value")
            if any(not 0 <= b[1] <= 100 for b in self.bands):
                raise ValueError("band scores must be between 0 and 100")
        return self


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(ge=0, le=100)
    metrics: dict[str, MetricSpec]

    @model_validator(mode="after")
    def _known(self) -> Component:
        unknown = [m for m in self.metrics if m not in CATALOGUE]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(CATALOGUE)}")
        return self


class Tiers(BaseModel):
    """Lower bounds of each tier (a score of exactly 85 is thriving); critical is everything below at_risk."""

    model_config = ConfigDict(extra="forbid")

    thriving: float = 85
    healthy: float = 70
    neutral: float = 50
    at_risk: float = 30

    @model_validator(mode="after")
    def _order(self) -> Tiers:
        if not 100 >= self.thriving > self.healthy > self.neutral > self.at_risk > 0:
            raise ValueError("tier thresholds must descend: 100 ≥ thriving > healthy > neutral > at_risk > 0")
        return self

    def tier(self, score: float) -> str:
        for name in ("thriving", "healthy", "neutral", "at_risk"):
            if score >= getattr(self, name):
                return name
        return "critical"


class TrendAdjustment(BaseModel):
    """Optional: score × (1 + trend × factor), trend = core actions month over month, clamped to ±100%."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    factor: float = Field(0.2, ge=0, le=1)


class SegmentOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: dict[ComponentName, float] | None = None
    tiers: Tiers | None = None


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    components: dict[ComponentName, Component]
    onboarding: Component | None = Field(
        None,
        description="Optional, for profiles that want it: used instead of usage and growth for accounts younger "
        "than onboarding_days. The presets have none: they score every tenure on one scale.",
    )
    onboarding_days: int = Field(90, ge=0)
    tiers: Tiers = Field(default_factory=Tiers)
    segments: dict[str, SegmentOverride] = Field(default_factory=dict)
    trend_adjustment: TrendAdjustment = Field(default_factory=TrendAdjustment)

    @model_validator(mode="after")
    def _weights(self) -> Profile:
        total = sum(c.weight for c in self.components.values())
        if abs(total - 100) > 1e-6:
            raise ValueError(f"component weights must sum to 100 (they sum to {total:g})")
        for name, seg in self.segments.items():
            if seg.weights is not None and abs(sum(seg.weights.values()) - 100) > 1e-6:
                raise ValueError(f"segments.{name}.weights must sum to 100")
        return self

    def weights_for(self, segment: str | None) -> dict[str, float]:
        seg = self.segments.get(segment or "")
        if seg and seg.weights:
            return dict(seg.weights)
        return {name: c.weight for name, c in self.components.items()}

    def tiers_for(self, segment: str | None) -> Tiers:
        seg = self.segments.get(segment or "")
        return seg.tiers if seg and seg.tiers else self.tiers


def _lin(weight: float, floor: float, target: float) -> dict:
    return {"method": "linear", "weight": weight, "floor": floor, "target": target}


_NPS_BANDS = [[0, 0], [5, 20], [7, 65], [9, 100]]  # detractor 0–6, passive 7–8, promoter 9–10
_SUB_METRICS: dict[str, dict[str, dict]] = {
    # adoption first: core-feature users per seat, breadth and depth, spread of the work — not logins
    "usage": {
        "adopted_utilization": _lin(25, 0.05, 0.7),
        "breadth": _lin(10, 0.2, 1.0),
        "core_depth": _lin(20, 0.05, 0.6),
        "core_actions_per_seat": {"method": "percentile", "weight": 15},
        "top1_share": _lin(10, 0.9, 0.4),
        "days_since_last_activity": _lin(10, 30, 2),
        "features_used": _lin(10, 0, 8),
        "logins_30d": _lin(5, 0, 40),
        "days_since_last_login": _lin(10, 30, 2),
        # new accounts only (established ones have no value, so these drop out for them): activation and first
        # value measured against what retained accounts had done at the same age — one scale for every tenure,
        # on which a stalled onboarding scores low
        "activation_pace": _lin(20, 0, 1),
        "first_value_pace": _lin(10, 0, 1),
    },
    "engagement": {
        "nps": {"method": "bands", "weight": 50, "bands": _NPS_BANDS},
        "champion_active": _lin(25, 0, 1),
        "sponsor_active": _lin(15, 0, 1),
        "persona_coverage": _lin(10, 0, 1),
    },
    "growth": {
        "core_trend": _lin(45, -0.5, 0.15),
        "present_trend": _lin(25, -0.4, 0.1),
        "mrr_change_90d": _lin(30, -0.25, 0.1),
    },
    "support": {
        "open_tickets": _lin(30, 6, 0),
        "escalations_90d": _lin(25, 3, 0),
        "csat_90d": _lin(45, 0.4, 1.0),
    },
    "financial": {
        "mrr_change_180d": _lin(60, -0.3, 0.05),
        "tenure_months": _lin(40, 0, 24),
    },
}

_WEIGHTS = {  # usage, engagement, growth, support, financial — from the seed's table by business model
    "self_serve": (45, 15, 20, 15, 5),
    "enterprise": (30, 30, 15, 15, 10),
    "usage_based": (50, 15, 20, 10, 5),
    "high_touch": (20, 40, 15, 20, 5),
}
_DESCRIPTIONS = {
    "self_serve": "Self-serve SaaS: usage carries most of the weight.",
    "enterprise": "Enterprise SaaS: usage and relationship weigh the same.",
    "usage_based": "Usage-based pricing: consumption is the health signal.",
    "high_touch": "High-touch services: the relationship carries most of the weight.",
}
DEFAULT_PROFILE = "enterprise"


def preset(name: str) -> Profile:
    """A built-in profile by name."""
    if name not in _WEIGHTS:
        raise InputError(
            f"unknown health profile '{name}'.",
            column="profile",
            options=list(_WEIGHTS),
            fix="Pick a preset or pass a profile YAML file.",
        )
    comps = {
        c: {"weight": w, "metrics": _SUB_METRICS[c]} for c, w in zip(COMPONENTS, _WEIGHTS[name], strict=True)
    }
    return Profile.model_validate(
        {
            "name": name,
            "description": _DESCRIPTIONS[name],
            "components": comps,
        }
    )


PRESETS = tuple(_WEIGHTS)


def profile_from_dict(data: dict, source: str) -> Profile:
    """Validate a profile document; `extends: <preset>` starts from a preset and overrides what is given."""
    if not isinstance(data, dict):
        raise InputError("must be a YAML mapping describing a health profile.", file=source)
    data = dict(data)
    base = data.pop("extends", None)
    if base is not None:
        merged = preset(base).model_dump()
        for key, value in data.items():
            if key == "components" and isinstance(value, dict):
                for comp, spec in value.items():
                    if isinstance(spec, dict) and comp in merged["components"]:
                        merged["components"][comp] = {**merged["components"][comp], **spec}
                    else:
                        merged["components"][comp] = spec
            else:
                merged[key] = value
        data = merged
    data.setdefault("name", source)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:10]:
            key = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {msg}" if key else msg)
        raise InputError(
            "is not a valid health profile: " + "; ".join(problems) + ".",
            file=source,
            fix="See the README section 'Health profiles'.",
        ) from None


def load_profile(
    spec: str | dict | None, source: str = "profile", roots: AllowedRoots | None = None
) -> Profile:
    """A preset name, a YAML file path (read under the allowed folders), an inline dict, or None for the default."""
    if spec is None:
        return preset(DEFAULT_PROFILE)
    if isinstance(spec, dict):
        return profile_from_dict(spec, source)
    if spec in _WEIGHTS:
        return preset(spec)
    from pathlib import Path

    path = Path(spec)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        _, text = read_text(path, roots)
        return profile_from_dict(parse_yaml(text, path.name), path.name)
    return preset(spec)  # raises with the list of presets
