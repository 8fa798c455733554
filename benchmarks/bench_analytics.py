"""Analytics benchmark: our computations beside a hand-written DuckDB query and a plain pandas script.

    python benchmarks/bench_analytics.py --events 1000000,5000000,20000000 [--keep DIR]

For each size the example generator (seeded) writes 10,000 accounts of Parquet events; the workspace loads them once
(not timed here: see bench_load.py), then in one process each operation runs three ways and the answers are checked
to agree: ours (tools/), a plain DuckDB SQL query over the same canonical view, and pandas over the events read into
a DataFrame. The score's baselines (baselines_score.py) compute the same 0–100 scores at the same two dates. Peak RSS
is read after our operations, before pandas loads the events.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CORE = ["import_data", "build_report", "share_report", "create_dashboard", "schedule_export"]
STEPS = ["import_data", "build_report", "share_report"]


def _timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seats_duckdb(con, events: str, accounts: str, start: str, end: str) -> dict[str, tuple[int, int]]:
    core = ", ".join(f"'{c}'" for c in CORE)
    rows = con.execute(f"""
        SELECT account_id, count(DISTINCT user_id), count(DISTINCT user_id) FILTER (WHERE event IN ({core}))
        FROM {events} WHERE timestamp >= TIMESTAMP '{start}' AND timestamp < TIMESTAMP '{end}'
        GROUP BY account_id""").fetchall()
    return {a: (p, d) for a, p, d in rows}


def seats_pandas(df, start: str, end: str) -> dict[str, tuple[int, int]]:
    import pandas as pd

    w = df[(df["timestamp"] >= pd.Timestamp(start)) & (df["timestamp"] < pd.Timestamp(end))]
    present = w.groupby("account_id")["user_id"].nunique()
    adopted = w[w["event"].isin(CORE)].groupby("account_id")["user_id"].nunique()
    return {a: (int(p), int(adopted.get(a, 0))) for a, p in present.items()}


def trends_duckdb(con, events: str, as_of: str) -> dict[tuple[str, int], float]:
    """Weekly core actions, weekly distinct present/adopted users and the two 30-day periods, in plain SQL."""
    core = ", ".join(f"'{c}'" for c in CORE)
    base = f"""SELECT account_id, user_id, event IN ({core}) AS is_core,
                      date_diff('day', CAST(timestamp AS DATE), DATE '{as_of}') AS age FROM {events}
               WHERE timestamp >= DATE '{as_of}' - INTERVAL 90 DAY AND timestamp < DATE '{as_of}' + INTERVAL 1 DAY"""
    weekly = con.execute(f"""SELECT account_id, age // 7, count(DISTINCT user_id),
                                    count(DISTINCT user_id) FILTER (WHERE is_core), count(*) FILTER (WHERE is_core)
                             FROM ({base}) WHERE age < 91 GROUP BY ALL""").fetchall()
    con.execute(f"""SELECT account_id, age // 30, count(DISTINCT user_id), count(DISTINCT user_id) FILTER (WHERE is_core),
                           count(*) FILTER (WHERE is_core) FROM ({base}) WHERE age < 60 GROUP BY ALL""").fetchall()
    con.execute(f"""SELECT account_id, regr_slope(n, -age) FROM (SELECT account_id, age, count(*) FILTER
                    (WHERE is_core) AS n FROM ({base}) GROUP BY ALL) GROUP BY account_id""").fetchall()
    return {(a, int(w)): float(n) for a, w, _, _, n in weekly if n}


def trends_pandas(df, as_of: str) -> dict[tuple[str, int], float]:
    """The same work as trends_duckdb: weekly present/adopted users and core actions, the two 30-day periods, the
    slope of daily core actions."""
    import numpy as np
    import pandas as pd

    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    w = df[(df["timestamp"] >= end - pd.Timedelta(days=91)) & (df["timestamp"] < end)].copy()
    w["is_core"] = w["event"].isin(CORE)
    w["age"] = (pd.Timestamp(as_of) - w["timestamp"].dt.normalize()).dt.days
    core = w[w["is_core"]]
    for span, frame in ((7, w[w["age"] < 91]), (30, w[w["age"] < 60])):
        key = [frame["account_id"], frame["age"] // span]
        frame.groupby(key)["user_id"].nunique()
        frame[frame["is_core"]].groupby([frame["account_id"], frame["age"] // span])["user_id"].nunique()
    daily = core.groupby(["account_id", "age"]).size().reset_index(name="n")
    for _, g in daily.groupby("account_id"):
        if len(g) > 1:
            np.polyfit(-g["age"].to_numpy(dtype=float), g["n"].to_numpy(dtype=float), 1)
    counts = core[core["age"] < 91].groupby([core["account_id"], core["age"] // 7]).size()
    return {(a, int(k)): float(n) for (a, k), n in counts.items()}


def _mismatches(now: dict, before: dict, baseline: list[dict]) -> int:
    """Accounts whose score (now or 30 days earlier) differs from a baseline's; more than 0.1 apart is an error.

    Both sides round to 0.1: a value within float error of a .x5 tie may round either way, so off-by-0.1 is
    counted and reported rather than failed."""
    off = 0
    for ours, theirs in ((now, baseline[0]), (before, baseline[1])):
        assert set(ours) <= set(theirs), "score: the baseline is missing accounts"
        for acct, value in ours.items():
            gap = abs(value - theirs[acct])
            assert gap <= 0.1 + 1e-9, f"score: {acct} is {value}, the baseline says {theirs[acct]}"
            off += gap > 1e-9
    return off


def generate_portfolio(out: Path, n_events: int, accounts: int = 10_000) -> None:
    """The example generator's portfolio of `accounts` accounts and about `n_events` events in `out`, unless it is
    there already; in a child process, so its memory isn't counted as the benchmark's."""
    if (out / "events.parquet").exists():
        return
    import subprocess

    gen = Path(__file__).resolve().parents[1] / "examples" / "generate.py"
    size = ["--accounts", str(accounts), "--target-events", str(n_events)]
    subprocess.run([sys.executable, str(gen), "--out", str(out), *size], check=True)


def run_size(n_events: int, base: Path) -> dict:
    from customer_health.tools.base.sql import window
    from customer_health.tools.data.workspace import AllowedRoots, Workspace
    from customer_health.tools.usage.seats import seat_utilization
    from customer_health.tools.usage.trends import usage_trends

    out = base / f"events-{n_events}"
    generate_portfolio(out, n_events)
    ws = Workspace(base / f"ws-{n_events}")
    t = time.perf_counter()
    loaded = ws.load([out], roots=AllowedRoots([base.resolve()]))
    load_s = time.perf_counter() - t
    ds = ws.dataset(loaded)
    con, ev, acc = ds.con, ds.view("events"), ds.view("accounts")
    as_of = ds.default_as_of()
    win = window(as_of, 30)
    start, end = f"{win.start:%Y-%m-%d}", f"{win.end:%Y-%m-%d}"
    row = {"events": sum(t.rows for t in loaded.tables if t.kind == "events"), "load_s": round(load_s, 2)}

    # every account, churned or not, as the baselines count them
    ours_s, ours = _timed(lambda: seat_utilization(ds, window_days=30, everyone=True))
    duck_s, duck = _timed(lambda: seats_duckdb(con, ev, acc, start, end))
    ours_map = {r.account_id: (r.present_users, r.adopted_users) for r in ours.accounts if r.present_users}
    assert ours_map == duck, "seat utilization: ours and the DuckDB baseline disagree"
    row |= {"seats_s": round(ours_s, 3), "seats_duckdb_s": round(duck_s, 3)}

    tr_s, tr = _timed(lambda: usage_trends(ds, weeks=13, everyone=True))
    trd_s, trd = _timed(lambda: trends_duckdb(con, ev, f"{as_of}"))
    ours_weeks = {
        (r.account_id, 12 - i): v for r in tr.accounts for i, v in enumerate(r.weekly.core_actions) if v
    }
    assert ours_weeks == {k: v for k, v in trd.items() if k[1] < 13}, "trends: ours and DuckDB disagree"
    row |= {"trends_s": round(tr_s, 3), "trends_duckdb_s": round(trd_s, 3)}

    try:
        from baselines_funnel import duckdb_funnel, pandas_funnel
        from customer_health.tools.usage.funnel import compute_funnel

        fu_s, fu = _timed(lambda: compute_funnel(ds, STEPS, window_days=14))
        fd_s, fd = _timed(lambda: duckdb_funnel(con, ev.strip('"'), STEPS, 14))
        assert [s.users for s in fu.steps] == list(fd), "funnel: ours and DuckDB disagree"
        row |= {"funnel_s": round(fu_s, 3), "funnel_duckdb_s": round(fd_s, 3)}
    except ImportError:
        pandas_funnel = None
    # scoring: a fresh Dataset per run so nothing is served from the per-dataset cache. The baselines compute the
    # same scores (default profile) at the same two dates — now and 30 days earlier — from the same views
    import yaml
    from baselines_score import metrics_duckdb, metrics_pandas, scores
    from customer_health.tools.health.profiles import load_profile
    from customer_health.tools.health.score import score_accounts

    cfg = yaml.safe_load((out / "customer-health.yaml").read_text())
    core, activation, prof = cfg["core_features"], cfg["activation"], load_profile(None)
    earlier = as_of - timedelta(days=30)
    views = {k: ds.view(k) for k in ("events", "accounts", "users", "tickets", "nps", "revenue")}
    sc_s, sc = _timed(
        lambda: score_accounts(ws.dataset(loaded), everyone=True)
    )  # every account, as the baselines
    sd_s, sd = _timed(
        lambda: [scores(metrics_duckdb(con, views, d, core, activation), prof) for d in (as_of, earlier)]
    )
    now = {a.account_id: a.health_score for a in sc.accounts}
    before = {a.account_id: a.previous_score for a in sc.accounts if a.previous_score is not None}
    row |= {
        "score_s": round(sc_s, 3),
        "score_duckdb_s": round(sd_s, 3),
        "accounts": len(sc.accounts),
        "score_duckdb_mismatches": _mismatches(now, before, sd),
    }
    row["peak_mb_ours"] = round(_peak_mb())

    df = con.execute(f"SELECT timestamp, user_id, event, account_id FROM {ev}").df()
    ps_s, ps = _timed(lambda: seats_pandas(df, start, end), repeat=1)
    assert ps == duck, "seat utilization: pandas and DuckDB disagree"
    pt_s, pt = _timed(lambda: trends_pandas(df, f"{as_of}"), repeat=1)
    assert {k: v for k, v in pt.items() if k[1] < 13} == {k: v for k, v in trd.items() if k[1] < 13}
    row |= {"seats_pandas_s": round(ps_s, 3), "trends_pandas_s": round(pt_s, 3)}
    tables = {k: con.execute(f"SELECT * FROM {v}").df() for k, v in views.items() if k != "events"}
    tables["events"] = df
    sp_s, sp = _timed(
        lambda: [scores(metrics_pandas(tables, d, core, activation), prof) for d in (as_of, earlier)],
        repeat=1,
    )
    row |= {"score_pandas_s": round(sp_s, 3), "score_pandas_mismatches": _mismatches(now, before, sp)}
    if pandas_funnel is not None:
        pf_s, pf = _timed(lambda: pandas_funnel(df, STEPS, 14), repeat=1)
        assert list(pf) == [s.users for s in fu.steps], "funnel: pandas disagrees"
        row["funnel_pandas_s"] = round(pf_s, 3)
    ws.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", default="1000000")
    parser.add_argument("--keep", help="Generate into (and reuse) this folder instead of a temporary one.")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="chbench-"))
    for n in (int(x) for x in args.events.split(",")):
        print(json.dumps(run_size(n, base)), flush=True)


if __name__ == "__main__":
    main()
