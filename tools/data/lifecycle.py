"""Where each account stands in its life as a customer on a given day: not yet a customer, onboarding, active, or
churned — with the date that stage began and the evidence for it. Only data dated on or before the day is read.

The evidence, strongest first:

- **Subscriptions** (billing periods or contracts): covered by a paid period on the day → a customer since its
  first paid period; covered before but not on the day → churned when the last period ended (a lapse with no
  covering period); no paid period yet → not yet a customer. An account with subscriptions is decided by them alone.
- **Churn** otherwise: a churn date on or before the day (accounts table), a churned renewal outcome as its latest
  outcome by the day, or revenue going to zero (paid in an earlier month, nothing in the revenue table's latest month
  up to the day). A churned flag with no date, or a status saying so (`Churned`, `Former customer`), is read as of
  the data's end: it counts only from that day on. A status saying the account has not bought (`Prospect`, `Lead`,
  `Opportunity`) makes it not yet a customer.
- **Start** otherwise: the contract start, the first month with revenue, the signup date, or the first activity,
  whichever the data has (in that order). After the day → not yet a customer (a first activity says so only when
  there is no accounts table: an account an accounts export lists is a customer before anyone uses the product). A first month or first activity in the
  first days the table covers says only that the account was there when the export began: its start is unknown.

A customer is *onboarding* for its first `ONBOARDING_DAYS` (the health profile's new-account period) and *active*
after. These stages never feed a score: they say whom a triage view is about.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from customer_health.tools.base.dialects import engine_of, reduced_once, relation
from customer_health.tools.base.sql import quote, register
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.subscriptions import periods_view_name
from customer_health.tools.data.values import word_key

if TYPE_CHECKING:
    import pandas as pd

Stage = Literal["not_yet_customer", "onboarding", "active", "churned"]
STAGES: tuple[Stage, ...] = ("not_yet_customer", "onboarding", "active", "churned")
CUSTOMER_STAGES: tuple[Stage, ...] = ("onboarding", "active")
ONBOARDING_DAYS = 90
CENSORED_DAYS = 14  # a first date this close to where its table begins may just be where the export begins

FIRST_ACTIVITY = "first activity"
Book = dict[str, dict]  # account → its lifecycle columns, while they are worked out
COLUMNS = ("stage", "since", "evidence", "customer_since", "sub_mrr", "sub_seats", "renews_on")


def lifecycle(ds: Dataset, day: date) -> pd.DataFrame:
    """One row per account (index account_id, every account the data names) with `COLUMNS` as of the end of `day`:
    the stage, when it began, the evidence, the customer-since date, and — from subscriptions — the MRR, seats and
    next renewal on the day. Computed once per dataset and day (and kept in the workspace for later processes, see
    load_cache); the caller gets its own copy."""
    from customer_health.tools.data.load_cache import reuse_lifecycle

    return ds.memo(("lifecycle", day), lambda: reuse_lifecycle(ds, day, lambda: _lifecycle(ds, day))).copy()


def lifecycle_table(ds: Dataset, day: date) -> str:
    """The quoted name of a DuckDB view of `lifecycle(ds, day)` (account_id plus `COLUMNS`), for SQL joins."""

    def table() -> str:
        from customer_health.tools.data.load_cache import keep_lifecycle_table, kept_lifecycle_table

        # a table an earlier process kept in the workspace: read as it is, without building (or importing) pandas
        if (kept := kept_lifecycle_table(ds, day)) is not None:
            return quote(kept)
        frame = lifecycle(ds, day).reset_index()
        name = f"lifecycle_{ds.dataset_id}_{day:%Y%m%d}"
        register(ds.con, name, frame)
        keep_lifecycle_table(ds, day, quote(name))
        return quote(name)

    return ds.memo(("lifecycle_table", day), table)


def table_stage_counts(ds: Dataset, day: date) -> dict[str, int]:
    """`stage_counts` of `lifecycle(ds, day)`, counted in SQL on `lifecycle_table` (no frame is built when the
    workspace kept the table)."""
    rows = ds.con.execute(f"SELECT stage, count(*) FROM {lifecycle_table(ds, day)} GROUP BY stage").fetchall()
    found = {stage: int(n) for stage, n in rows}
    return {s: found.get(s, 0) for s in STAGES}


def is_customer(stage: str | None) -> bool:
    return stage in CUSTOMER_STAGES


def stage_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {s: int((frame["stage"] == s).sum()) for s in STAGES}


def population_caveats(frame: pd.DataFrame | dict[str, int], day: date, everyone: bool) -> list[str]:
    """What a triage view on `day` covers: the customers, and how many accounts it leaves out (or, with `everyone`,
    lists beside them), by stage. `frame` is the lifecycle frame, or its `stage_counts` already counted."""
    counts = frame if isinstance(frame, dict) else stage_counts(frame)
    others = {"churned": counts["churned"], "not yet customers": counts["not_yet_customer"]}
    others = {k: v for k, v in others.items() if v}
    if not others:
        return []
    said = " and ".join(
        f"{v} {'had churned' if k == 'churned' else 'were not yet customers'}" for k, v in others.items()
    )
    if everyone:
        return [
            f"Every account is listed with its lifecycle stage on {day}: {said}; they are not customers then."
        ]
    return [
        f"Customers on {day} only ({counts['onboarding'] + counts['active']}): {said}, and are left out "
        "(include_all / --all-accounts lists them with their stage)."
    ]


def all_account_ids_sql(ds: Dataset) -> str:
    """SELECT account_id of every account: the accounts table (or the one subscriptions give), else event accounts."""
    if ds.has("accounts"):
        return f"SELECT DISTINCT account_id FROM {ds.view('accounts')} WHERE account_id IS NOT NULL"
    if ds.has("events") and "account_id" in ds.columns("events"):
        return f"SELECT account_id FROM {event_account_ids(ds)} AS e"
    return "SELECT NULL::VARCHAR AS account_id WHERE false"


def event_account_ids(ds: Dataset) -> str:
    """A subquery of the workspace holding the distinct account ids of the events (`account_id`), reduced on the
    dataset's engine once (the events need not be in the workspace)."""
    sql = f"SELECT DISTINCT account_id FROM {relation(ds, 'events')} WHERE account_id IS NOT NULL"
    return reduced_once(ds, sql, "_event_accounts", {"account_id": "VARCHAR"})


