"""The portable SQL boundary: the transpiler, the portable next-match lookup, the reductions' golden SQL per dialect,
and the portable reductions giving exactly the rows of the ASOF-join SQL they replaced (kept as the baseline in
benchmarks/bench_portable_sql.py) on the bundled example and on random event sets.

Regenerate the golden files with `UPDATE_GOLDEN=1 pytest tests/tools/base/test_dialects.py` after a deliberate
change to a reduction, and review the diff.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import sqlglot
from customer_health.tools.base.dialects import (
    DIALECTS,
    duckdb_engine,
    elsewhere,
    engine_from_query,
    event_counts,
    next_at_or_after,
    readable,
    reduced,
    reduced_once,
    transpile,
)
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.sql import window
from customer_health.tools.data.config import WorkflowSpec
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import engaged_sql
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.event_metrics import event_metrics_sql
from customer_health.tools.risk.inputs import last_seen_sql, risk_activity_sql
from customer_health.tools.usage.adoption import adoption_sql
from customer_health.tools.usage.cohorts import active_user_sql
from customer_health.tools.usage.funnel import funnel_sql
from customer_health.tools.usage.personas import weeks_active_sql
from customer_health.tools.usage.seats import activity_sql
from customer_health.tools.usage.trends import trend_sql
from customer_health.tools.usage.workflows import workflow_sql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "sql"
EXAMPLES = ROOT / "examples"
T0 = datetime(2026, 3, 1, 9, 0)
RELATIONS = {"events": "events", "users": "users", "accounts": "accounts"}


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_portable_sql", ROOT / "benchmarks" / "bench_portable_sql.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()


def _funnel_spec(steps, window_days=14, day=date(2026, 3, 31), **kw):
    fields = {"start": None, "account": None, "role": None, "errors": [], "dims": {}} | kw
    return SimpleNamespace(steps=list(steps), window_days=window_days, day=day, **fields)


def _reductions() -> dict[str, str]:
    """Every reduction once, with every optional part switched on, as the golden files hold them."""
    funnel = _funnel_spec(
        ["session_start", "import_data", "build_report", "build_report"],
        start=datetime(2026, 1, 1),
        role="analyst",
        errors=["import_failed", "sync_error"],
        dims={"role": "u.role", "account": "f.account_id", "segment": "a.segment"},
    )
    targets = "SELECT DISTINCT user_id AS uk, account_id FROM users WHERE role IN ('analyst')"
    workflow = WorkflowSpec(steps=["import_data", "build_report", "share_report"], window_days=7)
    core = ["import_data", "build_report"]
    return {
        "funnel": funnel_sql(funnel, RELATIONS),
        "workflow": workflow_sql(workflow, window(date(2026, 3, 31), 28), targets, RELATIONS),
        "seats": activity_sql(window(date(2026, 3, 31), 30), core, RELATIONS),
        "trends": trend_sql(date(2026, 3, 31), 13, core, True, None, RELATIONS),
        "cohorts": active_user_sql("TIMESTAMP '2026-04-01 00:00:00'", 12, True, RELATIONS),
        **_event_reads(),
        **{
            f"event_metrics_{part}": sql
            for part, sql in event_metrics_sql(
                date(2026, 3, 31),
                {0: datetime(2026, 4, 1), 1: datetime(2026, 3, 2)},
                core,
                "import_data",
                True,
                ["is_champion", "is_exec_sponsor"],
                RELATIONS,
            ).items()
        },
    }


def _event_reads() -> dict[str, str]:
    """The reductions behind adoption, personas, the risk inputs and core-feature inference."""
    day, core = date(2026, 3, 31), ["import_data", "build_report"]
    champions = "SELECT user_id FROM users WHERE is_champion"
    upto = "WHERE timestamp < TIMESTAMP '2026-04-01 00:00:00'"
    return {
        **{f"adoption_{k}": v for k, v in adoption_sql(window(day, 30), core, True, RELATIONS).items()},
        "personas_weeks": weeks_active_sql(day, 4, RELATIONS),
        "risk_activity": risk_activity_sql(day, core, True, RELATIONS),
        "risk_last_seen": last_seen_sql(day, champions, RELATIONS),
        "core_spread": engaged_sql("account_id", upto, RELATIONS),
        "core_usage": engaged_sql("account_id", upto, RELATIONS, 2.5),
    }


EVENT_READS = list(_event_reads())


# --- the transpiler ------------------------------------------------------------------------------------------


def test_an_unknown_dialect_is_refused_with_the_dialects_that_exist():
    with pytest.raises(InputError) as err:
        transpile("SELECT 1", "oracle")
    assert "oracle" in str(err.value) and "postgres" in str(err.value)


def test_the_duckdb_engine_runs_portable_sql_and_returns_rows_as_dicts():
    con = duckdb.connect()
    rows = duckdb_engine(con).fetch("SELECT COUNT(CASE WHEN x > 1 THEN 1 END) AS n FROM range(5) AS r(x)")
    assert rows == [{"n": 3}]  # 2, 3, 4


def test_a_reduction_on_another_engine_arrives_as_typed_rows_even_when_empty():
    here, there = duckdb.connect(), duckdb.connect()  # `there` stands in for a remote engine
    there.execute("CREATE TABLE ev (account_id VARCHAR, n BIGINT)")
    remote = engine_from_query("postgres", lambda sql: _rows_of(there, sql))
    types = {"account_id": "VARCHAR", "n": "BIGINT"}
    sql = "SELECT account_id, COUNT(*) AS n FROM ev GROUP BY account_id"
    empty = reduced(here, remote, sql, "_r", types)
    assert here.execute(f"DESCRIBE SELECT * FROM {empty}").fetchall()[1][:2] == ("n", "BIGINT")
    assert here.execute(f"SELECT count(*) FROM {empty}").fetchall() == [(0,)]
    there.execute("INSERT INTO ev VALUES ('a', 1), ('a', 2), ('b', 3)")
    got = here.execute(f"SELECT * FROM {reduced(here, remote, sql, '_r', types)} ORDER BY 1").fetchall()
    assert got == [("a", 2), ("b", 1)]
    # on the workspace's own engine the reduction is inlined: nothing is registered
    assert "FROM ev" in reduced(there, duckdb_engine(there), sql, "_r", types)


def _remote_events(rows):
    """A dataset whose events live only on another DuckDB connection (standing in for a remote engine that
    counts the queries it runs); its own events view names nothing in the workspace."""
    here, there = duckdb.connect(), duckdb.connect()
    there.execute("CREATE TABLE ev (account_id VARCHAR, user_id VARCHAR, event VARCHAR, timestamp TIMESTAMP)")
    there.executemany("INSERT INTO ev VALUES (?, ?, ?, ?)", rows)
    here.execute("CREATE TABLE t (account_id VARCHAR, created_at TIMESTAMP)")
    asked = []

    def query(sql):
        asked.append(sql)
        return _rows_of(there, sql)

    remote = engine_from_query("postgres", query, {"events": "ev", "tickets": "ev"})
    views = {"events": "nowhere", "tickets": "t"}
    return Dataset(here, "d1", views, engine=remote), asked


def test_what_a_dataset_asks_of_events_that_live_only_on_another_engine_is_answered_there():
    ds, asked = _remote_events(
        [("a1", "u1", "login", T0), ("a1", "a1", "login", T0 + timedelta(days=3)), (None, "u2", "x", T0)]
    )
    assert ds.columns("events") == ["account_id", "user_id", "event", "timestamp"]
    assert ds.columns("tickets") == ["account_id", "created_at"]  # copied into the workspace: read there
    assert (
        ds.events_span() == (T0.date(), T0.date() + timedelta(days=3)) and ds.events_first_day() == T0.date()
    )
    assert ds.events_tied() is True and ds.account_level_events() is False
    assert ds.any_event("event = 'x'") and not ds.any_event("event = 'y'")
    assert elsewhere(ds, "events") and not elsewhere(ds, "tickets") and not elsewhere(ds, "users")
    with pytest.raises(duckdb.CatalogException):  # nothing above read the events in the workspace
        ds.con.execute(f"SELECT * FROM {ds.view('events')}")


def test_an_event_reduction_a_dataset_keeps_is_fetched_once_and_read_in_the_workspace():
    ds, asked = _remote_events([("a1", "u1", "login", T0), ("a2", "u2", "login", T0), ("a1", "u3", "x", T0)])
    sql = "SELECT DISTINCT account_id FROM ev"
    first = reduced_once(ds, sql, "_ids", {"account_id": "VARCHAR"})
    n = len(asked)
    assert reduced_once(ds, sql, "_ids", {"account_id": "VARCHAR"}) == first and len(asked) == n
    assert sorted(ds.con.execute(f"SELECT account_id FROM {first} AS r").fetchall()) == [("a1",), ("a2",)]
    # another reduction under the same name does not replace the kept rows
    reduced_once(ds, "SELECT 'z' AS account_id", "_ids", {"account_id": "VARCHAR"})
    assert sorted(ds.con.execute(f"SELECT account_id FROM {first} AS r").fetchall()) == [("a1",), ("a2",)]


def test_the_workspaces_own_engine_reads_every_kind_and_keeps_nothing_elsewhere():
    con = duckdb.connect()
    con.execute("CREATE TABLE ev AS SELECT 'a1' AS account_id")
    ds = Dataset(con, "d2", {"events": "ev"})
    assert readable(ds, "users") and not elsewhere(ds, "events")
    assert "FROM ev" in reduced_once(ds, "SELECT account_id FROM ev", "_x", {"account_id": "VARCHAR"})


def test_event_names_are_ranked_by_count_then_name_whatever_the_engine_returns():
    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT * FROM (VALUES ('b'), ('a'), ('c'), ('c'), (NULL)) v(event)")
    ds = SimpleNamespace(engine=duckdb_engine(con, {"events": "events"}), con=con)
    assert event_counts(ds) == [("c", 2), ("a", 1), ("b", 1)]


def _rows_of(con, sql):
    cur = con.execute(sql)
    return [d[0] for d in cur.description], cur.fetchall()


def test_next_at_or_after_takes_the_earliest_target_from_the_probe_on_and_ties_go_to_the_target():
    con = duckdb.connect()
    con.execute("CREATE TABLE probes (uk VARCHAR, id INT, pt INT, po INT)")
    con.execute("CREATE TABLE targets (uk VARCHAR, t INT, o INT)")
    # u1 targets at 5 (occurrences 1, 2) and 9; u2 one target at 3; u3 none
    con.execute("INSERT INTO targets VALUES ('u1', 5, 1), ('u1', 5, 2), ('u1', 9, 1), ('u2', 3, 1)")
    con.execute(
        "INSERT INTO probes VALUES ('u1', 1, 2, 1), ('u1', 2, 5, 1), ('u1', 3, 5, 2), ('u1', 4, 5, 3), "
        "('u1', 5, 10, 1), ('u1', 6, NULL, 1), ('u2', 7, 3, 1), ('u3', 8, 1, 1)"
    )
    ctes = next_at_or_after("m", "probes", ["uk", "id"], ("pt", "po"), "targets", "nx")
    rows = con.execute(
        transpile(f"WITH {', '.join(ctes)} SELECT id, nx FROM m ORDER BY id", "duckdb")
    ).fetchall()
    # 2 → 5; (5, 1) → 5 itself; (5, 2) → 5 (its second occurrence); (5, 3) → 9; 10 → none; NULL → none;
    # u2 (3, 1) → 3; u3 → none
    assert rows == [(1, 5), (2, 5), (3, 5), (4, 9), (5, None), (6, None), (7, 3), (8, None)]


# --- golden SQL per dialect ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "duckdb"])
@pytest.mark.parametrize(
    "reduction",
    [
        "funnel",
        "workflow",
        "seats",
        "trends",
        "cohorts",
        "event_metrics_windowed",
        "event_metrics_ever",
        *EVENT_READS,
    ],
)
def test_each_reduction_transpiles_to_its_golden_sql_which_reparses_in_its_dialect(reduction, dialect):
    sql = transpile(_reductions()[reduction], dialect)
    text = sqlglot.transpile(sql, read=dialect, write=dialect, pretty=True)[0] + "\n"
    path = GOLDEN / dialect / f"{reduction}.sql"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"missing golden file {path.relative_to(ROOT)}: run with UPDATE_GOLDEN=1"
    golden = path.read_text()
    assert text == golden, f"{path.relative_to(ROOT)} changed: review, then UPDATE_GOLDEN=1"
    parsed = sqlglot.parse_one(golden, read=dialect)
    if reduction in ("funnel", "workflow"):
        assert (
            parsed.find(sqlglot.exp.Window) is not None
        )  # the next-step lookup survived as a window function
    assert parsed.find(sqlglot.exp.Select) is not None and "ASOF" not in golden.upper()


# --- the same rows as the ASOF-join SQL ----------------------------------------------------------------------


def _funnel_both(con, steps, window_days, day):
    end = f"{window(day, 1).end:%Y-%m-%d %H:%M:%S}"
    portable = transpile(funnel_sql(_funnel_spec(steps, window_days, day), {"events": "events"}), "duckdb")
    return con.execute(portable).fetchall(), con.execute(
        BENCH.asof_funnel_sql(steps, window_days, end, "events")
    ).fetchall()


def _workflow_both(con, steps, window_days, day, weeks=2):
    period = window(day, weeks * 7)
    targets = f"SELECT DISTINCT user_id AS uk, account_id FROM events WHERE {period.sql()} AND account_id IS NOT NULL"
    spec = WorkflowSpec(steps=steps, window_days=window_days)
    portable = transpile(
        workflow_sql(spec, period, targets, {"events": "events"}) + " ORDER BY account_id", "duckdb"
    )
    start, end = (f"{t:%Y-%m-%d %H:%M:%S}" for t in period)
    asof = BENCH.asof_workflow_sql(steps, window_days, start, end, "events")
    return con.execute(portable).fetchall(), con.execute(asof).fetchall()


def _seats_both(con, day, core):
    win = window(day, 30)
    portable = transpile(activity_sql(win, core, {"events": "events"}) + " ORDER BY account_id", "duckdb")
    # the previous DuckDB form
    names = ", ".join(f"'{c}'" for c in core) or "NULL"
    before = (
        f"SELECT account_id, count(DISTINCT user_id), count(DISTINCT user_id) FILTER (WHERE event IN ({names})) "
        f"FROM events WHERE {win.sql()} AND account_id IS NOT NULL GROUP BY account_id ORDER BY account_id"
    )
    return con.execute(portable).fetchall(), con.execute(before).fetchall()


def _trends_both(con, day, core, weeks=13):
    portable = transpile(trend_sql(day, weeks, core, False, None, {"events": "events"}), "duckdb")
    portable = f"SELECT * FROM ({portable}) ORDER BY grain, account_id, k"
    # the previous DuckDB form: user_days, then by week, month and day
    names = ", ".join(f"'{c}'" for c in core) or "NULL"
    metrics = "count(DISTINCT user_id), count(DISTINCT user_id) FILTER (WHERE core_user), coalesce(sum(c), 0)"
    before = f"""WITH user_days AS (
        SELECT account_id, user_id, date_diff('day', CAST(timestamp AS DATE), DATE '{day}') AS age,
               bool_or(event IN ({names})) AS core_user, sum(1) FILTER (WHERE event IN ({names})) AS c
        FROM events WHERE {window(day, max(weeks * 7, 90)).sql()} AND account_id IS NOT NULL GROUP BY ALL)
        SELECT * FROM (
            SELECT account_id, 'w' AS grain, age // 7 AS k, {metrics} FROM user_days WHERE age < {weeks * 7} GROUP BY ALL
            UNION ALL SELECT account_id, 'm', age // 30, {metrics} FROM user_days WHERE age < 60 GROUP BY ALL
            UNION ALL SELECT account_id, 'd', age, NULL, NULL, sum(c) FROM user_days WHERE age < 90 GROUP BY ALL)
        ORDER BY grain, account_id, k"""
    return con.execute(portable).fetchall(), con.execute(before).fetchall()


def _cohorts_both(con, day, created, max_months=12):
    end = f"TIMESTAMP '{window(day, 1).end:%Y-%m-%d %H:%M:%S}'"
    relations = {"events": "events", "users": "users"}
    portable = transpile(active_user_sql(end, max_months, created, relations), "duckdb")
    portable = f"SELECT * FROM ({portable}) ORDER BY ALL"
    # the previous DuckDB form
    key = "year({0}) * 12 + month({0}) - 1"
    made = f"created AS (SELECT user_id, min({key.format('created_at')}) AS mk FROM users WHERE created_at < {end} GROUP BY user_id),"
    starts = "SELECT user_id, coalesce(c.mk, f.mk) AS ck FROM first f FULL JOIN created c USING (user_id)"
    before = f"""WITH um AS MATERIALIZED (SELECT user_id, {key.format("timestamp")} AS mk FROM events WHERE timestamp < {end} GROUP BY ALL),
        first AS (SELECT user_id, min(mk) AS mk FROM um GROUP BY user_id), {made if created else ""}
        starts AS ({starts if created else "SELECT user_id, mk AS ck FROM first"})
        SELECT * FROM (SELECT ck, -1 AS m, count(*) AS n FROM starts WHERE ck IS NOT NULL GROUP BY ck
        UNION ALL SELECT s.ck, um.mk - s.ck AS m, count(*) AS n FROM starts s JOIN um USING (user_id)
        WHERE um.mk BETWEEN s.ck AND s.ck + {max_months} GROUP BY ALL) ORDER BY ALL"""
    return con.execute(portable).fetchall(), con.execute(before).fetchall()


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    if not (EXAMPLES / "sample" / "events.parquet").exists():
        pytest.skip("the bundled example data has not been generated")
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
    yield ds
    ws.close()


@pytest.mark.parametrize(
    "steps",
    [
        ["session_start", "import_data", "build_report", "share_report"],
        ["import_data", "build_report", "build_report"],
        ["build_report", "share_report"],
    ],
)
def test_the_portable_reductions_give_the_asof_rows_on_the_example(example, steps):
    con = example.con
    con.execute(f"CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM {example.view('events')}")
    day = example.default_as_of()
    portable, asof = _funnel_both(con, steps, 14, day)
    assert portable == asof
    assert (
        asof[0][0] > asof[0][len(steps) - 1] > 0
    )  # real starters and real drops, so agreement means something
    portable, asof = _workflow_both(con, steps, 7, day, weeks=4)
    assert portable == asof and any(row[2] for row in asof)


def test_the_portable_seats_trends_and_cohorts_give_the_previous_rows_on_the_example(example):
    con = example.con
    con.execute(f"CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM {example.view('events')}")
    day, core = example.default_as_of(), ["import_data", "build_report", "share_report"]
    portable, before = _seats_both(con, day, core)
    assert portable == before and any(a for _, _, a in before)
    portable, before = _trends_both(con, day, core)
    assert portable == before and len(before) > 1000
    created = "created_at" in example.columns("users")
    con.execute(f"CREATE OR REPLACE TEMP VIEW users AS SELECT * FROM {example.view('users')}")
    portable, before = _cohorts_both(con, day, created)
    assert portable == before and len(before) > 12


events_strategy = st.lists(
    st.tuples(
        # hours over a month, or one of six instants: a user's events often share an instant
        st.integers(0, 30 * 24).map(lambda h: T0 + timedelta(hours=h))
        | st.integers(0, 5).map(lambda d: T0 + timedelta(days=3 * d)),
        st.sampled_from(["u1", "u2", "u3", "u4"]),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["A1", "A2"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=events_strategy, data=st.data())
def test_the_portable_reductions_give_the_asof_rows_on_random_events(events, data):
    steps = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=4), label="steps")
    window_days = data.draw(st.integers(1, 10), label="window_days")
    day = data.draw(st.sampled_from([date(2026, 3, 10), date(2026, 3, 20), date(2026, 4, 1)]), label="day")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE events (timestamp TIMESTAMP, user_id VARCHAR, event VARCHAR, account_id VARCHAR)"
    )
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", events)
    portable, asof = _funnel_both(con, steps, window_days, day)
    assert portable == asof
    portable, asof = _workflow_both(con, steps, window_days, day)
    assert portable == asof
    core = sorted(set(steps))[:2]
    portable, before = _seats_both(con, day, core)
    assert portable == before
    portable, before = _trends_both(con, day, core, weeks=2)
    assert portable == before
    # users created in the month of one of their events or not at all; one user with no events
    con.execute("CREATE TABLE users (user_id VARCHAR, created_at TIMESTAMP)")
    con.execute("INSERT INTO users VALUES ('u1', '2026-02-20'), ('u2', NULL), ('u9', '2026-03-02')")
    for created in (False, True):
        portable, before = _cohorts_both(con, day, created, max_months=2)
        assert portable == before


# --- reductions kept by the engine ---------------------------------------------------------------------------------


def _keeping_engine(con):
    """The workspace's own engine with a keeper that materialises each reduction as a table, recording its asks."""
    asked: list[str] = []

    def keep(sql: str) -> str:
        asked.append(sql)
        name = f"kept_{len(asked)}"
        con.execute(f"CREATE TABLE {name} AS {sql}")
        return name

    return duckdb_engine(con, keep=keep), asked


