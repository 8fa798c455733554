"""A real PostgreSQL server for the engine tests: initdb in a temporary folder, started on a free port with
password authentication over TCP, torn down after the session (`local_postgres` in benchmarks/bench_engines.py,
which the benchmark uses too). Skipped where no PostgreSQL binaries or no psycopg exist.

`pg` yields (url, admin): the url a reader connects with (password in the string, as a user would give it) and a
writable admin connection the tests load tables through.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

PASSWORD = "s3cret-Pw_16b"
STEPS = ["import_data", "build_report", "share_report"]
ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_engines", ROOT / "benchmarks" / "bench_engines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()


@pytest.fixture(scope="session")
def pg():
    psycopg = pytest.importorskip("psycopg")
    if BENCH.postgres_bin() is None:
        pytest.skip("no PostgreSQL binaries (initdb) on this machine")
    with BENCH.local_postgres(PASSWORD) as url, psycopg.connect(url, autocommit=True) as admin:
        yield url, admin


EXAMPLE = ROOT / "examples" / "sample"


@pytest.fixture(scope="session")
def small_example(tmp_path_factory) -> Path:
    """A folder with the example's first 25 accounts (their accounts, users and events rows) and its
    customer-health.yaml: the small fixture the Spark runs use (a JVM is slow to start, and slow per query)."""
    import duckdb

    folder = tmp_path_factory.mktemp("small")
    con = duckdb.connect()
    accounts = f"read_csv_auto('{EXAMPLE / 'accounts.csv'}')"
    keep = f"account_id IN (SELECT account_id FROM {accounts} ORDER BY account_id LIMIT 25)"
    for name, source in (
        ("accounts.csv", accounts),
        ("users.csv", f"read_csv_auto('{EXAMPLE / 'users.csv'}')"),
        ("events.parquet", f"'{EXAMPLE / 'events.parquet'}'"),
    ):
        con.execute(f"COPY (SELECT * FROM {source} WHERE {keep}) TO '{folder / name}'")
    (folder / "customer-health.yaml").write_text((EXAMPLE / "customer-health.yaml").read_text())
    return folder


def on_engine(ds, engine):
    """The dataset with its reductions on `engine`, twice: (1) with the workspace's own events cut to the first
    day — enough for what the dataset asks of its events itself (columns, first day, whether they name accounts
    and users), far too little for any count, so every number that matches was counted on the engine; (2) with
    its own events whole (for the parts of the pipeline that still read them)."""
    ev = ds.view("events")
    ds.con.execute(
        f"CREATE OR REPLACE VIEW first_day_events AS SELECT * FROM {ev} "
        f"WHERE CAST(timestamp AS DATE) = (SELECT CAST(min(timestamp) AS DATE) FROM {ev})"
    )
    cut = dataclasses.replace(
        ds, views=ds.views | {"events": "first_day_events"}, engine=engine, _memo={}, _columns={}
    )
    return cut, dataclasses.replace(ds, engine=engine, _memo={}, _columns={})


def _tools():
    from customer_health.tools.usage.cohorts import compute_cohorts
    from customer_health.tools.usage.funnel import compute_funnel
    from customer_health.tools.usage.seats import seat_utilization
    from customer_health.tools.usage.trends import usage_trends
    from customer_health.tools.usage.workflows import workflow_completion

    return (
        lambda d: seat_utilization(d, everyone=True),
        lambda d: usage_trends(d, everyone=True),
        lambda d: compute_funnel(d, STEPS, by="segment"),
        lambda d: workflow_completion(d, everyone=True),
        lambda d: compute_cohorts(d),
    )


TOOL_RUNS = _tools()


def assert_same_event_inputs(ds, remote, accounts: int) -> None:
    """The score's event inputs (now and 30 days earlier, one scan) equal, frame for frame, dtype for dtype."""
    from datetime import timedelta

    import pandas as pd
    from customer_health.tools.data.semantics import resolve_semantics
    from customer_health.tools.health.event_metrics import event_metrics_at

    sem = resolve_semantics(ds)
    day = ds.default_as_of()
    dates = [day, day - timedelta(days=30)]
    local, far = event_metrics_at(ds, dates, sem), event_metrics_at(remote, dates, sem)
    for d in dates:
        assert len(local[d]) == accounts
        pd.testing.assert_frame_equal(far[d].sort_index(), local[d].sort_index(), check_exact=True)
