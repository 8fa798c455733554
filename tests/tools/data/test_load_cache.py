"""What a load computed is kept with the dataset: a later process on the same workspace reuses the quality report
and the event semantics, and recomputes them when the sources, the config or the day change."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from customer_health.tools.data import load_cache, semantics, workspace
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.data.workspace import AllowedRoots, Workspace

DATA = Path(__file__).resolve().parents[2] / "data"
DAY = date(2026, 6, 1)


@pytest.fixture
def mini(tmp_path):
    folder = tmp_path / "exports"
    shutil.copytree(DATA / "mini", folder)
    return folder


@pytest.fixture
def quality_calls(monkeypatch):
    """How many times the dataset's quality report was actually computed."""
    return _counting(monkeypatch, workspace, "dataset_quality")


@pytest.fixture
def semantics_calls(monkeypatch):
    """How many times the event semantics were actually resolved from the events."""
    return _counting(monkeypatch, semantics, "_resolve")


def _load(home: Path, folder: Path, today: date = DAY):
    """A load as a separate process makes it: a fresh Workspace on the same home."""
    with Workspace(home) as ws:
        result = ws.load([folder], roots=AllowedRoots([folder.parent.resolve()]), today=today)
        sem = resolve_semantics(ws.dataset(result))
    return result, sem


def test_a_second_process_reuses_the_quality_report_and_the_semantics(
    tmp_path, mini, quality_calls, semantics_calls
):
    first, first_sem = _load(tmp_path / "ws", mini)
    second, second_sem = _load(tmp_path / "ws", mini)
    assert (len(quality_calls), len(semantics_calls)) == (1, 1)
    assert second.dataset_id == first.dataset_id
    assert second.quality == first.quality
    assert second_sem == first_sem


def test_a_changed_config_is_read_again(tmp_path, mini, quality_calls, semantics_calls):
    first, first_sem = _load(tmp_path / "ws", mini)
    (mini / "customer-health.yaml").write_text("core_features: [export_csv]\n", encoding="utf-8")
    second, second_sem = _load(tmp_path / "ws", mini)
    assert second.dataset_id == first.dataset_id  # same sources: only the config moved
    assert (len(quality_calls), len(semantics_calls)) == (2, 2)
    assert first_sem.sources["core_features"].startswith("inferred")
    assert (second_sem.core_features, second_sem.sources["core_features"]) == (["export_csv"], "configured")
    # and the same config again is served from the workspace
    _load(tmp_path / "ws", mini)
    assert (len(quality_calls), len(semantics_calls)) == (2, 2)


def test_an_edited_source_makes_a_new_dataset_and_a_new_report(tmp_path, mini, quality_calls):
    first, _ = _load(tmp_path / "ws", mini)
    events = mini / "events.csv"
    lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
    events.write_text("".join(lines[:-1]), encoding="utf-8")  # one event fewer
    second, _ = _load(tmp_path / "ws", mini)
    assert second.dataset_id != first.dataset_id
    assert len(quality_calls) == 2
    rows = {t.kind: t.rows for t in second.tables}
    assert rows["events"] == len(lines) - 2  # header and the dropped line


def test_the_report_is_judged_again_on_another_day(tmp_path, mini, quality_calls):
    first, _ = _load(tmp_path / "ws", mini, today=DAY)
    second, _ = _load(tmp_path / "ws", mini, today=date(2026, 6, 2))
    assert len(quality_calls) == 2
    assert (first.quality.loaded_on, second.quality.loaded_on) == ("2026-06-01", "2026-06-02")


def test_semantics_over_an_earlier_range_are_kept_apart(tmp_path, mini, semantics_calls):
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([mini], roots=AllowedRoots([tmp_path.resolve()]), today=DAY))
        everything = resolve_semantics(ds)
        nothing = resolve_semantics(ds, "TIMESTAMP '1990-01-01'")
        again = resolve_semantics(ds)
    assert len(semantics_calls) == 2
    assert everything.core_features and not nothing.core_features
    assert again == everything