def test_a_kept_reduction_is_read_from_its_table_by_fetch_and_by_reduced():
    con = duckdb.connect()
    con.execute("CREATE TABLE ev AS SELECT * FROM (VALUES ('a', 1), ('a', 2), ('b', 5)) t(account_id, n)")
    engine, asked = _keeping_engine(con)
    sql = "SELECT account_id, SUM(n) AS total FROM ev GROUP BY account_id ORDER BY account_id"
    assert engine.fetch(sql) == [{"account_id": "a", "total": 3}, {"account_id": "b", "total": 5}]
    assert reduced(con, engine, sql, "_r", {}) == '(SELECT * FROM "kept_2")'
    assert asked == [sql, sql]
    con.execute("DELETE FROM ev")  # the kept rows no longer depend on the events
    assert con.execute('SELECT * FROM "kept_2" ORDER BY account_id').fetchall() == [("a", 3), ("b", 5)]


def test_one_row_questions_and_other_engines_never_ask_the_keeper():
    from customer_health.tools.base.dialects import first_row

    con = duckdb.connect()
    con.execute("CREATE TABLE ev AS SELECT * FROM (VALUES ('a', 1), ('b', 5)) t(account_id, n)")
    engine, asked = _keeping_engine(con)
    ds = SimpleNamespace(con=con, engine=engine)
    assert first_row(ds, "SELECT SUM(n) AS total FROM ev") == {"total": 6}
    # another engine's rows travel into this connection as before: the keeper is not asked
    workspace = duckdb.connect()
    got = reduced(
        workspace, engine, "SELECT account_id, n FROM ev", "_r", {"account_id": "VARCHAR", "n": "BIGINT"}
    )
    assert workspace.execute(f"SELECT * FROM {got} ORDER BY account_id").fetchall() == [("a", 1), ("b", 5)]
    assert asked == []


def test_a_keeper_that_cannot_keep_leaves_the_reduction_inlined():
    con = duckdb.connect()
    con.execute("CREATE TABLE ev AS SELECT 1 AS n")
    engine = duckdb_engine(con, keep=lambda sql: None)
    assert reduced(con, engine, "SELECT n FROM ev", "_r", {}) == "(SELECT n FROM ev)"
    assert engine.fetch("SELECT n FROM ev") == [{"n": 1}]
