"""Warm whole-process benchmark: `customer-health funnel | seats | score` beside a plain DuckDB script (and chDB's
windowFunnel for the funnel), each a fresh Python process, as a user or an agent's shell runs them.

    python benchmarks/bench_warm_cli.py --events 5000000,20000000 --keep /tmp/chbench-warm [--repeat 3]

For each size the example generator (seeded, 10,000 accounts) writes the exports once; `customer-health load` ingests
them into a workspace of their own (timed once: cold on a fresh --keep folder). Then every command runs `--repeat` times as a subprocess and
the best wall time is kept — the workspace is warm: the sources are unchanged, so a command costs start-up, a hash
check, the kept quality report and semantics, and the query itself. The baselines are processes too: a plain script
that imports DuckDB and runs the same query straight from the Parquet file (and the CSVs, for the score), and one that
runs ClickHouse's `windowFunnel` in chDB (`pip install chdb`, the `bench` extra). Answers are checked against ours
before any time is reported. The command and its baselines run back to back, so on a loaded machine the ratios hold
better than the seconds.

`--baseline NAME --data DIR --as-of DAY` runs one baseline in this process (what the benchmark spawns).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = ["import_data", "build_report", "share_report"]
WINDOW_DAYS = 14


# --- the baselines (run as their own processes; they import DuckDB and the baseline modules, nothing of ours) ------


def baseline_funnel(data: Path, as_of: str) -> dict:
    import duckdb
    from baselines_funnel import duckdb_funnel

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return {"users": duckdb_funnel(con, str(data / "events.parquet"), STEPS, WINDOW_DAYS)}


def baseline_chdb_funnel(data: Path, as_of: str) -> dict:
    import chdb

    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    counts = ", ".join(f"countIf(level >= {k})" for k in range(1, len(STEPS) + 1))
    path = str(data / "events.parquet").replace("'", "\\'")
    sql = (
        f"SELECT {counts} FROM (SELECT user_id, windowFunnel({WINDOW_DAYS * 86400})(toDateTime(timestamp), {conds}) "
        f"AS level FROM file('{path}', Parquet) GROUP BY user_id)"
    )
    row = str(chdb.query(sql, "CSV")).strip().split(",")
    return {"users": [int(v) for v in row]}


def baseline_seats(data: Path, as_of: str) -> dict:
    """Present and adopted (core-feature) users per account over the 30 days ending on `as_of`."""
    import duckdb

    core = _config(data)["core_features"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    core_sql = ", ".join("'" + c.replace("'", "''") + "'" for c in core)
    rows = con.execute(
        f"""SELECT account_id, count(DISTINCT user_id), count(DISTINCT user_id) FILTER (WHERE event IN ({core_sql}))
            FROM read_parquet(?) WHERE timestamp >= DATE '{as_of}' - INTERVAL 29 DAY
              AND timestamp < DATE '{as_of}' + INTERVAL 1 DAY AND account_id IS NOT NULL GROUP BY 1""",
        [str(data / "events.parquet")],
    ).fetchall()
    return {"accounts": {a: [p, d] for a, p, d in rows}}


def baseline_score(data: Path, as_of: str) -> dict:
    """The default profile's 0–100 score per account at `as_of`, by baselines_score's one SQL query and numpy."""
    from datetime import date, timedelta

    import duckdb
    from baselines_score import metrics_duckdb, scores

    cfg = _config(data)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet({_lit(data / 'events.parquet')})")
    for kind in ("accounts", "users", "tickets", "nps", "revenue"):
        con.execute(f"CREATE VIEW {kind} AS SELECT * FROM read_csv({_lit(data / f'{kind}.csv')})")
    views = {k: k for k in ("events", "accounts", "users", "tickets", "nps", "revenue")}
    profile = _namespace(json.loads(os.environ["BENCH_PROFILE"]))
    if profile.onboarding is None:  # the presets score every tenure on one scale: no onboarding component
        profile.onboarding, profile.onboarding_days = _namespace({"weight": 0.0, "metrics": {}}), 0
    day = date.fromisoformat(as_of)
    # both dates the score reads (the trend arrow compares with 30 days earlier), as ours computes them
    now, _ = (
        scores(metrics_duckdb(con, views, d, cfg["core_features"], cfg["activation"]), profile)
        for d in (day, day - timedelta(days=30))
    )
    return {"scores": now}


BASELINES = {
    "funnel": baseline_funnel,
    "chdb-funnel": baseline_chdb_funnel,
    "seats": baseline_seats,
    "score": baseline_score,
}


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _config(data: Path) -> dict:
    """The two lists the baselines need from the generated customer-health.yaml (flow-style lists, one per line)."""
    out = {}
    for line in (data / "customer-health.yaml").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if key in ("core_features", "activation"):
            out[key] = [v.strip() for v in value.strip("[]").split(",")] if value.startswith("[") else value
    return out


def _namespace(value, keep_dicts=("components", "metrics")):
    """The profile's JSON as attribute access, keeping the name → spec maps as dicts (what `scores` iterates)."""
    from types import SimpleNamespace

    if isinstance(value, dict):
        return SimpleNamespace(
            **{
                k: {n: _namespace(s) for n, s in v.items()} if k in keep_dicts else _namespace(v)
                for k, v in value.items()
            }
        )
    if isinstance(value, list):
        return [_namespace(v) for v in value]
    return value


