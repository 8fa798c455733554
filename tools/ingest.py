"""Ingest raw sources into canonical DuckDB tables, and assemble a dataset's per-kind views over them.

Parsing happens in one SQL statement per source, so a 20M-row export streams through DuckDB instead of pandas.
Each ingested table keeps the user-visible row number (`_row`) and, per typed column, the raw text of values that
could not be parsed (`__bad__<column>`, NULL almost everywhere) for the quality report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from .errors import InputError
from .readers import RawSource, _first_line, as_latin1
from .recognize import Recognition
from .schema import TABLES, Kind
from .values import day_first, is_text_type, parse_expr, quote

if TYPE_CHECKING:
    import duckdb

INGEST_VERSION = "1"
BAD_PREFIX = "__bad__"


class SourceTable(BaseModel):
    """One ingested file or sheet: where it came from, what it is, and how its columns were mapped."""

    kind: Kind
    source: str = Field(description="File name, with [sheet] for workbook sheets.")
    path: str
    sheet: str | None = None
    format: str
    table: str = Field(description="The DuckDB table in the workspace holding the canonical rows.")
    rows: int
    columns: dict[str, str] = Field(description="canonical column → source column")
    extra_columns: list[str] = Field(default_factory=list, description="Source columns kept as attributes.")
    typed_columns: list[str] = Field(default_factory=list, description="Canonical columns parsed from text.")
    notes: list[str] = Field(default_factory=list)


def _extra_name(name: str, reserved: set[str]) -> str:
    candidate = name
    while candidate.lower() in reserved:
        candidate = f"src_{candidate}"
    reserved.add(candidate.lower())
    return candidate


def ingest_source(
    con: duckdb.DuckDBPyConnection, raw: RawSource, rec: Recognition, table_name: str
) -> SourceTable:
    """Create `table_name` from `raw` with canonical, typed columns; unparseable values are kept aside, not fatal."""
    table = TABLES[rec.kind]
    types = dict(zip(raw.columns, raw.types, strict=True))
    notes = list(raw.notes)
    inner, outer, typed = [f"row_number() OVER () + {raw.first_row - 1} AS _row"], ["_row"], []
    for canon, src in rec.columns.items():
        spec = table.column(canon)
        dayfirst = False
        if spec.type in ("timestamp", "date", "month") and is_text_type(types[src]):
            dayfirst = _sample_day_first(con, raw, src)
            if dayfirst:
                notes.append(f"{canon}: dates read as day/month/year")
        inner.append(f"{parse_expr(src, types[src], spec.type, dayfirst=dayfirst)} AS {quote(canon)}")
        outer.append(quote(canon))
        if spec.type not in ("id", "text"):
            typed.append(canon)
            raw_text = f"CAST({quote(src)} AS VARCHAR)"
            inner.append(f"{raw_text} AS {quote('__raw__' + canon)}")
            outer.append(
                f"CASE WHEN {quote(canon)} IS NULL AND trim({quote('__raw__' + canon)}) <> '' "
                f"THEN {quote('__raw__' + canon)} END AS {quote(BAD_PREFIX + canon)}"
            )
    reserved = {c.name.lower() for c in table.columns} | {"_row"}
    extras = []
    for src in raw.columns:
        if src in rec.columns.values():
            continue
        name = _extra_name(src, reserved)
        extras.append(name)
        inner.append(f"{quote(src)} AS {quote(name)}")
        outer.append(quote(name))
    sql = (
        f"CREATE OR REPLACE TABLE {quote(table_name)} AS SELECT {', '.join(outer)} "
        f"FROM (SELECT {', '.join(inner)} FROM {raw.from_sql})"
    )
    try:
        con.execute(sql)
    except Exception as exc:
        fallback = as_latin1(raw) if "unicode" in str(exc).lower() else None
        if fallback is None:
            raise _read_error(raw, exc) from None
        return ingest_source(con, fallback, rec, table_name)
    rows = con.execute(f"SELECT count(*) FROM {quote(table_name)}").fetchone()[0]
    if rows == 0:
        raise InputError(
            "has a header but no data rows.",
            file=raw.label,
            fix="Export the data again with its rows, or remove the file from the load.",
        )
    return SourceTable(
        kind=rec.kind,
        source=raw.label,
        path=str(raw.path),
        sheet=raw.sheet,
        format=raw.fmt,
        table=table_name,
        rows=rows,
        columns=rec.columns,
        extra_columns=extras,
        typed_columns=typed,
        notes=notes,
    )


def _sample_day_first(con: duckdb.DuckDBPyConnection, raw: RawSource, column: str) -> bool:
    try:
        rows = con.execute(
            f"SELECT {quote(column)} FROM {raw.from_sql} WHERE {quote(column)} IS NOT NULL LIMIT 5000"
        ).fetchall()
    except Exception as exc:
        raise _read_error(raw, exc) from None
    return day_first(r[0] for r in rows)


def _read_error(raw: RawSource, exc: Exception) -> InputError:
    """Turn DuckDB's reader errors into a message naming the file, line and fix."""
    import re

    text = str(exc)
    line = re.search(r"on Line: (\d+)", text)
    row = int(line.group(1)) if line else None
    cols = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if cols:
        return InputError(
            f"has {cols.group(2)} fields where the header has {cols.group(1)} (a ragged row).",
            file=raw.label,
            row=row,
            fix="Quote fields that contain the delimiter, or fix that row so every row has the same "
            "number of fields as the header.",
        )
    if "unicode" in text.lower() or "utf-8" in text.lower():
        return InputError(
            "is not valid UTF-8 text past its first part.",
            file=raw.label,
            row=row,
            fix="Save the file as UTF-8 CSV.",
        )
    if "quote" in text.lower():
        return InputError(
            "has an unterminated quoted field.",
            file=raw.label,
            row=row,
            fix="Close the quote on that row, or export the file again.",
        )
    return InputError(
        f"could not be read: {_first_line(exc)}",
        file=raw.label,
        row=row,
        fix="Check that the file is a complete, well-formed export.",
    )


