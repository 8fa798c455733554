"""Ingest raw sources into canonical DuckDB tables, and assemble a dataset's per-kind views over them.

Parsing happens in one SQL statement per source, so a 20M-row export streams through DuckDB instead of pandas.
Each ingested table keeps the user-visible row number (`_row`) and, per typed column, the raw text of values that
could not be parsed (`__bad__<column>`, NULL almost everywhere) for the quality report.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from customer_health.tools.base.bounds import DATE_RANGE, MAX_LINE_BYTES
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.sql import literal, quote
from customer_health.tools.data.faults import storage_fault
from customer_health.tools.data.readers import RawSource, as_latin1, first_line
from customer_health.tools.data.recognize import Recognition
from customer_health.tools.data.schema import TABLES, Kind
from customer_health.tools.data.subscriptions import build_subscription_views
from customer_health.tools.data.values import (
    day_first,
    is_numeric_type,
    is_text_type,
    number_convention,
    parse_expr,
    raw_text,
    yyyymmdd_integers,
)
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import duckdb

# 2: decimal commas, yyyymmdd integers, 1001.0 ids, rating words; 3: report footers, Qualtrics header rows, the
# account inside Amplitude's groups
INGEST_VERSION = "3"
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
    numbers = _number_conventions(con, raw, rec)
    columns = dict(rec.columns)
    group = _account_group(con, raw, rec)
    if group is not None:
        src, key = group
        columns["account_id"] = src
        inner.append(f"{_group_value_expr(src, key)} AS account_id")
        outer.append("account_id")
        notes.append(f"account_id: the {key!r} group in {src!r} (the events' only account reference)")
    for canon, src in rec.columns.items():
        spec = table.column(canon)
        conventions = _conventions(con, raw, src, types[src], spec.type)
        if canon in numbers:
            conventions["decimal_comma"] = numbers[canon]
        for flag, note in _CONVENTION_NOTES.items():
            if conventions.get(flag):
                notes.append(f"{canon}: {note}")
        expr = parse_expr(src, types[src], spec.type, words=spec.words, **conventions)
        inner.append(f"{expr} AS {quote(canon)}")
        value = _plausible(quote(canon), spec.type)
        outer.append(f"{value} AS {quote(canon)}")
        if spec.type not in ("id", "text"):
            typed.append(canon)
            inner.append(f"{raw_text(src, types[src], spec.words)} AS {quote('__raw__' + canon)}")
            outer.append(
                f"CASE WHEN {value} IS NULL AND trim({quote('__raw__' + canon)}) <> '' "
                f"THEN {quote('__raw__' + canon)} END AS {quote(BAD_PREFIX + canon)}"
            )
    reserved = {c.name.lower() for c in table.columns} | {"_row"}
    extras = []
    for src in raw.columns:
        if src in columns.values():
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
        if storage_fault(exc) == "full":
            raise  # the workspace's disk, not the file: the load must fail, never skip this table
        fallback = as_latin1(raw) if "unicode" in str(exc).lower() else None
        if fallback is None:
            raise _read_error(raw, exc) from None
        return ingest_source(con, fallback, rec, table_name)
    rows = con.execute(f"SELECT count(*) FROM {quote(table_name)}").fetchone()[0]
    for canon, src in columns.items():
        if (
            table.column(canon).type == "id"
            and is_text_type(types[src])
            and _strip_point_zero(con, table_name, canon)
        ):
            notes.append(f"{canon}: ids such as 1001.0 read as 1001")
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
        columns=columns,
        extra_columns=extras,
        typed_columns=typed,
        notes=notes,
    )


_GROUP_COLUMNS = ("groups",)  # Amplitude's group memberships: {"company": ["acme"]} or {"company_id": "acme"}
_GROUP_KEY = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_ .$-]*")


def _account_group(
    con: duckdb.DuckDBPyConnection, raw: RawSource, rec: Recognition
) -> tuple[str, str] | None:
    """(column, key) when events name their account only inside a `groups` JSON column, else None.

    The rule: an events table with no account column and a `groups` column whose sampled values are all JSON
    objects with one and the same key (empty objects aside), each holding a string or a list of strings. That key is
    the one group type the export has, so its value is the account: a string, or a list's only element (an event in
    two groups of the type, or in none, has no account). Several group types, or values that are not such objects,
    leave the events without an account, as before: which group is the customer is not ours to guess.
    """
    if rec.kind != "events" or "account_id" in rec.columns:
        return None
    types = dict(zip(raw.columns, raw.types, strict=True))
    src = next(
        (c for c in raw.columns if c.lower() in _GROUP_COLUMNS and c not in rec.columns.values()), None
    )
    if src is None or not is_text_type(types[src]):
        return None
    keys = set()
    for value in _sample(con, raw, src):
        text = str(value).strip()
        if not text:
            continue
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than a group value ever is
            return None
        if not isinstance(parsed, dict) or len(parsed) > 1:
            return None
        for key, member in parsed.items():
            # an event in two groups of the type has no one account; the column still names the others'
            members = member if isinstance(member, list) else [member]
            if not all(isinstance(m, (str, int)) and not isinstance(m, bool) for m in members):
                return None
            keys.add(key)
    if len(keys) != 1:
        return None
    key = keys.pop()
    return (src, key) if _GROUP_KEY.fullmatch(key) else None


def _group_value_expr(src: str, key: str) -> str:
    """SQL for the `key` group's value in JSON column `src`: a string, or a list's only element; NULL otherwise."""
    col, path = quote(src), literal(f'$."{key}"')
    member = f"try(json_extract({col}, {path}))"
    value = (
        f"CASE WHEN json_type({member}) = 'ARRAY' THEN "
        f"CASE WHEN json_array_length({member}) = 1 THEN json_extract_string({member}, '$[0]') END "
        f"WHEN json_type({member}) IN ('VARCHAR', 'BIGINT', 'UBIGINT') THEN json_extract_string({member}, '$') END"
    )
    return f"nullif(trim({value}), '')"


_CONVENTION_NOTES = {
    "dayfirst": "dates read as day/month/year",
    "decimal_comma": "numbers read with a decimal comma (1.234,56)",
    "yyyymmdd": "whole numbers read as yyyymmdd dates",
}


def _conventions(
    con: duckdb.DuckDBPyConnection, raw: RawSource, src: str, duck_type: str, target: str
) -> dict[str, bool]:
    """The column's conventions that single values leave ambiguous, decided once from a sample of the column."""
    if target in ("timestamp", "date", "month"):
        if is_text_type(duck_type):
            return {"dayfirst": day_first(_sample(con, raw, src))}
        if is_numeric_type(duck_type):
            return {"yyyymmdd": yyyymmdd_integers(_sample(con, raw, src))}
    return {}


