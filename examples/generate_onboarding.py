"""Seeded synthetic portfolio whose churn is driven by stalled onboarding — a second churn mechanism for backtests.

Run ``python examples/generate_onboarding.py --out DIR [--seed N]`` or call :func:`generate`. One year of data
(2025) for about 400 accounts, written in a second or two:

- established accounts (signed one to three years before the data starts) renew once a year, all on the same
  day of the year (one day drawn for the portfolio, so their outcomes share one as-of date); a fifth of them
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

Two opt-in options (the defaults write exactly the files above):

- ``years=N`` (``--years N``): N years of data ending on the same last day (2025-12-31), so established accounts
  renew once a year several times, each on a day of its own in its first year (with either option the established
  accounts' renewal days are spread: 150–364 days into a one-year history), and outcomes spread over the history — enough decided renewals at
  different dates for several time folds. New accounts sign throughout; after their first term they renew yearly
  like established ones. Every later term draws its own mechanism (declining, relationship loss when enabled,
  else steady) and its own outcome; a kept account recovers after its renewal (with one year of data a kept
  declining account stays where it fell, as before).
- ``relationship=SHARE`` (``--relationship-loss [SHARE]``, 0.2 when given without a value): a third mechanism
  for established terms, relationship loss. The account's champion (its admin, who does about twice a
  colleague and a half's work) goes silent 60–180 days before the renewal — nine times in ten — and the executive sponsor
  (a light user who mostly logs in) goes quiet too, seven times in ten; support tickets arrive four times as
  often from three weeks before the silence, a third of them escalated, and take about ten days to resolve (so
  they stay open). The other users keep logging in as usual and pick up the champion's routine work (110% of
  their usual core actions), so the account's totals barely move. Accounts' usual engagement varies more than
  in the default data (0.35–1.4 of full, against 0.6–1.2): light users renew too. It churns about half the time. For realism the signal is
  not clean: one steady term in seven has a champion quiet spell of 20–45 days (holidays, a role change), and
  one in ten a support incident (a month of three times the tickets, a fifth of them escalated). users.csv
  gains is_champion and is_exec_sponsor (one executive sponsor per account, an extra user) and tickets.csv is
  written (ticket_id, account_id, created_at, resolved_at, priority, status, escalated). The expert profile sees
  this mechanism only through its champion, sponsor and support metrics (together under a fifth of the score).
  The truth file then lists every term: ``terms: [[renewal date, mechanism, churn probability, churned], …]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

END = np.datetime64("2026-01-01")  # the day after the data's last day, whatever its length
START, DAYS = END - 365, 365  # the default: one year
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
CHURN = {"stalled": 0.65, "onboarded": 0.15, "declining": 0.45, "steady": 0.03, "relationship": 0.5}
# relationship loss (opt-in): how the champion, the sponsor and the tickets behave
CHAMPION_RATE = 1.5  # the champion's events, in colleagues' units
SPONSOR_RATE = (0.1, 0.3)  # the executive sponsor's core and passive events, in colleagues' units
CHAMPION_SILENT, SPONSOR_QUIET = 0.9, 0.7  # shares of relationship-loss terms where each goes quiet
SILENT_DAYS = (60, 181)  # …for this many days before the renewal
OTHERS_CORE = 1.1  # the other users' core work meanwhile: they pick up the champion's routine work
QUIET_SPELL, QUIET_DAYS = 1 / 7, (20, 46)  # steady terms with a champion's quiet spell, and its length
INCIDENT, INCIDENT_DAYS = 0.1, 30  # steady terms with a support incident, and its length
ENGAGEMENT = (0.35, 1.4)  # with relationship loss: accounts' usual engagement (light-use customers stay too)
TICKETS_PER_MONTH = (0.15, 0.02)  # per account, plus per seat
TICKET_BURST = {"relationship": (4.0, 0.35, 10.0), "incident": (3.0, 0.2, 2.0), "normal": (1.0, 0.04, 1.25)}
LEAD_DAYS = 21  # tickets start piling up this long before the champion goes silent
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
    years: int = 1,
    relationship: float = 0.0,
) -> Path:
    """Write the portfolio to `out_dir` (created) and return it. `account_level`: the events name no user and there
    is no users table (as in many billing and analytics exports); `configured`: write customer-health.yaml (without
    it the core features and the activation milestone are left for the tool to infer); `years`: length of the data;
    `relationship`: share of established terms that end in relationship loss (0: the mechanism is off)."""
    if years < 1 or not 0 <= relationship <= 1 - DECLINE_SHARE:
        raise ValueError(f"years must be at least 1 and relationship in [0, {1 - DECLINE_SHARE}]")
    rng = np.random.default_rng(seed)
    # every draw of the opt-in options comes from a second stream, so the default draws stay as they were
    extra = np.random.default_rng([seed, 1])
    days = DAYS * years
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    acc = _accounts(rng, extra, n_accounts, days, relationship, spread=years > 1 or relationship > 0)
    terms = _terms(extra, acc, days, years, relationship)
    users = _users(rng, extra, acc, relationship > 0)
    people = _people(extra, users, terms, days, recover=years > 1) if relationship > 0 else None
    events = _events(rng, acc, users, terms, days, people, recover=years > 1)
    tickets = _tickets(extra, acc, terms, days) if relationship > 0 else None
    _write(out, acc, users, events, terms, tickets, days, account_level=account_level, configured=configured)
    return out


def _accounts(
    rng: np.random.Generator, extra: np.random.Generator, n: int, days: int, relationship: float, spread: bool
) -> pd.DataFrame:
    """One row per account; its first term (renewal, mechanism, outcome) — later ones come from `_terms`.
    `spread`: established accounts renew on days of their own (else all on one day drawn for the portfolio)."""
    new = rng.random(n) < NEW_SHARE
    segment = rng.choice(SEGMENTS, size=n, p=SEGMENT_MIX)
    lo = np.array([SEATS[s][0] for s in segment])
    hi = np.array([SEATS[s][1] for s in segment])
    seats = rng.integers(lo, hi + 1)
    first = days - DAYS  # the days before the data's last year (0 for one year)
    # established: the first renewal falls 150–364 days into the data, one to three years after the contract start
    renewal_est = rng.integers(150, DAYS)  # one day for all of them (as the default data has always had it)
    if spread:  # the opt-in options: each its own day, over the whole first year when there are several
        renewal_est = extra.integers(30 if days > DAYS else 150, DAYS, size=n)
    start_est = renewal_est - 365 * rng.integers(1, 4, size=n)
    # new: signs 20–190 days into the data (or into any year of it) on an initial term of 135–180 days
    start_new = rng.integers(20, 191 + first, size=n)
    renewal_new = start_new + rng.integers(135, 181, size=n)
    start = np.where(new, start_new, start_est)
    renewal = np.where(new, renewal_new, renewal_est)
    stalled = new & (rng.random(n) < STALL_SHARE)
    declining = ~new & (rng.random(n) < DECLINE_SHARE)
    mechanism = np.select([stalled, new, declining], ["stalled", "onboarded", "declining"], "steady")
    if relationship:
        lost_touch = (mechanism == "steady") & (extra.random(n) < relationship / (1 - DECLINE_SHARE))
        mechanism = np.where(lost_touch, "relationship", mechanism)
    churn_p = np.array([CHURN[m] for m in mechanism])
    decided = renewal < days  # a renewal after the data is not decided yet
    churned = decided & (rng.random(n) < churn_p)
    # stalled accounts that are kept do get going, late; onboarded ones activate within days
    activation = np.where(
        stalled,
        np.where(churned, 10**6, rng.integers(60, 120, size=n)),
        np.minimum(rng.geometric(1 / 6, size=n), 30),
    )
    arr = (seats * rng.integers(*ARR_PER_SEAT, size=n)).round(-2)
    engagement = rng.uniform(0.6, 1.2, size=n)
    if relationship:  # B2B usage varies several-fold between loyal accounts: light users renew too
        engagement = extra.uniform(*ENGAGEMENT, size=n)
    return pd.DataFrame(
        {
            "account_id": [f"ONB-{i + 1:04d}" for i in range(n)],
            "name": [f"Onboarding Co {i + 1}" for i in range(n)],
            "segment": segment,
            "seats_purchased": seats,
            "arr": arr,
            "start": start,
            "renewal": renewal,
            "new": new,
            "mechanism": mechanism,
            "churned": churned,
            "activation": activation,
            "engagement": engagement,
            "decline_days": rng.integers(90, 200, size=n),
        }
    )


def _terms(extra: np.random.Generator, acc: pd.DataFrame, days: int, years: int, relationship: float):
    """Every contract term up to the first one that churns or outlasts the data: the account (its row number),
    the renewal day that ends it, its mechanism and outcome, and the days its decline or silence lasts. The first
    term is the account's; a later one (only with several years) draws its own mechanism and outcome."""
    n = len(acc)
    rows = [
        pd.DataFrame(
            {
                "account": np.arange(n),
                "end": acc["renewal"].to_numpy(),
                "mechanism": acc["mechanism"].to_numpy(),
                "churned": acc["churned"].to_numpy(),
                "decline_days": acc["decline_days"].to_numpy(),
            }
        )
    ]
    last = rows[0]
    while years > 1:
        go = last[(last["end"] < days) & ~last["churned"]]
        if go.empty:
            break
        m = len(go)
        draw = extra.random(m)
        mechanism = np.select(
            [draw < DECLINE_SHARE, draw < DECLINE_SHARE + relationship],
            ["declining", "relationship"],
            "steady",
        )
        end = go["end"].to_numpy() + 365
        p = np.array([CHURN[x] for x in mechanism])
        last = pd.DataFrame(
            {
                "account": go["account"].to_numpy(),
                "end": end,
                "mechanism": mechanism,
                "churned": (end < days) & (extra.random(m) < p),
                "decline_days": extra.integers(90, 200, size=m),
            }
        )
        rows.append(last)
    terms = pd.concat(rows, ignore_index=True)
    terms["k"] = terms.groupby("account").cumcount()
    terms["silent_days"] = extra.integers(*SILENT_DAYS, size=len(terms)) if relationship else 0
    return terms