def _lifecycle(ds: Dataset, day: date) -> pd.DataFrame:
    import pandas as pd

    ids = [str(r[0]) for r in ds.con.execute(all_account_ids_sql(ds)).fetchall()]
    blank = dict(zip(COLUMNS, ("active", None, "", None, float("nan"), float("nan"), None), strict=True))
    out: Book = {
        a: dict(blank) for a in ids
    }  # plain dicts: 10,000 accounts set field by field in milliseconds
    decided: set[str] = set()
    if ds.has("subscriptions"):
        decided = _from_subscriptions(ds, day, out)
    rest = [a for a in ids if a not in decided]
    if rest:
        _from_other_evidence(ds, day, out, set(rest))
    frame = pd.DataFrame.from_dict(out, orient="index", columns=list(COLUMNS)).rename_axis("account_id")
    frame.index = frame.index.astype(object)
    for col in ("since", "customer_since", "renews_on"):
        frame[col] = pd.to_datetime(frame[col]).dt.date
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def _from_subscriptions(ds: Dataset, day: date, out: Book) -> set[str]:
    periods = quote(periods_view_name(ds.views["subscriptions"]))
    d = f"DATE '{day}'"
    rows = ds.con.execute(
        f"""SELECT account_id,
                   min(start_on) FILTER (WHERE paid AND start_on <= {d}) AS first_paid,
                   bool_or(paid AND start_on <= {d} AND (end_on IS NULL OR end_on > {d})) AS covered,
                   sum(mrr) FILTER (WHERE paid AND start_on <= {d} AND (end_on IS NULL OR end_on > {d})) AS mrr,
                   sum(seats) FILTER (WHERE paid AND start_on <= {d} AND (end_on IS NULL OR end_on > {d})) AS seats,
                   min({_renewal(d)}) FILTER (WHERE paid AND start_on <= {d}
                                              AND (end_on IS NULL OR end_on > {d})) AS renews,
                   max(end_on) FILTER (WHERE paid AND end_on <= {d}) AS lapsed_on,
                   max(canceled_on) FILTER (WHERE paid AND canceled_on <= {d}) AS canceled,
                   bool_or(NOT paid AND start_on <= {d} AND (end_on IS NULL OR end_on > {d})) AS on_trial
            FROM {periods} GROUP BY account_id"""
    ).fetchall()
    decided = set()
    for acct, first, covered, mrr, seats, renews, lapsed, canceled, trial in rows:
        acct = str(acct)
        if acct not in out:
            continue
        decided.add(acct)
        out[acct]["customer_since"] = first
        if first is None:
            why = "on a trial or unpaid subscription" if trial else "no paid subscription period has started"
            _set(out, acct, "not_yet_customer", None, f"{why} by {day}")
        elif covered:
            out[acct]["sub_mrr"] = mrr
            out[acct]["sub_seats"] = seats
            out[acct]["renews_on"] = renews
            why = f"paid subscription since {first}"
            if canceled is not None:
                why += f"; canceled on {canceled}, paid through the current period"
            _customer(out, acct, day, first, why)
        else:
            why = f"subscription lapsed: the last paid period ended on {lapsed} with no renewal"
            if canceled is not None:
                why += f" (canceled on {canceled})"
            _set(out, acct, "churned", lapsed, why)
    return decided


