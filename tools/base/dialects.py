"""The one boundary where event-level SQL meets an engine: portable SQL in, the engine's dialect out (SQLGlot).

The event-level reductions (the funnel, workflows, …) are written once in a portable subset: DuckDB's spelling,
restricted to what SQLGlot translates to every target — window functions, CASE, CAST, GROUPING SETS, intervals
and timestamp literals; no ASOF join, no FILTER clause, no struct or list values, no DuckDB-only functions. They
read only from named relations (the events view and its neighbours) and return small per-account (or
per-breakdown) tables, so only those small tables travel back from the engine.

An engine is three things: its dialect name, a way to run SQL and fetch rows as dicts, and the names of the
relations the reductions read (`Engine`). DuckDB (the embedded workspace) is one; another engine plugs in the
same three.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from customer_health.tools.base.errors import InputError
from customer_health.tools.base.sql import register

# The portable subset is written in DuckDB's spelling; SQLGlot reads it as that and writes the target.
PORTABLE = "duckdb"
DIALECTS = ("duckdb", "postgres", "spark", "snowflake", "bigquery", "trino")


@lru_cache(maxsize=512)
def transpile(sql: str, dialect: str) -> str:
    """The portable SQL written in `dialect` (one of DIALECTS)."""
    if dialect not in DIALECTS:
        raise InputError(f"no SQL dialect is named '{dialect}'.", column="engine", options=list(DIALECTS))
    if dialect == PORTABLE:  # written in this spelling already: no parse (and no SQLGlot import) on DuckDB
        return sql
    import sqlglot  # here, not at import: the dataset handle imports this module, and `--version` must stay light

    return sqlglot.transpile(sql, read=PORTABLE, write=dialect)[0]


@dataclass(frozen=True)
class Engine:
    """Where the reductions run: a dialect, a function running SQL in it (rows as dicts), relation names.

    `query` (when given) runs SQL and returns (column names, rows as tuples), so an empty result still names its
    columns; `con` is the embedded DuckDB connection when the engine is that connection itself (then a reduction
    can be inlined into an account-level query instead of travelling as rows)."""

    dialect: str
    run: Callable[[str], list[dict]]
    relations: Mapping[str, str] = field(default_factory=dict)
    query: Callable[[str], tuple[list[str], list[tuple]]] | None = None
    con: Any = None
    # on the workspace's own engine: the name of a workspace table holding a reduction's rows, kept by an earlier
    # call (in this process or another) or made now; None when it cannot be kept (see load_cache.KeptReductions)
    keep: Callable[[str], str | None] | None = None

    def kept(self, portable_sql: str) -> str | None:
        """The workspace table holding this reduction's rows, when the engine keeps reductions; else None."""
        return self.keep(portable_sql) if self.keep is not None and self.dialect == PORTABLE else None

    def fetch(self, portable_sql: str, *, keep: bool = True) -> list[dict]:
        """Run one reduction written in the portable subset; only its (small) result comes back. With `keep`
        (not for one-row questions, where keeping costs more than asking) the rows come from a kept table."""
        table = self.kept(portable_sql) if keep else None
        if table is not None:
            return self.run(f'SELECT * FROM "{table}"')
        return self.run(transpile(portable_sql, self.dialect))

    def rows(self, portable_sql: str) -> tuple[list[str], list[tuple]]:
        """`fetch` as (column names, rows), the names known even when no row comes back."""
        sql = transpile(portable_sql, self.dialect)
        if self.query is not None:
            return self.query(sql)
        got = self.run(sql)
        return (list(got[0]) if got else []), [tuple(r.values()) for r in got]


def engine_from_query(
    dialect: str, query, relations: Mapping[str, str] | None = None, con=None, keep=None
) -> Engine:
    """An engine from one function running SQL and returning (column names, rows as tuples)."""

    def run(sql: str) -> list[dict]:
        names, rows = query(sql)
        return [dict(zip(names, row, strict=True)) for row in rows]

    return Engine(dialect, run, dict(relations or {}), query, con, keep)


