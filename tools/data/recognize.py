"""Recognise which canonical table a file holds, and which of its columns is which, from the column names alone."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.schema import (
    KINDS,
    LOOKALIKES,
    TABLES,
    Kind,
    Lookalike,
    Table,
    normalize_name,
)


@dataclass
class Mapping:
    """A user's mapping: force the kind of files (by name or glob) and name the source column for canonical ones."""

    files: dict[str, Kind] = field(default_factory=dict)
    columns: dict[Kind, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict | None, *, source: str = "mapping") -> Mapping:
        """Validate a parsed mapping document (YAML/JSON) and name the offending key when it is wrong."""
        data = data or {}
        if not isinstance(data, dict):
            raise InputError("must be a mapping with the keys 'files' and/or 'columns'.", file=source)
        unknown = set(data) - {"files", "columns"}
        if unknown:
            raise InputError(
                f"has unknown key(s) {sorted(unknown)}.", file=source, options=["files", "columns"]
            )
        files = data.get("files") or {}
        columns = data.get("columns") or {}
        if not isinstance(files, dict) or not isinstance(columns, dict):
            raise InputError(
                "'files' and 'columns' must each be a mapping.",
                file=source,
                fix="Example: files: {billing.csv: revenue}; columns: {events: {event: Action}}",
            )
        for name, kind in files.items():
            if kind not in KINDS:
                raise InputError(
                    f"files.{name}: unknown table kind '{kind}'.", file=source, options=list(KINDS)
                )
        for kind, cols in columns.items():
            if kind not in KINDS:
                raise InputError(f"columns.{kind}: unknown table kind.", file=source, options=list(KINDS))
            if not isinstance(cols, dict):
                raise InputError(
                    f"columns.{kind} must map canonical names to your column names.", file=source
                )
            valid = [c.name for c in TABLES[kind].columns]
            for canon in cols:
                if canon not in valid:
                    raise InputError(
                        f"columns.{kind}.{canon}: not a column of {kind}.", file=source, options=valid
                    )
        return cls(
            files=dict(files), columns={k: {str(a): str(b) for a, b in v.items()} for k, v in columns.items()}
        )

    def kind_for(self, file_name: str, sheet: str | None) -> Kind | None:
        import fnmatch

        for pattern, kind in self.files.items():
            for candidate in (file_name, f"{file_name}[{sheet}]" if sheet else None, sheet):
                if candidate and fnmatch.fnmatch(candidate.lower(), pattern.lower()):
                    return kind
        return None


@dataclass
class Recognition:
    """The kind chosen for a source, the canonical → source column map, and how sure we are."""

    kind: Kind
    columns: dict[str, str]
    score: float
    forced: bool = False


_SYNONYM_INDEX: dict[Kind, dict[str, list[tuple[str, int]]]] = {}


def _index(table: Table) -> dict[str, list[tuple[str, int]]]:
    """normalized spelling → [(canonical column, rank)], built once per table."""
    if table.kind not in _SYNONYM_INDEX:
        idx: dict[str, list[tuple[str, int]]] = {}
        for col in table.columns:
            for rank, syn in enumerate(col.synonyms):
                idx.setdefault(normalize_name(syn), []).append((col.name, rank))
        _SYNONYM_INDEX[table.kind] = idx
    return _SYNONYM_INDEX[table.kind]


def match_columns(
    table: Table, source_columns: list[str], overrides: dict[str, str] | None = None, *, where: str = ""
) -> dict[str, str]:
    """Assign each canonical column the best-ranked source column; each source column is used once."""
    overrides = overrides or {}
    by_norm: dict[str, str] = {}
    for col in source_columns:
        by_norm.setdefault(normalize_name(col), col)
    for (
        col
    ) in source_columns:  # `subscription.status`, `Account.AccountNumber`: the part after the last dot too
        if "." in str(col):
            by_norm.setdefault(normalize_name(str(col).rsplit(".", 1)[1]), col)
    taken: set[str] = set()
    result: dict[str, str] = {}
    for canon, src in overrides.items():
        hit = src if src in source_columns else by_norm.get(normalize_name(src))
        if hit is None:
            raise InputError(
                f"the mapping names column '{src}' for {table.kind}.{canon}, but there is no such column.",
                file=where or None,
                options=source_columns,
            )
        result[canon] = hit
        taken.add(hit)
    idx = _index(table)
    candidates: list[tuple[int, int, str, str]] = []  # (required-first, rank, canonical, source)
    for norm, src in by_norm.items():
        for canon, rank in idx.get(norm, []):
            required = table.column(canon).required
            candidates.append((0 if required else 1, rank, canon, src))
    for _, _, canon, src in sorted(candidates, key=lambda c: (c[1] > 0, c[0], c[1])):
        if canon not in result and src not in taken:
            result[canon] = src
            taken.add(src)
    order = [c.name for c in table.columns]
    return {c: result[c] for c in order if c in result}