def test_a_dataset_the_workspace_did_not_build_keeps_nothing(semantics_calls):
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES ('a1', 'u1', TIMESTAMP '2024-01-01', 'build_report')) "
        "t(account_id, user_id, timestamp, event)"
    )
    ds = Dataset(con, "plain", {"events": "ev"})
    resolve_semantics(ds)
    resolve_semantics(ds)
    assert len(semantics_calls) == 2
    assert load_cache.store_of(ds) is None
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"ev"}


def test_the_cache_key_follows_every_part_it_names():
    base = load_cache.cache_key("quality", "abc", {"today": DAY, "config": None})
    assert load_cache.cache_key("quality", "abc", {"today": DAY, "config": None}) == base
    assert load_cache.cache_key("quality", "abd", {"today": DAY, "config": None}) != base
    assert load_cache.cache_key("semantics", "abc", {"today": DAY, "config": None}) != base
    assert load_cache.cache_key("quality", "abc", {"today": DAY, "config": "x"}) != base


def _counting(monkeypatch, module, name: str) -> list:
    calls: list = []
    real = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_a_second_process_reuses_the_views_and_the_stage_counts(tmp_path, mini, monkeypatch):
    builds = _counting(monkeypatch, workspace, "build_views")
    stages = _counting(monkeypatch, workspace, "lifecycle")
    first, _ = _load(tmp_path / "ws", mini)
    second, _ = _load(tmp_path / "ws", mini)
    assert (len(builds), len(stages)) == (1, 1)
    assert second.views == first.views
    assert second.lifecycle == first.lifecycle and sum(first.lifecycle.values()) > 0


def test_a_view_gone_from_the_workspace_is_built_again(tmp_path, mini, monkeypatch):
    builds = _counting(monkeypatch, workspace, "build_views")
    first, _ = _load(tmp_path / "ws", mini)
    with Workspace(tmp_path / "ws") as ws:
        ws.connect().execute(f'DROP VIEW "{first.views["events"]}"')
    second, _ = _load(tmp_path / "ws", mini)
    assert len(builds) == 2
    assert second.views == first.views
    assert {t.kind: t.rows for t in second.tables} == {t.kind: t.rows for t in first.tables}


# --- the lifecycle frame of a day ----------------------------------------------------------------------------------
SUBSCRIPTIONS = """account_code,uuid,plan_code,quantity,unit_amount,state,activated_at,current_period_started_at,current_period_ends_at
A1,s1,pro,10,1200,active,2024-01-15,2026-01-15,2027-01-15
A2,s2,pro,3,300,expired,2024-02-01,2025-02-01,2026-02-01
"""


def _frame(home: Path, folder: Path, day: date):
    """The lifecycle frame as a fresh process gets it: a new Workspace on the same home."""
    from customer_health.tools.data.lifecycle import lifecycle

    with Workspace(home) as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.parent.resolve()]), today=DAY))
        return lifecycle(ds, day)


@pytest.fixture
def lifecycle_calls(monkeypatch):
    """How many times the lifecycle frame was actually worked out from the data."""
    from customer_health.tools.data import lifecycle

    return _counting(monkeypatch, lifecycle, "_lifecycle")


def test_a_second_process_reads_the_lifecycle_frame_it_kept_value_for_value(tmp_path, mini, lifecycle_calls):
    import pandas as pd

    (mini / "subscriptions.csv").write_text(
        SUBSCRIPTIONS, encoding="utf-8"
    )  # renewal dates, MRR and seats too
    first = _frame(tmp_path / "ws", mini, DAY)
    worked_out = len(
        lifecycle_calls
    )  # the day asked for (and the data's last day, for the load's stage counts)
    second = _frame(tmp_path / "ws", mini, DAY)
    assert worked_out >= 1 and len(lifecycle_calls) == worked_out
    pd.testing.assert_frame_equal(second, first, check_exact=True)
    assert second.loc["A1", "renews_on"] == date(2027, 1, 15) and second.loc["A1", "sub_seats"] == 10
    assert second.loc["A2", "stage"] == "churned" and second.loc["A2", "renews_on"] is None


