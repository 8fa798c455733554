"""Facts with identity: any facts pack flattened to a list of `Fact`s, each with a stable id, a value, a unit, a
subject (which account, which metric, which period) and a role (evidence about the data, or a threshold of the rules).

The id is the fact's path in the pack, dots between keys and list positions: `health.score`,
`trend.month_over_month.core_actions`, `signals.0.evidence`. A Share ({ratio, percent}) is one fact in ratio
units and a Money ({amount, display}) one fact in money, under the path of the Share or the Money. A figure written
inside a string fact (a signal's evidence, a driver's sentence) is a fact of its own, `<path>#<n>` (n from 1). The
same data gives the same ids on every run.

Units: people, count, money, ratio (0–1; a percentage is its ratio), percent (already × 100), score (0–100 and
points of it), nps, days, weeks, months, date, period, text, number (nothing says what it counts). They are read
from the key names, the way a reader of the pack would: `present_users` counts people, `days_to_renewal` days.

Thresholds and constants of the rules (decline cut-offs, persona targets, tier floors, benchmarks, the score's
scale) have role `threshold`: a draft may quote them when it cites them, but an uncited figure is never proven by
one — a sentence about the account is evidence only when evidence says it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from customer_health.tools.narrative.claims import extract, unit_cue
from pydantic import BaseModel, Field

Role = Literal["evidence", "threshold"]
_THRESHOLD = re.compile(
    r"(?:^|_)(?:decline|target|below|floors?|benchmarks?|threshold|cut_?off|scale_max|good_from|single_point_from)$"
)
_PREVIOUS = re.compile(r"^(?:previous|prior_\d+|previous_period)$|^previous_(?!days)")
_UNIT_RULES: list[tuple[str, re.Pattern]] = [
    ("nps", re.compile(r"nps")),
    ("days", re.compile(r"days|^sla$")),
    ("weeks", re.compile(r"weeks")),
    ("months", re.compile(r"^months$")),
    ("percent", re.compile(r"percent$")),
    ("score", re.compile(r"score|points|health|floor|at_risk_below|^scale_max$")),
    (
        "ratio",
        re.compile(
            r"ratio|share|rate|utilization|coverage|breadth|retention|grr|nrr|percentile|decline|mom|gap"
        ),
    ),
    ("people", re.compile(r"users|people|champions|seats|present|adopted|active|sponsors|purchased")),
    ("money", re.compile(r"arr$|mrr$|^arr|^mrr|amount|revenue|price|cost|expansion$|contraction$")),
    (
        "count",
        re.compile(r"count|accounts|customers|actions|tickets|features|events|logins|listed|steps|total"),
    ),
]


class Subject(BaseModel):
    account: str | None = Field(
        None, description="The account's name (or id) the fact is about; None: portfolio."
    )
    metric: str = Field(description="The path without list positions: what is measured.")
    period: Literal["current", "previous"] = "current"


class Fact(BaseModel):
    id: str = Field(description="Stable: the path in the pack (`<path>#<n>` for a figure inside a string).")
    value: float | str
    unit: str
    subject: Subject
    role: Role = "evidence"
    text: str | None = Field(None, description="For a figure inside a string: how the string writes it.")
    about: list[str] = Field(
        default_factory=list, description="The labels beside it in the pack (a persona's, a feature's name)."
    )


_SHARE = {"ratio", "percent"}  # a Share: one ratio fact at its path
_MONEY = {"amount", "display"}  # a Money: one money fact at its path


def fact_id(keys: list[str] | tuple[str, ...]) -> str:
    """A fact's id: its path in the pack (field names and list positions)."""
    return ".".join(keys)


def _cited_type(base: type) -> type:
    def __new__(cls, value, fact_id: str):
        out = base.__new__(cls, value)
        out.fact_id = fact_id
        return out

    return type(f"Cited{base.__name__.capitalize()}", (base,), {"__new__": __new__, "__doc__": "A value of the "
                "facts that knows its fact id."})  # fmt: skip


CitedFloat, CitedInt, CitedStr = (_cited_type(t) for t in (float, int, str))


