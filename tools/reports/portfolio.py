"""The portfolio for a board or CS leader: retention, health by ARR, at-risk ARR, renewals due, red accounts.

Revenue KPIs compare each account's MRR `period_months` before as_of's month with its MRR in that month,
over the accounts paying at the start: GRR = (start − churn − contraction) ÷ start and
NRR = (start + expansion − contraction − churn) ÷ start. Without revenue, logo retention comes from renewal
outcomes, then the accounts' churn columns; reading those is fine here: this reports, it scores nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from customer_health.tools.base import bounds
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.formats import money, percent
from customer_health.tools.base.models import Envelope, validate_rows
from customer_health.tools.base.numbers import ratio, rnd
from customer_health.tools.data.accounts import account_source_sql
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.lifecycle import lifecycle, stage_counts
from customer_health.tools.health.profiles import Profile, load_profile
from customer_health.tools.health.score import HealthScores
from customer_health.tools.reports.evidence import AtRiskLine, at_risk_line
from customer_health.tools.reports.pipeline import analyze
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

TIERS = ("thriving", "healthy", "neutral", "at_risk", "critical")
FIELDS = ("account_id", "name", "segment", "arr", "health_score", "tier")  # taken from the scores
AT_RISK = 50  # the seed's at-risk ARR line
RENEWAL_RISK = 60
OUTCOMES = ("renewed", "expanded", "contracted", "churned")


class Period(BaseModel):
    start: date = Field(description="First day covered (for revenue, the first day of the start month).")
    end: date
    months: int = Field(description="Months the KPIs span (fewer than requested when the data is shorter).")
    requested_months: int
    start_month: date | None = Field(None, description="Revenue months compared (revenue source only).")
    end_month: date | None = None


class Tally(BaseModel):
    accounts: int
    arr: float


class RevenueKPIs(BaseModel):
    """Retention over the period; GRR, NRR and the MRR movements need the revenue source."""

    source: Literal["revenue", "outcomes", "accounts", "none"]
    grr: float | None = None
    nrr: float | None = None
    logo_retention: float | None = Field(None, description="retained_accounts ÷ start_accounts.")
    expansion_rate: float | None = None
    start_mrr: float | None = None
    end_mrr: float | None = Field(None, description="All MRR in the end month, new logos included.")
    churned_mrr: float | None = None
    contraction_mrr: float | None = None
    expansion_mrr: float | None = None
    new_mrr: float | None = Field(None, description="End-month MRR of accounts not paying at the start.")
    start_accounts: int | None = Field(None, description="Paying at the start, or renewals decided.")
    retained_accounts: int | None = None
    new_accounts: int | None = None
    by_outcome: dict[str, Tally] = Field(default_factory=dict, description="Without revenue: per outcome.")


class TierShare(BaseModel):
    tier: str
    accounts: int
    arr: float
    arr_share: float | None


class AccountLine(BaseModel):
    account_id: str
    name: str | None
    segment: str | None
    csm_owner: str | None
    arr: float | None
    health_score: float
    tier: str
    renewal_date: date | None
    days_to_renewal: int | None
    driver: str | None = Field(description="The biggest drag on the score.")


class AccountList(BaseModel):
    count: int
    arr: float
    accounts: list[AccountLine] = Field(description="Largest ARR first, at most top_n.")
    total_rows: int
    truncated: bool


class GroupRow(BaseModel):
    group: str
    accounts: int
    arr: float
    mean_health: float | None
    at_risk_arr: float
    tiers: dict[str, int]


class Breakdown(BaseModel):
    rows: list[GroupRow] = Field(description="Largest ARR first, at most top_n.")
    total_rows: int
    truncated: bool


class Portfolio(Envelope):
    period: Period
    revenue_kpis: RevenueKPIs
    customers: int = Field(description="Customers on as_of (onboarding or active).")
    lifecycle: dict[str, int] = Field(
        default_factory=dict,
        description="Accounts per lifecycle stage on as_of: not_yet_customer, onboarding, active, churned.",
    )
    total_arr: float
    health_distribution: list[TierShare]
    at_risk_line: AtRiskLine | None = Field(
        None, description="Where at risk starts: the backtest's threshold when outcomes allow, else the band."
    )
    at_risk_arr: float | None = Field(description="ARR of customers scoring below the at-risk line.")
    at_risk_share: float | None
    renewals: dict[str, AccountList] = Field(description=f"next_60, next_90: health < {RENEWAL_RISK}.")
    top_red_accounts: AccountList = Field(description="Customers scoring below the at-risk line.")
    by_segment: Breakdown
    by_owner: Breakdown


Retention = tuple[RevenueKPIs, Period]


def portfolio_summary(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    period_months: int = 12,
    scores: HealthScores | None = None,
    profile: Profile | str | None = None,
    top_n: int = 10,
) -> Portfolio:
    """Board-level KPIs as of a date: retention over the period, health by ARR, at-risk ARR and renewals due.

    Scores are the analysis pipeline's with `profile` unless `scores` (which must share the as-of date) are passed;
    pass the profile with them too, for the at-risk line (see evidence.at_risk_line).
    """
    bounds.check("period_months", period_months, bounds.PERIOD_MONTHS)
    bounds.check("top_n", top_n, bounds.TOP_N)
    day = scores.as_of if scores else resolve_as_of(ds, as_of)
    if scores and as_of is not None and resolve_as_of(ds, as_of) != day:
        raise InputError(f"the scores are as of {day}, not {as_of}.", column="as_of", fix="Leave as_of out.")
    if scores is None and (ds.has("accounts") or ds.has("events")):
        analysis = analyze(ds, as_of=day, profile=profile)
        scores, profile = analysis.scores, analysis.profile
    caveats = [] if scores else ["No accounts or events: no health, at-risk ARR or renewals."]
    arr = _arr_on(ds, day) if scores else {}
    kpis, period = _retention(ds, day, period_months, arr, caveats)
    book = _book(ds, scores, day, caveats)
    total = float(book["arr"].sum())
    line = _line(ds, day, profile, scores) if scores else None
    below = book["health_score"] < (line.value if line else AT_RISK)
    at_risk = book[below]
    result = Portfolio(
        as_of=day,
        period=period,
        revenue_kpis=kpis,
        customers=len(book),
        lifecycle=stage_counts(lifecycle(ds, day)) if (ds.has("accounts") or ds.has("events")) else {},
        total_arr=_money_value(total),
        health_distribution=[_tier(book[book["tier"] == t], t, total) for t in TIERS],
        at_risk_line=line,
        at_risk_arr=_money_value(at_risk["arr"].sum()) if scores else None,
        at_risk_share=ratio(float(at_risk["arr"].sum()), total),
        renewals={f"next_{d}": _renewals(book, d, top_n) for d in (60, 90)},
        top_red_accounts=_accounts(at_risk, top_n),
        by_segment=_breakdown(book, below, "segment", top_n, caveats),
        by_owner=_breakdown(book, below, "csm_owner", top_n, caveats),
        caveats=caveats + (scores.caveats if scores else []),
    )
    soon = int(at_risk["days_to_renewal"].between(0, 90).sum())
    result.summary = _summary(result, soon if book["renewal_date"].notna().any() else None)
    return result


def _line(ds: Dataset, day: date, profile: Profile | str | None, scores: HealthScores) -> AtRiskLine:
    """The at-risk line for the scores' profile; when scores come without it and their profile's name is not a
    preset, the seed's band (the backtest would test another profile)."""
    if profile is None:
        try:
            profile = load_profile(scores.profile)
        except InputError:
            basis = f"At-risk line {AT_RISK}: the seed's band (the scores' profile {scores.profile} was not given)."
            return AtRiskLine(value=AT_RISK, source="profile", basis=basis)
    return at_risk_line(ds, day, profile)