def _renewal(d: str) -> str:
    """A covering period's next renewal after day `d`, from what was known on that day. A one-row-per-subscription
    export only knows its current period, whose end lies past the renewal due on an earlier day, so:

    - with a whole-month billing interval, the first anniversary of the start after the day;
    - else with the current period's start: its end if the period holds the day, else the first anniversary after
      the day at the period's length;
    - else the written end when the row covers one term of at most a year (a billing period or a one-year contract),
      or the yearly anniversary when the written term is whole years; otherwise unknown (NULL).
    A cancellation after the day is not known on it, so it never shortens the answer."""
    whole = "interval_months >= 1 AND interval_months = floor(interval_months)"
    term = "date_diff('month', period_from, renews_on + inclusive_days)"
    span = "date_diff('month', start_on, renews_on + inclusive_days)"
    return f"""CASE
        WHEN {whole} THEN {_anniversary(d, "CAST(interval_months AS INTEGER)")}
        WHEN period_from IS NOT NULL AND period_from <= {d} AND renews_on > {d} THEN renews_on
        WHEN period_from IS NOT NULL AND renews_on > period_from AND {term} >= 1 THEN {_anniversary(d, term)}
        WHEN period_from IS NULL AND renews_on > {d} AND {span} <= 12 THEN renews_on
        WHEN period_from IS NULL AND renews_on > {d} AND {span} % 12 = 0 THEN {_anniversary(d, "12")}
        END"""


def _anniversary(d: str, months: str) -> str:
    """The first date after `d` that is the start plus a whole number of `months`-month terms (for contracts whose
    written ends are the last covered day, the day before it)."""
    k = f"(date_diff('month', start_on, {d}) // ({months})) * ({months})"
    candidate = f"CAST(start_on + to_months({k}) AS DATE)"
    return (
        f"(CASE WHEN {candidate} > {d} THEN {candidate} "
        f"ELSE CAST(start_on + to_months({k} + ({months})) AS DATE) END) - inclusive_days"
    )


def _customer(out: Book, acct: str, day: date, start: date | None, why: str) -> None:
    new = start is not None and (day - start).days < ONBOARDING_DAYS
    _set(out, acct, "onboarding" if new else "active", start, why)


def _set(out: Book, acct: str, stage: Stage, since: date | None, evidence: str) -> None:
    out[acct]["stage"] = stage
    out[acct]["since"] = since
    out[acct]["evidence"] = evidence


