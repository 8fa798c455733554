"""Learning a profile from the history: the driving metric's sign, held-out time, the YAML, too little history, no
leakage."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from customer_health.tools.base import stats
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health import fit
from customer_health.tools.health.profiles import load_profile
from customer_health.tools.health.score import score_accounts
from customer_health.tools.health.validation import validate_health_model

START = date(2025, 1, 1)


def write_support_churn(folder: Path, n: int = 260, seed: int = 3) -> Path:
    """A portfolio where losses are driven by support friction, not by usage: each account has a hidden friction
    f in [0, 1]; urgent tickets arrive at 0.3 + 3f a month, and the renewal (one per account, spread over a year
    from June 2025) is lost with probability sigmoid(−2.5 + 5f). Usage (logins and core reports) is independent."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"A{i:03d}" for i in range(n)]
    friction = rng.uniform(0, 1, n)
    lost = rng.uniform(0, 1, n) < stats.sigmoid(-2.5 + 5 * friction)
    renewal = [date(2025, 6, 1) + timedelta(days=int(d)) for d in rng.integers(0, 365, n)]
    seats = rng.integers(3, 8, n)
    pd.DataFrame(
        {"account_id": ids, "name": [f"Co {i}" for i in ids], "segment": "SMB", "seats_purchased": seats}
        | {"contract_start": START.isoformat()}
    ).to_csv(folder / "accounts.csv", index=False)
    users, events, tickets = [], [], []
    end = date(2026, 6, 30)
    for k, acct in enumerate(ids):
        last = min(end, renewal[k]) if lost[k] else end
        days = (last - START).days
        for u in range(int(seats[k])):
            uid = f"{acct}u{u}"
            users.append((uid, acct, "analyst"))
            rate = rng.uniform(0.1, 0.5)  # events per day, whatever the friction
            for d in np.flatnonzero(rng.uniform(0, 1, days) < rate):
                t = pd.Timestamp(START) + pd.Timedelta(days=int(d), hours=int(rng.integers(8, 18)))
                events.append((t.isoformat(), uid, "login"))
                if rng.uniform() < 0.6:
                    events.append(((t + pd.Timedelta(minutes=5)).isoformat(), uid, "build_report"))
        months = days / 30.44
        for _ in range(rng.poisson((0.3 + 3 * friction[k]) * months)):
            opened = pd.Timestamp(START) + pd.Timedelta(days=float(rng.uniform(0, days)))
            tickets.append(
                (
                    f"T{len(tickets)}",
                    acct,
                    opened.isoformat(),
                    (opened + pd.Timedelta(days=3)).isoformat(),
                    "urgent",
                )
            )
    pd.DataFrame(users, columns=["user_id", "account_id", "role"]).to_csv(folder / "users.csv", index=False)
    pd.DataFrame(events, columns=["timestamp", "user_id", "event"]).to_csv(folder / "events.csv", index=False)
    pd.DataFrame(
        tickets, columns=["ticket_id", "account_id", "created_at", "resolved_at", "priority"]
    ).to_csv(folder / "tickets.csv", index=False)
    pd.DataFrame(
        {
            "account_id": ids,
            "outcome": np.where(lost, "churned", "renewed"),
            "date": [r.isoformat() for r in renewal],
        }
    ).to_csv(folder / "outcomes.csv", index=False)
    (folder / "customer-health.yaml").write_text("core_features: [build_report]\npassive_events: [login]\n")
    return folder


@pytest.fixture(scope="module")
def support_churn(tmp_path_factory):
    root = tmp_path_factory.mktemp("fit")
    folder = write_support_churn(root / "data")
    ws = Workspace(root / "ws")
    ds = ws.dataset(ws.load([folder], roots=AllowedRoots([root.resolve()])))
    with pytest.MonkeyPatch.context() as mp:  # the learned profiles are written, and read back, under root
        mp.setenv("CUSTOMER_HEALTH_ALLOW", str(root))
        yield ds, root
    ws.close()