def _arr_on(ds: Dataset, day: date) -> dict[str, float]:
    """Every account's ARR on `day` (ARR, else MRR × 12; from subscriptions where they say), churned or not."""
    rows = ds.con.execute(account_source_sql(ds, ("arr", "mrr"), day, everyone=True)).fetchall()
    return {str(a): float(arr if arr is not None else (mrr or 0.0) * 12) for a, arr, mrr in rows}


def _book(ds: Dataset, scores: HealthScores | None, day: date, caveats: list[str]) -> pd.DataFrame:
    """One row per current customer, largest ARR first, with owner, renewal date and the biggest drag."""
    import pandas as pd

    current = [a for a in (scores.accounts if scores else []) if a.status == "customer"]
    book = pd.DataFrame([a.model_dump(include=set(FIELDS)) for a in current], columns=list(FIELDS))
    book["driver"] = [a.drivers[0].text if a.drivers else None for a in current]
    extra = pd.DataFrame({"account_id": pd.Series(dtype=str)})
    if ds.has("accounts"):
        extra = ds.con.execute(account_source_sql(ds, ("csm_owner", "renewal_date"), day, everyone=True)).df()
        extra = extra.astype({"account_id": str}).drop_duplicates("account_id")
    book = book.merge(extra, on="account_id", how="left").reindex(columns=list(AccountLine.model_fields))
    book["arr"] = pd.to_numeric(book["arr"], errors="coerce").astype(float)
    book["renewal_date"] = pd.to_datetime(book["renewal_date"], errors="coerce").dt.normalize()
    book["days_to_renewal"] = (book["renewal_date"] - pd.Timestamp(day)).dt.days
    if len(book) and book["renewal_date"].isna().all():
        caveats.append("No renewal dates: renewals due cannot be listed (add renewal_date to the accounts).")
    if book["arr"].isna().any():
        caveats.append(f"{int(book['arr'].isna().sum())} customer(s) have no ARR: in the tiers, not the ARR.")
    return book.sort_values(["arr", "account_id"], ascending=[False, True], na_position="last", kind="stable")