def _from_other_evidence(ds: Dataset, day: date, out: Book, accounts: set[str]) -> None:
    churn = _churn_evidence(ds, day)
    starts = _start_evidence(ds, day)
    prospects = _statuses(ds, PROSPECT_WORDS)
    for acct in accounts:
        if acct in prospects:
            _set(
                out,
                acct,
                "not_yet_customer",
                None,
                f"status '{prospects[acct]}' (accounts table): not a customer",
            )
            continue
        start, start_why = starts.get(acct, (None, None))
        if start is not None and start > day and start_why == FIRST_ACTIVITY and ds.has("accounts"):
            # an account the accounts export lists is a customer whether or not anyone has used the product yet
            start, start_why = None, "no start date in the data: taken as a customer"
        if start is not None and start > day:
            _set(out, acct, "not_yet_customer", None, f"{start_why} after {day}")
            continue
        out[acct]["customer_since"] = start
        if acct in churn:
            lost, why = churn[acct]
            _set(out, acct, "churned", lost, why)
        elif start is not None:
            _customer(out, acct, day, start, f"customer since {start} ({start_why})")
        else:
            _set(out, acct, "active", None, start_why or "no start date in the data: taken as a customer")


def _start_evidence(ds: Dataset, day: date) -> dict[str, tuple[date | None, str]]:
    """account → (start date, what it is) from the first source that dates it; (None, why) when the start is only
    where an export begins. Dates after `day` are kept: they say the account was not a customer yet."""
    found: dict[str, tuple[date | None, str]] = {}

    def add(rows, what: str, first_of_table: date | None = None) -> None:
        for acct, start in rows:
            acct = str(acct)
            if acct in found or start is None:
                continue
            start = start.date() if hasattr(start, "date") and not isinstance(start, date) else start
            start = start if isinstance(start, date) else None
            if start is None:
                continue
            if first_of_table is not None and (start - first_of_table).days < CENSORED_DAYS and start <= day:
                found[acct] = (
                    None,
                    f"{what} in the first days of the data: a customer since before it begins",
                )
            else:
                found[acct] = (start, what)

    if ds.has("accounts"):
        cols = set(ds.columns("accounts"))
        for col, what in (("contract_start", "contract start"), ("signup_date", "signup date")):
            if col == "signup_date" and ds.has("revenue"):
                _revenue_starts(ds, add)
            if col in cols:
                add(
                    ds.con.execute(
                        f"SELECT account_id, CAST({col} AS DATE) FROM {ds.view('accounts')} WHERE {col} IS NOT NULL"
                    ).fetchall(),
                    what,
                )
    elif ds.has("revenue"):
        _revenue_starts(ds, add)
    if ds.has("events") and "account_id" in ds.columns("events"):
        first_day = ds.events_first_day()
        sql = (
            f"SELECT account_id, CAST(MIN(timestamp) AS DATE) AS first_day FROM {relation(ds, 'events')} "
            "WHERE account_id IS NOT NULL GROUP BY account_id"
        )
        rows = ds.memo(
            ("events_first_by_account",),
            lambda: [(r["account_id"], r["first_day"]) for r in engine_of(ds).fetch(sql)],
        )
        add(rows, FIRST_ACTIVITY, first_day)
    return found


# what an accounts export's status says (lower-case letters only, matched by prefix): a former customer, or one
# that has not bought yet (HubSpot lifecycle stages, Salesforce account types, Gainsight statuses)
CHURN_WORDS = (
    "churn",
    "former",
    "cancel",
    "lost",
    "inactive",
    "terminat",
    "expired",
    "excustomer",
    "exclient",
    "closedlost",
)
PROSPECT_WORDS = (
    "prospect",
    "lead",
    "opportunit",
    "subscriber",
    "trial",
    "evaluat",
    "marketingqualified",
    "salesqualified",
    "mql",
    "sql",
)