def with_fact_ids(value: Any, models: dict[int, str], keys: tuple[str, ...] = ()) -> Any:
    """A copy of a facts pack whose numbers carry their fact id (`.fact_id`, the id `flatten` gives them); shares
    and amounts, which are printed whole, are recorded in `models` (object id → fact id) instead."""
    if isinstance(value, BaseModel):
        if set(type(value).model_fields) in (_SHARE, _MONEY):
            copy = value.model_copy()
            models[id(copy)] = fact_id(keys)
            return copy
        fields = {n: with_fact_ids(getattr(value, n), models, (*keys, n)) for n in type(value).model_fields}
        return value.model_copy(update=fields)
    if isinstance(value, list | tuple):
        return type(value)(with_fact_ids(v, models, (*keys, str(i))) for i, v in enumerate(value))
    if isinstance(value, dict):
        return {k: with_fact_ids(v, models, (*keys, str(k))) for k, v in value.items()}
    if isinstance(value, bool) or not keys:
        return value
    if isinstance(value, int):
        return CitedInt(value, fact_id(keys))
    if isinstance(value, float) and math.isfinite(value):
        return CitedFloat(value, fact_id(keys))
    return value


def flatten(facts: Any) -> list[Fact]:
    """Every fact of a pack (a model, dataclass, dict or list, nested), in the pack's order."""
    data = _plain(facts)
    default = None
    if isinstance(data, dict) and isinstance(data.get("account"), dict):
        default = data["account"].get("name") or data["account"].get("account_id")
    out: list[Fact] = []
    if isinstance(data, dict):  # the pack's legend of units documents the scales, it is not data
        data = {k: v for k, v in data.items() if k != "units"}
    _walk(data, [], default, out, [])
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _walk(value: Any, keys: list[str], account: str | None, out: list[Fact], about: list[str]) -> None:
    value = _plain(value)
    if isinstance(value, dict):
        if set(value) == _SHARE:
            return _add(out, keys, value["ratio"], "ratio", account, about=about)
        if set(value) == _MONEY:
            return _add(out, keys, value["amount"], "money", account, about=about)
        if "account_id" in value or (keys and keys[-1].isdigit() and "name" in value and _listing(keys)):
            account = value.get("name") or value.get("account_id") or account
        if keys and keys[-1].isdigit():  # a list item: its short labels tell its numbers apart
            about = [*about, *(v for v in value.values() if isinstance(v, str) and len(v.split()) <= 2)]
        for k, v in value.items():
            _walk(v, [*keys, str(k)], account, out, about)
    elif isinstance(value, list | tuple | set | frozenset):
        for i, v in enumerate(value):
            _walk(v, [*keys, str(i)], account, out, about)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, numbers.Real | Decimal):  # numpy and Decimal values too
        if math.isfinite(float(value)):
            _add(out, keys, float(value), _unit(keys), account, about=about)
    elif isinstance(value, datetime):
        _add(out, keys, value.date().isoformat(), "date", account)
    elif isinstance(value, date):
        _add(out, keys, value.isoformat(), "date", account)
    elif isinstance(value, str):
        _add(out, keys, value, "text", account)
        for n, found in enumerate(extract(value), start=1):
            if found.kind == "date":
                if len(found.periods) != 1:  # a slash date's two readings prove neither
                    continue
                start, end = found.periods[0]
                shown, unit = (start.isoformat(), "date") if start == end else (f"{start}/{end}", "period")
            else:
                shown, unit = float(found.value), _found_unit(value, found)
            _add(out, keys, shown, unit, account, suffix=f"#{n}", text=found.shown)


def _listing(keys: list[str]) -> bool:
    return bool(re.search(r"account|peer|customer|compan", keys[-2] if len(keys) > 1 else ""))


def _found_unit(text: str, found) -> str:
    if found.kind == "money":
        return "money"
    if found.kind == "percent":
        return "ratio"
    return unit_cue(text, found) or "number"


def _unit(keys: list[str]) -> str:
    names = [k for k in keys if not k.isdigit()]
    key = names[-1] if names else ""
    parent = names[-2] if len(names) > 1 else ""
    if parent == "components":
        return "score"
    if key == "change" and "health" in names:
        return "score"
    for unit, pattern in _UNIT_RULES:
        if pattern.search(key):
            return unit
    return "number"


def _add(out, keys, value, unit, account, suffix: str = "", text: str | None = None, about=()) -> None:
    names = [k for k in keys if not k.isdigit()]
    role: Role = "threshold" if any(_THRESHOLD.search(k) for k in names) else "evidence"
    period = "previous" if any(_PREVIOUS.search(k) for k in names) else "current"
    subject = Subject(account=account, metric=".".join(names), period=period)
    out.append(
        Fact(
            id=fact_id(keys) + suffix,
            value=value,
            unit=unit,
            subject=subject,
            role=role,
            text=text,
            about=list(about),
        )
    )