def _users(rng: np.random.Generator, extra: np.random.Generator, acc: pd.DataFrame, sponsors: bool):
    """The people of each account: about half the seats, joining over the first month for a new account (with
    `sponsors`, one executive sponsor more, joining in the first fortnight)."""
    active = np.maximum(1, np.round(acc["seats_purchased"] * rng.uniform(0.35, 0.7, size=len(acc)))).astype(
        int
    )
    owner = np.repeat(np.arange(len(acc)), active)
    first = np.r_[0, np.cumsum(active)[:-1]]
    rank = np.arange(len(owner)) - np.repeat(first, active)
    joined = acc["start"].to_numpy()[owner] + np.where(rank == 0, 0, rng.integers(0, 30, size=len(owner)))
    role = np.where(rank == 0, "admin", rng.choice(["analyst", "operator", "manager"], size=len(owner)))
    if sponsors:
        owner = np.r_[owner, np.arange(len(acc))]
        rank = np.r_[rank, np.full(len(acc), -1)]  # -1: the sponsor
        joined = np.r_[joined, acc["start"].to_numpy() + extra.integers(0, 15, size=len(acc))]
        role = np.r_[role, np.full(len(acc), "executive")]
    return pd.DataFrame(
        {
            "user_id": [f"ONB-U{i + 1:05d}" for i in range(len(owner))],
            "account": owner,
            "account_id": acc["account_id"].to_numpy()[owner],
            "role": role,
            "joined": joined,
            "champion": rank == 0,
            "sponsor": rank == -1,
        }
    )


