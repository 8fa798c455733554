"""Billing periods and contracts (the `subscriptions` table) read as paid coverage over time.

A subscriptions export is one row per billing period or per subscription (Stripe, Chargebee, Recurly, Zuora,
Salesforce contracts). Each row becomes one *period* of paid coverage: the days from its paid start (its start, or
the end of its trial) up to its end, exclusive. From the periods come MRR by month (the revenue table a billing
system would give), and, as of any day, who is covered, at what MRR and seat count, and when they renew — so a
lapse with no covering period is a churn, and a date before a customer's first period is before they were one.

Ends: an explicit end (ended, expires, period end) wins; a canceled or expired row without one ends when it was
canceled (else at its current period's end); a live row canceled at period end ends at that period end; a live row
with neither is open. Whether written ends are inclusive (a contract "2024-01-01 – 2024-12-31") or exclusive (Stripe's
period end is the next period's start) is decided once per table from how consecutive periods chain (and, without
chains, how ends fall against their starts' anniversaries); inclusive ends get one day added.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from customer_health.tools.base.sql import quote
from customer_health.tools.data.values import word_key

if TYPE_CHECKING:
    import duckdb

# a status that means the subscription is over (lower case, letters only: `incomplete_expired` → incompleteexpired)
ENDED = (
    "canceled",
    "cancelled",
    "expired",
    "ended",
    "inactive",
    "terminated",
    "churned",
    "lapsed",
    "closed",
    "incompleteexpired",
    "deleted",
    "void",
    "voided",
)
# a status that means nobody is paying yet (a trial, or a subscription that has not started or never completed)
UNPAID = ("trial", "trialing", "intrial", "future", "incomplete", "incompleteexpired", "pending", "draft")
PRICE_COLUMNS = ("mrr", "arr", "total_amount", "unit_amount")


def _letters(col: str) -> str:
    return word_key(f"CAST({col} AS VARCHAR)")


def _months(have: set[str]) -> str:
    """Months in one billing interval: `year` 12, `quarter` 3, `week` 12/52 …, times the interval count."""
    if "interval" not in have:
        base = "1.0"
    else:
        word = _letters("interval")
        base = (
            f"CASE WHEN {word} LIKE 'year%' OR {word} LIKE 'annual%' OR {word} IN ('yr', 'yearly', 'y') THEN 12.0 "
            f"WHEN {word} LIKE 'semi%' OR {word} LIKE 'half%' OR {word} LIKE 'biannual%' THEN 6.0 "
            f"WHEN {word} LIKE 'quarter%' THEN 3.0 "
            f"WHEN {word} LIKE 'week%' THEN 12.0 / 52 "
            f"WHEN {word} LIKE 'day%' OR {word} = 'daily' THEN 12.0 / 365 "
            "ELSE 1.0 END"
        )
    count = "greatest(coalesce(interval_count, 1), 1)" if "interval_count" in have else "1"
    return f"({base} * {count})"


def mrr_expr(have: set[str], ended: str = "false") -> str | None:
    """Monthly recurring revenue of one row: its MRR, else ARR ÷ 12, else its amount per interval (a total, or a unit
    price times the quantity) ÷ the interval's months; None when the table has no price at all. On a row whose
    status says it is over (`ended`, SQL), an MRR or ARR of zero says nothing of what it was paying: billing systems
    (Chargebee) zero the MRR of a canceled subscription."""
    parts = []
    months = _months(have)
    if "mrr" in have:
        parts.append(f"CASE WHEN NOT ({ended}) OR mrr > 0 THEN mrr END")
    if "arr" in have:
        parts.append(f"CASE WHEN NOT ({ended}) OR arr > 0 THEN arr / 12.0 END")
    if "total_amount" in have:
        parts.append(f"total_amount / {months}")
    if "unit_amount" in have:
        qty = "coalesce(quantity, 1)" if "quantity" in have else "1"
        parts.append(f"unit_amount * {qty} / {months}")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def _raw_periods(view: str, have: set[str]) -> str:
    """Each row's account, key, plan, paid start, written end (before the inclusive/exclusive decision), MRR, seats,
    next renewal as written, and whether it is paid coverage at all."""
    opt = {
        c: (c if c in have else "NULL")
        for c in ("end_date", "period_end", "period_start", "canceled_at", "trial_end", "status")
    }
    if "end_date" not in have and not {"status", "canceled_at"} & have:
        opt["end_date"] = opt["period_end"]  # a contract export with only a term end: the term end is the end
    ended = f"{_letters(opt['status'])} IN {ENDED!r}" if "status" in have else "false"
    unpaid = f"coalesce({_letters(opt['status'])} IN {UNPAID!r}, false)" if "status" in have else "false"
    end = (
        f"coalesce({opt['end_date']}, CASE WHEN {ended} THEN coalesce({opt['canceled_at']}, {opt['period_end']}, "
        f"start_date) WHEN {opt['canceled_at']} IS NOT NULL THEN coalesce({opt['period_end']}, "
        f"{opt['canceled_at']}) END)"
    )
    start = (
        f"CASE WHEN {opt['trial_end']} > start_date THEN {opt['trial_end']} ELSE start_date END"
        if "trial_end" in have
        else "start_date"
    )
    mrr = mrr_expr(have, ended)
    free = f"coalesce(({mrr}) <= 0, false)" if mrr else "false"  # an ended row's zero MRR is NULL: not free
    key = "subscription_id" if "subscription_id" in have else "NULL"
    return f"""
        SELECT account_id, CAST({key} AS VARCHAR) AS subscription_id,
               {"plan" if "plan" in have else "NULL"} AS plan,
               CAST({start} AS DATE) AS start_on, CAST({end} AS DATE) AS end_written,
               CAST({opt["canceled_at"]} AS DATE) AS canceled_on,
               CAST(coalesce({opt["period_end"]}, {opt["end_date"]}) AS DATE) AS renews_written,
               CAST({opt["period_start"]} AS DATE) AS period_from,
               {mrr or "NULL"} AS mrr, {"quantity" if "quantity" in have else "NULL"} AS seats,
               {_months(have) if "interval" in have else "NULL"} AS interval_months,
               NOT ({unpaid} OR {free}) AS paid
        FROM {quote(view)} WHERE account_id IS NOT NULL AND start_date IS NOT NULL"""


def inclusive_ends(con: duckdb.DuckDBPyConnection, view: str, have: set[str]) -> bool:
    """Whether the table's written ends are the last covered day (contracts) rather than the first uncovered one."""
    raw = _raw_periods(view, have)
    votes = con.execute(
        f"""WITH p AS ({raw}), chained AS (
                SELECT end_written AS e, lead(start_on) OVER (PARTITION BY account_id, coalesce(subscription_id, '')
                                                              ORDER BY start_on) AS next_start, start_on
                FROM p)
            SELECT count(*) FILTER (WHERE next_start = e),
                   count(*) FILTER (WHERE next_start = e + 1),
                   count(*) FILTER (WHERE next_start IS NULL AND e IS NOT NULL AND day(e) = day(start_on)),
                   count(*) FILTER (WHERE next_start IS NULL AND e IS NOT NULL AND day(e + 1) = day(start_on)
                                    AND day(e) <> day(start_on))
            FROM chained"""
    ).fetchone()
    chain_excl, chain_incl, anniv_excl, anniv_incl = (int(v or 0) for v in votes)
    if chain_excl or chain_incl:
        return chain_incl > chain_excl
    return anniv_incl > anniv_excl


