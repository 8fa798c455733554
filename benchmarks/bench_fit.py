"""`fit` at scale: a learned profile from a year of monthly snapshots of 10,000 accounts.

    python benchmarks/bench_fit.py --accounts 10000 --events 2000000 [--keep DIR]

The example generator (seeded) writes the portfolio with its outcomes table (16 months by default, 2025-05-01 … 2026-08-31, so the as-of dates — at
least 90 days before each renewal and 60 days into the data — span a year of month ends); the
workspace loads it once (timed apart), then `fit_health_profile` runs once: the outcome plan, one metrics pass per
month-end as-of date, the time-split cross-validation (each fold choosing its penalty by time folds inside its
training rows) and the final fit. It prints each fold's held-out AUC against the expert profile's, the mean over
folds, and the time and peak RSS (the process's).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=2_000_000, help="about this many events")
    parser.add_argument("--start", default="2025-05-01", help="first day of data (the last is 2026-08-31)")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it (reused when present)")
    args = parser.parse_args(argv)

    from customer_health.examples.generate import generate
    from customer_health.tools.data.workspace import AllowedRoots, Workspace
    from customer_health.tools.health.fit import fit_health_profile

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="chbench-fit-"))
    data = root / "data"
    t = time.perf_counter()
    if not (data / "outcomes.csv").exists():
        generate(data, n_accounts=args.accounts, start=args.start, target_events=args.events)
    generated = time.perf_counter() - t
    with Workspace(root / "ws") as ws:
        t = time.perf_counter()
        ds = ws.dataset(ws.load([data], roots=AllowedRoots([root.resolve()]), today=date.today()))
        loaded = time.perf_counter() - t
        rss_loaded = _peak_mb()
        t = time.perf_counter()
        result = fit_health_profile(ds, out=root / "learned.yaml", allowed=[root])
        fitted = time.perf_counter() - t
    print(
        f"accounts={args.accounts} events~{args.events} generate={generated:.1f}s load={loaded:.1f}s "
        f"fit={fitted:.1f}s peak_rss_after_load={rss_loaded:.0f}MB peak_rss={_peak_mb():.0f}MB"
    )
    print(
        f"snapshots={result.n_outcomes} lost={result.n_lost} as_of_dates={len(result.as_of_dates)} "
        f"folds={len(result.folds)} held_out_rows={sum(f.test_rows for f in result.folds)} "
        f"mean_auc={result.cv_auc_mean} expert_mean_auc={result.expert_auc_mean} "
        f"pooled_auc={result.cv_auc} expert_pooled_auc={result.expert_auc} in_sample_auc={result.in_sample_auc} "
        f"l2={result.l2} learned_scales={result.learned_scales} better_than_expert={result.better_than_expert}"
    )
    for f in result.folds:
        print(
            f"  fold {f.test_from}..{f.test_to}: train {f.train_rows} ({f.train_lost} lost), test {f.test_rows} "
            f"({f.test_lost} lost), learned {f.auc} vs expert {f.expert_auc}, l2={f.l2}, scales={f.learned_scales}"
        )
    print(result.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
