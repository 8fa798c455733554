"""Seeded synthetic portfolio whose churn is driven by stalled onboarding — a second churn mechanism for backtests.

Run ``python examples/generate_onboarding.py --out DIR [--seed N]`` or call :func:`generate`. One year of data
(2025) for about 400 accounts, written in a second or two:

- established accounts (signed one to three years before the data starts) renew once a year; a fifth of them
  let their core work decline over the months before the renewal while their logins hold up better, and those
  churn a little under half the time (the rest about one in thirty);
- new accounts sign during the year on an initial term of 4½–6 months. Two in five stall: they never reach the
  activation milestone (a first shared report) in their first weeks and make few core actions, while still
  logging in and reading the help. Stalled accounts churn at the end of the term about two times in three,
  the others about one in seven, so new accounts churn about three times as often as established ones (0.35
  against 0.11 in expectation).

Files: accounts.csv (contract_start, renewal_date, seats, ARR, churned, churn_date), users.csv, events.parquet
(user-level), outcomes.csv (renewed/churned with dates, for `validate`) and customer-health.yaml (core features,
passive events, activation). The hidden truth (each account's mechanism and whether it stalled) goes to
``<out_dir>-truth.json`` beside the folder; no score reads it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

START, DAYS = np.datetime64("2025-01-01"), 365
CORE = ("import_data", "build_report", "share_report", "create_dashboard")
PASSIVE = ("login", "page_view", "view_help")
EVENTS = CORE + PASSIVE
ACTIVATION = "share_report"
# events per active user-day at full engagement: core, then passive
RATE = np.array([0.12, 0.2, 0.08, 0.05, 0.35, 0.5, 0.03]) * 0.45
SEGMENTS, SEGMENT_MIX = ("SMB", "Mid-Market"), (0.7, 0.3)
SEATS = {"SMB": (4, 15), "Mid-Market": (12, 40)}
ARR_PER_SEAT = (600, 1500)
NEW_SHARE, STALL_SHARE, DECLINE_SHARE = 0.45, 0.4, 0.2
CHURN = {"stalled": 0.65, "onboarded": 0.15, "declining": 0.45, "steady": 0.03}
CONFIG = """core_features: [import_data, build_report, share_report, create_dashboard]
passive_events: [login, page_view, view_help]
activation: share_report
"""


def generate(
    out_dir: str | Path,
    *,
    n_accounts: int = 400,
    seed: int = 7,
    account_level: bool = False,
    configured: bool = True,
) -> Path:
    """Write the portfolio to `out_dir` (created) and return it. `account_level`: the events name no user and there
    is no users table (as in many billing and analytics exports); `configured`: write customer-health.yaml (without
    it the core features and the activation milestone are left for the tool to infer)."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    acc = _accounts(rng, n_accounts)
    users = _users(rng, acc)
    events = _events(rng, acc, users)
    _write(out, acc, users, events, account_level=account_level, configured=configured)
    return out


def _accounts(rng: np.random.Generator, n: int) -> pd.DataFrame:
    new = rng.random(n) < NEW_SHARE
    segment = rng.choice(SEGMENTS, size=n, p=SEGMENT_MIX)
    lo = np.array([SEATS[s][0] for s in segment])
    hi = np.array([SEATS[s][1] for s in segment])
    seats = rng.integers(lo, hi + 1)
    # established: the renewal falls 150–364 days into the data, one to three years after the contract start
    renewal_est = rng.integers(150, DAYS)
    start_est = renewal_est - 365 * rng.integers(1, 4, size=n)
    # new: signs 20–190 days into the data on an initial term of 135–180 days
    start_new = rng.integers(20, 191, size=n)
    renewal_new = start_new + rng.integers(135, 181, size=n)
    start = np.where(new, start_new, start_est)
    renewal = np.where(new, renewal_new, renewal_est)
    stalled = new & (rng.random(n) < STALL_SHARE)
    declining = ~new & (rng.random(n) < DECLINE_SHARE)
    mechanism = np.select([stalled, new, declining], ["stalled", "onboarded", "declining"], "steady")
    churn_p = np.array([CHURN[m] for m in mechanism])
    decided = renewal < DAYS  # a renewal after the data is not decided yet
    churned = decided & (rng.random(n) < churn_p)
    # stalled accounts that are kept do get going, late; onboarded ones activate within days
    activation = np.where(
        stalled,
        np.where(churned, 10**6, rng.integers(60, 120, size=n)),
        np.minimum(rng.geometric(1 / 6, size=n), 30),
    )
    return pd.DataFrame(
        {
            "account_id": [f"ONB-{i + 1:04d}" for i in range(n)],
            "name": [f"Onboarding Co {i + 1}" for i in range(n)],
            "segment": segment,
            "seats_purchased": seats,
            "arr": (seats * rng.integers(*ARR_PER_SEAT, size=n)).round(-2),
            "start": start,
            "renewal": renewal,
            "new": new,
            "mechanism": mechanism,
            "churned": churned,
            "activation": activation,
            "engagement": rng.uniform(0.6, 1.2, size=n),
            "decline_days": rng.integers(90, 200, size=n),
        }
    )