@pytest.fixture(scope="module")
def fitted(support_churn):
    ds, root = support_churn
    return fit.fit_health_profile(ds, out=root / "out" / "learned.yaml", allowed=[root / "out"])


def test_fit_finds_that_more_escalations_mean_more_losses(fitted):
    by_metric = {m.metric: m for m in fitted.metrics}
    assert "escalations_90d" in by_metric or "open_tickets" in by_metric
    driver = by_metric.get("escalations_90d") or by_metric["open_tickets"]
    assert driver.coefficient > 0 and driver.direction == "lower_is_better"
    assert fitted.metrics[0].metric == driver.metric  # the biggest weight


def test_of_two_strongly_correlated_metrics_one_is_kept_and_the_caveats_say_which(fitted):
    grouped = [d for d in fitted.dropped if d.kept_instead]
    assert (
        grouped
    )  # seats using a core feature and users per core feature move together with one core feature
    kept = {m.metric for m in fitted.metrics} | {d.kept_instead for d in grouped}
    assert all(d.metric not in {m.metric for m in fitted.metrics} for d in grouped)
    assert all(d.kept_instead in kept for d in grouped)
    assert any(f"{grouped[0].kept_instead} for {grouped[0].metric}" in c for c in fitted.caveats)


def test_fit_beats_the_expert_profile_on_held_out_later_time(fitted):
    assert len(fitted.folds) >= 3
    for fold in fitted.folds:  # trained only on renewals decided by the first tested as-of date
        assert fold.train_rows > 0 and fold.test_rows > 0
    # the early folds have too few renewals to depart from the expert; the last has enough, and ranks better
    first, last = fitted.folds[0], fitted.folds[-1]
    assert first.l2 is None and first.auc == first.expert_auc
    assert last.l2 is not None and last.auc > last.expert_auc + 0.05
    assert fitted.cv_auc_mean > fitted.expert_auc_mean
    assert fitted.better_than_expert and "better than enterprise" in fitted.summary


def test_the_written_profile_loads_and_scores_with_drivers_that_add_up(fitted, support_churn):
    ds, _ = support_churn
    path = Path(fitted.profile_path)
    assert path.read_text().startswith(fit.FILE_MARK)
    prof = load_profile(str(path))
    assert prof.onboarding is None
    assert sum(c.weight for c in prof.components.values()) == pytest.approx(100)
    assert prof.tiers.thriving > prof.tiers.healthy > prof.tiers.neutral > prof.tiers.at_risk > 0
    scores = score_accounts(ds, profile=prof)
    for acct in scores.accounts[:20]:
        assert sum(d.points for d in acct.drivers) == pytest.approx(acct.health_score, abs=0.6)


def test_tier_lines_sit_where_the_calibrated_probability_crosses_the_base_rate_multiples(fitted):
    probs = [t.churn_probability for t in fitted.tiers]
    rate = fitted.base_rate
    assert probs == pytest.approx(
        [min(0.5 * rate, 0.6), min(rate, 0.7), min(2 * rate, 0.8), min(3 * rate, 0.9)], abs=1e-3
    )
    lines = [t.lower_bound for t in fitted.tiers]
    assert lines == sorted(lines, reverse=True)


def test_the_fitted_model_minimises_its_penalised_log_loss_with_the_expert_score_free(support_churn):
    optimize = pytest.importorskip("scipy.optimize")
    ds, _ = support_churn
    h, *_ = fit.load_history(ds, 90)
    every = np.ones(len(h.y), dtype=bool)
    model = fit.learn(h, every)
    assert model.l2 is not None  # this history supports departures from the expert
    x, y = fit._design(h, model.spec, every), h.y.astype(float)

    def objective(beta):  # written out here: log-loss + l2/2 · ‖departures‖², intercept and expert score free
        z = beta[0] + x @ beta[1:]
        return np.sum(np.logaddexp(0, z) - y * z) + model.l2 / 2 * np.sum(beta[2:] ** 2)

    best = optimize.minimize(objective, np.zeros(x.shape[1] + 1), method="BFGS", options={"gtol": 1e-9})
    assert model.intercept == pytest.approx(best.x[0], abs=1e-3)
    assert model.coef == pytest.approx(best.x[1:], abs=1e-3)


