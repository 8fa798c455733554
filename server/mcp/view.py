"""The conversation's view of a result: the result model itself, as many of its rows as fit the 20,000-character
budget, and where the whole table is.

Claude Code shows the model only a tool's structured content, and warns past ~10k tokens. So a result keeps its own
shape (the SDK advertises the model's schema and validates what we send), its main table is cut to the rows that fit
(not a fixed count), nested lists declared as trims are kept short, and `total_rows`, `truncated`, `full_table` and
`full_table_uri` say what was left out and where to read it.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel, Field, create_model

MAX_CHARS = 20_000
_MARGIN = 200  # the view's own keys and a little slack for how a client re-serialises numbers


def compact(data: Any) -> str:
    """JSON as the conversation should carry it: no indentation, no spaces after separators."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def size(data: Any) -> int:
    """Characters of the most generous common serialisation (escaped non-ASCII, spaces after separators): what fits
    by this measure fits however the client prints it."""
    return len(json.dumps(data, default=str))


@cache
def view_model(model: type[BaseModel]) -> type[BaseModel]:
    """`model` plus the keys that say how much of it is shown: the tool's output schema."""
    extra: dict[str, Any] = {}
    if "caveats" not in model.model_fields:
        extra["caveats"] = (
            list[str],
            Field(default_factory=list, description="What was missing or inferred."),
        )
    return create_model(
        f"{model.__name__}View",
        __base__=model,
        __doc__=model.__doc__,
        **extra,
        total_rows=(int | None, Field(None, description="Rows in the main table before it was cut to fit.")),
        truncated=(bool, Field(False, description="True when rows were left out; read full_table for all.")),
        full_table=(str | None, Field(None, description="Path of a CSV with every row, in the workspace.")),
        full_table_uri=(str | None, Field(None, description="The same table as an MCP resource.")),
    )


def fit(
    result: BaseModel,
    rows: tuple[str, ...] = (),
    trim: dict[str, int] | None = None,
    limit: int | None = None,
    budget: int = MAX_CHARS,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`result` as JSON shortened to fit `budget` characters: nested `trim` lists first, then the other `rows` lists
    and, if still needed, any list; finally the main table (`rows[0]`) keeps as many rows as fit (at most `limit`).
    Sets `total_rows` and `truncated`; `extra` keys (where the full table is) are added first, so they count too.
    Only the rows shown are serialised, so a 10,000-account result costs little."""
    budget -= _MARGIN + (len(_trim_note(trim, set(trim))) if trim else 0)
    main = _attr(result, rows[0]) if rows else None
    payload = result.model_dump(mode="json", exclude=_exclude(rows[0]) if main is not None else None)
    inside = {
        p.removeprefix(rows[0] + "."): n
        for p, n in (trim or {}).items()
        if rows and p.startswith(rows[0] + ".")
    }
    trimmed: set[str] = set()
    for path, keep in (trim or {}).items():
        for holder, key in _holders(payload, path.split(".")):
            if len(holder[key]) > keep:
                holder[key] = holder[key][:keep]
                trimmed.add(path)
    payload.update(extra or {})
    payload["total_rows"] = None if main is None else len(main)
    payload["caveats"] = list(payload.get("caveats") or [])[:10]
    cut = False
    if main is not None:
        _place(payload, rows[0], [])
    for path in rows[1:]:
        cut |= _shorten(payload, lambda path=path: _holders(payload, path.split(".")), budget)
    cut |= _shorten(payload, lambda: _all_lists(payload), budget)
    if main is not None:
        room = budget - size(payload)
        kept: list = []
        for obj in main[:limit] if limit else main:
            row = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
            for path, keep in inside.items():
                for holder, key in _holders(row, path.split(".")):
                    if len(holder[key]) > keep:
                        holder[key] = holder[key][:keep]
                        trimmed.add(f"{rows[0]}.{path}")
            room -= size(row) + 2
            if room < 0:
                break
            kept.append(row)
        _place(payload, rows[0], kept)
        cut |= len(kept) < len(main)
    payload["truncated"] = cut
    if trimmed:
        payload["caveats"].append(_trim_note(trim, trimmed))
    return payload


def _trim_note(trim: dict[str, int], paths: set[str]) -> str:
    shown = ", ".join(f"{p.rsplit('.', 1)[-1]} (first {trim[p]})" for p in sorted(paths))
    return f"Shortened here to fit: {shown} per row; full_table has every row in full."


def _attr(result: BaseModel, path: str) -> list | None:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if value is None:
            return None
    return value if isinstance(value, list) else None


def _exclude(path: str) -> dict:
    parts = path.split(".")
    tree: Any = True
    for part in reversed(parts):
        tree = {part: tree}
    return tree


def _place(payload: dict, path: str, value: list) -> None:
    *parents, last = path.split(".")
    holder = payload
    for part in parents:
        holder = holder.setdefault(part, {})
    holder[last] = value


def _shorten(payload: dict, candidates, budget: int) -> bool:
    """Halve the largest candidate list until the payload fits or nothing is left to cut."""
    cut = False
    while size(payload) > budget:
        lists = [(size(h[k]), h, k) for h, k in candidates() if h[k]]
        if not lists:
            break
        _, holder, key = max(lists, key=lambda t: t[0])
        holder[key] = holder[key][: len(holder[key]) // 2]
        cut = True
    return cut


def _holders(data: Any, parts: list[str]):
    """(container, key) pairs for a dotted path whose segments may pass through lists (each element)."""
    if isinstance(data, list):
        for item in data:
            yield from _holders(item, parts)
        return
    if not isinstance(data, dict) or parts[0] not in data or data[parts[0]] is None:
        return
    if len(parts) == 1:
        if isinstance(data[parts[0]], list):
            yield data, parts[0]
        return
    yield from _holders(data[parts[0]], parts[1:])


def _all_lists(data: Any):
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, list):
                yield data, key
            yield from _all_lists(value)
    elif isinstance(data, list):
        for item in data:
            yield from _all_lists(item)


__all__ = ["MAX_CHARS", "compact", "fit", "view_model"]