def duckdb_engine(con, relations: Mapping[str, str] | None = None, keep=None) -> Engine:
    """The embedded DuckDB workspace as an engine; `keep` (see `Engine.keep`) when its reductions are kept."""

    def query(sql: str) -> tuple[list[str], list[tuple]]:
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()

    return engine_from_query("duckdb", query, relations, con, keep)


# the dataset memo key under which a workspace-built dataset holds its reduction keeper (load_cache.attach)
KEEPER = ("reduction_keeper",)


def engine_of(ds) -> Engine:
    """The engine a dataset's event-level reductions run on: its own (`ds.engine`), or its DuckDB connection
    (keeping reductions' rows in the workspace when the dataset has a keeper: `load_cache.attach`)."""
    own = getattr(ds, "engine", None)
    if own is not None:
        return own
    memo = getattr(ds, "memo", None)
    return duckdb_engine(ds.con, keep=memo(KEEPER, lambda: None) if memo is not None else None)


def relation(ds, kind: str) -> str:
    """The name a reduction reads `kind` under on the dataset's engine (the workspace view when the engine does
    not name it)."""
    return engine_of(ds).relations.get(kind) or ds.view(kind)


# the kinds that stay where they are on another engine; a remote load copies every other table into the workspace
STAYS_ON_ENGINE = ("events",)


def elsewhere(ds, kind: str) -> bool:
    """Whether `kind` lives only on an engine other than the dataset's own DuckDB connection: then no local view
    of it can be read, only reductions run on that engine."""
    engine = getattr(ds, "engine", None)
    return (
        kind in STAYS_ON_ENGINE
        and engine is not None
        and engine.con is not ds.con
        and kind in engine.relations
    )


def readable(ds, kind: str) -> bool:
    """Whether a reduction on the dataset's engine can read `kind` (it is there, or the engine is the workspace)."""
    engine = engine_of(ds)
    return engine.con is ds.con or kind in engine.relations


def first_row(ds, portable_sql: str) -> dict:
    """The one row of a reduction that returns one row (an aggregate without GROUP BY), run on the dataset's engine."""
    return engine_of(ds).fetch(portable_sql, keep=False)[0]


def reduced_once(ds, portable_sql: str, name: str, types: Mapping[str, str]) -> str:
    """`reduced` for a dataset, fetched once per dataset and SQL (the views never change after a load): the rows
    are registered under a name of their own, so another reduction under the same `name` cannot replace them."""
    digest = hashlib.sha1(f"{ds.dataset_id}\0{portable_sql}".encode()).hexdigest()[:12]
    return ds.memo(
        ("reduced", portable_sql),
        lambda: reduced(ds.con, engine_of(ds), portable_sql, f"{name}_{digest}", types),
    )


def reduced_frame(con, engine: Engine, portable_sql: str, name: str, types: Mapping[str, str]):
    """The rows of one reduction as a pandas frame of `con`, with the dtypes the embedded DuckDB gives (`reduced`)."""
    return con.execute(f"SELECT * FROM {reduced(con, engine, portable_sql, name, types)} AS r").df()


def event_counts(ds) -> list[tuple[str, int]]:
    """Every event name with its number of rows, most frequent first (ties by name), counted on the dataset's
    engine and ordered here, so the order is the same on every engine whatever its collation."""
    rows = engine_of(ds).fetch(f"SELECT event, COUNT(*) AS n FROM {relation(ds, 'events')} GROUP BY event")
    named = ((r["event"], int(r["n"])) for r in rows if r["event"] is not None)
    return sorted(named, key=lambda r: (-r[1], r[0]))


# DuckDB column types → how a fetched value is normalised and stored (remote drivers return Decimal, str, …)
_ARROW = {
    "BIGINT": ("int64", int),
    "INTEGER": ("int32", int),
    "DOUBLE": ("float64", float),
    "VARCHAR": ("string", str),
    "BOOLEAN": ("bool_", bool),
    "TIMESTAMP": ("timestamp_us", None),
    "DATE": ("date32", None),
}


