"""PostgreSQL as an engine gives the same numbers as the embedded DuckDB.

The example's events and users are copied into a real PostgreSQL server (conftest), the reductions run there
(`ds.engine`), and every tool built on them — the score's event inputs, seats, trends, the funnel, workflows,
cohorts and the whole score/risk pipeline — answers exactly as it does on the files. Random small event sets
check the raw reductions row for row. The connection is read-only and no message shows the password.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from customer_health.tools.base.dialects import duckdb_engine
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.sql import window
from customer_health.tools.data.engines import open_source
from customer_health.tools.data.engines.postgres import find_relations, masked, postgres_engine
from customer_health.tools.data.semantics import engaged_sql
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.event_metrics import event_metrics_sql
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.risk.inputs import last_seen_sql, risk_activity_sql
from customer_health.tools.usage.adoption import adoption_sql
from customer_health.tools.usage.personas import weeks_active_sql
from customer_health.tools.usage.seats import activity_sql
from customer_health.tools.usage.trends import trend_sql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engines.conftest import BENCH, PASSWORD, TOOL_RUNS, assert_same_event_inputs, on_engine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
copy_to_postgres = BENCH.copy_to_postgres


KINDS = ("events", "users", "accounts")


def example_in_postgres(pg, tmp_path_factory, schema: str):
    """The example loaded from its files, and a PostgreSQL engine reading a copy of its events, users and
    accounts in `schema` (those three only: recognising the other tables is the load's business)."""
    url, admin = pg
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
    admin.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    tmp = tmp_path_factory.mktemp("csv")
    for kind in KINDS:
        copy_to_postgres(ds.con, f"SELECT * FROM {ds.view(kind)}", admin, f"{schema}.{kind}", tmp)
    engine = postgres_engine(url, {k: f"{schema}.{k}" for k in KINDS})
    return ds, dataclasses.replace(engine, relations={k: engine.relations[k] for k in KINDS})


@pytest.fixture(scope="module")
def both(pg, tmp_path_factory):
    """The example as files (DuckDB) and the same dataset with its reductions run in PostgreSQL."""
    ds, engine = example_in_postgres(pg, tmp_path_factory, "example")
    return ds, *on_engine(ds, engine)


def test_the_scores_event_inputs_are_identical_from_postgresql(both):
    ds, remote, _ = both
    assert_same_event_inputs(ds, remote, len(ds.frame("accounts")))


def test_seats_trends_funnel_workflows_and_cohorts_are_identical_from_postgresql(both):
    ds, remote, _ = both
    for run in TOOL_RUNS:
        assert run(remote).model_dump(mode="json") == run(ds).model_dump(mode="json")


def test_the_score_and_risk_pipeline_is_identical_with_its_event_inputs_from_postgresql(both):
    # every event read of the pipeline goes to PostgreSQL: the workspace's own events are cut to the first day
    # (test_event_reads.py takes them away altogether)
    ds, remote, _ = both
    local, far = analyze(ds, everyone=True), analyze(remote, everyone=True)
    assert far.scores.model_dump(mode="json") == local.scores.model_dump(mode="json")
    assert far.risk.model_dump(mode="json") == local.risk.model_dump(mode="json")


# --- random event sets, reduction by reduction ---------------------------------------------------------------

T0 = datetime(2026, 1, 1)
DAY = date(2026, 3, 31)
EVENTS = ["login", "import_data", "build_report", "share_report"]
_event = st.tuples(
    st.sampled_from(["a1", "a2", None]),
    st.sampled_from(["u1", "u2", "u3", "u4"]),
    st.sampled_from(EVENTS),
    st.integers(0, 95 * 24 * 60),
    st.one_of(st.none(), st.integers(1, 4)),
)


def _norm(rows):
    def value(v):
        if isinstance(v, Decimal):
            v = float(v)
        if isinstance(v, float) and math.isnan(v):
            return None
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

    return sorted((tuple(value(v) for v in r) for r in rows), key=repr)


@pytest.fixture(scope="module")
def random_tables(pg):
    url, admin = pg
    admin.execute("CREATE SCHEMA IF NOT EXISTS rand")
    admin.execute("DROP TABLE IF EXISTS rand.events")
    admin.execute(
        "CREATE TABLE rand.events (account_id text, user_id text, event text, timestamp timestamp, count bigint)"
    )
    admin.execute("DROP TABLE IF EXISTS rand.users")
    admin.execute("CREATE TABLE rand.users (user_id text, account_id text, is_champion boolean)")
    admin.execute("INSERT INTO rand.users VALUES ('u1', 'a1', true), ('u2', 'a1', false), ('u3', 'a2', true)")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE events (account_id VARCHAR, user_id VARCHAR, event VARCHAR, timestamp TIMESTAMP, count BIGINT)"
    )
    con.execute("CREATE TABLE users (user_id VARCHAR, account_id VARCHAR, is_champion BOOLEAN)")
    con.execute("INSERT INTO users VALUES ('u1', 'a1', true), ('u2', 'a1', false), ('u3', 'a2', true)")
    engine = postgres_engine(url, {"events": "rand.events", "users": "rand.users"})
    return admin, con, engine