def test_the_lifecycle_frame_is_worked_out_again_for_another_day_or_edited_sources(
    tmp_path, mini, lifecycle_calls
):
    _frame(tmp_path / "ws", mini, DAY)
    before = len(lifecycle_calls)
    earlier = _frame(tmp_path / "ws", mini, date(2026, 1, 1))
    assert len(lifecycle_calls) == before + 1
    accounts = mini / "accounts.csv"
    lines = accounts.read_text(encoding="utf-8").splitlines(keepends=True)
    accounts.write_text("".join(lines[:-1]), encoding="utf-8")  # one account fewer
    fewer = _frame(tmp_path / "ws", mini, date(2026, 1, 1))
    assert len(lifecycle_calls) >= before + 2  # a new dataset: its day worked out again
    assert len(fewer) == len(earlier) - 1


def test_a_frame_is_kept_only_when_its_columns_read_back_unchanged():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "stage": pd.Series(["active", None, "churned"], dtype="str"),
            "since": pd.Series([date(2026, 1, 2), None, date(1999, 12, 31)], dtype=object),
            "mrr": [1.5, float("nan"), -0.0],
            "seats": pd.Series([3, 0, 7], dtype="int64"),
            "note": pd.Series(["x", None, ""], dtype=object),
            "empty": pd.Series([None, None, None], dtype=object),
        }
    ).set_axis(pd.Index(["a", "b", "c"], dtype=object, name="account_id"))
    kept = load_cache.frame_to_kept(frame)
    again = load_cache.kept_to_frame(load_cache.KeptFrame.model_validate_json(kept.model_dump_json()))
    pd.testing.assert_frame_equal(again, frame, check_exact=True)
    assert again.loc["b", "note"] is None and again.loc["b", "since"] is None
    # a timestamp (not a day) or a NaN in an object column would not come back as it was: not kept
    assert load_cache.frame_to_kept(frame.assign(since=pd.Timestamp("2026-01-02"))) is None
    assert (
        load_cache.frame_to_kept(frame.assign(note=pd.Series(["x", float("nan"), ""], dtype=object))) is None
    )


def test_reading_a_kept_answer_leaves_the_connection_free_for_the_next_statement():
    import pandas as pd

    con = duckdb.connect()
    store = load_cache.LoadCache(con)
    store.put("k", "abc", "stages", load_cache.StageCounts(counts={"active": 2}))
    assert store.get("k", load_cache.StageCounts).counts == {"active": 2}
    con.register("frame", pd.DataFrame({"a": [1]}))  # DuckDB refuses this while a result is left unread
    assert con.execute("SELECT a FROM frame").fetchall() == [(1,)]


# --- the lifecycle table and the event counts, kept for a process that needs no frame ------------------------------


def _table_rows(home: Path, folder: Path, day: date) -> tuple[str, list[tuple]]:
    """The name `lifecycle_table` gives a fresh process, and the rows read through it."""
    from customer_health.tools.data.lifecycle import lifecycle_table

    with Workspace(home) as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.parent.resolve()]), today=DAY))
        name = lifecycle_table(ds, day)
        rows = ds.con.execute(f"SELECT * FROM {name} ORDER BY account_id").fetchall()
        types = [d[1] for d in ds.con.execute(f"SELECT * FROM {name}").description]
        return name, [*rows, tuple(types)]