def reduced(con, engine: Engine, portable_sql: str, name: str, types: Mapping[str, str]) -> str:
    """A subquery of DuckDB connection `con` holding the rows of one reduction. On the workspace's own engine the
    reduction is inlined as it is (nothing travels); on another engine its rows are fetched, registered in `con`
    as `name` and read with `types` (column → DuckDB type, every column the reduction returns: the types the
    inlined form has), so the account-level SQL around it is the same on every engine."""
    if engine.con is con:
        table = engine.kept(portable_sql)
        return f'(SELECT * FROM "{table}")' if table is not None else f"({transpile(portable_sql, 'duckdb')})"
    cast = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types.items())
    import pyarrow as pa

    names, rows = engine.rows(portable_sql)
    by_name = {n.lower(): i for i, n in enumerate(names)}
    arrays = []
    for col, typ in types.items():
        arrow, convert = _ARROW[typ]
        i = by_name[col.lower()]
        values = [r[i] for r in rows]
        if convert is not None:
            values = [None if v is None else convert(v) for v in values]
        arrays.append(
            pa.array(values, type=getattr(pa, arrow)() if arrow != "timestamp_us" else pa.timestamp("us"))
        )
    register(con, name, pa.table(arrays, names=list(types)))
    return f"(SELECT {cast} FROM {name})"


def flag(condition: str) -> str:
    """1 when `condition` holds, else 0 (portable: no boolean-to-integer casts)."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def count_if(condition: str) -> str:
    """Rows where `condition` holds (portable: no FILTER clause)."""
    return f"COUNT(CASE WHEN {condition} THEN 1 END)"


def next_at_or_after(
    name: str,
    probes: str,
    columns: list[str],
    at: tuple[str, str],
    targets: str,
    out: str,
) -> list[str]:
    """CTEs ending in `name`: every row of relation `probes` (its `columns`, keyed by `uk`), with `out` the time
    of the earliest row of `targets (uk, t, o)` at or after the probe's position `at` = (time, occurrence) in
    (t, o) order for the same uk; NULL when none follows. The portable form of an ASOF join: probes and targets
    are put in one stream per uk, probes first on equal positions, and each probe takes the smallest target time
    from itself onward (a window MIN over ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING). A probe whose
    time is NULL finds nothing.
    """
    rest = [c for c in columns if c != "uk"]
    empty = ", ".join(f"NULL AS {c}" for c in rest)
    keep = ", ".join(rest)
    return [
        f"{name}_u AS (SELECT uk, {keep}, {at[0]} AS p_t, {at[1]} AS p_o, 0 AS p_kind FROM {probes} "
        f"UNION ALL SELECT uk, {empty}, t AS p_t, o AS p_o, 1 AS p_kind FROM {targets})",
        f"{name} AS (SELECT uk, {keep}, CASE WHEN p_t IS NOT NULL THEN p_next END AS {out} FROM (SELECT *, "
        f"MIN(CASE WHEN p_kind = 1 THEN p_t END) OVER (PARTITION BY uk ORDER BY p_t, p_o, p_kind ROWS BETWEEN "
        f"CURRENT ROW AND UNBOUNDED FOLLOWING) AS p_next FROM {name}_u) AS p WHERE p_kind = 0)",
    ]


__all__ = [
    "DIALECTS",
    "KEEPER",
    "PORTABLE",
    "STAYS_ON_ENGINE",
    "Engine",
    "count_if",
    "duckdb_engine",
    "elsewhere",
    "engine_from_query",
    "engine_of",
    "event_counts",
    "first_row",
    "flag",
    "next_at_or_after",
    "readable",
    "reduced",
    "reduced_once",
    "reduced_frame",
    "relation",
    "transpile",
]