def _reductions(relations):
    core = ["import_data", "build_report"]
    ends = {0: window(DAY, 1).end, 1: window(DAY - timedelta(days=30), 1).end}
    em = event_metrics_sql(DAY, ends, core, "share_report", True, ["is_champion"], relations)
    champions = f"SELECT user_id FROM {relations['users']} WHERE is_champion"
    return [
        em["windowed"],
        em["ever"],
        activity_sql(window(DAY, 30), core, relations),
        trend_sql(DAY, 13, core, True, None, relations),
        *adoption_sql(window(DAY, 30), core, True, relations).values(),
        weeks_active_sql(DAY, 4, relations),
        risk_activity_sql(DAY, core, True, relations),
        last_seen_sql(DAY, champions, relations),
        last_seen_sql(DAY, None, relations),
        engaged_sql("account_id", "", relations),
        engaged_sql("user_id", f"WHERE timestamp < TIMESTAMP '{DAY}'", relations),
        engaged_sql("account_id", "", relations, 1.5),
        engaged_sql("user_id", "", relations, 2.0),
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_event, max_size=40))
def test_every_reduction_returns_the_same_rows_in_postgresql_as_in_duckdb(random_tables, events):
    admin, con, engine = random_tables
    rows = [(a, u, e, T0 + timedelta(minutes=m), n) for a, u, e, m, n in events]
    admin.execute("TRUNCATE rand.events")
    con.execute("DELETE FROM events")
    if rows:
        with admin.cursor() as cur:
            cur.executemany("INSERT INTO rand.events VALUES (%s, %s, %s, %s, %s)", rows)
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    local = duckdb_engine(con)
    pairs = zip(
        _reductions(engine.relations), _reductions({"events": "events", "users": "users"}), strict=True
    )
    for remote_sql, local_sql in pairs:
        assert _norm(engine.rows(remote_sql)[1]) == _norm(local.rows(local_sql)[1])


# --- the connection ------------------------------------------------------------------------------------------


def test_the_connection_is_read_only(both):
    _, remote, _ = both
    with pytest.raises(Exception, match="read-only"):
        remote.engine.run("CREATE TABLE example.written (i integer)")


def test_a_failed_connection_names_the_server_but_never_the_password(pg):
    url, _ = pg
    wrong = url.replace(PASSWORD, "Wr0ng-P4ss")
    with pytest.raises(InputError) as err:
        postgres_engine(wrong)
    assert "Wr0ng-P4ss" not in str(err.value) and "127.0.0.1" in str(err.value)
    with pytest.raises(InputError) as err:
        postgres_engine(url.rsplit("/", 1)[0] + "/no_such_database")
    assert PASSWORD not in str(err.value) and "no_such_database" in str(err.value)
    assert masked(url) == url.replace(PASSWORD, "***")


def test_tables_are_recognised_by_their_columns_or_named_in_a_mapping():
    tables = {
        "raw.product_events": ["timestamp", "user_id", "event", "account_id"],
        "people": ["user_id", "account_id", "role"],
        "notes": ["id", "text"],
    }
    found = find_relations(tables)
    assert found["events"] == '"raw"."product_events"' and found["users"] == '"people"'
    assert "accounts" not in found
    assert find_relations(tables, {"events": "notes"})["events"] == '"notes"'
    with pytest.raises(InputError, match="no such table"):
        find_relations(tables, {"events": "missing"})


def test_open_source_gives_no_engine_for_files_and_refuses_an_engine_it_cannot_use():
    assert open_source("examples/sample") is None
    with pytest.raises(InputError, match="engine"):
        open_source("examples/sample", engine="postgres")
    with pytest.raises(InputError, match="oracle"):
        open_source("examples/sample", engine="oracle")
