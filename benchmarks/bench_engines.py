"""The event-level reductions on DuckDB and on PostgreSQL: each one's time and the bytes that travel back.

    python benchmarks/bench_engines.py --events 20000000 [--keep DIR] [--postgres URL] [--repeat 1]

For each size the example generator (seeded, 10,000 accounts) writes Parquet events and the workspace loads them
(not timed). The events, users and accounts are copied into PostgreSQL (a server started here in a temporary folder
with the machine's initdb/pg_ctl, or the one `--postgres` / CH_BENCH_POSTGRES names; the copy and its indexes are
not timed). Then every reduction runs on both engines — the score's event inputs (two queries), seats, trends,
the funnel, one workflow and the cohorts' active users — and the bytes of its result (Arrow size of the rows, which
is all that travels back) are printed beside the times (best of `--repeat`). The rows must agree first. Beside
them: a whole `load` of the PostgreSQL source (the events' facts counted there, users and accounts fetched), and
the portable funnel's DuckDB time beside the ASOF-join form it replaced (bench_portable_sql's baseline).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_portable_sql's ASOF baseline
PASSWORD = "bench-only-pw"
_PG_TYPES = {
    "VARCHAR": "text",
    "TIMESTAMP": "timestamp",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
}


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres account then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def local_postgres(password: str = PASSWORD):
    """A PostgreSQL server in a temporary folder on a free port, password authentication over TCP; yields its
    url (user admin). Stopped and removed on exit."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("no PostgreSQL binaries (initdb) on this machine")
    root = Path(tempfile.mkdtemp(prefix="ch-pg-"))
    data, pwfile = root / "data", root / "pw"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "admin", f"--pwfile={pwfile}"]
    initdb += ["--auth=scram-sha-256", "-E", "UTF8", "--locale=C"]
    subprocess.run(_as_server_user(initdb), check=True, capture_output=True)
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c timezone=UTC"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    start = [*pg_ctl, "-o", opts, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(_as_server_user(start), check=True, capture_output=True)
    try:
        yield f"postgresql://admin:{password}@127.0.0.1:{port}/postgres"
    finally:
        stop = [*pg_ctl, "-m", "immediate", "stop"]
        subprocess.run(_as_server_user(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def copy_to_postgres(con, select_sql: str, admin, table: str, tmp: Path) -> None:
    """Create `table` in PostgreSQL with the columns of a DuckDB query and copy its rows over (as CSV)."""
    cols = con.execute(f"DESCRIBE {select_sql}").fetchall()
    decl = ", ".join(f'"{c[0]}" {_PG_TYPES.get(c[1].split("(")[0], "text")}' for c in cols)
    admin.execute(f"DROP TABLE IF EXISTS {table}")
    admin.execute(f"CREATE TABLE {table} ({decl})")
    path = tmp / f"{table}.csv"
    con.execute(f"COPY ({select_sql}) TO '{path}' (FORMAT csv, HEADER false)")
    with admin.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv)") as cp, path.open("rb") as f:
        while block := f.read(1 << 24):
            cp.write(block)
    path.unlink()


def _norm(rows) -> list[tuple]:
    from decimal import Decimal

    def value(v):
        v = float(v) if isinstance(v, Decimal) else v
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

    return sorted((tuple(value(v) for v in r) for r in rows), key=repr)


def _bytes(names: list[str], rows: list[tuple]) -> int:
    import pyarrow as pa

    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}).nbytes if rows else 0


def reductions(ds, relations: dict[str, str]) -> dict[str, str]:
    """Every event-level reduction once, as the tools run them on the example's semantics."""
    from customer_health.tools.base.sql import window
    from customer_health.tools.data.config import WorkflowSpec
    from customer_health.tools.data.semantics import resolve_semantics
    from customer_health.tools.health.event_metrics import event_metrics_sql
    from customer_health.tools.usage.cohorts import active_user_sql
    from customer_health.tools.usage.funnel import funnel_sql
    from customer_health.tools.usage.seats import activity_sql
    from customer_health.tools.usage.trends import trend_sql
    from customer_health.tools.usage.workflows import workflow_sql

    sem = resolve_semantics(ds)
    day, core = ds.default_as_of(), sem.core_features
    ends = {0: window(day, 1).end, 1: window(day - timedelta(days=30), 1).end}
    em = event_metrics_sql(day, ends, core, sem.activation, False, ["is_champion"], relations)
    steps = ["import_data", "build_report", "share_report"]
    spec = SimpleNamespace(
        steps=steps, window_days=14, day=day, start=None, account=None, role=None, errors=[], dims={}
    )
    period = window(day, 28)
    targets = (
        f"SELECT DISTINCT user_id AS uk, account_id FROM {relations['users']} WHERE account_id IS NOT NULL"
    )
    end = f"TIMESTAMP '{window(day, 1).end:%Y-%m-%d %H:%M:%S}'"
    return {
        "score_inputs_windowed": em["windowed"],
        "score_inputs_ever": em["ever"],
        "seats": activity_sql(window(day, 30), core, relations),
        "trends": trend_sql(day, 13, core, False, None, relations),
        "funnel": funnel_sql(spec, relations),
        "workflow": workflow_sql(WorkflowSpec(steps=steps, window_days=7), period, targets, relations),
        "cohorts_active_users": active_user_sql(end, 12, False, relations),
    }