def canonical_select(kind: Kind, sources: list[SourceTable], ordinal: bool = False) -> str:
    """A UNION ALL BY NAME of the sources of one kind, with canonical columns first and extras after."""
    parts = []
    for i, s in enumerate(sources):
        cols = [quote(c) for c in s.columns] + [quote(c) for c in s.extra_columns]
        prefix = f"{i} AS _src, _row, " if ordinal else ""
        parts.append(f"SELECT {prefix}{', '.join(cols)} FROM {quote(s.table)}")
    return " UNION ALL BY NAME ".join(parts)


def build_views(con: duckdb.DuckDBPyConnection, prefix: str, sources: list[SourceTable]) -> dict[str, str]:
    """Create one view per kind (`<prefix>_<kind>`) and return kind → view name.

    Accounts and users are merged by id (first non-empty value wins, in file then row order); events without an
    account get it through users; rows missing a required value are left out of the views (the report counts them).
    """
    by_kind: dict[Kind, list[SourceTable]] = {}
    for s in sources:
        by_kind.setdefault(s.kind, []).append(s)
    views: dict[str, str] = {}
    for kind in ("accounts", "users", "tickets", "nps", "revenue", "outcomes", "events"):
        group = by_kind.get(kind)
        if not group:
            continue
        table = TABLES[kind]
        present = _present_columns(group)
        where = " AND ".join(f"{quote(c)} IS NOT NULL" for c in table.required)
        name = f"{prefix}_{kind}"
        if table.id_column and kind in ("accounts", "users"):
            key = quote(table.id_column)
            aggs = [
                f"arg_min({quote(c)}, _src * 10000000000 + _row) FILTER (WHERE {quote(c)} IS NOT NULL) "
                f"AS {quote(c)}"
                for c in present
                if c != table.id_column
            ]
            body = (
                f"SELECT {key}{', ' if aggs else ''}{', '.join(aggs)} "
                f"FROM ({canonical_select(kind, group, ordinal=True)}) WHERE {where} GROUP BY {key}"
            )
        elif kind == "events" and "users" in views and _needs_account_join(con, group):
            cols = ", ".join(f"e.{quote(c)}" for c in present if c != "account_id")
            has_acct = "account_id" in present
            acct = "coalesce(e.account_id, u.account_id)" if has_acct else "u.account_id"
            body = (
                f"SELECT {cols}, {acct} AS account_id FROM ({canonical_select(kind, group)}) e "
                f"LEFT JOIN (SELECT user_id, account_id FROM {quote(views['users'])}) u USING (user_id) "
                f"WHERE {' AND '.join(f'e.{quote(c)} IS NOT NULL' for c in table.required)}"
            )
        else:
            body = f"SELECT * FROM ({canonical_select(kind, group)}) WHERE {where}"
        con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {body}")
        views[kind] = name
    return views


def _needs_account_join(con: duckdb.DuckDBPyConnection, group: list[SourceTable]) -> bool:
    """Events take their account from users only when some event lacks one (joining 20M rows isn't free)."""
    for s in group:
        if "account_id" not in s.columns:
            return True
        if con.execute(f"SELECT count(*) FROM {quote(s.table)} WHERE account_id IS NULL").fetchone()[0]:
            return True
    return False


def _present_columns(group: list[SourceTable]) -> list[str]:
    seen: list[str] = []
    for s in group:
        for c in list(s.columns) + s.extra_columns:
            if c not in seen:
                seen.append(c)
    canon = [c.name for c in TABLES[group[0].kind].columns]
    return [c for c in canon if c in seen] + [c for c in seen if c not in canon]


def source_key(content_hash: str, label: str, recognition_hint: str) -> str:
    """The cache key of an ingested source: its bytes, which sheet, and the mapping that applied to it."""
    import hashlib

    return hashlib.sha256(f"{INGEST_VERSION}|{content_hash}|{label}|{recognition_hint}".encode()).hexdigest()[
        :16
    ]


__all__ = ["INGEST_VERSION", "SourceTable", "build_views", "ingest_source", "source_key"]
