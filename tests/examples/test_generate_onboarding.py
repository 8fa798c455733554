"""The onboarding generator's opt-in relationship-loss portfolio does what its docstring says, and its default output
is unchanged (examples/generate_onboarding).

Every figure is recomputed here with pandas from the files written and the truth file beside them.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from customer_health.examples.generate_onboarding import CORE, generate
from customer_health.tools.data.workspace import AllowedRoots, Workspace

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    """Two years of yearly renewals with relationship loss: the files, and every decided term's truth."""
    folder = generate(
        tmp_path_factory.mktemp("rel") / "data", n_accounts=300, seed=5, years=2, relationship=0.2
    )
    truth = json.loads(folder.with_name("data-truth.json").read_text())
    terms = pd.DataFrame(
        [(a, *t) for a, v in truth.items() for t in v["terms"]],
        columns=["account_id", "renewal", "mechanism", "p", "churned"],
    )
    terms["renewal"] = pd.to_datetime(terms["renewal"])
    users = pd.read_csv(folder / "users.csv")
    events = pd.read_parquet(folder / "events.parquet")
    events["day"] = events["timestamp"].dt.tz_convert(None).dt.normalize()
    events = events.merge(users[["user_id", "is_champion", "is_exec_sponsor"]], on="user_id")
    tickets = pd.read_csv(folder / "tickets.csv", parse_dates=["created_at", "resolved_at"])
    return folder, terms[terms["renewal"] <= pd.Timestamp("2025-12-31")], events, tickets


def _count(events: pd.DataFrame, terms: pd.DataFrame, start: int, end: int) -> pd.Series:
    """Per term, the events in the days [renewal − start, renewal − end)."""
    merged = events.merge(terms[["account_id", "renewal"]].reset_index(), on="account_id")
    inside = (merged["day"] >= merged["renewal"] - start * DAY) & (
        merged["day"] < merged["renewal"] - end * DAY
    )
    return merged[inside].groupby("index").size().reindex(terms.index, fill_value=0)


def test_relationship_loss_silences_the_champion_before_the_renewal_and_steady_terms_keep_theirs(portfolio):
    _, terms, events, _ = portfolio
    champion = events[events["is_champion"]]
    silent = _count(champion, terms, 60, 0) == 0
    relationship, steady = terms["mechanism"] == "relationship", terms["mechanism"] == "steady"
    assert relationship.sum() >= 40 and steady.sum() >= 150
    # nine in ten relationship-loss champions go quiet at least 60 days before; a steady quiet spell is 20–45 days
    assert silent[relationship].mean() >= 0.75
    assert silent[steady].mean() <= 0.02


def test_the_other_users_keep_their_core_work_and_logins_while_the_champion_is_silent(portfolio):
    _, terms, events, _ = portfolio
    others = events[~events["is_champion"] & ~events["is_exec_sponsor"]]
    # each term's last 60 days against 90 days of the same term before any silence could start (in rates per day)
    seen = terms[terms["renewal"] - 330 * DAY >= events["day"].min()]
    rates = {}
    for kind, names in (("core", list(CORE)), ("logins", ["login"])):
        picked = others[others["event"].isin(names)]
        ratio = (_count(picked, seen, 60, 0) / 60) / (_count(picked, seen, 330, 240) / 90).replace(0, np.nan)
        by = ratio.groupby(seen["mechanism"]).median()
        rates[kind] = by["relationship"] / by["steady"]
    # the others pick up the champion's routine work (110% of their core actions) and log in as usual
    assert 0.9 <= rates["core"] <= 1.4 and 0.8 <= rates["logins"] <= 1.2, rates
    # while a declining account's core work falls well below a steady one's
    core = others[others["event"].isin(CORE)]
    ratio = (_count(core, seen, 60, 0) / 60) / (_count(core, seen, 330, 240) / 90).replace(0, np.nan)
    by = ratio.groupby(seen["mechanism"]).median()
    assert by["declining"] / by["steady"] < 0.5


def test_tickets_escalate_before_a_relationship_loss_renewal(portfolio):
    _, terms, _, tickets = portfolio
    merged = tickets.merge(terms[["account_id", "renewal"]].reset_index(), on="account_id")
    recent = (merged["created_at"] >= merged["renewal"] - 90 * DAY) & (
        merged["created_at"] < merged["renewal"]
    )
    escalated = (
        merged[recent & (merged["escalated"])].groupby("index").size().reindex(terms.index, fill_value=0)
    )
    by = escalated.groupby(terms["mechanism"]).mean()
    assert by["relationship"] >= 0.8 and by["relationship"] >= 8 * by["steady"], by.to_dict()


def test_churn_is_likely_but_not_certain_after_relationship_loss_and_renewals_spread_over_two_years(
    portfolio,
):
    folder, terms, _, _ = portfolio
    rate = terms.groupby("mechanism")["churned"].mean()
    assert 0.3 <= rate["relationship"] <= 0.7 and rate["steady"] <= 0.08
    outcomes = pd.read_csv(folder / "outcomes.csv", parse_dates=["date"])
    assert len(outcomes) == len(terms)
    assert outcomes["date"].dt.to_period("M").nunique() >= 20
    assert (
        outcomes.groupby("account_id").size() >= 2
    ).sum() >= 100  # established accounts renew more than once
    lost = outcomes[outcomes["outcome"] == "churned"].groupby("account_id").size()
    assert lost.max() == 1  # nobody churns twice, and a churn is the last outcome
    last = outcomes.sort_values("date").groupby("account_id").tail(1).set_index("account_id")["outcome"]
    assert set(lost.index) <= set(last[last == "churned"].index)


def test_the_loader_recognises_the_tickets_and_the_champion_and_sponsor_flags(portfolio, tmp_path):
    folder, *_ = portfolio
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([folder], roots=AllowedRoots([folder.parent.resolve()])))
        assert ds.has("tickets")
        assert {"is_champion", "is_exec_sponsor"} <= set(ds.columns("users"))
        assert {"escalated", "resolved_at"} <= set(ds.columns("tickets"))


# the default portfolio (60 accounts, seed 3) as it was written before the opt-in options existed
DEFAULT_DIGESTS = {
    "accounts.csv": "89578b0bd22244a4",
    "customer-health.yaml": "0211663fd28922b5",
    "outcomes.csv": "1d41238f987255b0",
    "users.csv": "62ae66c5cc925d7d",
    "events": "5f7aebe8d2945518",
    "truth": "6fab4de6b4baae49",
}


def _digests(folder) -> dict[str, str]:
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix != ".parquet"}
    files["events"] = pd.read_parquet(folder / "events.parquet").to_csv(index=False).encode()
    files["truth"] = folder.with_name(f"{folder.name}-truth.json").read_bytes()
    return {name: hashlib.sha256(data).hexdigest()[:16] for name, data in files.items()}


def test_the_default_output_is_unchanged_by_the_opt_in_options(tmp_path):
    folder = generate(tmp_path / "data", n_accounts=60, seed=3)
    assert not (folder / "tickets.csv").exists()
    assert "is_champion" not in pd.read_csv(folder / "users.csv").columns
    assert _digests(folder) == DEFAULT_DIGESTS
