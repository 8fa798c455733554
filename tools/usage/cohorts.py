"""Retention by cohort: signup-month cohorts (logos, revenue, active users), ARR tiers, activation cohorts.

Event-level work runs in DuckDB and comes back as user × month counts or one row per account; the cohort
arithmetic runs in pandas on account-level frames. Months are calendar months, keyed as year·12 + month − 1.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from customer_health.tools.base import bounds
from customer_health.tools.base.dialects import count_if, engine_of, reduced_frame, relation
from customer_health.tools.base.errors import InputError, nearest
from customer_health.tools.base.formats import percent
from customer_health.tools.base.models import Envelope
from customer_health.tools.base.numbers import ratio, rnd
from customer_health.tools.base.sql import literal, window
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.semantics import PASSIVE_PATTERN, is_negative
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

LOW_CONFIDENCE_N = 30  # below this a cohort is too small to draw conclusions from
CHECKPOINTS = (3, 6, 12)
TIERS = (("<10k", 10_000), ("10k–50k", 50_000), ("50k–150k", 150_000), ("≥150k", math.inf))


class CohortRow(BaseModel):
    cohort: str = Field(description="Signup month, YYYY-MM.")
    size: int
    low_confidence: bool = Field(description=f"Fewer than {LOW_CONFIDENCE_N} members.")
    values: list[float | None] = Field(description="Index m = months since signup; months begun by as_of.")
    partial_last_month: bool = Field(description="The last value is for the month as_of falls in, not over.")


class CohortTable(BaseModel):
    metric: Literal["logo_retention", "revenue_retention", "active_user_retention"]
    definition: str
    rows: list[CohortRow] = Field(description="Oldest first; the most recent cohorts when truncated.")
    average: list[float | None] = Field(
        description="Pooled over the cohorts whose month m is over (weighted by size, or by month-0 MRR)."
    )
    total_rows: int
    truncated: bool


class TierRow(BaseModel):
    tier: str
    accounts: int
    churned: int | None = Field(description="Accounts lost by as_of; None without churn dates.")
    logo_retention: float | None
    total_arr: float = Field(description="Sum of ARR (arr, else 12 × mrr) as recorded in the accounts table.")
    revenue_retention_12m: float | None = Field(
        description="MRR in the latest revenue month ÷ MRR in the first of the last 12 months, over the "
        "accounts paying then (net, may exceed 1)."
    )
    low_confidence: bool


class BehaviouralCohort(BaseModel):
    cohort: Literal["activated", "not_activated"]
    size: int
    low_confidence: bool
    retention: dict[str, float | None] = Field(
        description="Logo retention at the end of month 3/6/12, over the members whose month is over."
    )


class Behavioural(BaseModel):
    activation_event: str
    activation_source: str = Field(description="'argument', 'configured', or 'inferred: how'.")
    activation_days: int
    cohorts: list[BehaviouralCohort]
    retention_index: float | None = Field(description="Retention of activated ÷ retention of not activated.")
    index_month: int | None = Field(description="The longest checkpoint both cohorts have a retention for.")
    pending: int = Field(description="Accounts whose activation window is still open at as_of (left out).")
    before_events: int = Field(description="Accounts that started before the events begin (left out).")


class CohortsResult(Envelope):
    logo: CohortTable | None
    revenue: CohortTable | None
    active_users: CohortTable | None
    arr_tiers: list[TierRow]
    behavioural: Behavioural | None


def _key(d: date) -> int:
    return d.year * 12 + d.month - 1


def _first_day(key: int) -> date:
    return date(key // 12, key % 12 + 1, 1)


def _last_day(key: int) -> date:
    return _first_day(key + 1) - timedelta(days=1)


def _month_key_sql(column: str) -> str:
    return f"year({column}) * 12 + month({column}) - 1"


def compute_cohorts(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    max_months: int = 12,
    activation_event: str | None = None,
    activation_days: int = 30,
    max_cohorts: int = 24,
) -> CohortsResult:
    """Retention of signup-month cohorts, ARR tiers and activated vs not-activated accounts, as of `as_of`."""
    bounds.check("max_months", max_months, bounds.COHORT_MONTHS)
    if min(activation_days, max_cohorts) < 1:
        raise InputError(
            f"activation_days and max_cohorts must be ≥ 1 (got {activation_days}, {max_cohorts})."
        )
    if not (ds.has("accounts") or ds.has("events")):
        raise InputError(
            "cohorts need accounts or events to form cohorts from.",
            fix="Load an accounts export (with signup_date) or a product-events export.",
        )
    if activation_event is not None and not ds.has("events"):
        ds.view("events")  # raises: an activation event can only be checked against the events
    day = resolve_as_of(ds, as_of)
    end = f"TIMESTAMP '{window(day, 1).end:%Y-%m-%d %H:%M:%S}'"
    caveats: list[str] = []
    activation = _activation(ds, end, activation_event) if ds.has("events") else None
    events_start = _events_start(ds, end, caveats)
    acc = _account_frame(ds, day, end, caveats)
    has_churn = _churn(ds, acc, day, caveats)
    dated = acc.dropna(subset=["ck"])
    if dated.empty:
        caveats.append("No account has a start date by as_of: logo and revenue cohorts are left out.")
    table = dict(max_months=max_months, max_cohorts=max_cohorts, day=day)
    logo = _logo_table(dated, **table) if has_churn and len(dated) else None
    revenue = _revenue_table(ds, dated, caveats, **table) if ds.has("revenue") and len(dated) else None
    if not ds.has("revenue"):
        caveats.append("No revenue table: revenue retention by cohort and by ARR tier is left out.")
    active = _active_user_table(ds, end, events_start, caveats, **table) if events_start else None
    tiers = _tiers(ds, acc, day, has_churn, caveats)
    behavioural = _behavioural_or_caveat(
        ds, dated, (day, end), activation, events_start, activation_days, has_churn, caveats
    )
    caveats += _table_caveats(logo, revenue, active)
    summary = _summary(day, dated, logo, revenue, active, behavioural)
    return CohortsResult(
        as_of=day,
        summary=summary,
        caveats=caveats,
        logo=logo,
        revenue=revenue,
        active_users=active,
        arr_tiers=tiers,
        behavioural=behavioural,
    )


def _events_start(ds: Dataset, end: str, caveats: list[str]) -> date | None:
    """The first day with an event up to as_of, or None (with the caveat saying what that leaves out)."""
    first = None
    if ds.has("events"):
        sql = f"SELECT MIN(timestamp) AS t0 FROM {relation(ds, 'events')} WHERE timestamp < {end}"
        first = engine_of(ds).fetch(sql)[0]["t0"]
    if first is None:
        caveats.append("No events up to as_of: active-user retention and activation cohorts are left out.")
    return first.date() if first is not None else None


def _account_frame(ds: Dataset, day: date, end: str, caveats: list[str]) -> pd.DataFrame:
    """One row per account started by as_of (or of unknown start): start date, cohort key `ck`, ARR."""
    import pandas as pd

    first = pd.DataFrame({"account_id": pd.Series(dtype=object), "first_event": pd.Series(dtype="M8[us]")})
    if ds.has("events") and ds.events_tied():
        sql = (
            f"SELECT account_id, MIN(timestamp) AS first_event FROM {relation(ds, 'events')} "
            f"WHERE timestamp < {end} AND account_id IS NOT NULL GROUP BY account_id"
        )
        types = {"account_id": "VARCHAR", "first_event": "TIMESTAMP"}
        first = reduced_frame(ds.con, engine_of(ds), sql, "_cohort_firsts", types)
    if ds.has("accounts"):
        wanted = ["account_id", "signup_date", "contract_start", "arr", "mrr", "churned", "churn_date"]
        acc = ds.frame("accounts", wanted).merge(first, on="account_id", how="left")
    else:
        acc = first
        caveats.append(
            "No accounts table: accounts are the account ids in the events, each starting at its "
            "first event; ARR tiers are left out."
        )
    for col in ("signup_date", "contract_start", "first_event", "churn_date", "arr", "mrr", "churned"):
        if col not in acc:
            acc[col] = None
    signup, contract, event = (
        pd.to_datetime(acc[c]).dt.normalize() for c in ("signup_date", "contract_start", "first_event")
    )
    acc["start"] = signup.fillna(contract).fillna(event)
    from_contract = int((signup.isna() & contract.notna()).sum())
    from_event = int((signup.isna() & contract.isna() & event.notna()).sum())
    if from_contract or from_event:
        caveats.append(
            f"Accounts without a signup_date take their cohort month from contract_start "
            f"({from_contract}) or their first event ({from_event})."
        )
    acc = acc[acc["start"].isna() | (acc["start"] <= pd.Timestamp(day))].copy()
    if acc["start"].isna().any():
        caveats.append(
            f"{int(acc['start'].isna().sum())} accounts have no signup date, contract start or "
            "event; they are left out of the signup cohorts."
        )
    acc["ck"] = acc["start"].dt.year * 12 + acc["start"].dt.month - 1
    acc["arr_value"] = pd.to_numeric(acc["arr"], errors="coerce").fillna(
        12 * pd.to_numeric(acc["mrr"], errors="coerce")
    )
    return acc


def _churn(ds: Dataset, acc: pd.DataFrame, day: date, caveats: list[str]) -> bool:
    """Set `churn` (the first churn date on or before as_of); say whether the data has churn dates at all."""
    import pandas as pd

    churn = pd.to_datetime(acc["churn_date"])
    if ds.has("outcomes"):
        lost = ds.con.execute(f"""SELECT account_id, min("date") AS lost FROM {ds.view("outcomes")}
            WHERE outcome = 'churned' AND "date" <= DATE '{day}' GROUP BY account_id""").df()
        by_outcome = acc[["account_id"]].merge(lost, on="account_id", how="left")["lost"]
        churn = pd.concat([churn, pd.to_datetime(by_outcome).set_axis(acc.index)], axis=1).min(axis=1)
    acc["churn"] = churn.where(churn <= pd.Timestamp(day))  # a churn after as_of has not happened yet
    # months from signup to the loss: a customer at the end of month m unless lost ≤ m
    acc["lost"] = acc["churn"].dt.year * 12 + acc["churn"].dt.month - 1 - acc["ck"]
    undated = acc["churned"].eq(True).fillna(False) & acc["churn"].isna()
    if undated.any():
        caveats.append(
            f"{int(undated.sum())} accounts are flagged churned without a churn date on or before "
            f"{day}; they count as retained."
        )
    if ds.has("outcomes") or (ds.has("accounts") and "churn_date" in ds.columns("accounts")):
        return True
    caveats.append(
        "No churn dates (accounts.churn_date or outcomes): logo retention, churn by ARR tier and "
        "the retention of behavioural cohorts are left out."
    )
    return False


def _table(
    metric: str,
    definition: str,
    sizes: dict[int, int],
    bases: dict[int, float],
    nums: dict[tuple[int, int], float],
    *,
    day: date,
    max_months: int,
    max_cohorts: int,
    through: int | None = None,
) -> CohortTable:
    """Rows of num ÷ base per cohort and month since signup, and the pooled average over complete months.

    `through` is the last month the source covers when that is earlier than the as_of month.
    """
    now = _key(day) if through is None else min(_key(day), through)
    month_over = now < _key(day) or day == _last_day(now)
    rows = []
    for ck in sorted(sizes):
        age = now - ck
        values = [ratio(nums.get((ck, m), 0), bases[ck]) for m in range(min(age, max_months) + 1)]
        rows.append(
            CohortRow(
                cohort=f"{_first_day(ck):%Y-%m}",
                size=sizes[ck],
                values=values,
                low_confidence=sizes[ck] < LOW_CONFIDENCE_N,
                partial_last_month=age <= max_months and not month_over,
            )
        )
    average: list[float | None] = []
    for m in range(max_months + 1):
        done = [ck for ck in sizes if ck + m <= now and _last_day(ck + m) <= day and bases[ck]]
        if not done:  # older cohorts complete every month a younger one does, so nothing follows
            break
        average.append(ratio(sum(nums.get((ck, m), 0) for ck in done), sum(bases[ck] for ck in done)))
    return CohortTable(
        metric=metric,
        definition=definition,
        rows=rows[-max_cohorts:],
        average=average,
        total_rows=len(rows),
        truncated=len(rows) > max_cohorts,
    )


def _logo_table(dated: pd.DataFrame, **table) -> CohortTable:
    sizes, nums = {}, {}
    for ck, lost in dated.groupby("ck")["lost"]:
        sizes[int(ck)] = len(lost)
        for m in range(min(_key(table["day"]) - int(ck), table["max_months"]) + 1):
            nums[(int(ck), m)] = len(lost) if m == 0 else int((~(lost <= m)).sum())
    definition = (
        "Share of the cohort's accounts still customers at the end of month m (at as_of while "
        "month m runs); month 0 is the cohort as signed up, 1.0."
    )
    return _table("logo_retention", definition, sizes, sizes, nums, **table)


def _left_out(caveats: list[str], count: int, who: str, source: str, metric: str, since: int) -> None:
    if count:
        caveats.append(
            f"{count} {who} signed up before the {source} starts ({_first_day(since):%Y-%m}); "
            f"their first months are not in the data, so {metric} cohorts leave them out."
        )


def _revenue_months(ds: Dataset, day: date) -> pd.DataFrame:
    """MRR per account × month key, for the months begun by as_of."""
    return ds.con.execute(f"""SELECT account_id, {_month_key_sql('"month"')} AS mk, sum(mrr) AS mrr
        FROM {ds.view("revenue")} WHERE "month" <= DATE '{day}' GROUP BY ALL""").df()


def _revenue_table(ds: Dataset, dated: pd.DataFrame, caveats: list[str], **table) -> CohortTable | None:
    months = _revenue_months(ds, table["day"])
    if months.empty:
        caveats.append(f"The revenue table has no month up to {table['day']}: revenue cohorts are left out.")
        return None
    since, through = int(months["mk"].min()), int(months["mk"].max())
    if through < _key(table["day"]):
        caveats.append(f"The revenue table ends in {_first_day(through):%Y-%m}: revenue cohorts stop there.")
    # revenue cohorts start at the first paid month: a signup month before billing starts would read as 0 MRR
    first_paid = months[months["mrr"] > 0].groupby("account_id")["mk"].min().rename("ck").reset_index()
    # paying in the table's first month, the start is only known when the account's own start date says so
    started = first_paid.merge(
        dated[["account_id", "ck"]].rename(columns={"ck": "start"}), on="account_id", how="left"
    )
    censored = (started["ck"] == since) & ~(started["start"] >= since)
    _left_out(caveats, int(censored.sum()), "accounts", "revenue table", "revenue", since)
    first_paid = started.loc[~censored, ["account_id", "ck"]]
    rev = months.merge(first_paid, on="account_id")
    rev["m"] = rev["mk"] - rev["ck"]
    rev = rev[(rev["m"] >= 0) & (rev["m"] <= table["max_months"])]
    nums = {(int(ck), int(m)): float(v) for (ck, m), v in rev.groupby(["ck", "m"])["mrr"].sum().items()}
    sizes = {int(ck): len(g) for ck, g in first_paid.groupby("ck")}
    bases = {ck: nums.get((ck, 0), 0.0) for ck in sizes}
    definition = (
        "Cohort MRR in month m ÷ cohort MRR in its first paid month (net: expansion can take it above "
        "1). Cohorts are by first paid month; accounts already paying in the table's first month are "
        "left out unless their start date falls in that month."
    )
    return _table("revenue_retention", definition, sizes, bases, nums, through=through, **table)


def active_user_sql(end: str, max_months: int, created: bool, relations: dict[str, str]) -> str:
    """The active-user cohorts' event-level reduction, in the portable subset (`dialects`): per cohort month ck
    (a user's users.created_at month when `created`, else the month of their first event), its size (m = -1)
    and its users active in each month m = 0 … max_months after it; events and signups before `end` (a SQL
    timestamp)."""
    first = "SELECT user_id, MIN(mk) AS mk FROM um GROUP BY user_id"
    starts = "SELECT user_id, mk AS ck FROM first"
    ctes = [
        f"um AS (SELECT user_id, {_month_key_sql('timestamp')} AS mk FROM {relations['events']} "
        f"WHERE timestamp < {end} GROUP BY user_id, {_month_key_sql('timestamp')})",
        f"first AS ({first})",
    ]
    if created:
        ctes.append(
            f"created AS (SELECT user_id, MIN({_month_key_sql('created_at')}) AS mk "
            f"FROM {relations['users']} WHERE created_at < {end} GROUP BY user_id)"
        )
        starts = (
            "SELECT COALESCE(c.user_id, f.user_id) AS user_id, COALESCE(c.mk, f.mk) AS ck "
            "FROM first AS f FULL OUTER JOIN created AS c ON c.user_id = f.user_id"
        )
    ctes.append(f"starts AS ({starts})")
    return (
        f"WITH {', '.join(ctes)} SELECT ck, -1 AS m, COUNT(*) AS n FROM starts WHERE ck IS NOT NULL GROUP BY ck "
        "UNION ALL SELECT s.ck, um.mk - s.ck AS m, COUNT(*) AS n FROM starts AS s JOIN um ON um.user_id = s.user_id "
        f"WHERE um.mk BETWEEN s.ck AND s.ck + {max_months} GROUP BY s.ck, um.mk - s.ck"
    )


def _active_user_table(ds: Dataset, end: str, events_start: date, caveats: list[str], **table) -> CohortTable:
    created = ds.has("users") and "created_at" in ds.columns("users")
    relations = {k: relation(ds, k) for k in ("events", "users") if ds.has(k)}
    sql = active_user_sql(end, table["max_months"], created, relations)
    rows = [(r["ck"], r["m"], r["n"]) for r in engine_of(ds).fetch(sql)]
    since = _key(events_start)
    sizes = {int(ck): int(n) for ck, m, n in rows if m == -1 and ck >= since}
    nums = {(int(ck), int(m)): int(n) for ck, m, n in rows if m >= 0 and ck >= since}
    early = sum(int(n) for ck, m, n in rows if m == -1 and ck < since)
    _left_out(caveats, early, "users", "event history", "active-user", since)
    definition = (
        "Share of the users who signed up in the cohort month (users.created_at, else their first "
        "event) with at least one event in month m."
    )
    return _table("active_user_retention", definition, sizes, sizes, nums, **table)


def _tier(arr: float) -> str:
    return "unknown" if arr != arr else next(name for name, upper in TIERS if arr < upper)


def _tiers(ds: Dataset, acc: pd.DataFrame, day: date, has_churn: bool, caveats: list[str]) -> list[TierRow]:
    """Accounts by ARR tier: size, churn by as_of, logo retention, ARR and 12-month revenue retention."""
    if not ds.has("accounts"):
        return []
    if acc["arr_value"].isna().all():
        caveats.append("No arr or mrr in the accounts table: ARR tiers are left out.")
        return []
    growth = _revenue_12m(ds, day, caveats) if ds.has("revenue") else None
    acc = acc.assign(tier=[_tier(v) for v in acc["arr_value"]])
    names = [t[0] for t in TIERS] + (["unknown"] if (acc["tier"] == "unknown").any() else [])
    rows = []
    for name in names:
        group = acc[acc["tier"] == name]
        n, churned = len(group), int(group["churn"].notna().sum()) if has_churn else None
        nrr = None
        if growth is not None:
            base = growth[growth.index.isin(group["account_id"])]
            nrr = ratio(base["now"].sum(), base["then"].sum())
        rows.append(
            TierRow(
                tier=name,
                accounts=n,
                churned=churned,
                total_arr=rnd(group["arr_value"].sum()),
                logo_retention=ratio(n - churned, n) if churned is not None else None,
                revenue_retention_12m=nrr,
                low_confidence=n < LOW_CONFIDENCE_N,
            )
        )
    return rows


def _revenue_12m(ds: Dataset, day: date, caveats: list[str]) -> pd.DataFrame | None:
    """MRR in the first and the last of the latest 12 revenue months, per account paying in the first."""
    rev = _revenue_months(ds, day)
    if rev.empty or not (rev["mk"] == rev["mk"].max() - 11).any():
        caveats.append(
            "The revenue table holds fewer than 12 months up to as_of: ARR-tier revenue retention "
            "is left out."
        )
        return None
    latest = rev["mk"].max()
    then = rev[rev["mk"] == latest - 11].groupby("account_id")["mrr"].sum()
    now = rev[rev["mk"] == latest].groupby("account_id")["mrr"].sum()
    both = then.to_frame("then").join(now.rename("now")).fillna(0.0)
    return both[both["then"] > 0]


def _activation(ds: Dataset, end: str, requested: str | None) -> tuple[str | None, str]:
    """The activation event and where it came from: argument, configuration, or inferred from usage."""
    who = "account_id" if ds.events_tied() else "user_id"
    got = engine_of(ds).fetch(
        f"SELECT event, COUNT(DISTINCT CASE WHEN timestamp < {end} THEN {who} END) AS a, "
        f"{count_if(f'timestamp < {end}')} AS n FROM {relation(ds, 'events')} GROUP BY event"
    )
    # ordered here, the same on every engine: most accounts (users) first, then most events, then by name
    rows = sorted(
        ((r["event"], int(r["a"]), int(r["n"])) for r in got),
        key=lambda r: (-r[1], -r[2], r[0] is None, r[0] or ""),
    )
    names = [r[0] for r in rows]
    if requested is not None:
        if requested not in names:
            raise InputError(
                f"the activation event '{requested}' does not occur in the events.",
                column="activation_event",
                options=nearest(requested, names),
            )
        return requested, "argument"
    sem = ds.semantics
    if sem and sem.activation in names:
        return sem.activation, "configured"
    missing = f"the configured '{sem.activation}' never occurs, so " if sem and sem.activation else ""
    used = [r[0] for r in rows if r[2] > 0]
    value = [e for e in used if sem and e in sem.value_events]
    if value:
        return value[0], f"inferred: {missing}the most widely used configured value event"
    passive = set(sem.passive_events) if sem and sem.passive_events else None
    active = [
        e
        for e in used
        if not (e in passive if passive is not None else PASSIVE_PATTERN.search(str(e)))
        and not is_negative(e)
    ]
    return (active[0] if active else None), f"inferred: {missing}the non-passive event used by most accounts"


def _behavioural_or_caveat(
    ds: Dataset,
    dated: pd.DataFrame,
    upto: tuple[date, str],
    activation: tuple[str | None, str] | None,
    events_start: date | None,
    days: int,
    has_churn: bool,
    caveats: list[str],
) -> Behavioural | None:
    if events_start is None:
        return None
    no_ids = not ds.events_tied()
    reason = (
        "the events carry no account ids (load a users table)"
        if no_ids
        else "no non-passive event could serve as the activation milestone"
        if not activation[0]
        else "no account has a start date"
        if dated.empty
        else None
    )
    if reason:
        caveats.append(f"Behavioural cohorts are left out: {reason}.")
        return None
    if activation[1].startswith("inferred"):
        caveats.append(f"The activation milestone was inferred: '{activation[0]}', {activation[1][10:]}.")
    result = _behavioural(ds, dated, upto, activation, events_start, days, has_churn)
    if result.before_events:
        caveats.append(
            f"{result.before_events} accounts started before the events begin ({events_start}); "
            "whether they activated cannot be seen, so behavioural cohorts leave them out."
        )
    return result


def _behavioural(
    ds: Dataset,
    dated: pd.DataFrame,
    upto: tuple[date, str],
    activation: tuple[str, str],
    events_start: date,
    days: int,
    has_churn: bool,
) -> Behavioural:
    """Accounts that did the activation event within `days` days of their start vs those that did not."""
    import pandas as pd

    (event, source), (day, end) = activation, upto
    seen = dated["start"] >= pd.Timestamp(events_start)
    sql = (
        f"SELECT account_id, MIN(timestamp) AS first_at FROM {relation(ds, 'events')} "
        f"WHERE event = {literal(event)} AND timestamp < {end} GROUP BY account_id"
    )
    types = {"account_id": "VARCHAR", "first_at": "TIMESTAMP"}
    firsts = reduced_frame(ds.con, engine_of(ds), sql, "_cohort_activation", types)
    acc = dated[seen].merge(firsts, on="account_id", how="left")
    deadline = acc["start"] + pd.Timedelta(days=days)  # the window: `days` calendar days from the start date
    closed = deadline <= pd.Timestamp(day + timedelta(days=1))
    acc = acc[closed].assign(activated=(pd.to_datetime(acc["first_at"]) < deadline)[closed])
    cohorts, raw = [], []
    for name, flag in (("activated", True), ("not_activated", False)):
        group = acc[acc["activated"] == flag]
        shares = {}
        for k in CHECKPOINTS:
            over = group[group["ck"].map(lambda ck, k=k: _last_day(int(ck) + k) <= day).astype(bool)]
            shares[k] = int((~(over["lost"] <= k)).sum()) / len(over) if has_churn and len(over) else None
        raw.append(shares)
        small = len(group) < LOW_CONFIDENCE_N
        cohorts.append(
            BehaviouralCohort(
                cohort=name,
                size=len(group),
                low_confidence=small,
                retention={str(k): rnd(v) for k, v in shares.items()},
            )
        )
    common = [k for k in CHECKPOINTS if raw[0][k] is not None and raw[1][k] is not None]
    month = common[-1] if common else None
    index = ratio(raw[0][month], raw[1][month]) if month else None  # from unrounded shares
    return Behavioural(
        activation_event=event,
        activation_source=source,
        activation_days=days,
        cohorts=cohorts,
        retention_index=index,
        index_month=month,
        pending=int((~closed).sum()),
        before_events=int((~seen).sum()),
    )


def _table_caveats(*tables: CohortTable | None) -> list[str]:
    caveats = []
    for t in (t for t in tables if t is not None):
        small = sum(r.low_confidence for r in t.rows)
        if small:
            caveats.append(
                f"{t.metric}: {small} of the {len(t.rows)} cohorts listed have fewer than "
                f"{LOW_CONFIDENCE_N} members (low confidence)."
            )
        if t.truncated:
            caveats.append(
                f"{t.metric}: only the latest {len(t.rows)} of {t.total_rows} cohorts are listed; "
                "the average covers all of them."
            )
    return caveats


def _pct(value: float | None) -> str:
    return "n/a" if value is None else percent(value, 1)


def _summary(
    day: date,
    dated: pd.DataFrame,
    logo: CohortTable | None,
    revenue: CohortTable | None,
    active: CohortTable | None,
    b: Behavioural | None,
) -> str:
    """Who is in the cohorts, the average cohort at month 3 (or its last), and the activation contrast."""
    parts = []
    if len(dated):
        keys = dated["ck"].astype(int)
        parts.append(
            f"As of {day}, {len(dated)} accounts fall in {keys.nunique()} signup-month cohorts "
            f"({_first_day(keys.min()):%Y-%m} to {_first_day(keys.max()):%Y-%m})."
        )
    elif active is not None and active.rows:
        parts.append(
            f"As of {day}, {sum(r.size for r in active.rows)} users fall in {active.total_rows} "
            f"signup-month cohorts ({active.rows[0].cohort} to {active.rows[-1].cohort})."
        )
    facts = [
        (min(3, len(t.average) - 1), t.average, text)
        for t, text in (
            (logo, "of its accounts"),
            (revenue, "of its month-0 MRR"),
            (active, "of its users active"),
        )
        if t is not None and len(t.average) > 1
    ]
    if facts:
        same = len({m for m, _, _ in facts}) == 1
        texts = [f"{_pct(avg[m])} {text}" + ("" if same else f" (month {m})") for m, avg, text in facts]
        joined = ", ".join(texts[:-1]) + (" and " if len(texts) > 1 else "") + texts[-1]
        parts.append((f"By month {facts[0][0]}, the" if same else "The") + f" average cohort keeps {joined}.")
    if b and b.index_month:
        act, rest, m = b.cohorts[0].retention, b.cohorts[1].retention, str(b.index_month)
        parts.append(
            f"Accounts that did '{b.activation_event}' within {b.activation_days} days retain "
            f"{_pct(act[m])} at month {m} against {_pct(rest[m])} for the rest (retention index "
            f"{b.retention_index})."
        )
    elif b:
        parts.append(
            f"{b.cohorts[0].size} accounts did '{b.activation_event}' within {b.activation_days} "
            f"days and {b.cohorts[1].size} did not; no retention checkpoint can be compared yet."
        )
    return " ".join(parts) or f"As of {day}, there are no cohorts to report."


__all__ = [
    "Behavioural",
    "BehaviouralCohort",
    "CohortRow",
    "CohortTable",
    "CohortsResult",
    "TierRow",
    "compute_cohorts",
]