def test_a_second_process_joins_the_kept_lifecycle_table_without_working_out_a_frame(
    tmp_path, mini, lifecycle_calls, monkeypatch
):
    (mini / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    first_name, first = _table_rows(tmp_path / "ws", mini, DAY)
    # the next process reads the table itself: neither the frame nor its kept JSON is built
    monkeypatch.setattr(load_cache, "kept_to_frame", _refuse)
    calls = len(lifecycle_calls)
    second_name, second = _table_rows(tmp_path / "ws", mini, DAY)
    assert len(lifecycle_calls) == calls
    assert second == first  # the same rows, the same column types
    assert first_name.startswith('"lifecycle_') and second_name.startswith('"kept_red_lifecycle_')
    assert ("A1", "active") in [r[:2] for r in second] and ("A2", "churned") in [r[:2] for r in second]


def test_another_day_gets_a_lifecycle_table_of_its_own(tmp_path, mini):
    _, on_day = _table_rows(tmp_path / "ws", mini, DAY)
    _table_rows(tmp_path / "ws", mini, date(2025, 2, 1))
    _, again = _table_rows(tmp_path / "ws", mini, DAY)
    name, earlier = _table_rows(tmp_path / "ws", mini, date(2025, 2, 1))
    assert name.startswith('"kept_red_lifecycle_') and again == on_day
    stages = {r[0]: r[1] for r in earlier[:-1]}
    # on 2025-02-01 A1 (contract from 2025-01-15) is onboarding and A2 (from 2025-03-01) not yet a customer
    assert (stages["A1"], stages["A2"]) == ("onboarding", "not_yet_customer")


def test_a_second_process_reuses_the_event_counts(tmp_path, mini):
    from customer_health.tools.base.dialects import event_counts

    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([mini], roots=AllowedRoots([mini.parent.resolve()]), today=DAY))
        first = event_counts(ds)
        kept = _kept_tables(ds.con)
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([mini], roots=AllowedRoots([mini.parent.resolve()]), today=DAY))
        # the events view emptied under its own name: counting again would find nothing, the kept table answers
        view = ds.view("events")
        ds.con.execute(f"CREATE TABLE _empty_events AS SELECT * FROM {view} WHERE false")
        ds.con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM _empty_events")
        assert event_counts(ds) == first
        assert _kept_tables(ds.con) == kept  # nothing new kept
    assert kept and first and all(type(n) is str and type(c) is int for n, c in first)


def _refuse(*args, **kwargs):
    raise AssertionError("worked out again, though the workspace kept it")


# --- event-level reductions kept as workspace tables ---------------------------------------------------------------

PER_USER = (
    "SELECT user_id, COUNT(*) AS n, MAX(timestamp) AS last FROM {events} GROUP BY user_id ORDER BY user_id"
)


def _workspace_dataset(ws: Workspace, folder: Path) -> Dataset:
    return ws.dataset(ws.load([folder], roots=AllowedRoots([folder.parent.resolve()]), today=DAY))


def _kept_tables(con) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, ?)",
        [load_cache.REDUCTION_PREFIX],
    ).fetchall()
    return {r[0] for r in rows}


def test_a_later_process_reads_a_reduction_from_the_table_the_first_one_kept(tmp_path, mini):
    from customer_health.tools.base.dialects import duckdb_engine, engine_of, reduced, relation

    with Workspace(tmp_path / "ws") as ws:
        ds = _workspace_dataset(ws, mini)
        sql = PER_USER.format(events=relation(ds, "events"))
        before = _kept_tables(ds.con)  # the load's own reductions
        first = engine_of(ds).fetch(sql)
        plain = duckdb_engine(ds.con).fetch(sql)  # the same SQL run as it is, nothing kept
        (table,) = _kept_tables(ds.con) - before
    with Workspace(tmp_path / "ws") as ws:
        ds = _workspace_dataset(ws, mini)
        inlined = reduced(ds.con, engine_of(ds), sql, "_r", {})
        assert inlined == f'(SELECT * FROM "{table}")'
        again = engine_of(ds).fetch(sql)
        types = [d[1] for d in ds.con.execute(f"SELECT * FROM {inlined} AS r").description]
        plain_types = [d[1] for d in ds.con.execute(f"SELECT * FROM ({sql}) AS r").description]
    # mini: u1 has 3 events, u2 and u3 …: the rows (in their order) and the column types are what the SQL gives
    assert again == first == plain
    assert [r["user_id"] for r in first] == sorted(r["user_id"] for r in first)
    assert sum(r["n"] for r in first) == len((mini / "events.csv").read_text().strip().splitlines()) - 1
    assert types == plain_types


