"""Loading from a database: the events stay where they are, everything else comes into the workspace.

A database source (`postgresql://…`, or Spark through `--engine spark`) gives an engine whose relations the loader
found (named in the mapping or recognised by their columns). The event relation is never copied: the load asks
the engine for a handful of facts about it (rows, first and last time, accounts, users, events tied to an account,
rows per day for the as-of date) with portable SQL, and the event-level reductions run there later. Every other
table is small (one row per account, user, ticket, survey answer, month): its rows are fetched as an Arrow table
and ingested exactly as a Parquet file would be, so recognition, typing, views and quality are the file loader's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from customer_health.tools.base.errors import InputError
from customer_health.tools.base.sql import quote, register, unregister
from customer_health.tools.data.quality import QualityIssue, TableQuality, outlier_issues
from customer_health.tools.data.quality import bulk_latest as quality_bulk_latest
from customer_health.tools.data.readers import RawSource

if TYPE_CHECKING:
    import duckdb
    from customer_health.tools.base.dialects import Engine

ENGINE_NAMES = {"postgres": "PostgreSQL", "spark": "Spark", "duckdb": "DuckDB"}


def label_of(relation: str) -> str:
    """The relation's name as the user wrote it (schema.table), without the quoting."""
    return relation.replace('"', "")


def relation_names(files: dict[str, str]) -> dict[str, str]:
    """kind → table or view name, from a mapping's `files:` section (name → kind), which names relations when the
    source is a database. Patterns with wildcards name files only and are left out."""
    return {kind: name for name, kind in files.items() if not set(name) & set("*?[")}


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table) -> Iterator[str]:
    """`table` (Arrow) readable in `con` as `name` while the block runs. Any result an earlier query left
    unread is completed first: DuckDB 2 refuses to register or unregister while one is pending."""
    register(con, name, table)
    try:
        yield quote(name)
    finally:
        unregister(con, name)


@contextmanager
def fetched(con: duckdb.DuckDBPyConnection, engine: Engine, relation: str) -> Iterator[RawSource]:
    """One small relation's rows, fetched from the engine into an Arrow table readable in `con`, as a raw source
    the file loader ingests like a Parquet file (readable while the block runs)."""
    import pyarrow as pa

    names, rows = engine.rows(f"SELECT * FROM {relation}")
    arrays = []
    for i, _ in enumerate(names):
        column = pa.array([r[i] for r in rows])
        arrays.append(column.cast(pa.string()) if pa.types.is_null(column.type) else column)
    with registered(con, "_fetched", pa.table(arrays, names=list(names))) as name:
        desc = con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()
        yield RawSource(
            Path(label_of(relation)),
            None,
            engine.dialect,
            name,
            [d[0] for d in desc],
            [d[1] for d in desc],
            1,
            [],
        )


def content_digest(raw_rows: object) -> str:
    import hashlib

    return hashlib.sha256(repr(raw_rows).encode()).hexdigest()


@dataclass
class EventFacts:
    """What the load says about events that stay at the source, counted there."""

    relation: str
    rows: int = 0
    first: datetime | None = None
    last: datetime | None = None
    accounts: int | None = None
    users: int | None = None
    tied: int | None = None
    columns: list[str] = field(default_factory=list)
    days: list[tuple[date, int]] = field(default_factory=list)

    def key(self) -> list:
        """What identifies this state of the events (a changed source gives a new dataset)."""
        return [
            self.relation,
            self.rows,
            str(self.first),
            str(self.last),
            self.accounts,
            self.users,
            self.tied,
        ]