def test_no_snapshot_is_taken_after_its_as_of_or_within_the_horizon(support_churn):
    ds, _ = support_churn
    plan, skipped, _ = fit.outcome_plan(ds, 90)
    snaps, frame = fit.snapshots(ds, plan, "churn_and_contraction", skipped)
    assert all((s.outcome_date - s.as_of).days >= 90 for s in snaps)
    assert all((s.as_of + timedelta(days=1)).day == 1 for s in snaps)  # month ends
    # the metrics of a snapshot are the account's metrics on its as-of date, whatever happened later
    first = snaps[0]
    later_data = fit.account_metrics(ds, first.as_of, None, everyone=True)
    row = frame.iloc[0]
    assert row["escalations_90d"] == later_data.loc[first.account_id, "escalations_90d"]


def test_too_little_history_is_refused_with_the_fallback(support_churn):
    ds, _ = support_churn
    few = pd.read_csv(_outcomes_path(support_churn)).head(20)
    with pytest.raises(InputError, match="too little history") as err:
        fit.fit_health_profile(ds, outcomes_path_frame=few)
    assert "expert preset" in err.value.message and "at least 30" in err.value.message


def test_the_profile_is_never_written_outside_the_allowed_folders_or_over_a_file(fitted, tmp_path):
    doc = fitted.profile
    with pytest.raises(InputError, match="outside"):
        fit.write_profile(doc, None, tmp_path / "p.yaml", [tmp_path / "elsewhere"])
    mine = tmp_path / "notes.yaml"
    mine.write_text("name: mine\n")
    with pytest.raises(InputError, match="not written by customer-health fit"):
        fit.write_profile(doc, None, mine, [tmp_path])
    assert mine.read_text() == "name: mine\n"
    written = fit.write_profile(doc, None, tmp_path / "again.yaml", [tmp_path])
    assert fit.write_profile(doc, None, written, [tmp_path]) == written  # its own file may be refreshed


def test_validate_sets_the_expert_the_learned_profile_and_logins_only_side_by_side(fitted, support_churn):
    ds, _ = support_churn
    learned = validate_health_model(ds, profile=fitted.profile_path)
    expert = validate_health_model(ds)
    kinds = {c.kind: c for c in learned.comparison}
    assert list(kinds) == ["expert", "learned", "baseline"]
    # the expert row is the expert profile's own backtest on the same renewals
    assert learned.n_accounts == expert.n_accounts
    assert kinds["expert"].auc == expert.auc and kinds["learned"].auc == learned.auc
    assert kinds["baseline"].auc == expert.baseline.auc
    # it ranks losses better here, in-sample, which the caveats say
    assert learned.recommended_profile == "learned"
    assert any("fitted on" in c for c in learned.caveats)
    assert [c.kind for c in expert.comparison] == [
        "expert",
        "baseline",
    ] and expert.recommended_profile is None


def test_the_fit_command_writes_under_the_working_directory_only(
    support_churn, tmp_path, monkeypatch, capsys
):
    from customer_health.server.cli.main import main

    _, root = support_churn
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CUSTOMER_HEALTH_ALLOW", str(root))
    assert main(["fit", str(root / "data"), "--out", "../elsewhere.yaml"]) == 2
    assert "outside the folders" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere.yaml").exists()
    assert main(["fit", str(root / "data"), "--out", "mine.yaml", "--format", "json"]) == 0
    assert '"profile_path"' in capsys.readouterr().out
    assert load_profile(str(work / "mine.yaml")).name == "learned"


def _outcomes_path(support_churn) -> Path:
    _, root = support_churn
    return root / "data" / "outcomes.csv"