def _number_conventions(con: duckdb.DuckDBPyConnection, raw: RawSource, rec: Recognition) -> dict[str, bool]:
    """Per text number column, whether it has decimal commas; a column that can't tell follows the rest of the file."""
    table = TABLES[rec.kind]
    types = dict(zip(raw.columns, raw.types, strict=True))
    verdicts = {
        canon: number_convention(_sample(con, raw, src))
        for canon, src in rec.columns.items()
        if table.column(canon).type == "number" and is_text_type(types[src])
    }
    in_file = set(verdicts.values()) - {None}
    fallback = in_file == {"comma"}  # 1.200 seats beside 1.234,56 of ARR is one thousand two hundred
    return {
        canon: verdict == "comma" or (verdict is None and fallback) for canon, verdict in verdicts.items()
    }


def _sample(con: duckdb.DuckDBPyConnection, raw: RawSource, column: str) -> list[object]:
    c = quote(column)
    try:
        rows = con.execute(f"SELECT {c} FROM {raw.from_sql} WHERE {c} IS NOT NULL LIMIT 5000").fetchall()
    except Exception as exc:
        if storage_fault(exc) == "full":
            raise  # spilling to the workspace's disk failed: not the file's fault
        fallback = as_latin1(raw) if "unicode" in str(exc).lower() else None
        if fallback is None:
            raise _read_error(raw, exc) from None
        return _sample(con, fallback, column)  # the table itself is then read as latin-1 too
    return [r[0] for r in rows]


def _strip_point_zero(con: duckdb.DuckDBPyConnection, table_name: str, column: str) -> bool:
    """Ids that went through a spreadsheet as floats (1001.0) become 1001, when every id in the column has `.0`."""
    c, t = quote(column), quote(table_name)
    # one counter-example ends the check, usually at the first row, so a 20M-row column isn't scanned for nothing
    if con.execute(f"SELECT 1 FROM {t} WHERE NOT regexp_full_match({c}, '-?[0-9]+[.]0+') LIMIT 1").fetchone():
        return False
    if not con.execute(f"SELECT 1 FROM {t} WHERE {c} IS NOT NULL LIMIT 1").fetchone():
        return False
    con.execute(f"UPDATE {t} SET {c} = regexp_replace({c}, '[.]0+$', '')")
    return True


def _plausible(value_sql: str, target: str) -> str:
    """The parsed value, or NULL when no real export could mean it: an infinite number, a date outside
    DATE_RANGE (9999-12-31 placeholders, 0001-01-01). Such values are reported as unparseable with the rest."""
    if target == "number":
        return f"CASE WHEN isfinite({value_sql}) THEN {value_sql} END"
    if target in ("date", "timestamp", "month"):
        low, high = DATE_RANGE
        return (
            f"CASE WHEN {value_sql} >= DATE '{low.isoformat()}' AND {value_sql} < DATE '{high.isoformat()}' + 1 "
            f"THEN {value_sql} END"
        )
    return value_sql


