"""Does `fit` beat the expert profile on held-out time? Expert against learned, fold by fold, on several histories.

For each dataset `fit_health_profile` runs once (expert: the default preset) and this prints, over its time folds,
the mean held-out AUC of the learned profile and of the expert profile on the same rows (0.5 = chance), the pooled
AUCs over every held-out row, the mean of the folds' learned − expert differences ± its standard error over the
folds (the margin their spread supports), the number of folds and held-out rows (lost among them), and whether the fit kept the
expert unchanged (penalty chosen: none = "departures not supported by the training folds"). For the generated
portfolios it also prints `truth`: the mean over the same folds of the AUC of the generator's own churn probability
(by each account's hidden mechanism, from `<folder>-truth.json`) on the held-out rows — what a score that knew the
mechanism would reach (observed metrics can exceed it where they record what happened after the draw, e.g. a kept
stalled account activating late).

Datasets: the bundled example (examples/sample, 90-day horizon), the stalled-onboarding portfolio of
examples/generate_onboarding.py (400 and 1,500 accounts, seeds 7 and 8, horizons 30 and 90 days) and the same
generator with two years of yearly renewals and relationship loss (`years=2, relationship=0.2`: champions and
sponsors go quiet and tickets escalate before a renewal while the work goes on; same sizes, seeds and horizons),
generated into a temporary folder. With several terms per account `truth` takes each renewal's own mechanism.

    .venv/bin/python benchmarks/measure_fit.py [--quick] [--json] [--fit FILE]

`--quick`: the example and 400 accounts only (seed 7 only for relationship loss). `--fit FILE`: measure another version of tools/health/fit.py (e.g. a
copy of the previous one) instead of the working tree's. Takes a few minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


def measure(folder: Path, horizon: int, fit_module) -> dict:
    """One `fit` run on `folder`: the per-fold and pooled AUCs of the learned and the expert profile (and of the
    generator's true churn probability when its truth file is beside the folder)."""
    from customer_health.tools.data.workspace import AllowedRoots, Workspace

    truth_file = folder.with_name(f"{folder.name}-truth.json")
    with tempfile.TemporaryDirectory() as home, Workspace(Path(home) / "ws") as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.resolve()])))
        t = time.perf_counter()
        r = fit_module.fit_health_profile(ds, horizon_days=horizon)
        seconds = time.perf_counter() - t
        truth = _truth_aucs(ds, horizon, r.folds, truth_file) if truth_file.exists() else []
    folds = [f for f in r.folds if f.auc is not None and f.expert_auc is not None]
    mean = lambda xs: round(sum(xs) / len(xs), 3) if xs else None  # noqa: E731
    diffs = [f.auc - f.expert_auc for f in folds]
    spread = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else None
    return {
        "diff": round(sum(diffs) / len(diffs), 3) if diffs else None,
        "diff_se": round(spread, 3) if spread is not None else None,
        "truth_mean": mean([a for a in truth if a is not None]),
        "folds": len(r.folds),
        "rows": sum(f.test_rows for f in r.folds),
        "lost": sum(f.test_lost for f in r.folds),
        "learned_mean": mean([f.auc for f in folds]),
        "expert_mean": mean([f.expert_auc for f in folds]),
        "learned_pooled": r.cv_auc,
        "expert_pooled": r.expert_auc,
        "per_fold": [(f.auc, f.expert_auc) for f in r.folds],
        "kept_expert": getattr(r, "kept_expert", None),
        "better": r.better_than_expert,
        "seconds": round(seconds, 1),
    }


