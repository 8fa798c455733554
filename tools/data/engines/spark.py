"""Apache Spark as an engine: the reductions run as Spark SQL (PySpark in local mode, or Spark Connect), only their
per-account rows come back.

`spark_engine("local[*]")` starts a local session; `spark_engine("sc://host:15002")` connects through Spark Connect
(credentials, when the server wants them, only in that URL or the environment, as Spark Connect reads them).
Spark SQL has no read-only transaction, so the engine itself refuses any statement other than a query.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlglot
from customer_health.tools.base.dialects import Engine, engine_from_query
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.engines.postgres import REDUCTION_FIX, find_relations, masked


def _query_only(sql: str) -> None:
    """Refuse anything but a query: the engine never writes to the source."""
    tree = sqlglot.parse_one(sql, read="spark")
    if not isinstance(tree, sqlglot.exp.Query):
        raise InputError("only queries run on a Spark source (it is read-only).", fix="Send a SELECT.")


def session(master: str = "local[*]"):
    """A Spark session: local mode for local[...], Spark Connect for sc://…; the session time zone is UTC."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "running on Spark needs PySpark.",
            fix="Install it with: pip install 'customer-health-analyst[spark]'.",
        ) from None
    builder = SparkSession.builder.appName("customer-health")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    try:
        return (
            builder.config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
    except Exception as exc:  # noqa: BLE001 - any start-up failure is the user's connection to fix
        raise InputError(
            f"cannot start Spark at {masked(master)}: {type(exc).__name__}.",
            fix="Pass local[*] or a Spark Connect URL sc://HOST:PORT, and check Java 17 is installed.",
        ) from None


def spark_engine(master: str = "local[*]", mapping: Mapping[str, str] | None = None, spark=None) -> Engine:
    """Spark as an engine over the tables and views of its catalog (`find_relations`: named in `mapping` or
    recognised by their columns)."""
    spark = spark or session(master)
    tables = {
        t.name if not t.database else f"{t.database}.{t.name}": [
            c.name for c in spark.catalog.listColumns(t.name)
        ]
        for t in spark.catalog.listTables()
    }
    relations = find_relations(tables, mapping)  # quoted as the portable SQL quotes; SQLGlot writes backticks

    def query(sql: str) -> tuple[list[str], list[tuple]]:
        _query_only(sql)
        try:
            frame = spark.sql(sql)
            return list(frame.columns), [tuple(r) for r in frame.collect()]
        except Exception as exc:  # noqa: BLE001 - Spark's own errors (analysis, execution) are the source's to fix
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise InputError(
                f"Spark at {masked(master)} could not run a reduction: {type(exc).__name__}"
                + (f": {first}" if first else ""),
                fix=REDUCTION_FIX,
            ) from None

    return engine_from_query("spark", query, relations)


__all__ = ["session", "spark_engine"]