def _tier(rows: pd.DataFrame, tier: str, total: float) -> TierShare:
    arr = _money_value(rows["arr"].sum())
    return TierShare(tier=tier, accounts=len(rows), arr=arr, arr_share=ratio(arr, total))


def _accounts(rows: pd.DataFrame, top_n: int) -> AccountList:
    head = rows.head(top_n).astype(object)
    lines = validate_rows(AccountLine, head.where(head.notna(), None).to_dict("records"))
    n, arr = len(rows), _money_value(rows["arr"].sum())
    return AccountList(count=n, arr=arr, accounts=lines, total_rows=n, truncated=n > top_n)


def _renewals(book: pd.DataFrame, days: int, top_n: int) -> AccountList:
    due = book["days_to_renewal"].between(0, days) & (book["health_score"] < RENEWAL_RISK)
    return _accounts(book[due], top_n)


def _breakdown(
    book: pd.DataFrame, below: pd.Series, column: str, top_n: int, caveats: list[str]
) -> Breakdown:
    if book[column].isna().all():
        if len(book):
            caveats.append(f"No {column} in the accounts: the breakdown by {column} is empty.")
        return Breakdown(rows=[], total_rows=0, truncated=False)
    rows = [
        GroupRow(
            group=name,
            accounts=len(g),
            arr=_money_value(g["arr"].sum()),
            mean_health=rnd(g["health_score"].mean(), 1),
            at_risk_arr=_money_value(g.loc[below[g.index], "arr"].sum()),
            tiers={t: int((g["tier"] == t).sum()) for t in TIERS},
        )
        for name, g in book.groupby(book[column].fillna("(none)").astype(str), sort=True)
    ]
    rows.sort(key=lambda r: (-r.arr, r.group))
    return Breakdown(rows=rows[:top_n], total_rows=len(rows), truncated=len(rows) > top_n)


def _retention(ds: Dataset, day: date, months: int, arr: dict[str, float], caveats: list[str]) -> Retention:
    """Retention from the first source that supports it: revenue, then outcomes, then the accounts' churn."""
    import pandas as pd

    start = (pd.Timestamp(day) - pd.DateOffset(months=months)).date() + timedelta(days=1)
    period = Period(start=start, end=day, months=months, requested_months=months)
    if ds.has("revenue"):
        found = _from_revenue(ds, day, months, caveats)
        if found:
            return found
        caveats.append(f"The revenue table has no two months to compare up to {day}.")
    if ds.has("outcomes"):
        kpis = _from_outcomes(ds, start, day, arr)
        caveats.append(
            f"No usable revenue: logo retention is 1 − churned ÷ the {kpis.start_accounts} renewals decided "
            f"in the period (outcomes table, each account's latest); GRR and NRR need monthly revenue."
        )
        return kpis, period
    kpis = _from_accounts(ds, start, day, arr, caveats)
    if kpis is None:
        caveats.append("No revenue, outcomes or churn columns: retention KPIs cannot be computed.")
    return kpis or RevenueKPIs(source="none"), period