def run_size(n_events: int, base: Path, url: str, repeat: int) -> dict:
    import psycopg
    from bench_analytics import generate_portfolio
    from customer_health.tools.base.dialects import duckdb_engine
    from customer_health.tools.data.engines.postgres import postgres_engine
    from customer_health.tools.data.recognize import Mapping
    from customer_health.tools.data.workspace import AllowedRoots, Workspace

    out = base / f"events-{n_events}"
    generate_portfolio(out, n_events)
    ws = Workspace(base / f"ws-{n_events}")
    ds = ws.dataset(ws.load([out], roots=AllowedRoots([base.resolve()])))
    row: dict = {"events": ds.con.execute(f"SELECT count(*) FROM {ds.view('events')}").fetchone()[0]}
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("CREATE SCHEMA IF NOT EXISTS bench")
        t = time.perf_counter()
        for kind in ("events", "users", "accounts"):
            copy_to_postgres(ds.con, f"SELECT * FROM {ds.view(kind)}", admin, f"bench.{kind}", base)
        admin.execute("ANALYZE")
        row["postgres_copy_s"] = round(time.perf_counter() - t, 1)
    # the whole load from PostgreSQL: the events' facts counted there, the small tables fetched and ingested
    with Workspace(base / f"ws-pg-{n_events}") as far:
        mapping = Mapping(files={f"bench.{k}": k for k in ("events", "users", "accounts")})
        t = time.perf_counter()
        far.load([url], mapping=mapping, roots=AllowedRoots([base.resolve()]))
        row["postgres_load_s"] = round(time.perf_counter() - t, 2)
    local = duckdb_engine(ds.con)
    remote = postgres_engine(url, {k: f"bench.{k}" for k in ("events", "users", "accounts")})
    here = reductions(ds, {k: ds.view(k) for k in ("events", "users", "accounts")})
    there = reductions(ds, dict(remote.relations))
    for name in here:
        best = {}
        for label, engine, sql in (("duckdb", local, here[name]), ("postgres", remote, there[name])):
            times, got = [], None
            for _ in range(repeat):
                t = time.perf_counter()
                got = engine.rows(sql)
                times.append(time.perf_counter() - t)
            best[label] = (min(times), got)
        (d_s, (names, d_rows)), (p_s, (_, p_rows)) = best["duckdb"], best["postgres"]
        assert _norm(d_rows) == _norm(p_rows), f"{name}: DuckDB and PostgreSQL disagree"
        row[name] = {
            "duckdb_s": round(d_s, 3),
            "postgres_s": round(p_s, 3),
            "rows": len(d_rows),
            "bytes_back": _bytes(names, d_rows),
        }
    # the portable funnel beside the ASOF-join form it replaced, on DuckDB (bench_portable_sql's baseline)
    from bench_portable_sql import STEPS, asof_funnel_sql
    from customer_health.tools.base.sql import window

    end = f"{window(ds.default_as_of(), 1).end:%Y-%m-%d %H:%M:%S}"
    asof = asof_funnel_sql(STEPS, 14, end, ds.view("events"))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        ds.con.execute(asof).fetchall()
        times.append(time.perf_counter() - t)
    row["funnel"]["duckdb_asof_s"] = round(min(times), 3)
    return row


def table(row: dict) -> str:
    """One size's figures as a Markdown table."""
    lines = [
        f"{row['events']:,} events (PostgreSQL copy {row['postgres_copy_s']} s, not timed below; a whole load "
        f"from PostgreSQL {row['postgres_load_s']} s)",
        "",
        "| reduction | DuckDB s | PostgreSQL s | rows back | bytes back |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in row.items():
        if isinstance(r, dict):
            asof = f" (ASOF form {r['duckdb_asof_s']})" if "duckdb_asof_s" in r else ""
            lines.append(
                f"| {name} | {r['duckdb_s']}{asof} | {r['postgres_s']} | {r['rows']:,} | {r['bytes_back']:,} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="20000000", help="comma-separated event counts")
    parser.add_argument("--keep", type=Path, help="keep generated data here (reused when present)")
    parser.add_argument("--postgres", default=os.environ.get("CH_BENCH_POSTGRES"), help="a server to use")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="ch-bench-engines-"))
    base.mkdir(parents=True, exist_ok=True)
    sizes = [int(n) for n in args.events.split(",")]
    with contextlib.ExitStack() as stack:
        url = args.postgres or stack.enter_context(local_postgres())
        for n in sizes:
            row = run_size(n, base, url, args.repeat)
            print(json.dumps(row), flush=True)
            print(table(row), flush=True)


if __name__ == "__main__":
    main()