def periods_sql(view: str, have: set[str], inclusive: bool) -> str:
    """The paid periods: account_id, subscription_id, plan, start_on, end_on (exclusive, NULL = open), canceled_on,
    renews_on (as written: the current period's end), period_from (the current period's start, NULL: not given),
    inclusive_days (1 when written ends are the last covered day), interval_months (NULL: not given), mrr
    (monthly), seats, paid."""
    shift = " + 1" if inclusive else ""
    return f"""
        SELECT account_id, subscription_id, plan, start_on,
               CASE WHEN end_written IS NULL THEN NULL ELSE greatest(end_written{shift}, start_on) END AS end_on,
               canceled_on, renews_written AS renews_on, period_from, {int(inclusive)} AS inclusive_days,
               interval_months, mrr, seats, paid
        FROM ({_raw_periods(view, have)})"""


def upper_date(con: duckdb.DuckDBPyConnection, view: str, have: set[str]) -> date | None:
    """The latest day the export itself reports happening: a start or a cancellation (ends may lie in the future)."""
    cols = ["start_date"] + (["canceled_at"] if "canceled_at" in have else [])
    found = con.execute(f"SELECT max(greatest({', '.join(cols)})) FROM {quote(view)}").fetchone()[0]
    return found.date() if hasattr(found, "date") else found


