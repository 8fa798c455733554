"""The portable event-level SQL (window functions, transpiled by SQLGlot) beside the DuckDB ASOF-join form it replaced.

    python benchmarks/bench_portable_sql.py --events 1000000,5000000 [--keep DIR]

For each size the example generator (seeded, 10,000 accounts) writes Parquet events, the workspace loads them once
(not timed), then the funnel's and the workflow's reductions run two ways on DuckDB: the portable SQL the tools
run now (`funnel_sql`, `workflow_sql`, transpiled to duckdb) and the ASOF-join SQL of the previous release (copied
below as the baseline). The rows must be identical before the times (best of three) are printed, with the bytes of
the result that travels back (Arrow size of the rows).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analytics import _timed, generate_portfolio  # noqa: E402  (best of three; the data)

STEPS = ["import_data", "build_report", "share_report"]
WORKFLOW = ["import_data", "build_report", "share_report"]
TIE_SLOTS = 128


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ---- the baseline: the ASOF-join SQL of the previous release (tools/usage/funnel.py, workflows.py) ----


def asof_next_step_ctes(steps: list[str], within: str) -> list[str]:
    slots = 1 << len(steps).bit_length()
    us = "epoch_us({})" if slots <= TIE_SLOTS else "epoch_us({})::HUGEINT"
    ctes = []
    for k in range(2, len(steps) + 1):
        taken = [f"(a.t{j} = a.t{k - 1})::INT" for j in range(1, k) if steps[j - 1] == steps[k - 1]]
        used = " + ".join(taken) if taken else "0"
        ctes.append(
            f"a{k} AS (SELECT a.*, CASE WHEN s.t <= a.t1 + {within} THEN s.t END AS t{k} FROM a{k - 1} a "
            f"ASOF LEFT JOIN (SELECT uk, t, {us.format('t')} * {slots} + least(row_number() OVER "
            f"(PARTITION BY uk, t), {slots - 1}) AS o FROM ev WHERE event = {_lit(steps[k - 1])}) s "
            f"ON a.uk = s.uk AND {us.format(f'a.t{k - 1}')} * {slots} + {used} + 1 <= s.o)"
        )
    return ctes


def asof_funnel_sql(steps: list[str], window_days: int, end: str, events: str) -> str:
    """The previous funnel query, overall counts only (no filters, breakdowns or error steps)."""
    n, within = len(steps), f"INTERVAL '{window_days} days'"
    ctes = [
        f"ev AS NOT MATERIALIZED (SELECT hash(user_id) AS uk, timestamp AS t, event, account_id "
        f"FROM {events} WHERE timestamp < TIMESTAMP '{end}')",
        f"a1 AS (SELECT uk, account_id, t AS t1 FROM ev WHERE event = {_lit(steps[0])})",
    ]
    ctes += asof_next_step_ctes(steps, within)
    ts = ", ".join(f"t{k}" for k in range(1, n + 1))
    reached = " + ".join(f"(t{k} IS NOT NULL)::INT" for k in range(1, n + 1))
    ctes.append(
        f"best AS (SELECT uk, arg_min(struct_pack(account_id, reached, {ts}), (-reached, t1)) AS b "
        f"FROM (SELECT *, {reached} AS reached FROM a{n}) GROUP BY uk), f0 AS (SELECT uk, b.* FROM best)"
    )
    aggs = [f"count(*) FILTER (WHERE reached >= {k}) AS n{k}" for k in range(1, n + 1)]
    aggs += [
        f"median(date_diff('microsecond', t{k - 1}, t{k})) FILTER (WHERE reached >= {k}) / 3.6e9 AS h{k}"
        for k in range(2, n + 1)
    ]
    return f"WITH {', '.join(ctes)} SELECT {', '.join(aggs)} FROM f0"


def asof_workflow_sql(steps: list[str], window_days: int, start: str, end: str, events: str) -> str:
    """The previous workflow query, with every user on an event in the period as a target user."""
    n, within = len(steps), f"INTERVAL '{window_days} days'"
    start, end = f"TIMESTAMP '{start}'", f"TIMESTAMP '{end}'"
    step_list = ", ".join(_lit(s) for s in dict.fromkeys(steps))
    ctes = [
        f"ev AS NOT MATERIALIZED (SELECT hash(user_id) AS uk, timestamp AS t, event FROM {events} "
        f"WHERE timestamp >= {start} - {within} AND timestamp < {end} AND event IN ({step_list}))",
        f"a1 AS (SELECT uk, t AS t1 FROM ev WHERE event = {_lit(steps[0])})",
    ]
    ctes += asof_next_step_ctes(steps, within)
    reached = " + ".join(f"(t{k} IS NOT NULL)::INT" for k in range(1, n + 1))
    ctes.append(
        f"runs AS (SELECT uk, count(DISTINCT t{n}) FILTER (WHERE t{n} >= {start}) AS done, "
        f"coalesce(max({reached}) FILTER (WHERE t1 >= {start}), 0) AS reached FROM a{n} GROUP BY uk)"
    )
    ctes.append(
        f"targets AS (SELECT DISTINCT hash(user_id) AS uk, account_id FROM {events} "
        f"WHERE timestamp >= {start} AND timestamp < {end} AND account_id IS NOT NULL)"
    )
    stops = "".join(
        f", count(*) FILTER (WHERE coalesce(done, 0) = 0 AND coalesce(reached, 0) = {k}) AS s{k}"
        for k in range(n)
    )
    return (
        f"WITH {', '.join(ctes)} SELECT account_id, count(*) AS target_users, "
        f"count(*) FILTER (WHERE done > 0) AS completers, coalesce(sum(done), 0) AS completions{stops} "
        "FROM targets LEFT JOIN runs USING (uk) GROUP BY account_id ORDER BY account_id"
    )


# ---- the run ----


def _rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _bytes(con, sql: str) -> int:
    return con.execute(sql).to_arrow_table().nbytes


def run_size(n_events: int, base: Path) -> dict:
    from customer_health.tools.base.dialects import transpile
    from customer_health.tools.base.sql import window
    from customer_health.tools.data.config import WorkflowSpec
    from customer_health.tools.data.workspace import AllowedRoots, Workspace
    from customer_health.tools.usage.funnel import funnel_sql
    from customer_health.tools.usage.workflows import workflow_sql

    out = base / f"events-{n_events}"
    generate_portfolio(out, n_events)
    ws = Workspace(base / f"ws-{n_events}")
    ds = ws.dataset(ws.load([out], roots=AllowedRoots([base.resolve()])))
    con, events = ds.con, ds.view("events")
    day = ds.default_as_of()
    end = f"{window(day, 1).end:%Y-%m-%d %H:%M:%S}"
    row = {"events": con.execute(f"SELECT count(*) FROM {events}").fetchone()[0]}

    spec = SimpleNamespace(
        steps=STEPS, window_days=14, day=day, start=None, account=None, role=None, errors=[], dims={}
    )
    portable = transpile(funnel_sql(spec, {"events": events}), "duckdb")
    asof = asof_funnel_sql(STEPS, 14, end, events)
    p_s, p_rows = _timed(lambda: _rows(con, portable))
    a_s, a_rows = _timed(lambda: _rows(con, asof))
    assert p_rows == a_rows, f"funnel: portable {p_rows} and ASOF {a_rows} disagree"
    row |= {
        "funnel_portable_s": round(p_s, 3),
        "funnel_asof_s": round(a_s, 3),
        "funnel_bytes": _bytes(con, asof),
    }

    period = window(day, 28)
    start_s, end_s = (f"{t:%Y-%m-%d %H:%M:%S}" for t in period)
    wf = WorkflowSpec(steps=WORKFLOW, window_days=14)
    targets = f"SELECT DISTINCT user_id AS uk, account_id FROM {events} WHERE {period.sql()} AND account_id IS NOT NULL"
    portable = transpile(
        workflow_sql(wf, period, targets, {"events": events}) + " ORDER BY account_id", "duckdb"
    )
    asof = asof_workflow_sql(WORKFLOW, 14, start_s, end_s, events)
    p_s, p_rows = _timed(lambda: _rows(con, portable))
    a_s, a_rows = _timed(lambda: _rows(con, asof))
    assert p_rows == a_rows, "workflow: portable and ASOF disagree"
    row |= {
        "workflow_portable_s": round(p_s, 3),
        "workflow_asof_s": round(a_s, 3),
        "workflow_rows": len(p_rows),
        "workflow_bytes": _bytes(con, portable),
    }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1000000,5000000")
    parser.add_argument("--keep", type=Path, help="keep generated data here (reused when present)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.events.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            print(json.dumps(run_size(n, base)), flush=True)


if __name__ == "__main__":
    main()
