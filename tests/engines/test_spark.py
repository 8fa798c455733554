"""Spark (local mode) as an engine gives the same numbers as the embedded DuckDB, on a small fixture.

Slow (a JVM starts): marked slow, run in CI. The fixture is the example cut to its first 25 accounts (their
events, users and accounts); the tables become Spark views and every reduction runs there.
"""

from __future__ import annotations

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace

from tests.engines.conftest import TOOL_RUNS, assert_same_event_inputs, on_engine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(small_example, tmp_path_factory):
    """The example's first 25 accounts, loaded from files into a workspace."""
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    return ws.dataset(ws.load([small_example], roots=AllowedRoots([small_example.resolve()])))


@pytest.fixture(scope="module")
def spark_both(small):
    pytest.importorskip("pyspark")
    from customer_health.tools.data.engines.spark import session, spark_engine

    spark = session("local[2]")
    for kind in ("events", "users", "accounts"):
        frame = small.con.execute(f"SELECT * FROM {small.view(kind)}").df()
        spark.createDataFrame(frame).createOrReplaceTempView(f"sp_{kind}")
    engine = spark_engine(spark=spark, mapping={k: f"sp_{k}" for k in ("events", "users", "accounts")})
    yield small, *on_engine(small, engine)
    spark.stop()


def test_the_scores_event_inputs_are_identical_from_spark(spark_both):
    ds, remote, _ = spark_both
    assert_same_event_inputs(ds, remote, 25)


def test_seats_trends_funnel_workflows_and_cohorts_are_identical_from_spark(spark_both):
    ds, remote, _ = spark_both
    for run in TOOL_RUNS:
        assert run(remote).model_dump(mode="json") == run(ds).model_dump(mode="json")


def test_spark_runs_queries_only(spark_both):
    _, remote, _ = spark_both
    with pytest.raises(InputError, match="read-only"):
        remote.engine.run("CREATE TABLE written (i INT)")
