"""Load-time benchmark: our `load` beside a plain DuckDB ingest of the same file, in the same run.

    python benchmarks/bench_load.py --events 20000000 [--formats csv,parquet] [--keep DIR]

Each measurement runs in a fresh subprocess so peak memory (max RSS) is per operation. Reported per format:
our first load (parse, type, profile), our second load (unchanged file: cache hit), the baseline (DuckDB
`CREATE TABLE AS SELECT * FROM read_csv/read_parquet` with auto-detection and nothing else), and a pandas
`read_csv`/`read_parquet` for scale (only up to 5M events; beyond that it is the thing we avoid).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_OURS = """
import sys, time
from customer_health.tools.data.workspace import AllowedRoots, Workspace
path, home = sys.argv[1], sys.argv[2]
t = time.perf_counter()
with Workspace(home) as ws:
    r = ws.load([path], roots=AllowedRoots([__import__('pathlib').Path(path).parent.resolve()]))
print(time.perf_counter() - t, sum(x.rows for x in r.tables))
"""

_DUCKDB = """
import sys, time, duckdb
path, home = sys.argv[1], sys.argv[2]
con = duckdb.connect(home + '/baseline.duckdb')
con.execute("SET memory_limit='1GB'")
con.execute('SET enable_progress_bar = false')
reader = 'read_parquet' if path.endswith('.parquet') else 'read_csv'
t = time.perf_counter()
con.execute(f"CREATE OR REPLACE TABLE ev AS SELECT * FROM {reader}('{path}')")
n = con.execute('SELECT count(*) FROM ev').fetchone()[0]
print(time.perf_counter() - t, n)
"""

_PANDAS = """
import sys, time, pandas as pd
path = sys.argv[1]
t = time.perf_counter()
df = pd.read_parquet(path) if path.endswith('.parquet') else pd.read_csv(path, parse_dates=['timestamp'])
print(time.perf_counter() - t, len(df))
"""


def _rss_run(script: str, *args: str) -> tuple[float, int, float]:
    """Run `script` in a fresh interpreter under /usr/bin/time; return (seconds, rows, peak RSS in MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as log:
        out = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", log.name, sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            check=True,
        )
        peak_kb = int(Path(log.name).read_text().strip().splitlines()[-1])
    seconds, rows = out.stdout.strip().splitlines()[-1].split()  # a library may print above it
    return float(seconds), int(rows), peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--keep", help="Generate into (and reuse) this folder instead of a temporary one.")
    args = parser.parse_args()

    from customer_health.examples.generate import generate

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="chbench-"))
    results = []
    for fmt in args.formats.split(","):
        out = base / f"{fmt}-{args.events}"
        events = out / f"events.{fmt}"
        if not events.exists():
            t = time.perf_counter()
            generate(out, n_accounts=args.accounts, events_format=fmt, target_events=args.events)
            print(f"generated {events} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        size_mb = events.stat().st_size / 1e6
        home = tempfile.mkdtemp(prefix="chws-")
        ours = _rss_run(_OURS, str(events), home)
        again = _rss_run(_OURS, str(events), home)
        baseline = _rss_run(_DUCKDB, str(events), home)
        row = {
            "format": fmt,
            "events": ours[1],
            "file_mb": round(size_mb, 1),
            "load_s": round(ours[0], 2),
            "load_peak_mb": round(ours[2]),
            "cached_load_s": round(again[0], 2),
            "cached_peak_mb": round(again[2]),
            "duckdb_baseline_s": round(baseline[0], 2),
            "duckdb_peak_mb": round(baseline[2]),
        }
        if args.events <= 5_000_000:
            pandas = _rss_run(_PANDAS, str(events))
            row |= {"pandas_s": round(pandas[0], 2), "pandas_peak_mb": round(pandas[2])}
        results.append(row)
        print(json.dumps(row), flush=True)
    if not args.keep:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