def _truth_aucs(ds, horizon: int, folds, truth_file: Path) -> list[float | None]:
    """Per fold, the AUC on its held-out rows of the churn probability the generator drew each account's outcome
    from (examples/generate_onboarding.py's CHURN by mechanism)."""
    import numpy as np
    from customer_health.tools.base import stats
    from customer_health.tools.health.fit import load_history

    churn = _load(ROOT / "examples" / "generate_onboarding.py", "generate_onboarding").CHURN
    truth = json.loads(truth_file.read_text())
    h = load_history(ds, horizon)[0]
    accounts = np.array([i.split("|")[0] for i in h.frame.index])
    # with several terms per account (the opt-in options) the truth lists each term's renewal and mechanism
    by_term = {(a, str(t[0])): t[1] for a, v in truth.items() for t in v.get("terms", [])}
    mechanism = [
        by_term.get((a, str(d)), truth.get(a, {}).get("mechanism"))
        for a, d in zip(accounts, h.decided, strict=True)
    ]
    if any(m not in churn for m in mechanism):  # another generator's truth (the example's): no probability
        return []
    p = np.array([churn[m] for m in mechanism])
    return [
        stats.auc(-p[t], h.y[t]) for t in ((h.days >= f.test_from) & (h.days <= f.test_to) for f in folds)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the example and 400 accounts only")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--fit", type=Path, help="a fit.py to measure instead of the working tree's")
    args = parser.parse_args(argv)
    from customer_health.tools.data.workspace import example_dir
    from customer_health.tools.health import fit as current

    fit_module = _load(args.fit, "customer_health.tools.health._fit_measured") if args.fit else current
    gen = _load(ROOT / "examples" / "generate_onboarding.py", "generate_onboarding")
    cases = [("example", example_dir(), 90)]
    with tempfile.TemporaryDirectory() as tmp:
        for n in (400,) if args.quick else (400, 1500):
            for seed in (7, 8):
                folder = gen.generate(Path(tmp) / f"onb-{n}-{seed}", n_accounts=n, seed=seed)
                cases += [(f"onboarding n={n} seed={seed}", folder, h) for h in (30, 90)]
        # relationship loss over two years of yearly renewals: a mechanism the expert weighs lightly
        for n, seed in ((400, 7),) if args.quick else ((400, 7), (400, 8), (1500, 7), (1500, 8)):
            folder = gen.generate(
                Path(tmp) / f"rel-{n}-{seed}", n_accounts=n, seed=seed, years=2, relationship=0.2
            )
            cases += [(f"relationship n={n} seed={seed}", folder, h) for h in (30, 90)]
        results = []
        for name, folder, horizon in cases:
            try:
                row = {"dataset": name, "horizon": horizon, **measure(folder, horizon, fit_module)}
            except Exception as exc:  # noqa: BLE001 — a dataset fit refuses is reported as such
                row = {"dataset": name, "horizon": horizon, "error": str(exc)[:120]}
            results.append(row)
            if not args.json:
                _print_row(row, first=len(results) == 1)
    if args.json:
        print(json.dumps(results, indent=1, default=str))
    return 0


def _print_row(row: dict, first: bool) -> None:
    if first:
        print(
            f"{'dataset':<30} {'h':>3} {'folds':>5} {'rows':>6} {'lost':>5} {'learned':>8} {'expert':>7} "
            f"{'pooled L':>8} {'pooled E':>8} {'truth':>6} {'L−E ± se':>13} {'kept':>5} {'secs':>5}  "
            "per fold (learned/expert)"
        )
    if "error" in row:
        print(f"{row['dataset']:<30} {row['horizon']:>3}  refused: {row['error']}")
        return
    per = " ".join(f"{a}/{b}" for a, b in row["per_fold"])
    margin = f"{row['diff']} ± {row['diff_se']}"
    print(
        f"{row['dataset']:<30} {row['horizon']:>3} {row['folds']:>5} {row['rows']:>6} {row['lost']:>5} "
        f"{row['learned_mean']!s:>8} {row['expert_mean']!s:>7} {row['learned_pooled']!s:>8} "
        f"{row['expert_pooled']!s:>8} {row['truth_mean']!s:>6} {margin:>13} "
        f"{row['kept_expert']!s:>5} {row['seconds']:>5}  {per}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