def _name_hint(table: Table, label: str) -> bool:
    low = label.lower()
    return any(h in low for h in table.name_hints)


def recognize(
    label: str, columns: list[str], mapping: Mapping | None = None, sheet: str | None = None
) -> Recognition | None:
    """Pick the canonical table whose required columns are all present and which explains the most columns."""
    mapping = mapping or Mapping()
    forced = mapping.kind_for(label.split("[")[0], sheet)
    kinds = [forced] if forced else list(KINDS)
    best: Recognition | None = None
    for kind in kinds:
        table = TABLES[kind]
        try:
            matched = match_columns(table, columns, mapping.columns.get(kind), where=label)
        except InputError:
            if forced:
                raise
            continue  # the mapping names columns of this kind that the file lacks: it is another kind's file
        if not all(r in matched for r in table.required) or not all(
            any(c in matched for c in group) for group in table.any_of
        ):
            continue
        if not forced and _foreign(table, columns) >= 2:
            continue
        exact = sum(normalize_name(src) == normalize_name(canon) for canon, src in matched.items())
        score = (
            10 * (len(table.required) + len(table.any_of))
            + len(matched)
            + 0.5 * exact
            + (3 if _name_hint(table, label) else 0)
        )
        if best is None or score > best.score:
            best = Recognition(kind, matched, score, forced=bool(forced))
    return best


def _foreign(table: Table, columns: list[str]) -> int:
    """How much of `columns` only an accounts export carries, for a kind that lists such columns as foreign: one
    each, two for a churn flag or a date named as a churn (a CRM's outcome columns — a billing export says a status
    or when it was canceled)."""
    if not table.foreign:
        return 0
    found = match_columns(TABLES["accounts"], columns)
    return sum(
        2 if canon == "churned" or (canon == "churn_date" and "churn" in str(source).lower()) else 1
        for canon, source in found.items()
        if canon in table.foreign
    )


def explain_unrecognised(label: str, columns: list[str], mapping: Mapping | None = None) -> InputError:
    """An error for a table no canonical kind fits: what each near kind lacks, and close canonical spellings."""
    mapping = mapping or Mapping()
    forced = mapping.kind_for(label.split("[")[0], None)
    near, unmapped = [], []
    for kind in [forced] if forced else KINDS:  # a kind forced by the mapping is the only one to explain
        table = TABLES[kind]
        try:
            matched = match_columns(table, columns, mapping.columns.get(kind), where=label)
        except InputError as exc:
            unmapped.append(exc.problem)
            matched = match_columns(table, columns, where=label)
        missing = [r for r in table.required if r not in matched] + [
            " or ".join(group) for group in table.any_of if not any(c in matched for c in group)
        ]
        near.append((len(missing), -len(matched), kind, missing))
    near.sort()
    # a kind lacking nothing was left out only because the mapping names a column this file lacks (said below)
    hints = [f"{kind} needs {', '.join(missing)}" for _, _, kind, missing in near if missing][:3]
    canon = sorted({c.name for t in TABLES.values() for c in t.columns})
    close = []
    for col in columns[:50]:
        guess = difflib.get_close_matches(
            normalize_name(col), [normalize_name(c) for c in canon], n=1, cutoff=0.6
        )
        if guess:
            target = next(c for c in canon if normalize_name(c) == guess[0])
            if normalize_name(col) != guess[0]:
                close.append(f"'{col}' → {target}?")
    shown = ", ".join(f"'{c}'" for c in columns[:10]) + (" …" if len(columns) > 10 else "")
    problem = f"no table recognised from its columns ({shown})."
    if hints:
        problem += f" Closest: {'; '.join(hints)}."
    if close:
        problem += " Possible renames: " + ", ".join(close[:6]) + "."
    if unmapped:
        problem += " Also, " + " ".join(unmapped)
    return InputError(
        problem,
        file=label,
        fix="Rename the columns to the canonical names, or pass a mapping file (--map) such as "
        "'columns: {events: {event: YourEventColumn}}'.",
    )


def name_words(name: str) -> list[str]:
    """The words of a column name, whatever its style: `Seat Qty Bought`, `seatQtyBought`, `seat_qty_bought`."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _cue_matches(cue: str, words: list[str]) -> bool:
    def starts(part: str) -> bool:
        return any(w == part or (len(part) > 3 and w.startswith(part)) for w in words)

    return all(starts(part) for part in cue.split())


def lookalikes(column: str) -> list[Lookalike]:
    """The canonical columns whose words an unused source column carries, most specific first (schema order)."""
    words = name_words(column)
    return [
        look
        for look in LOOKALIKES
        if any(_cue_matches(cue, words) for cue in look.cues)
        and not any(_cue_matches(word, words) for word in look.unlike)
    ]