def _term_days(terms: pd.DataFrame, account: np.ndarray, days: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, end): for every (row of `account`) × day, the index of the term the day falls in (the first term whose
    renewal is on or after it; the last term past its end) and that term's renewal day."""
    ends = terms.pivot(index="account", columns="k", values="end").reindex(range(account.max() + 1))
    ends = ends.to_numpy(dtype=float)[account]  # row × term, NaN past the account's last term
    day = np.arange(days)
    k = (day[None, None, :] > np.nan_to_num(ends, nan=np.inf)[:, :, None]).sum(axis=1)
    k = np.minimum(k, np.isfinite(ends).sum(axis=1)[:, None] - 1)
    return k, np.take_along_axis(ends, k, axis=1)


def _term_field(terms: pd.DataFrame, field: str, account: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A term's field for every (row of `account`) × day, given each day's term index `k`."""
    table = terms.pivot(index="account", columns="k", values=field).reindex(range(account.max() + 1))
    return np.take_along_axis(table.to_numpy()[account], k, axis=1)


def _intensity(acc: pd.DataFrame, terms: pd.DataFrame, days: int, recover: bool):
    """(core, passive) engagement per account and day of the data, 0 before the start and after a churn."""
    day = np.arange(days)[None, :]
    start = acc["start"].to_numpy()[:, None]
    renewal = acc["renewal"].to_numpy()[:, None]
    age = day - start
    base = acc["engagement"].to_numpy()[:, None]
    live = (age >= 0) & (day < _churn_day(acc, terms)[:, None])
    core = np.broadcast_to(base, live.shape).astype(float).copy()
    passive = core.copy()
    # new accounts: core work starts once activated (a trickle of imports before); stalled ones browse the help
    act = acc["activation"].to_numpy()[:, None]
    new = acc["new"].to_numpy()[:, None]
    ramp = np.clip((age - act) / 21 + 0.3, 0.3, 1.0)
    core = np.where(new, np.where(age >= act, core * ramp, core * 0.08), core)
    passive = np.where(new & (age < act), passive * 0.85, passive)
    # declining terms: core work falls to 15% over the months before the renewal, logins to 70%
    if recover:  # several years: each day belongs to its term, and a kept account recovers after the renewal
        k, renewal = _term_days(terms, np.arange(len(acc)), days)
        declining = _term_field(terms, "mechanism", np.arange(len(acc)), k) == "declining"
        length = _term_field(terms, "decline_days", np.arange(len(acc)), k).astype(float)
    else:  # one year: the first term's decline, kept after a renewal
        declining = (acc["mechanism"] == "declining").to_numpy()[:, None]
        length = acc["decline_days"].to_numpy()[:, None]
    onset = renewal - length - 30
    fall = np.clip((day - onset) / length, 0, 1)
    core = np.where(declining, core * (1 - 0.85 * fall), core)
    passive = np.where(declining, passive * (1 - 0.3 * fall), passive)
    return np.where(live, core, 0.0), np.where(live, passive, 0.0)


def _churn_day(acc: pd.DataFrame, terms: pd.DataFrame) -> np.ndarray:
    """The day each account leaves (its churned term's renewal), or a day after any data."""
    out = np.full(len(acc), 10**9)
    lost = terms[terms["churned"]]
    out[lost["account"].to_numpy()] = lost["end"].to_numpy()
    return out


def _people(extra: np.random.Generator, users: pd.DataFrame, terms: pd.DataFrame, days: int, recover: bool):
    """(core, passive) multipliers per user × day: the champion works half as much again as a colleague and the
    sponsor mostly logs in; in a relationship-loss term both go quiet before the renewal while the others pick up
    the champion's routine work, and in one steady term in seven the champion takes a quiet spell."""
    who = users["account"].to_numpy()
    champion = users["champion"].to_numpy()[:, None]
    sponsor = users["sponsor"].to_numpy()[:, None]
    core = np.where(champion, CHAMPION_RATE, np.where(sponsor, SPONSOR_RATE[0], 1.0)) * np.ones((1, days))
    passive = np.where(champion, CHAMPION_RATE, np.where(sponsor, SPONSOR_RATE[1], 1.0)) * np.ones((1, days))
    t = len(terms)
    silent = terms["mechanism"].eq("relationship").to_numpy()
    quiet = ~silent & terms["mechanism"].eq("steady").to_numpy() & (extra.random(t) < QUIET_SPELL)
    champ_off = silent & (extra.random(t) < CHAMPION_SILENT)
    sponsor_off = silent & (extra.random(t) < SPONSOR_QUIET)
    spell = extra.integers(*QUIET_DAYS, size=t)
    spell_start = terms["end"].to_numpy() - 365 + (extra.random(t) * (365 - spell)).astype(int)
    day = np.arange(days)[None, :]
    for j in np.flatnonzero(silent | quiet):
        rows = np.flatnonzero(who == terms["account"].iat[j])
        end = terms["end"].iat[j]
        if silent[j]:
            off = (day >= end - terms["silent_days"].iat[j]) & ((day < end) | (not recover))
            hit = (champion[rows, 0] & champ_off[j]) | (sponsor[rows, 0] & sponsor_off[j])
            others = ~champion[rows, 0] & ~sponsor[rows, 0]
            core[rows[others]] = np.where(off, core[rows[others]] * OTHERS_CORE, core[rows[others]])
        else:
            off = (day >= spell_start[j]) & (day < spell_start[j] + spell[j])
            hit = champion[rows, 0]
        for m in (core, passive):
            m[rows[hit]] = np.where(off, 0.0, m[rows[hit]])
    return core, passive


def _events(
    rng: np.random.Generator,
    acc: pd.DataFrame,
    users: pd.DataFrame,
    terms: pd.DataFrame,
    days: int,
    people: tuple[np.ndarray, np.ndarray] | None,
    recover: bool,
) -> pd.DataFrame:
    core, passive = _intensity(acc, terms, days, recover)
    who = users["account"].to_numpy()
    joined = users["joined"].to_numpy()[:, None]
    present = np.arange(days)[None, :] >= joined  # user × day
    start = START - (days - DAYS)
    weekday = ((start + np.arange(days)).astype("datetime64[D]").view("int64") + 3) % 7 < 5
    workday = np.where(weekday, 1.0, 0.15)[None, :]
    frames = []
    activation_type = EVENTS.index(ACTIVATION)
    for k, name in enumerate(EVENTS):
        level = core if name in CORE else passive
        lam = RATE[k] * level[who] * present * workday
        if people is not None:
            lam = lam * people[0 if name in CORE else 1]
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
    keep = (day >= 0) & (day < days) & (day < _churn_day(acc, terms)[first])
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
    stamp = (start + ev["d"].to_numpy().astype("timedelta64[D]")).astype("datetime64[s]") + ev[
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


def _tickets(extra: np.random.Generator, acc: pd.DataFrame, terms: pd.DataFrame, days: int) -> pd.DataFrame:
    """Support tickets: a trickle that grows with the seats; four times as many (a third escalated, slow to close)
    from three weeks before a relationship-loss silence to the renewal, and three times as many (a fifth
    escalated) during a steady term's incident month. Tickets still open at a churn close on that day."""
    n = len(acc)
    day = np.arange(days)[None, :]
    start = acc["start"].to_numpy()[:, None]
    churn = _churn_day(acc, terms)
    live = (day >= start) & (day < churn[:, None])
    seats = acc["seats_purchased"].to_numpy()[:, None]
    state = np.zeros((n, days), dtype=int)  # 0 normal, 1 incident, 2 relationship
    incident = terms["mechanism"].eq("steady").to_numpy() & (extra.random(len(terms)) < INCIDENT)
    at = terms["end"].to_numpy() - 365 + extra.integers(0, 365 - INCIDENT_DAYS, size=len(terms))
    for j in np.flatnonzero(incident | terms["mechanism"].eq("relationship").to_numpy()):
        a, end = terms["account"].iat[j], terms["end"].iat[j]
        if incident[j]:
            state[a, max(at[j], 0) : max(at[j] + INCIDENT_DAYS, 0)] = 1
        else:
            state[a, max(end - terms["silent_days"].iat[j] - LEAD_DAYS, 0) : max(end, 0)] = 2
    burst = [TICKET_BURST[s] for s in ("normal", "incident", "relationship")]
    rate, esc, slow = (np.array([b[i] for b in burst])[state] for i in range(3))
    lam = (TICKETS_PER_MONTH[0] + TICKETS_PER_MONTH[1] * seats) / 30 * rate * live
    count = extra.poisson(lam)
    a, d = np.nonzero(count)
    a, d = np.repeat(a, count[a, d]), np.repeat(d, count[a, d])
    t = len(a)
    escalated = extra.random(t) < esc[a, d]
    created = d * 86400 + extra.integers(8 * 3600, 18 * 3600, size=t)
    hours = extra.lognormal(np.log(24 * slow[a, d]), 0.8, size=t) * (1 + escalated)
    resolved = np.minimum(created + (hours * 3600).astype(np.int64), churn[a].astype(np.int64) * 86400)
    still_open = resolved >= days * 86400
    priority = np.where(
        escalated & (extra.random(t) < 0.6), "urgent", extra.choice(["low", "normal", "high"], size=t)
    )
    first = START - (days - DAYS)
    stamp = lambda s: (first.astype("datetime64[s]") + s.astype("timedelta64[s]")).astype(str)  # noqa: E731
    order = np.lexsort((a, created))
    return pd.DataFrame(
        {
            "ticket_id": [f"ONB-T{i + 1:06d}" for i in range(t)],
            "account_id": acc["account_id"].to_numpy()[a][order],
            "created_at": stamp(created)[order],
            "resolved_at": np.where(still_open, "", stamp(resolved))[order],
            "priority": priority[order],
            "status": np.where(still_open, "open", "solved")[order],
            "escalated": np.where(escalated, "true", "false")[order],
        }
    )


def _write(
    out: Path,
    acc: pd.DataFrame,
    users: pd.DataFrame,
    events: pd.DataFrame,
    terms: pd.DataFrame,
    tickets: pd.DataFrame | None,
    days: int,
    *,
    account_level: bool,
    configured: bool,
) -> None:
    first = START - (days - DAYS)
    day = lambda d: (first + np.asarray(d).astype("timedelta64[D]")).astype(str)  # noqa: E731
    decided = terms[terms["end"] < days]
    # the renewal date known at the end of the data: a kept account's next one, a churned one's last
    last = terms.groupby("account").tail(1).set_index("account").sort_index()
    next_renewal = np.where((last["end"] < days) & ~last["churned"], last["end"] + 365, last["end"])
    churned = acc.index.isin(terms.loc[terms["churned"], "account"])
    pd.DataFrame(
        {
            "account_id": acc["account_id"],
            "name": acc["name"],
            "segment": acc["segment"],
            "arr": acc["arr"].astype(int),
            "seats_purchased": acc["seats_purchased"],
            "contract_start": day(acc["start"]),
            "renewal_date": day(next_renewal),
            "churned": np.where(churned, "true", "false"),
            "churn_date": np.where(churned, day(_churn_day(acc, terms).clip(max=days)), ""),
        }
    ).to_csv(out / "accounts.csv", index=False)
    if account_level:
        events = events.drop(columns="user_id")
    else:
        flags = {}
        if tickets is not None:  # relationship loss: who the champion and the sponsor are
            flags = {
                "is_champion": np.where(users["champion"], "true", "false"),
                "is_exec_sponsor": np.where(users["sponsor"], "true", "false"),
            }
        pd.DataFrame(
            {
                "user_id": users["user_id"],
                "account_id": users["account_id"],
                "role": users["role"],
                "created_at": day(users["joined"]),
                **flags,
            }
        ).to_csv(out / "users.csv", index=False)
    pq.write_table(pa.Table.from_pandas(events, preserve_index=False), out / "events.parquet")
    ids = acc["account_id"].to_numpy()
    pd.DataFrame(
        {
            "account_id": ids[decided["account"]],
            "outcome": np.where(decided["churned"], "churned", "renewed"),
            "date": day(decided["end"]),
        }
    ).sort_values(["date", "account_id"]).to_csv(out / "outcomes.csv", index=False)
    if tickets is not None:
        tickets.to_csv(out / "tickets.csv", index=False)
    if configured:
        (out / "customer-health.yaml").write_text(CONFIG)
    truth = {
        a: {"mechanism": m, "new": bool(n), "churned": bool(c)}
        for a, m, n, c in zip(ids, acc["mechanism"], acc["new"], churned, strict=True)
    }
    if len(terms) > len(acc) or tickets is not None:  # the opt-in options: every term's truth
        for t in terms.itertuples(index=False):
            truth[ids[t.account]].setdefault("terms", []).append(
                [str(day(t.end)), t.mechanism, CHURN[t.mechanism], bool(t.churned)]
            )
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
    parser.add_argument(
        "--years", type=int, default=1, help="years of data (several: yearly renewals, outcomes over time)"
    )
    parser.add_argument(
        "--relationship-loss",
        type=float,
        nargs="?",
        const=0.2,
        default=0.0,
        metavar="SHARE",
        help="share of established terms whose champion and sponsor go quiet while tickets escalate "
        "(0.2 when no value is given; writes tickets.csv and the users' champion/sponsor flags)",
    )
    args = parser.parse_args(argv)
    if args.years < 1 or not 0 <= args.relationship_loss <= 1 - DECLINE_SHARE:
        parser.error(f"--years must be at least 1 and --relationship-loss between 0 and {1 - DECLINE_SHARE}")
    path = generate(
        args.out,
        n_accounts=args.accounts,
        seed=args.seed,
        account_level=args.account_level,
        configured=not args.unconfigured,
        years=args.years,
        relationship=args.relationship_loss,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