def event_facts(engine: Engine, relation: str) -> EventFacts:
    """Rows, time span, distinct accounts and users and events tied to an account, and rows per day, computed on
    the engine in two portable queries (one row and one row per day come back)."""
    columns, _ = engine.rows(f"SELECT * FROM {relation} WHERE 1 = 0")
    lower = {c.lower() for c in columns}
    parts = ["COUNT(*) AS n", "MIN(timestamp) AS first_at", "MAX(timestamp) AS last_at"]
    if "account_id" in lower:
        parts += ["COUNT(DISTINCT account_id) AS accounts", "COUNT(account_id) AS tied"]
    if "user_id" in lower:
        parts.append("COUNT(DISTINCT user_id) AS users")
    row = {k.lower(): v for k, v in engine.fetch(f"SELECT {', '.join(parts)} FROM {relation}")[0].items()}
    for end in ("first_at", "last_at"):
        if row[end] is not None and not isinstance(row[end], date):  # datetime is a date too
            raise InputError(
                f"the events' timestamp column in {label_of(relation)} is not a date or timestamp on the "
                f"{engine.dialect} side (its values come back as {type(row[end]).__name__}), so no window can be "
                "measured on it.",
                column="timestamp",
                fix="Create a view that casts it, e.g. CREATE VIEW events_v AS SELECT CAST(timestamp AS TIMESTAMP) AS "
                "timestamp, user_id, account_id, event FROM events, and name the view in a mapping file "
                "(--map, files: {events_v: events}).",
            )
    days = engine.fetch(
        f"SELECT CAST(timestamp AS DATE) AS day, COUNT(*) AS n FROM {relation} "
        "WHERE timestamp IS NOT NULL GROUP BY CAST(timestamp AS DATE)"
    )

    def whole(v):
        return None if v is None else int(v)

    return EventFacts(
        relation=label_of(relation),
        rows=int(row["n"]),
        first=row["first_at"],
        last=row["last_at"],
        accounts=whole(row.get("accounts")),
        users=whole(row.get("users")),
        tied=whole(row.get("tied")),
        columns=list(columns),
        days=sorted((_day(r), int(r["n"])) for r in ({k.lower(): v for k, v in d.items()} for d in days)),
    )


def _day(row: dict) -> date:
    v = row["day"]
    return v.date() if isinstance(v, datetime) else v if isinstance(v, date) else date.fromisoformat(str(v))


def bulk_latest(
    con: duckdb.DuckDBPyConnection, days: list[tuple[date, int]], today: date | None
) -> tuple[date | None, list[tuple[date, int]]]:
    """The file loader's as-of rule (`quality.bulk_latest`) on the rows per day counted at the source."""
    import pyarrow as pa

    if not days:
        return None, []
    table = pa.table({"day": [d for d, _ in days], "n": [n for _, n in days]})
    with registered(con, "_remote_days", table) as name:
        return quality_bulk_latest(con, name, today)


def events_quality(facts: EventFacts, where: str, latest: date | None, stray: list[tuple[date, int]]):
    """The events' line in the quality report and what the report says about them: where they live, which
    checks ran there, and any stray dates after the bulk."""
    share = {}
    if facts.rows and facts.tied is not None:
        share["account_id"] = round(facts.tied / facts.rows, 4)
    table = TableQuality(
        kind="events",
        source=f"{facts.relation} ({where})",
        rows=facts.rows,
        date_column="timestamp",
        date_min=str(facts.first.date()) if isinstance(facts.first, datetime) else None,
        date_max=str(facts.last.date()) if isinstance(facts.last, datetime) else None,
        completeness=share,
    )
    counted = ", ".join(
        f"{n:,} {what}" for n, what in ((facts.accounts, "accounts"), (facts.users, "users")) if n is not None
    )
    issues = [
        QualityIssue(
            code="events_at_source",
            severity="info",
            table="events",
            source=facts.relation,
            count=facts.rows,
            message=f"The events stay in {where} ({facts.relation}: {facts.rows:,} rows"
            + (f", {counted}" if counted else "")
            + "); the event-level work runs there and only per-account results come back. Orphan and "
            "unmapped-event checks are not run on them.",
        )
    ]
    issues += outlier_issues("events", "timestamp", latest, stray)
    return table, issues


__all__ = [
    "ENGINE_NAMES",
    "EventFacts",
    "bulk_latest",
    "content_digest",
    "event_facts",
    "events_quality",
    "fetched",
    "label_of",
    "registered",
    "relation_names",
]