def _from_revenue(ds: Dataset, day: date, months: int, caveats: list[str]) -> Retention | None:
    """Each account's MRR in the start vs the end month; None when the table has no two months to compare."""
    import pandas as pd

    rev, month = ds.view("revenue"), "CAST(date_trunc('month', month) AS DATE)"
    end = pd.Period(day, "M")
    lo, hi = ds.con.execute(
        f"SELECT min({month}), max({month}) FROM {rev} WHERE {month} <= DATE '{end.start_time.date()}'"
    ).fetchall()[0]  # fetchone would leave the result open and block con.register on this connection
    if hi is None or pd.Period(hi, "M") <= max(pd.Period(lo, "M"), end - months):
        return None
    first, last = max(pd.Period(lo, "M"), end - months), pd.Period(hi, "M")
    s, e, n = first.start_time.date(), last.start_time.date(), last.ordinal - first.ordinal
    caveats.append(f"Revenue KPIs from the revenue table: MRR in {s:%Y-%m} vs {e:%Y-%m}.")
    if last < end:
        caveats.append(f"The revenue table ends in {hi:%Y-%m}, so the KPIs end there, not in {day:%Y-%m}.")
    if n < months:
        caveats.append(f"The revenue table starts in {lo:%Y-%m}: the KPIs span {n} months, not {months}.")
    frame = ds.con.execute(
        f"""SELECT account_id, coalesce(sum(mrr) FILTER (WHERE m = DATE '{s}'), 0) AS s,
                   coalesce(sum(mrr) FILTER (WHERE m = DATE '{e}'), 0) AS e
            FROM (SELECT account_id, {month} AS m, mrr FROM {rev}) WHERE m IN (DATE '{s}', DATE '{e}')
            GROUP BY 1 ORDER BY 1"""
    ).df()
    period = Period(start=s, end=day, months=n, requested_months=months, start_month=s, end_month=e)
    return _movements(frame["s"].astype(float), frame["e"].astype(float)), period


def _movements(s: pd.Series, e: pd.Series) -> RevenueKPIs:
    """Split the change from start MRR `s` to end MRR `e` into churn, contraction, expansion and new."""
    paying, stays = s > 0, e > 0
    start = float(s[paying].sum())
    churn = float(s[paying & ~stays].sum())
    contraction = float((s - e)[paying & stays & (e < s)].sum())
    expansion = float((e - s)[paying & stays & (e > s)].sum())
    return RevenueKPIs(
        source="revenue",
        grr=ratio(start - churn - contraction, start),
        nrr=ratio(start + expansion - contraction - churn, start),
        logo_retention=ratio(int((paying & stays).sum()), int(paying.sum())),
        expansion_rate=ratio(expansion, start),
        start_mrr=_money_value(start),
        end_mrr=_money_value(e[stays].sum()),
        churned_mrr=_money_value(churn),
        contraction_mrr=_money_value(contraction),
        expansion_mrr=_money_value(expansion),
        new_mrr=_money_value(e[~paying & stays].sum()),
        start_accounts=int(paying.sum()),
        retained_accounts=int((paying & stays).sum()),
        new_accounts=int((~paying & stays).sum()),
    )


def _from_outcomes(ds: Dataset, start: date, day: date, arr: dict[str, float]) -> RevenueKPIs:
    """Logo retention over the renewals decided in the period, each account's latest outcome counting once."""
    rows = ds.con.execute(
        f"""SELECT account_id, outcome FROM (
                SELECT account_id, outcome, row_number() OVER (
                    PARTITION BY account_id ORDER BY CAST("date" AS DATE) DESC, outcome) AS rn
                FROM {ds.view("outcomes")}
                WHERE CAST("date" AS DATE) BETWEEN DATE '{start}' AND DATE '{day}' AND outcome IN {OUTCOMES})
            WHERE rn = 1"""
    ).fetchall()
    tallies = {}
    for outcome in OUTCOMES:
        ids = [a for a, o in rows if o == outcome]
        tallies[outcome] = Tally(accounts=len(ids), arr=_money_value(sum(arr.get(a, 0.0) for a in ids)))
    decided, churned = len(rows), tallies["churned"].accounts
    return RevenueKPIs(
        source="outcomes",
        logo_retention=ratio(decided - churned, decided),
        start_accounts=decided,
        retained_accounts=decided - churned,
        by_outcome=tallies,
    )


