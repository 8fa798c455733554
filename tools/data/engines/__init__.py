"""Engines other than the embedded DuckDB, where the event-level reductions can run next to the events.

`open_source` is the one entry the loaders use: a `postgresql://` connection string gives a PostgreSQL engine,
`--engine spark` with `local[*]` or a Spark Connect URL a Spark engine; anything else is a path for the file loader
(None here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from customer_health.tools.base.errors import InputError

if TYPE_CHECKING:  # SQLGlot is imported when an engine is opened, not by every command that loads files
    from customer_health.tools.base.dialects import Engine

ENGINES = ("duckdb", "postgres", "spark")


def is_remote(source: str) -> bool:
    """Whether `source` names a database rather than files."""
    return str(source).lower().startswith(("postgresql://", "postgres://"))


def is_spark_master(source: str) -> bool:
    """Whether `source` names a Spark master: local, local[N] / local[*], or a Spark Connect URL."""
    return source == "local" or source.startswith(("local[", "sc://"))


def open_source(
    source: str, engine: str = "duckdb", mapping: Mapping[str, str] | None = None
) -> Engine | None:
    """The engine `source` names — a PostgreSQL connection string, or with engine="spark" a Spark Connect URL
    (sc://…) or local[*] — or None for files (the DuckDB workspace)."""
    if engine not in ENGINES:
        raise InputError(f"no engine is named '{engine}'.", column="engine", options=list(ENGINES))
    if is_remote(source):
        from customer_health.tools.data.engines.postgres import postgres_engine

        return postgres_engine(str(source), mapping)
    if engine == "spark" and is_spark_master(str(source)):
        from customer_health.tools.data.engines.spark import spark_engine

        return spark_engine(str(source), mapping)
    if engine != "duckdb":
        raise InputError(
            f"the {engine} engine needs a connection string, and '{source}' is a path.",
            column="engine",
            fix="Pass postgresql://USER@HOST/DATABASE (or for Spark local[*] or sc://HOST:PORT), or load files without --engine.",
        )
    return None


__all__ = ["ENGINES", "is_remote", "is_spark_master", "open_source"]