def test_one_row_questions_and_reductions_of_frames_of_this_process_are_not_kept(tmp_path, mini):
    import pandas as pd
    from customer_health.tools.base.dialects import engine_of, first_row, relation

    with Workspace(tmp_path / "ws") as ws:
        ds = _workspace_dataset(ws, mini)
        before = _kept_tables(ds.con)
        assert first_row(ds, f"SELECT COUNT(*) AS n FROM {relation(ds, 'events')}")["n"] > 0
        ds.con.register("only_here", pd.DataFrame({"user_id": ["u1"]}))
        rows = engine_of(ds).fetch(
            f"SELECT user_id FROM only_here WHERE user_id IN (SELECT user_id FROM {relation(ds, 'events')})"
        )
        assert rows == [{"user_id": "u1"}]
        assert _kept_tables(ds.con) == before


def test_a_workspace_that_cannot_be_written_only_loses_the_saving(tmp_path):
    path = tmp_path / "ro.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE ev AS SELECT * FROM (VALUES ('a1', 'u1'), ('a1', 'u2'), ('a2', 'u1')) t(account_id, user_id)"
        )
    from customer_health.tools.base.dialects import engine_of, reduced

    with duckdb.connect(str(path), read_only=True) as con:
        ds = load_cache.attach(Dataset(con, "ro", {"events": "ev"}))
        sql = "SELECT account_id, COUNT(*) AS n FROM ev GROUP BY account_id ORDER BY account_id"
        assert engine_of(ds).fetch(sql) == [{"account_id": "a1", "n": 2}, {"account_id": "a2", "n": 1}]
        assert reduced(ds.con, engine_of(ds), sql, "_r", {}) == f"({sql})"
        assert engine_of(ds).fetch(sql) == [{"account_id": "a1", "n": 2}, {"account_id": "a2", "n": 1}]


def test_a_dataset_on_another_engine_keeps_no_reduction():
    from customer_health.tools.base.dialects import duckdb_engine, engine_of

    con = duckdb.connect()
    remote = duckdb_engine(duckdb.connect(), {"events": "ev"})
    ds = load_cache.attach(Dataset(con, "remote", {}, engine=remote))
    assert engine_of(ds) is remote and remote.keep is None


def _keeper(con, cap: int) -> load_cache.KeptReductions:
    """A keeper as a fresh process has it (nothing remembered from earlier calls but the workspace)."""
    ds = Dataset(con, "ds1", {"events": "ev"})
    return load_cache.KeptReductions(ds, load_cache.LoadCache(con), cap=cap)


def _two_kept(tmp_path: Path):
    """A workspace where one process kept reductions a then b (at most two), and the SQL of a, b and a third, c."""
    con = duckdb.connect(str(tmp_path / "ws.duckdb"))
    con.execute("CREATE TABLE ev AS SELECT range AS x FROM range(10)")
    a, b, c = (f"SELECT SUM(x) + {k} AS s FROM ev" for k in (1, 2, 3))
    first = _keeper(con, cap=2)
    return con, (a, b, c), (first(a), first(b))


def test_at_most_cap_reductions_are_kept_and_the_least_recently_used_goes_first(tmp_path):
    con, (a, b, c), (ta, tb) = _two_kept(tmp_path)
    assert _kept_tables(con) == {ta, tb}
    later = _keeper(con, cap=2)
    assert later(a) == ta  # used again: now b is the least recently used
    tc = later(c)
    assert _kept_tables(con) == {ta, tc}
    assert con.execute(f'SELECT s FROM "{tc}"').fetchall() == [(48,)]  # 0 + … + 9 = 45, + 3
    recorded = con.execute("SELECT key FROM kept_answers WHERE kind = 'reduction'").fetchall()
    assert {r[0] for r in recorded} == {ta, tc}


def test_tables_kept_by_other_code_are_dropped_when_one_is_kept(tmp_path, monkeypatch):
    con = duckdb.connect(str(tmp_path / "ws.duckdb"))
    con.execute("CREATE TABLE ev AS SELECT range AS x FROM range(10)")
    monkeypatch.setattr(load_cache, "code_stamp", lambda: "older")
    old = _keeper(con, cap=5)("SELECT SUM(x) AS s FROM ev")
    monkeypatch.setattr(load_cache, "code_stamp", lambda: "newer")
    new = _keeper(con, cap=5)("SELECT MAX(x) AS m FROM ev")
    assert old != new and _kept_tables(con) == {new}


