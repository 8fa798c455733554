"""Does one scale for every tenure rank churners better? The default score against two baselines, by tenure.

For each dataset, `validate`'s backtest (default profile, default horizon, churn and contraction as the loss) gives
one row per decided renewal, scored at least `horizon` days before it. On those same rows this script reports the
AUC (P(a lost renewal scored below a kept one); 0.5 = chance) of

- `score`: the default health score;
- `logins`: validate's logins-only baseline (logins per seat in the 30 days before the as-of date, as a percentile);
- `activity`: events of any kind in the 30 days before the as-of date (computed here, straight from the events);

over every row ("all"), over new accounts (tenure under 90 days on the as-of date) and over established ones, with
the mean score of lost and kept new accounts. The score's AUC over all rows is recomputed here from the rows and
checked against the one validate reports.

Run it for the working tree and for an older commit (the old tree is put under a folder named customer_health, so
its code is imported instead of the working tree's):

    .venv/bin/python benchmarks/measure_tenure_scale.py
    mkdir -p /tmp/old/customer_health && git archive b443def | tar -x -C /tmp/old/customer_health
    PYTHONPATH=/tmp/old .venv/bin/python benchmarks/measure_tenure_scale.py

Datasets: the bundled example (examples/sample) and the stalled-onboarding portfolio of
examples/generate_onboarding.py (400 accounts; seeds 7 and 8 with user-level events and customer-health.yaml, and
seed 7 again with account-level events and nothing configured) and the same generator with two years of yearly
renewals and relationship loss (seeds 7 and 8: champions and sponsors go quiet and tickets escalate before a
renewal while the work goes on), generated into a temporary folder. `--json` prints the figures
as JSON. Takes two to four minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NEW_DAYS = 90


def _generator():
    """examples/generate_onboarding.py of the working tree, loaded by path (an old tree may not have it)."""
    spec = importlib.util.spec_from_file_location(
        "generate_onboarding", ROOT / "examples" / "generate_onboarding.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backtest_rows(folder: Path) -> dict:
    """validate's rows on `folder`, each with its tenure and the activity baseline, and validate's own figures."""
    from customer_health.tools.base import stats
    from customer_health.tools.base.sql import window
    from customer_health.tools.data.semantics import resolve_semantics
    from customer_health.tools.data.workspace import AllowedRoots, Workspace
    from customer_health.tools.health import validation
    from customer_health.tools.health.metrics import account_metrics

    validation.MAX_ROWS = 10**9  # every evaluated row, not only the riskiest fifty
    with tempfile.TemporaryDirectory() as home, Workspace(Path(home) / "ws") as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.resolve()])))
        v = validation.validate_health_model(ds)
        rows = v.accounts
        assert len(rows) == v.n_accounts, "validate returned fewer rows than it evaluated"
        tenure, activity = [], []
        for day in sorted({r.as_of for r in rows}):
            sem = resolve_semantics(ds, f"TIMESTAMP '{window(day, 1).end}'")
            metrics = account_metrics(ds, day, sem, everyone=True)  # the same memo validate filled
            counts = dict(
                ds.con.execute(
                    f"SELECT account_id, count(*) FROM {ds.view('events')} WHERE {window(day, 30).sql()} "
                    "AND account_id IS NOT NULL GROUP BY 1"
                ).fetchall()
            )
            for r in rows:
                if r.as_of == day:
                    tenure.append(
                        (r.account_id, day, float(metrics["tenure_days"].get(r.account_id, np.nan)))
                    )
                    activity.append((r.account_id, day, float(counts.get(r.account_id, 0))))
        ten = {(a, d): t for a, d, t in tenure}
        act = {(a, d): x for a, d, x in activity}
        out = {
            "account_id": np.array([r.account_id for r in rows]),
            "score": np.array([r.health_score for r in rows], dtype=float),
            "lost": np.array([r.lost for r in rows], dtype=bool),
            "tenure": np.array([ten[(r.account_id, r.as_of)] for r in rows], dtype=float),
            "activity": np.array([act[(r.account_id, r.as_of)] for r in rows], dtype=float),
            "validate_auc": v.auc,
            "logins_auc": v.baseline.auc if v.baseline else None,
        }
        recomputed = stats.auc(out["score"], out["lost"])
        assert recomputed is not None and abs(recomputed - v.auc) < 1e-3, (recomputed, v.auc)
        # the logins baseline per row is not returned by validate: recompute it the way validate does
        out["logins"] = _logins(ds, rows)
        logins_all = stats.auc(out["logins"], out["lost"]) if out["logins"] is not None else None
        if logins_all is not None and out["logins_auc"] is not None:
            assert abs(logins_all - out["logins_auc"]) < 1e-3, (logins_all, out["logins_auc"])
        return out


def _logins(ds, rows) -> np.ndarray | None:
    """Logins per seat in the 30 days to each as-of date as a percentile among every account the data names —
    validate's baseline, recomputed (checked against validate's AUC by the caller)."""
    import pandas as pd
    from customer_health.tools.base.sql import window
    from customer_health.tools.base.stats import percentile_in_group
    from customer_health.tools.data.semantics import resolve_semantics
    from customer_health.tools.health.metrics import account_metrics

    out = []
    cache = {}
    for r in rows:
        if r.as_of not in cache:
            sem = resolve_semantics(ds, f"TIMESTAMP '{window(r.as_of, 1).end}'")
            passive = sem.passive_events
            if not passive:
                return None
            metrics = account_metrics(ds, r.as_of, sem, everyone=True)
            counts = dict(
                ds.con.execute(
                    f"SELECT account_id, count(*) FROM {ds.view('events')} WHERE event IN "
                    f"({', '.join('?' * len(passive))}) AND {window(r.as_of, 30).sql()} "
                    "AND account_id IS NOT NULL GROUP BY 1",
                    passive,
                ).fetchall()
            )
            logins = pd.Series(counts, dtype=float).reindex(metrics.index).fillna(0.0)
            seats = _seats(ds, r.as_of)
            if seats is not None:
                logins = logins / seats.reindex(metrics.index)
            pct = percentile_in_group(logins, pd.Series(0, index=metrics.index)) * 100
            cache[r.as_of] = pct.fillna(50.0)
        out.append(float(cache[r.as_of].get(r.account_id, 50.0)))
    return np.array(out, dtype=float)


def _seats(ds, day):
    from customer_health.tools.data.accounts import account_has, account_source_sql

    if not account_has(ds, "seats_purchased"):
        return None
    frame = ds.con.execute(account_source_sql(ds, ("seats_purchased",), day, everyone=True)).df()
    seats = frame.set_index(frame["account_id"].astype(str))["seats_purchased"].astype(float)
    return seats.where(seats > 0)


def figures(rows: dict) -> dict:
    """AUC of score, logins and activity over all rows, new accounts and established ones; mean new scores."""
    from customer_health.tools.base import stats

    lost, tenure = rows["lost"], rows["tenure"]
    groups = {"all": np.ones(len(lost), bool), "new": tenure < NEW_DAYS, "established": tenure >= NEW_DAYS}
    out: dict = {}
    for group, mask in groups.items():
        entry = {"rows": int(mask.sum()), "lost": int(lost[mask].sum())}
        entry["mean_score"] = round(float(rows["score"][mask].mean()), 1) if mask.any() else None
        for name in ("score", "logins", "activity"):
            values = rows[name]
            auc = None if values is None else stats.auc(values[mask], lost[mask])
            entry[name] = None if auc is None else round(float(auc), 3)
        out[group] = entry
    new = groups["new"]
    for label, which in (("new_lost_mean", lost), ("new_kept_mean", ~lost)):
        pick = new & which
        out[label] = round(float(rows["score"][pick].mean()), 1) if pick.any() else None
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    from customer_health.tools.health import profiles

    tree = str(Path(profiles.__file__).resolve().parents[2])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {"example": ROOT / "examples" / "sample"}
        gen = _generator()
        for seed in (7, 8):
            folders[f"onboarding s{seed}"] = gen.generate(Path(tmp) / f"onb{seed}", seed=seed)
        # the same portfolio as many exports give it: events without users, nothing configured (all inferred)
        folders["onboarding s7 acct"] = gen.generate(
            Path(tmp) / "onb7-account", seed=7, account_level=True, configured=False
        )
        # a third mechanism the expert weighs lightly: relationship loss, over two years of yearly renewals
        for seed in (7, 8):
            folders[f"relationship s{seed}"] = gen.generate(
                Path(tmp) / f"rel{seed}", seed=seed, years=2, relationship=0.2
            )
        for name, folder in folders.items():
            results[name] = figures(backtest_rows(folder))
    if args.json:
        print(json.dumps({"tree": tree, "results": results}, indent=2))
        return
    print(f"code: {tree}")
    head = f"{'dataset':<20} {'group':<12} {'rows':>5} {'lost':>5} {'score':>6} {'logins':>7} {'activity':>8}"
    print(head)
    print("-" * len(head))
    for name, fig in results.items():
        for group in ("all", "new", "established"):
            e = fig[group]
            cells = [f"{e[k]:.3f}" if e[k] is not None else "n/a" for k in ("score", "logins", "activity")]
            print(
                f"{name:<20} {group:<12} {e['rows']:>5} {e['lost']:>5} {cells[0]:>6} {cells[1]:>7} {cells[2]:>8}"
            )
        print(
            f"{'':<20} mean score of new accounts: lost {fig['new_lost_mean']}, kept {fig['new_kept_mean']}"
        )


if __name__ == "__main__":
    sys.exit(main())