def _from_accounts(
    ds: Dataset, start: date, day: date, arr: dict[str, float], caveats: list[str]
) -> RevenueKPIs | None:
    """Logo retention over the customers at the period start: lost within it by churn date, else by flag."""
    import pandas as pd

    cols = ["account_id", "churned", "churn_date", "contract_start", "signup_date"]
    have = set(ds.columns("accounts")) if ds.has("accounts") else set()
    if not have & {"churn_date", "churned"}:
        return None
    acc = ds.frame("accounts", cols).reindex(columns=cols)
    lost = pd.to_datetime(acc["churn_date"], errors="coerce").dt.normalize()
    began = pd.to_datetime(acc["contract_start"], errors="coerce")
    began = began.fillna(pd.to_datetime(acc["signup_date"], errors="coerce"))
    undated = acc["churned"].eq(True) & lost.isna()
    base = (lost.isna() | (lost >= pd.Timestamp(start))) & (began.isna() | (began < pd.Timestamp(start)))
    if "churn_date" in have:
        base, churned = base & ~undated, base & ~undated & (lost <= pd.Timestamp(day))
        how = f"churn dates (customers on {start} lost by {day}; churned flags without a date left out)"
    else:
        churned = base & undated
        how = "churned flags (there are no churn dates, so a churn at any time counts)"
    caveats.append(f"No revenue or outcomes: logo retention from the accounts' {how}; no GRR or NRR.")
    n, gone = int(base.sum()), int(churned.sum())
    lost_arr = sum(arr.get(str(a), 0.0) for a in acc.loc[churned, "account_id"])
    return RevenueKPIs(
        source="accounts",
        logo_retention=ratio(n - gone, n),
        start_accounts=n,
        retained_accounts=n - gone,
        by_outcome={"churned": Tally(accounts=gone, arr=_money_value(lost_arr))},
    )


def _summary(p: Portfolio, soon: int | None) -> str:
    """Situation (size and retention), complication (money at risk), resolution (where to look first)."""
    k, due, red = p.revenue_kpis, p.renewals["next_90"], p.top_red_accounts.accounts
    out = [f"{p.customers} customers, {money(p.total_arr)} ARR" if p.customers else "The portfolio"]
    out[0] += f" as of {p.as_of}"
    if k.nrr is not None:
        out[0] += f"; NRR {percent(k.nrr)}, GRR {percent(k.grr)}, logo retention {percent(k.logo_retention)}"
    elif k.logo_retention is not None:
        out[0] += f"; logo retention {percent(k.logo_retention)} (from {k.source})"
    out[0] += f" over {p.period.months} months." if k.logo_retention is not None else "."
    line = p.at_risk_line.value if p.at_risk_line else AT_RISK
    if p.at_risk_arr:
        renewing = f", {soon} of them renewing within 90 days" if soon is not None else ""
        amount = f"{money(p.at_risk_arr)} ({percent(p.at_risk_share)})"
        out.append(f"{amount} sits in accounts scoring below the at-risk line of {line:g}{renewing}.")
    elif p.customers:
        out.append(f"No customer scores below the at-risk line of {line:g}.")
    if due.count:
        accounts = f"{due.count} account{'s' * (due.count != 1)}"
        out.append(f"{accounts} with health below {RENEWAL_RISK} renew within 90 days ({money(due.arr)}).")
    if red:
        top, drag = red[0], f"; biggest drag: {red[0].driver}" if red[0].driver else ""
        facts = f"{money(top.arr or 0)} ARR, health {top.health_score:g}{drag}"
        out.append(f"Largest red account: {top.name or top.account_id} ({facts}).")
    return " ".join(out)


def _money_value(value: float | None) -> float:
    return rnd(value, 2) or 0.0