# --- the benchmark ---------------------------------------------------------------------------------------------------


def _run(cmd: list[str], env: dict) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, done.stdout


def _best(cmd: list[str], env: dict, repeat: int) -> tuple[float, str]:
    runs = [_run(cmd, env) for _ in range(repeat)]
    return min(w for w, _ in runs), runs[-1][1]


def run_size(n_events: int, base: Path, repeat: int, commands: list[str], home: Path | None = None) -> dict:
    import duckdb
    from customer_health.tools.health.profiles import load_profile

    data = base / f"events-{n_events}"
    from bench_analytics import generate_portfolio

    generate_portfolio(data, n_events)
    cli = [str(Path(sys.executable).with_name("customer-health"))]
    env = {
        **os.environ,
        "CUSTOMER_HEALTH_HOME": str((home or base) / f"home-{n_events}"),
        "CUSTOMER_HEALTH_ALLOW": str(base),
    }
    env["BENCH_PROFILE"] = load_profile(None).model_dump_json()
    last = f"SELECT CAST(max(timestamp) AS DATE) FROM read_parquet({_lit(data / 'events.parquet')})"
    as_of = str(duckdb.connect().execute(last).fetchone()[0])
    row: dict = {"events": n_events, "as_of": as_of, "load_avg_start": round(os.getloadavg()[0], 1)}
    row["first_load_s"] = round(_run([*cli, "load", str(data), "--format", "json"], env)[0], 2)
    _run([*cli, "load", str(data), "--format", "json"], env)  # and once warm, so every command below is warm
    baseline = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--data",
        str(data),
        "--as-of",
        as_of,
        "--baseline",
    ]
    common = [str(data), "--as-of", as_of, "--format", "json"]
    ours_cmds = {
        "funnel": [
            *cli,
            "funnel",
            *common,
            "--steps",
            ",".join(STEPS),
            "--window-days",
            str(WINDOW_DAYS),
            "--lookback-days",
            "0",
        ],
        "seats": [*cli, "seats", *common],
        "score": [*cli, "score", *common],
    }
    for name in commands:
        ours_s, ours_out = _best(ours_cmds[name], env, repeat)
        duck_s, duck_out = _best([*baseline, name], env, repeat)
        ours, duck = json.loads(ours_out), json.loads(duck_out)
        row[f"{name}_s"], row[f"{name}_duckdb_s"] = round(ours_s, 2), round(duck_s, 2)
        row[f"{name}_ratio"] = round(ours_s / duck_s, 2)
        row[f"{name}_agree"] = _agree(name, ours, duck)
        if name == "funnel":
            try:
                import chdb  # noqa: F401
            except ImportError:
                continue
            ch_s, ch_out = _best([*baseline, "chdb-funnel"], env, repeat)
            row["funnel_chdb_s"] = round(ch_s, 2)
            row["funnel_chdb_users"] = json.loads(ch_out)["users"]
    # the machine's 1-minute load average at both ends: read the seconds beside it
    row["load_avg_end"] = round(os.getloadavg()[0], 1)
    return row


def _agree(name: str, ours: dict, theirs: dict) -> str:
    """'yes', or what differs (checked before the times are read)."""
    if name == "funnel":
        mine = [s["users"] for s in ours["steps"]]
        return "yes" if mine == theirs["users"] else f"ours {mine}, DuckDB {theirs['users']}"
    if name == "seats":
        mine = {
            a["account_id"]: [a["present_users"], a["adopted_users"]]
            for a in ours["accounts"]
            if a["present_users"]
        }
        off = [a for a, v in mine.items() if theirs["accounts"].get(a) != v]
        return "yes" if not off else f"{len(off)} of {len(mine)} accounts differ"
    mine = {a["account_id"]: a["health_score"] for a in ours["accounts"]}
    off = [a for a, v in mine.items() if a in theirs["scores"] and abs(theirs["scores"][a] - v) > 0.1 + 1e-9]
    missing = sum(a not in theirs["scores"] for a in mine)
    return "yes" if not off and not missing else f"{len(off)} differ, {missing} missing of {len(mine)}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", default="5000000")
    parser.add_argument("--keep", help="Generate into (and reuse) this folder instead of a temporary one.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--home",
        help="Keep the workspaces (home-N) here instead of beside the exports: one folder per code version "
        "compared, or per engineer sharing --keep's exports (a workspace admits one process at a time).",
    )
    parser.add_argument("--commands", default="funnel,seats,score")
    parser.add_argument("--baseline", choices=sorted(BASELINES), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        sys.path.insert(0, str(HERE))
        print(json.dumps(BASELINES[args.baseline](Path(args.data), args.as_of)))
        return
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="chbench-warm-"))
    for n in (int(x) for x in args.events.split(",")):
        home = Path(args.home) if args.home else None
        print(json.dumps(run_size(n, base, args.repeat, args.commands.split(","), home)), flush=True)


if __name__ == "__main__":
    main()