def test_lifecycle_tables_share_the_reductions_cap_and_those_of_earlier_versions_go(
    tmp_path, mini, monkeypatch
):
    # one lifecycle table per day asked: without a cap a workspace asked about every day of a year keeps 365
    (mini / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    monkeypatch.setattr(load_cache, "MAX_KEPT_REDUCTIONS", 3)
    monkeypatch.setattr(load_cache.KeptReductions.__init__, "__defaults__", (3,))
    with Workspace(tmp_path / "ws") as ws:  # a table an earlier version kept outside any cap
        ws.connect().execute("CREATE TABLE load_cache_lifecycle_0123 AS SELECT 1 AS a")
    days = [date(2025, 2, d) for d in range(1, 7)]
    for d in days:
        _table_rows(tmp_path / "ws", mini, d)
    with Workspace(tmp_path / "ws") as ws:
        kept = {r[0] for r in ws.connect().execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert len({k for k in kept if "lifecycle" in k}) <= 3 and "load_cache_lifecycle_0123" not in kept
    # the last day asked is read from its kept table; the first one's went, so it is worked out again
    assert _table_rows(tmp_path / "ws", mini, days[-1])[0].startswith('"kept_red_lifecycle_')
    assert _table_rows(tmp_path / "ws", mini, days[0])[0].startswith('"lifecycle_')


# --- where the answers are kept, and for how long --------------------------------------------------------------------
def test_the_lifecycle_frames_are_kept_apart_from_the_small_answers(tmp_path, mini):
    (mini / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    _frame(tmp_path / "ws", mini, DAY)
    with Workspace(tmp_path / "ws") as ws:

        def kinds(table: str) -> set[str]:
            return {k for (k,) in ws.connect().execute(f"SELECT DISTINCT kind FROM {table}").fetchall()}

        assert kinds("kept_frames") == {"lifecycle"}
        assert "lifecycle" not in kinds("kept_answers") and {"quality", "views"} <= kinds("kept_answers")


def test_keeping_an_answer_drops_the_answers_kept_by_other_code(monkeypatch):
    con = duckdb.connect()
    store = load_cache.LoadCache(con)
    monkeypatch.setattr(load_cache, "code_stamp", lambda: "older")
    store.put("a", "ds1", "stages", load_cache.StageCounts(counts={"active": 1}))
    store.put("b", "ds1", "stages", load_cache.StageCounts(counts={"active": 2}))
    monkeypatch.setattr(load_cache, "code_stamp", lambda: "newer")
    store.put("c", "ds1", "stages", load_cache.StageCounts(counts={"active": 3}))
    assert con.execute("SELECT key, code FROM kept_answers").fetchall() == [("c", "newer")]
    assert store.get("a", load_cache.StageCounts) is None


def test_the_table_an_earlier_version_kept_everything_in_is_dropped_when_the_workspace_opens(tmp_path):
    home = tmp_path / "ws"
    home.mkdir()
    con = duckdb.connect(str(home / "workspace.duckdb"))
    con.execute("CREATE TABLE load_cache (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO load_cache VALUES ('k', repeat('x', 100000))")
    con.close()
    with Workspace(home) as ws:
        tables = {t for (t,) in ws.connect().execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "load_cache" not in tables and "sources" in tables


def test_a_settings_document_is_parsed_once_when_json_gives_it_back_exactly():
    con = duckdb.connect()
    parsed: list[int] = []
    document = {
        "workflows": {"b": ["x", "y"], "a": ["y", "x"]},
        "n": 1,
        "share": 1.0,
        "flag": True,
        "none": None,
    }

    def parse():
        parsed.append(1)
        return document

    first = load_cache.reuse_settings(con, "text", parse)
    second = load_cache.reuse_settings(con, "text", parse)
    assert len(parsed) == 1 and repr(second) == repr(first) == repr(document)  # order and types as parsed
    load_cache.reuse_settings(con, "text, edited", parse)
    assert len(parsed) == 2


@pytest.mark.parametrize(
    "document",
    [{"day": date(2026, 1, 1)}, {1: "a key that is a number"}, {"x": {1, 2}}, {"raw": b"bytes"}],
)
def test_a_settings_document_json_would_change_is_parsed_every_time(document):
    con = duckdb.connect()
    parsed: list[int] = []

    def parse():
        parsed.append(1)
        return document

    for _ in range(2):
        assert load_cache.reuse_settings(con, "text", parse) == document
    assert len(parsed) == 2


def test_a_table_or_view_is_found_by_name_and_a_view_that_no_longer_reads_is_not():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.execute("CREATE VIEW v AS SELECT x FROM t")
    con.execute("CREATE TABLE gone AS SELECT 1 AS y")
    con.execute("CREATE VIEW broken AS SELECT y FROM gone")
    con.execute("DROP TABLE gone")
    con.execute("CREATE TEMP TABLE only_temporary AS SELECT 1 AS z")
    found = {
        n: load_cache.has_table(con, n) for n in ("t", "v", "broken", "missing", "only_temporary", 'we"ird')
    }
    assert found == {
        "t": True,
        "v": True,
        "broken": False,
        "missing": False,
        "only_temporary": False,
        'we"ird': False,
    }


def test_reading_the_most_recently_used_reduction_again_writes_nothing_and_keeps_the_order(tmp_path):
    con, (a, b, c), (ta, tb) = _two_kept(tmp_path)

    def stamps() -> dict:
        return dict(
            con.execute("SELECT key, stored_at FROM kept_answers WHERE kind = 'reduction'").fetchall()
        )

    before = stamps()
    assert _keeper(con, cap=2)(b) == tb  # b was the last used: nothing to mark
    assert stamps() == before
    assert _keeper(con, cap=2)(a) == ta  # a was not: it becomes the last used, so c's arrival drops b
    assert stamps()[ta] > before[ta]
    tc = _keeper(con, cap=2)(c)
    assert _kept_tables(con) == {ta, tc}


def test_a_command_reading_a_few_recently_used_tables_writes_nothing(tmp_path):
    # a warm command reads several kept tables (the lifecycle table and its reductions): with the default cap, none
    # of them is near being dropped, so none is marked again — marking them took a write (and a quarter of a second)
    con = duckdb.connect(str(tmp_path / "ws.duckdb"))
    con.execute("CREATE TABLE ev AS SELECT range AS x FROM range(10)")
    queries = [f"SELECT SUM(x) + {k} AS s FROM ev" for k in range(3)]
    first = _keeper(con, cap=load_cache.MAX_KEPT_REDUCTIONS)
    tables = [first(q) for q in queries]
    before = con.execute("SELECT key, stored_at FROM kept_answers ORDER BY key").fetchall()
    later = _keeper(con, cap=load_cache.MAX_KEPT_REDUCTIONS)
    assert [later(q) for q in queries] == tables
    assert con.execute("SELECT key, stored_at FROM kept_answers ORDER BY key").fetchall() == before


def test_a_table_this_process_has_used_is_never_dropped_under_it(tmp_path):
    # a process holds the names it used (the lifecycle table of a day is remembered): dropping one past the cap
    # left a name to a table that no longer existed (the MCP account card failed with a catalog error)
    con, (a, b, c), (ta, tb) = _two_kept(tmp_path)
    keeper = _keeper(con, cap=2)
    assert keeper(a) == ta and keeper(b) == tb
    tc = keeper(c)
    assert _kept_tables(con) == {ta, tb, tc}  # over the cap while this process runs
    d = "SELECT SUM(x) + 4 AS s FROM ev"
    td = _keeper(con, cap=2)(d)  # the next process keeps the cap again
    assert len(_kept_tables(con)) == 2 and td in _kept_tables(con)