def _statuses(ds: Dataset, words: tuple[str, ...]) -> dict[str, str]:
    """account → its status as written, for accounts whose status (accounts.customer_status) begins with a word."""
    if not ds.has("accounts") or "customer_status" not in ds.columns("accounts"):
        return {}
    letters = word_key("customer_status")
    match = " OR ".join(f"starts_with({letters}, '{w}')" for w in words)
    rows = ds.con.execute(
        f"SELECT account_id, customer_status FROM {ds.view('accounts')} WHERE {match}"
    ).fetchall()
    return {str(a): str(s) for a, s in rows}


def _revenue_starts(ds: Dataset, add) -> None:
    rev = ds.view("revenue")
    first = ds.con.execute(f"SELECT CAST(min(month) AS DATE) FROM {rev}").fetchone()[0]
    rows = ds.con.execute(
        f"SELECT account_id, CAST(min(month) AS DATE) FROM {rev} WHERE mrr > 0 GROUP BY 1"
    ).fetchall()
    add(rows, "first month with revenue", first)


def _churn_evidence(ds: Dataset, day: date) -> dict[str, tuple[date | None, str]]:
    """account → (churn date, evidence) for accounts lost by the end of `day`, from data dated by then."""
    lost: dict[str, tuple[date | None, str]] = {}
    d = f"DATE '{day}'"
    if ds.has("accounts"):
        cols = set(ds.columns("accounts"))
        acc = ds.view("accounts")
        if "churn_date" in cols:
            for acct, when in ds.con.execute(
                f"SELECT account_id, CAST(churn_date AS DATE) FROM {acc} WHERE CAST(churn_date AS DATE) <= {d}"
            ).fetchall():
                lost.setdefault(str(acct), (when, f"churn date {when} (accounts table)"))
        if ds.latest_date is not None and day >= ds.latest_date:
            for acct, status in _statuses(ds, CHURN_WORDS).items():
                lost.setdefault(
                    acct,
                    (
                        None,
                        f"status '{status}' (accounts table), read as of the data's end ({ds.latest_date})",
                    ),
                )
        if "churned" in cols and ds.latest_date is not None and day >= ds.latest_date:
            dated = "AND churn_date IS NULL" if "churn_date" in cols else ""
            for (acct,) in ds.con.execute(f"SELECT account_id FROM {acc} WHERE churned {dated}").fetchall():
                lost.setdefault(
                    str(acct),
                    (None, f"churned flag with no date, read as of the data's end ({ds.latest_date})"),
                )
    if ds.has("outcomes"):
        for acct, when in ds.con.execute(
            f"""SELECT account_id, CAST(max("date") AS DATE) FROM {ds.view("outcomes")}
                WHERE CAST("date" AS DATE) <= {d} GROUP BY 1
                HAVING arg_max(outcome, "date") = 'churned'"""
        ).fetchall():
            lost.setdefault(str(acct), (when, f"churned renewal outcome on {when}"))
    if ds.has("revenue") and not ds.has("subscriptions"):
        month = f"date_trunc('month', {d})"
        for acct, last_paid in ds.con.execute(
            f"""WITH r AS (SELECT account_id, CAST(date_trunc('month', month) AS DATE) AS m, sum(mrr) AS mrr
                           FROM {ds.view("revenue")} WHERE month < {month} + INTERVAL 1 MONTH GROUP BY 1, 2),
                    latest AS (SELECT max(m) AS m FROM r)
                SELECT account_id, max(m) FILTER (WHERE mrr > 0) FROM r GROUP BY 1
                HAVING max(m) FILTER (WHERE mrr > 0) < (SELECT m FROM latest)"""
        ).fetchall():
            gone = (last_paid.replace(day=28) + timedelta(days=4)).replace(day=1)
            lost.setdefault(
                str(acct), (gone, f"revenue went to zero: last paid month {last_paid:%Y-%m}, none since")
            )
    return lost


__all__ = [
    "COLUMNS",
    "CUSTOMER_STAGES",
    "ONBOARDING_DAYS",
    "STAGES",
    "Stage",
    "all_account_ids_sql",
    "event_account_ids",
    "population_caveats",
    "is_customer",
    "lifecycle",
    "lifecycle_table",
    "table_stage_counts",
    "stage_counts",
]
