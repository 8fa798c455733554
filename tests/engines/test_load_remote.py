"""Loading a database: `customer-health … postgresql://…` (and `--engine spark local[*]`) answers as the files do.

The example's tables are copied into a real PostgreSQL server (conftest) under a schema of their own, named to
their kinds in a mapping file; every command then loads the connection string instead of the folder. The events
stay in PostgreSQL (the workspace never holds them: an unported read of them fails instead of counting nothing),
the other tables are fetched and ingested as files are, and the JSON of score, funnel, seats, cohorts and
portfolio is the files' JSON but for the fields that name the source or the load. No password is shown or kept,
and nothing is written to the database.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from customer_health.server.cli.main import main
from customer_health.tools.base.errors import InputError
from customer_health.tools.data import workspace as workspace_module
from customer_health.tools.data.workspace import AllowedRoots, Workspace

from tests.engines.conftest import BENCH, PASSWORD, STEPS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample"
CONFIG = SAMPLE / "customer-health.yaml"
KINDS = ("accounts", "users", "events", "tickets", "nps", "revenue", "outcomes")
# what names where and when the data was loaded from, never what it says
SOURCE_FIELDS = {
    "dataset_id",
    "sources",
    "loaded_at",
    "source",
    "generated_at",
    "restore_note",
    "workspace_notes",
}
COMMANDS = {
    "score": ["score"],
    "funnel": ["funnel", "--steps", ",".join(STEPS), "--by", "segment"],
    "seats": ["seats"],
    "cohorts": ["cohorts"],
    "portfolio": ["portfolio"],
}


@pytest.fixture(scope="module")
def example_db(pg, tmp_path_factory):
    """The example's canonical tables in schema `loadtest`, and a mapping file naming each one's kind."""
    url, admin = pg
    ws = Workspace(tmp_path_factory.mktemp("ws-files"))
    ds = ws.dataset(ws.load([SAMPLE], roots=AllowedRoots([SAMPLE.resolve()])))
    admin.execute("CREATE SCHEMA IF NOT EXISTS loadtest")
    tmp = tmp_path_factory.mktemp("csv")
    for kind in KINDS:
        BENCH.copy_to_postgres(ds.con, f"SELECT * FROM {ds.view(kind)}", admin, f"loadtest.{kind}", tmp)
    ws.close()
    mapping = tmp_path_factory.mktemp("map") / "tables.yaml"
    mapping.write_text("files:\n" + "".join(f"  loadtest.{k}: {k}\n" for k in KINDS))
    return url, admin, mapping


def cli(argv: list[str], home: Path, monkeypatch) -> tuple[int, str, str]:
    """The CLI run in this process (exit code, standard output, standard error) with its workspace under home."""
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(home))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def db_args(url: str, mapping: Path) -> list[str]:
    return [url, "--map", str(mapping), "--allow", str(mapping.parent)]


def without_source(value):
    """The JSON without the fields naming the source, the dataset id or the load time."""
    if isinstance(value, dict):
        return {k: without_source(v) for k, v in value.items() if k not in SOURCE_FIELDS}
    if isinstance(value, list):
        return [without_source(v) for v in value]
    return value


def same_json(
    command: list[str], source_args: list[str], tmp_path, monkeypatch, files: list[str] = (str(SAMPLE),)
) -> tuple[dict, dict]:
    """The command's JSON from the database and from the files, without the fields naming the source."""
    code, files_out, err = cli([*command, *files, "--format", "json"], tmp_path / "files", monkeypatch)
    assert code == 0, err
    code, db_out, err = cli([*command, *source_args, "--format", "json"], tmp_path / "db", monkeypatch)
    assert code == 0, err
    return without_source(json.loads(db_out)), without_source(json.loads(files_out))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_on_the_example_in_postgresql_gives_the_files_json(
    name, example_db, tmp_path, monkeypatch
):
    url, _, mapping = example_db
    from_db, from_files = same_json(
        COMMANDS[name], [*db_args(url, mapping), "--config", str(CONFIG)], tmp_path, monkeypatch
    )
    assert from_db == from_files