def _users(rng: np.random.Generator, acc: pd.DataFrame) -> pd.DataFrame:
    """The people of each account: about half the seats, joining over the first month for a new account."""
    active = np.maximum(1, np.round(acc["seats_purchased"] * rng.uniform(0.35, 0.7, size=len(acc)))).astype(
        int
    )
    owner = np.repeat(np.arange(len(acc)), active)
    first = np.r_[0, np.cumsum(active)[:-1]]
    rank = np.arange(len(owner)) - np.repeat(first, active)
    joined = acc["start"].to_numpy()[owner] + np.where(rank == 0, 0, rng.integers(0, 30, size=len(owner)))
    return pd.DataFrame(
        {
            "user_id": [f"ONB-U{i + 1:05d}" for i in range(len(owner))],
            "account": owner,
            "account_id": acc["account_id"].to_numpy()[owner],
            "role": np.where(
                rank == 0, "admin", rng.choice(["analyst", "operator", "manager"], size=len(owner))
            ),
            "joined": joined,
        }
    )


def _intensity(acc: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(core, passive) engagement per account and day of the data, 0 before the start and after a churn."""
    day = np.arange(DAYS)[None, :]
    start = acc["start"].to_numpy()[:, None]
    renewal = acc["renewal"].to_numpy()[:, None]
    age = day - start
    base = acc["engagement"].to_numpy()[:, None]
    live = (age >= 0) & ~(acc["churned"].to_numpy()[:, None] & (day >= renewal))
    core = np.broadcast_to(base, live.shape).astype(float).copy()
    passive = core.copy()
    # new accounts: core work starts once activated (a trickle of imports before); stalled ones browse the help
    act = acc["activation"].to_numpy()[:, None]
    new = acc["new"].to_numpy()[:, None]
    ramp = np.clip((age - act) / 21 + 0.3, 0.3, 1.0)
    core = np.where(new, np.where(age >= act, core * ramp, core * 0.08), core)
    passive = np.where(new & (age < act), passive * 0.85, passive)
    # declining established accounts: core work falls to 15% over the months before the renewal, logins to 70%
    declining = (acc["mechanism"] == "declining").to_numpy()[:, None]
    onset = renewal - acc["decline_days"].to_numpy()[:, None] - 30
    fall = np.clip((day - onset) / acc["decline_days"].to_numpy()[:, None], 0, 1)
    core = np.where(declining, core * (1 - 0.85 * fall), core)
    passive = np.where(declining, passive * (1 - 0.3 * fall), passive)
    return np.where(live, core, 0.0), np.where(live, passive, 0.0)


def _events(rng: np.random.Generator, acc: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    core, passive = _intensity(acc)
    who = users["account"].to_numpy()
    joined = users["joined"].to_numpy()[:, None]
    present = np.arange(DAYS)[None, :] >= joined  # user × day
    weekday = ((START + np.arange(DAYS)).astype("datetime64[D]").view("int64") + 3) % 7 < 5
    workday = np.where(weekday, 1.0, 0.15)[None, :]
    frames = []
    activation_type = EVENTS.index(ACTIVATION)
    for k, name in enumerate(EVENTS):
        level = core if name in CORE else passive
        lam = RATE[k] * level[who] * present * workday
        if k == EVENTS.index("view_help"):  # a stalled onboarding reads the help
            stuck = (acc["new"].to_numpy() & (acc["activation"].to_numpy() > 30))[who][:, None]
            lam = np.where(stuck, lam * 4, lam)
        counts = rng.poisson(lam)
        u, d = np.nonzero(counts)
        reps = counts[u, d]
        u, d = np.repeat(u, reps), np.repeat(d, reps)
        if k == activation_type:  # nobody shares a report before the account's activation day
            ok = d - acc["start"].to_numpy()[who[u]] >= acc["activation"].to_numpy()[who[u]]
            u, d = u[ok], d[ok]
        seconds = rng.integers(7 * 3600, 19 * 3600, size=len(u))
        frames.append(pd.DataFrame({"u": u, "d": d, "s": seconds, "event": name}))
    ev = pd.concat(frames, ignore_index=True)
    # the activation milestone itself: a first shared report on the activation day, for accounts that reach it
    first = acc.index[(acc["activation"] < 10**6).to_numpy()]
    day = acc.loc[first, "start"].to_numpy() + acc.loc[first, "activation"].to_numpy()
    keep = (
        (day >= 0)
        & (day < DAYS)
        & ~(acc.loc[first, "churned"].to_numpy() & (day >= acc.loc[first, "renewal"]))
    )
    admins = users.groupby("account").head(1).set_index("account")["user_id"]
    lead = pd.Series(np.arange(len(users)), index=users["user_id"])
    extra = pd.DataFrame(
        {
            "u": lead[admins.loc[first[keep]].to_numpy()].to_numpy(),
            "d": day[keep],
            "s": 12 * 3600,
            "event": ACTIVATION,
        }
    )
    ev = pd.concat([ev, extra], ignore_index=True)
    stamp = (START + ev["d"].to_numpy().astype("timedelta64[D]")).astype("datetime64[s]") + ev[
        "s"
    ].to_numpy().astype("timedelta64[s]")
    out = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(stamp).tz_localize("UTC"),
            "user_id": users["user_id"].to_numpy()[ev["u"]],
            "account_id": users["account_id"].to_numpy()[ev["u"]],
            "event": ev["event"].to_numpy(),
        }
    )
    return out.sort_values(["timestamp", "user_id"], kind="stable").reset_index(drop=True)


def _write(
    out: Path,
    acc: pd.DataFrame,
    users: pd.DataFrame,
    events: pd.DataFrame,
    *,
    account_level: bool,
    configured: bool,
) -> None:
    day = lambda d: (START + np.asarray(d).astype("timedelta64[D]")).astype(str)  # noqa: E731
    decided = acc["renewal"] < DAYS
    # the renewal date known at the end of the data: a kept account's next anniversary, a churned one's last
    next_renewal = np.where(decided & ~acc["churned"], acc["renewal"] + 365, acc["renewal"])
    pd.DataFrame(
        {
            "account_id": acc["account_id"],
            "name": acc["name"],
            "segment": acc["segment"],
            "arr": acc["arr"].astype(int),
            "seats_purchased": acc["seats_purchased"],
            "contract_start": day(acc["start"]),
            "renewal_date": day(next_renewal),
            "churned": np.where(acc["churned"], "true", "false"),
            "churn_date": np.where(acc["churned"], day(acc["renewal"]), ""),
        }
    ).to_csv(out / "accounts.csv", index=False)
    if account_level:
        events = events.drop(columns="user_id")
    else:
        pd.DataFrame(
            {
                "user_id": users["user_id"],
                "account_id": users["account_id"],
                "role": users["role"],
                "created_at": day(users["joined"]),
            }
        ).to_csv(out / "users.csv", index=False)
    pq.write_table(pa.Table.from_pandas(events, preserve_index=False), out / "events.parquet")
    outcomes = acc[decided]
    pd.DataFrame(
        {
            "account_id": outcomes["account_id"],
            "outcome": np.where(outcomes["churned"], "churned", "renewed"),
            "date": day(outcomes["renewal"]),
        }
    ).sort_values(["date", "account_id"]).to_csv(out / "outcomes.csv", index=False)
    if configured:
        (out / "customer-health.yaml").write_text(CONFIG)
    truth = {
        a: {"mechanism": m, "new": bool(n), "churned": bool(c)}
        for a, m, n, c in acc[["account_id", "mechanism", "new", "churned"]].itertuples(index=False)
    }
    out.with_name(f"{out.name}-truth.json").write_text(json.dumps(truth, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument(
        "--account-level", action="store_true", help="events without user ids, no users table"
    )
    parser.add_argument(
        "--unconfigured", action="store_true", help="no customer-health.yaml: semantics inferred"
    )
    args = parser.parse_args(argv)
    path = generate(
        args.out,
        n_accounts=args.accounts,
        seed=args.seed,
        account_level=args.account_level,
        configured=not args.unconfigured,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