def revenue_sql(periods_view: str, first: date, upper: date) -> str:
    """Account × month MRR as a revenue export would have it: the MRR of the periods covering the month's last day
    (or the export's last day, for its own month); months with no paid coverage have no row."""
    return f"""
        WITH m AS (SELECT CAST(month AS DATE) AS month,
                          least(CAST(month + INTERVAL 1 MONTH AS DATE) - 1, DATE '{upper}') AS on_day
                   FROM generate_series(DATE '{first.replace(day=1)}', DATE '{upper.replace(day=1)}',
                                        INTERVAL 1 MONTH) AS g(month))
        SELECT p.account_id, m.month, sum(p.mrr) AS mrr
        FROM m JOIN {quote(periods_view)} p
          ON p.paid AND p.start_on <= m.on_day AND (p.end_on IS NULL OR p.end_on > m.on_day)
        GROUP BY ALL HAVING sum(p.mrr) > 0"""


def accounts_sql(view: str, have: set[str]) -> str:
    """The accounts a subscriptions export names (when there is no accounts table): id, name and latest plan."""
    cols = ["account_id"]
    for c in ("name", "plan"):
        if c in have:
            cols.append(f"arg_max({c}, start_date) FILTER (WHERE {c} IS NOT NULL) AS {c}")
    return f"SELECT {', '.join(cols)} FROM {quote(view)} WHERE account_id IS NOT NULL GROUP BY account_id"


def periods_view_name(subscriptions_view: str) -> str:
    return f"{subscriptions_view}__periods"


def build_subscription_views(con: duckdb.DuckDBPyConnection, views: dict[str, str], prefix: str) -> None:
    """The periods view beside the subscriptions view, and the revenue and accounts views derived from it when the
    dataset has no revenue or accounts table of its own (added to `views`)."""
    view = views["subscriptions"]
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {quote(view)}").fetchall()}
    inclusive = inclusive_ends(con, view, have)
    periods = periods_view_name(view)
    con.execute(f"CREATE OR REPLACE VIEW {quote(periods)} AS {periods_sql(view, have, inclusive)}")
    if "accounts" not in views:
        name = f"{prefix}_accounts"
        con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {accounts_sql(view, have)}")
        views["accounts"] = name
    first = con.execute(f"SELECT min(start_on) FROM {quote(periods)} WHERE paid").fetchone()[0]
    upper = upper_date(con, view, have)
    if (
        "revenue" not in views
        and mrr_expr(have)
        and first is not None
        and upper is not None
        and first <= upper
    ):
        name = f"{prefix}_revenue"
        con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {revenue_sql(periods, first, upper)}")
        views["revenue"] = name


__all__ = [
    "PRICE_COLUMNS",
    "build_subscription_views",
    "mrr_expr",
    "periods_view_name",
]