def test_the_load_keeps_the_events_in_postgresql_and_ingests_the_rest(example_db, tmp_path):
    url, admin, mapping = example_db
    from customer_health.tools.data.workspace import read_mapping_file

    with Workspace(tmp_path / "ws") as ws:
        result = ws.load([url], mapping=read_mapping_file(mapping), config=CONFIG, roots=AllowedRoots([ROOT]))
        ds = ws.dataset(result)
        events_rows = admin.execute("SELECT count(*) FROM loadtest.events").fetchone()[0]
        local_tables = {r[0] for r in ds.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = {r[0] for r in ds.con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    assert result.engine == "postgres"
    assert ds.engine is not None and ds.engine.relations["events"] == '"loadtest"."events"'
    events = next(t for t in result.tables if t.kind == "events")
    assert events.rows == events_rows and events.source == "loadtest.events"
    # the events' view names nothing in the workspace, and no ingested table holds them
    assert result.views["events"] not in local_tables | views
    assert {t.kind for t in result.tables} == set(KINDS)
    assert any(i.code == "events_at_source" for i in result.quality.issues)
    assert result.quality.latest_date == "2026-08-31"  # as the files give it (bulk of the events)


def test_a_changed_source_is_a_new_dataset_and_an_unchanged_one_the_same(example_db, tmp_path):
    url, admin, mapping = example_db
    from customer_health.tools.data.workspace import read_mapping_file

    def load() -> str:
        with Workspace(tmp_path / "ws") as ws:
            return ws.load([url], mapping=read_mapping_file(mapping), roots=AllowedRoots([ROOT])).dataset_id

    first, again = load(), load()
    admin.execute("CREATE TABLE loadtest.nps_saved AS SELECT * FROM loadtest.nps")
    try:
        admin.execute("DELETE FROM loadtest.nps WHERE ctid IN (SELECT ctid FROM loadtest.nps LIMIT 1)")
        changed = load()
    finally:
        admin.execute("DELETE FROM loadtest.nps")
        admin.execute("INSERT INTO loadtest.nps SELECT * FROM loadtest.nps_saved")
        admin.execute("DROP TABLE loadtest.nps_saved")
    assert first == again != changed


def test_no_message_json_record_or_workspace_file_holds_the_password(example_db, tmp_path, monkeypatch):
    url, admin, mapping = example_db
    assert PASSWORD in url
    home = tmp_path / "ws"
    code, out, err = cli(["load", *db_args(url, mapping), "--format", "json"], home, monkeypatch)
    assert code == 0, err
    assert PASSWORD not in out + err
    assert json.loads(out)["sources"] == [url.replace(f":{PASSWORD}@", "@")]
    with Workspace(home) as ws:
        record = ws.last_load()
    assert record is not None and record.engine == "postgres" and PASSWORD not in record.model_dump_json()
    # a wrong password: the message names the server, never the password given
    wrong = url.replace(PASSWORD, "not-the-" + PASSWORD)
    code, out, err = cli(["score", *db_args(wrong, mapping)], tmp_path / "ws2", monkeypatch)
    assert code == 2 and "not-the-" not in out + err and PASSWORD not in out + err
    for path in [*home.rglob("*"), *(tmp_path / "ws2").rglob("*")]:
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_remembered_database_is_picked_up_with_the_password_from_the_environment(
    example_db, tmp_path, monkeypatch
):
    url, _, mapping = example_db
    from customer_health.tools.data.workspace import read_mapping_file

    with Workspace(tmp_path / "ws") as ws:
        ws.load([url], mapping=read_mapping_file(mapping), roots=AllowedRoots([ROOT]), remember=True)
    monkeypatch.setattr(workspace_module, "_ENGINES", {})  # a new process: no connection is open
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    with Workspace(tmp_path / "ws") as ws:
        missing = ws.restore(roots=AllowedRoots([ROOT]))
    assert missing.result is None and "PGPASSWORD" in missing.note and PASSWORD not in missing.note
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with Workspace(tmp_path / "ws") as ws:
        found = ws.restore(roots=AllowedRoots([ROOT]))
        assert found.result is not None and found.result.restored
        assert ws.dataset(found.result).engine.fetch("SELECT 1 AS one") == [{"one": 1}]


def test_loading_writes_nothing_to_the_database(example_db, tmp_path):
    url, admin, mapping = example_db
    from customer_health.tools.data.workspace import read_mapping_file

    def state():
        tables = admin.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()
        writes = admin.execute(
            "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables WHERE schemaname = 'loadtest'"
        ).fetchone()
        return tables, writes

    before = state()
    with Workspace(tmp_path / "ws") as ws:
        ws.load([url], mapping=read_mapping_file(mapping), roots=AllowedRoots([ROOT]))
    assert state() == before


def test_a_database_is_loaded_alone_and_a_path_with_an_engine_still_passes_the_path_policy(
    example_db, tmp_path
):
    url, _, _ = example_db
    with Workspace(tmp_path / "ws") as ws:
        with pytest.raises(InputError, match="on its own"):
            ws.load([url, SAMPLE], roots=AllowedRoots([ROOT]))
        with pytest.raises(InputError) as outside:
            ws.load(["/etc"], engine="spark", roots=AllowedRoots([ROOT]))
        assert "connection string" not in outside.value.message  # refused by the policy before the engine


def test_mcp_load_data_accepts_a_postgresql_source(example_db, tmp_path):
    import anyio
    from customer_health.server.mcp.server import build_server
    from mcp import Client

    url, _, mapping = example_db
    server = build_server(home=tmp_path / "ws", allow=[str(mapping.parent)])

    async def go():
        async with Client(server) as c:
            bad = await c.call_tool(
                "load_data", {"paths": [url.replace(PASSWORD, "nope")], "engine": "postgres"}
            )
            good = await c.call_tool("load_data", {"paths": [url], "engine": "postgres"})
            return bad, good

    bad, good = anyio.run(go)
    text = bad.content[0].text + good.content[0].text
    assert bad.is_error and PASSWORD not in text and "nope" not in text
    assert not good.is_error, good.content[0].text


# --- Spark local, on the small fixture (slow: a JVM starts) ---------------------------------------------------


@pytest.fixture(scope="module")
def spark_tables(small_example, tmp_path_factory):
    """The small fixture's tables as views of a local Spark session (which the CLI's `local[2]` then joins),
    and a mapping file naming each one's kind."""
    pytest.importorskip("pyspark")
    from customer_health.tools.data.engines.spark import session

    ws = Workspace(tmp_path_factory.mktemp("ws-small"))
    ds = ws.dataset(ws.load([small_example], roots=AllowedRoots([small_example.resolve()])))
    spark = session("local[2]")
    for kind in ("accounts", "users", "events"):
        spark.createDataFrame(ds.con.execute(f"SELECT * FROM {ds.view(kind)}").df()).createOrReplaceTempView(
            f"lt_{kind}"
        )
    ws.close()
    mapping = tmp_path_factory.mktemp("map-spark") / "tables.yaml"
    mapping.write_text("files:\n" + "".join(f"  lt_{k}: {k}\n" for k in ("accounts", "users", "events")))
    yield mapping
    spark.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_on_the_small_fixture_in_spark_gives_the_files_json(
    name, spark_tables, small_example, tmp_path, monkeypatch
):
    mapping = spark_tables
    args = ["local[2]", "--engine", "spark", "--map", str(mapping), "--allow", str(mapping.parent)]
    args += ["--config", str(small_example / "customer-health.yaml"), "--allow", str(small_example)]
    files = [str(small_example), "--allow", str(small_example)]
    from_db, from_files = same_json(COMMANDS[name], args, tmp_path, monkeypatch, files)
    assert from_db == from_files


def test_a_relation_the_mapping_gives_one_kind_is_not_recognised_as_another():
    from customer_health.tools.data.engines.postgres import find_relations

    # users carry account_id and created_at: alone, they would also pass for a tickets table
    tables = {
        "people": ["user_id", "account_id", "created_at", "role"],
        "acts": ["timestamp", "user_id", "event"],
    }
    found = find_relations(tables, {"users": "people"})
    assert found == {"users": '"people"', "events": '"acts"'}


def test_events_whose_timestamp_is_text_are_refused_at_load_with_the_view_that_fixes_it(
    example_db, tmp_path, monkeypatch
):
    url, admin, _ = example_db
    admin.execute("CREATE SCHEMA IF NOT EXISTS texttime")
    admin.execute(
        "CREATE TABLE IF NOT EXISTS texttime.events AS SELECT CAST(timestamp AS text) AS timestamp, user_id, "
        "account_id, event FROM loadtest.events LIMIT 200"
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text("files:\n  texttime.events: events\n  loadtest.accounts: accounts\n")
    code, out, err = cli(["load", *db_args(url, mapping)], tmp_path / "home", monkeypatch)
    assert code == 2, err
    assert "timestamp column in texttime.events is not a date or timestamp" in err
    assert "CREATE VIEW" in err and PASSWORD not in err + out and "Traceback" not in err


def test_a_reduction_postgresql_refuses_is_a_readable_error_without_the_password(example_db):
    from customer_health.tools.data.engines.postgres import postgres_engine

    url, _, _ = example_db
    engine = postgres_engine(url, {"events": "loadtest.events"})
    with pytest.raises(InputError) as caught:
        engine.fetch(
            "SELECT timestamp - 1 AS t FROM loadtest.events"
        )  # timestamp minus an integer: no operator
    message = str(caught.value)
    assert "could not run a reduction" in message and "canonical columns" in message
    assert PASSWORD not in message