def _read_error(raw: RawSource, exc: Exception) -> InputError:
    """Turn DuckDB's reader errors into a message naming the file, line and fix."""
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
    if "maximum line size" in text.lower():
        return InputError(
            f"has a line longer than {MAX_LINE_BYTES:,} bytes (one cell or row over the limit).",
            file=raw.label,
            row=row,
            fix="Shorten or drop the oversized column in the export; a cell is read up to that size.",
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
        f"could not be read: {first_line(exc)}",
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
    account get it through users; an account named by its name (Zendesk's Organization) gets its id; rows missing a
    required value are left out of the views (the report counts them).
    """
    by_kind: dict[Kind, list[SourceTable]] = {}
    for s in sources:
        by_kind.setdefault(s.kind, []).append(s)
    views: dict[str, str] = {}
    named_accounts = None
    for kind in ("accounts", "subscriptions", "users", "tickets", "nps", "revenue", "outcomes", "events"):
        if kind == "users" and "subscriptions" in views:
            build_subscription_views(con, views, prefix)  # the accounts (if none) before others name them
        group = by_kind.get(kind)
        if not group:
            continue
        table = TABLES[kind]
        present = _present_columns(group)
        needed = table.required + (("user_id",) if kind == "events" and "user_id" in present else ())
        where = " AND ".join(f"{quote(c)} IS NOT NULL" for c in needed)
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
        elif kind == "events" and "user_id" not in present:
            # account-level events (no user column): the account is the person who acted
            body = (
                f"SELECT *, account_id AS user_id FROM ({canonical_select(kind, group)}) "
                f"WHERE {where} AND account_id IS NOT NULL"
            )
        elif kind == "events" and "account_id" not in present:
            # an explicit empty account column: queries then count no one for any account instead of binding
            # `account_id` to some outer query's column
            body = (
                f"SELECT *, NULL::VARCHAR AS account_id FROM ({canonical_select(kind, group)}) WHERE {where}"
            )
        else:
            body = f"SELECT * FROM ({canonical_select(kind, group)}) WHERE {where}"
        if kind != "accounts" and "account_id" in present:
            if named_accounts is None:
                named_accounts = _has_named_accounts(con, views)
            if named_accounts:
                body = _account_names_resolved(con, name, body, views["accounts"])
        con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {body}")
        views[kind] = name
    return views


def _has_named_accounts(con: duckdb.DuckDBPyConnection, views: dict[str, str]) -> bool:
    if "accounts" not in views:
        return False
    cols = con.execute(f"DESCRIBE SELECT * FROM {quote(views['accounts'])}").fetchall()
    return any(c[0] == "name" for c in cols)


def _names_table(view: str) -> str:
    return f"{view}__account_names"


def _account_names_resolved(con: duckdb.DuckDBPyConnection, view: str, body: str, accounts_view: str) -> str:
    """`body` with account names replaced by the ids they name, if any row names its account (else unchanged).

    A name counts when it names exactly one account and is no account's id (ids always win), compared without case
    or surrounding spaces. The (name as written → id, rows) pairs are kept in a small table, so the view joins on
    exact values and the quality report reads the counts without scanning the rows again.
    """
    a, names = quote(accounts_view), quote(_names_table(view))
    name_map = (
        f"SELECT lower(trim(name)) AS name_key, min(account_id) AS named_id FROM {a} WHERE name IS NOT NULL "
        f"GROUP BY 1 HAVING count(*) = 1 AND lower(trim(name)) NOT IN (SELECT lower(account_id) FROM {a})"
    )
    matched = (
        f"SELECT b.account_id AS written, m.named_id AS account_id, b.n AS n "
        f"FROM (SELECT account_id, count(*) AS n FROM ({body}) GROUP BY 1) b "
        f"JOIN ({name_map}) m ON m.name_key = lower(trim(b.account_id))"
    )
    if not con.execute(f"SELECT count(*) FROM ({matched})").fetchone()[0]:
        return body  # the view prefix is a hash of the ingested tables: no earlier names table can be stale
    con.execute(f"CREATE OR REPLACE TABLE {names} AS {matched}")
    return (
        f"SELECT b.* REPLACE (coalesce(n.account_id, b.account_id) AS account_id) FROM ({body}) b "
        f"LEFT JOIN (SELECT written, account_id FROM {names}) n ON n.written = b.account_id"
    )


def accounts_named_by_name(con: duckdb.DuckDBPyConnection, view: str) -> list[tuple[str, str, int]]:
    """(value as written, account id, rows) for each account reference in `view` that is an account's name."""
    table = _names_table(view)
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()[0]
    if not found:
        return []
    rows = con.execute(
        f"SELECT written, account_id, n FROM {quote(table)} ORDER BY n DESC, written"
    ).fetchall()
    return [(w, i, int(n)) for w, i, n in rows]


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


__all__ = [
    "INGEST_VERSION",
    "SourceTable",
    "accounts_named_by_name",
    "build_views",
    "ingest_source",
    "source_key",
]
