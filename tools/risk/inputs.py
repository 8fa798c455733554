"""The inputs risk signals are tested on: per account, every metric of `account_metrics`, the health score and
its change, and what the rules need beyond them — core actions in the last and prior 30 days, the key user,
dropped core features, champion departures and silence, competitor mentions in tickets, days to renewal.

Event-level work is one DuckDB query per family (events, champions, tickets), each a few small groupings
over one time window; what comes back is at most a few rows per account.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from customer_health.tools.base.dialects import engine_of, flag, readable, reduced, relation
from customer_health.tools.base.numbers import rnd
from customer_health.tools.base.sql import fetch_dicts, in_list, literal, window
from customer_health.tools.data.accounts import account_has, account_source_sql
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import ResolvedSemantics
from customer_health.tools.health.metrics import account_metrics
from customer_health.tools.health.profiles import Tiers
from customer_health.tools.health.score import AccountScore, HealthScores
from customer_health.tools.risk.rules import SEEN_DAYS, Rules

TIER_ORDER = ("thriving", "healthy", "neutral", "at_risk", "critical")
NEEDS = {  # metric name fragment → the input that provides it, for caveats
    "champion": "a users table with is_champion (and deactivated_at)",
    "competitor": "a tickets table with subject or body text",
    "nps": "NPS responses (an nps table or an nps_score column)",
    "escalations": "a tickets table",
    "open_tickets": "a tickets table",
    "renewal": "renewal_date on the accounts",
    "contract": "contract_start or signup_date on the accounts",
    "activated": "events and an activation milestone",
    "utilization": "events and seats_purchased on the accounts",
    "health_change": "events (for the score 30 days earlier)",
    "previous": "events (for the score 30 days earlier)",
    "tier_drop": "events (for the score 30 days earlier)",
}


def signal_inputs(
    ds: Dataset, day: date, sem: ResolvedSemantics | None, rules: Rules, scores: HealthScores
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Every value a condition or evidence line may read, per account, and the names the data can answer."""
    frame = account_metrics(ds, day, sem)
    available = {c for c in frame.columns if frame[c].notna().any()}
    names = list(frame.columns)
    values = zip(*(_column(frame[c]) for c in names), strict=True) if names else [()] * len(frame)
    rows = {str(k): dict(zip(names, v, strict=True)) for k, v in zip(frame.index, values, strict=True)}
    families = []
    if ds.has("events") and sem is not None and sem.core_features:
        families.append(_activity_inputs(ds, day, sem))
    if ds.has("users") and "is_champion" in ds.columns("users"):
        families.append(_champion_inputs(ds, day))
    if ds.has("tickets") and _text_columns(ds):
        families.append(_competitor_inputs(ds, day, rules))
    if account_has(ds, "contract_start") or account_has(ds, "signup_date"):
        families.append(_contract_inputs(ds, day))
    for found, values in families:
        available |= found
        missing = dict.fromkeys(found)
        for account_id, row in rows.items():
            row.update(values.get(account_id) or missing)
    tiers = Tiers(**scores.tiers)
    for a in scores.accounts:
        _score_inputs(rows.setdefault(a.account_id, {}), a, tiers, day)
    available |= {"health_score", "tier"}
    if "renewal_date" in available:
        available |= {"renewal_on", "days_to_renewal"}
    if any(a.previous_score is not None for a in scores.accounts):
        available |= {"previous_score", "previous_tier", "health_change", "tier_drop"}
    if {"days_since_last_activity", "days_since_last_login"} & available or ds.has("events"):
        available |= {"days_inactive", "last_activity"}
    return rows, available


def _score_inputs(row: dict[str, Any], a: AccountScore, tiers: Tiers, day: date) -> None:
    row.update(
        account_id=a.account_id, health_score=a.health_score, tier=a.tier, previous_score=a.previous_score
    )
    row["name"] = row.get("name") or a.name
    row["arr"] = row.get("arr") if row.get("arr") is not None else a.arr
    if a.previous_score is not None:
        row["health_change"] = round(a.health_score - a.previous_score, 1)
        row["previous_tier"] = tiers.tier(a.previous_score)
        row["tier_drop"] = TIER_ORDER.index(tiers.tier(a.health_score)) - TIER_ORDER.index(
            row["previous_tier"]
        )
    renewal = row.get("renewal_date")
    renewal = renewal.date() if isinstance(renewal, datetime) else renewal
    row["renewal_on"] = renewal.isoformat() if renewal is not None else None
    row["days_to_renewal"] = (renewal - day).days if renewal is not None else None
    idle = row.get("days_since_last_activity")
    idle = idle if idle is not None else row.get("days_since_last_login")
    row["days_inactive"] = idle
    row["last_activity"] = (day - timedelta(days=int(idle))).isoformat() if idle is not None else "never"


def _contract_inputs(ds: Dataset, day: date) -> tuple[set[str], dict[str, dict]]:
    """Days since the recorded contract start (else signup): unlike tenure_days, never guessed from the events,
    whose first day is often just where the export begins."""
    rows = ds.con.execute(
        f"SELECT account_id, date_diff('day', CAST(coalesce(contract_start, signup_date) AS DATE), DATE '{day}') "
        f"FROM ({account_source_sql(ds, ('contract_start', 'signup_date'), day, everyone=True)})"
    ).fetchall()
    return {"contract_days"}, {a: {"contract_days": d} for a, d in rows}


def risk_activity_sql(day: date, core: list[str], counted: bool, relations: dict[str, str]) -> str:
    """The activity inputs' event-level reduction over the 74 days to `day`, in the portable subset (`dialects`),
    one scan of the events for two kinds of row: per account × core feature (part 'f'), the days since its last
    use (age) and its actions in the last (n30) and the prior 30 days (n_prior); per account, its most active core
    users of the last 30 days, ties kept (part 'k'), with their actions (n30) and the days since their last event of
    any kind (age). `counted`: the events carry a count column (NULL counts 1)."""
    weight = "COALESCE(count, 1)" if counted else "1"
    age = f"DATE_DIFF('day', CAST(timestamp AS DATE), DATE '{day}')"
    return (
        f"WITH ev AS (SELECT account_id, user_id, event, {weight} AS w, "
        f"{flag(f'event IN {in_list(core)}')} AS is_core, {age} AS age "
        f"FROM {relations['events']} WHERE {window(day, 74).sql()} AND account_id IS NOT NULL), "
        "per_user AS (SELECT account_id, user_id, SUM(w) AS n30 FROM ev WHERE is_core = 1 AND age < 30 "
        "GROUP BY account_id, user_id), "
        "key_user AS (SELECT account_id, user_id, n30 FROM (SELECT account_id, user_id, n30, "
        "RANK() OVER (PARTITION BY account_id ORDER BY n30 DESC) AS rk FROM per_user) AS r WHERE rk = 1) "
        "SELECT 'f' AS part, account_id, event, CAST(NULL AS VARCHAR) AS user_id, MIN(age) AS age, "
        "SUM(CASE WHEN age < 30 THEN w END) AS n30, SUM(CASE WHEN age >= 30 AND age < 60 THEN w END) AS n_prior "
        "FROM ev WHERE is_core = 1 GROUP BY account_id, event "
        "UNION ALL SELECT 'k' AS part, k.account_id, CAST(NULL AS VARCHAR) AS event, k.user_id, MIN(e.age) AS age, "
        "k.n30, NULL AS n_prior FROM key_user AS k "
        "LEFT JOIN ev AS e ON e.account_id = k.account_id AND e.user_id = k.user_id "
        "GROUP BY k.account_id, k.user_id, k.n30"
    )


def last_seen_sql(day: date, champions: str | None, relations: dict[str, str]) -> str:
    """The day each user last had an event in the SEEN_DAYS days to `day`, in the portable subset; only the users
    of `champions` (a query of user ids) when given."""
    among = f" AND user_id IN ({champions})" if champions else ""
    return (
        f"SELECT user_id, CAST(MAX(timestamp) AS DATE) AS last FROM {relations['events']} "
        f"WHERE {window(day, SEEN_DAYS).sql()}{among} GROUP BY user_id"
    )


def _activity_inputs(ds: Dataset, day: date, sem: ResolvedSemantics) -> tuple[set[str], dict[str, dict]]:
    """Core actions in the last and prior 30 days, the key user and their idle days, dropped core features."""
    counted = "count" in ds.columns("events")
    sql = risk_activity_sql(day, sem.core_features, counted, {"events": relation(ds, "events")})
    rows = engine_of(ds).fetch(sql)
    features = [r for r in rows if r["part"] == "f"]
    keys = sorted(
        (r for r in rows if r["part"] == "k"), key=lambda r: (r["user_id"] is None, r["user_id"] or "")
    )
    key_of: dict[str, dict] = {}
    for r in keys:  # the key user: the most active, ties to the first user id
        key_of.setdefault(r["account_id"], r)
    per_account: dict[str, dict] = {}
    for r in features:
        a = per_account.get(r["account_id"])
        if a is None:  # not setdefault: that would build the default for each of the ~5 rows per account
            a = per_account[r["account_id"]] = {"c30": 0.0, "c_prior": 0.0, "dropped": []}
        a["c30"] += float(r["n30"] or 0)
        a["c_prior"] += float(r["n_prior"] or 0)
        if r["age"] >= 14:
            a["dropped"].append(r["event"])
    out = {}
    for acct, a in per_account.items():
        k = key_of.get(acct, {})
        key_user, idle, dropped = k.get("user_id"), k.get("age"), sorted(a["dropped"])
        idle = None if idle is None else int(idle)
        out[acct] = {
            "core_actions_30d": a["c30"],
            "core_actions_prior_30d": a["c_prior"],
            "key_user": key_user,
            "key_user_idle_days": idle,
            "key_user_share": rnd(float(k["n30"]) / a["c30"]) if key_user and a["c30"] else None,
            "key_user_last_seen": (day - timedelta(days=idle)).isoformat() if idle is not None else None,
            "unused_core_features": len(dropped),
            "unused_core_list": ", ".join(dropped),
        }
    names = {
        "core_actions_30d",
        "core_actions_prior_30d",
        "key_user",
        "key_user_idle_days",
        "key_user_share",
        "key_user_last_seen",
        "unused_core_features",
        "unused_core_list",
    }
    return names, out


def _last_seen(ds: Dataset, day: date) -> str:
    """A subquery of the workspace: the day each champion (each user, where the dataset's engine cannot read the
    users table) last had an event in the last SEEN_DAYS days, reduced on the engine."""
    champions = None
    if readable(ds, "users"):
        champions = f"SELECT user_id FROM {relation(ds, 'users')} WHERE is_champion"
    sql = last_seen_sql(day, champions, {"events": relation(ds, "events")})
    return reduced(ds.con, engine_of(ds), sql, "_risk_last_seen", {"user_id": "VARCHAR", "last": "DATE"})


def _champion_inputs(ds: Dataset, day: date) -> tuple[set[str], dict[str, dict]]:
    """Per account: the latest champion deactivation by as_of, the champions remaining, and when they were
    last seen (looked for in the last 90 days only, so the scan stays small)."""
    end = window(day, 1).end
    left = (
        f"CASE WHEN deactivated_at < TIMESTAMP '{end}' THEN CAST(deactivated_at AS DATE) END"
        if "deactivated_at" in ds.columns("users")
        else "CAST(NULL AS DATE)"
    )
    seen = (
        f"SELECT * FROM {_last_seen(ds, day)} AS s"
        if ds.has("events")
        else "SELECT NULL AS user_id, CAST(NULL AS DATE) AS last"
    )
    rows = fetch_dicts(
        ds.con,
        f"""
        WITH champs AS (SELECT account_id, user_id, {left} AS left_on
                        FROM {ds.view("users")} WHERE is_champion),
        seen AS ({seen})
        SELECT account_id, max(left_on) AS left_on, count(*) FILTER (WHERE left_on IS NULL) AS remaining,
               max(last) FILTER (WHERE left_on IS NULL) AS last_seen
        FROM champs LEFT JOIN seen USING (user_id) GROUP BY account_id""",
    )
    out = {
        r["account_id"]: {
            "champion_left_on": r["left_on"].isoformat() if r["left_on"] else None,
            "champion_left_days": (day - r["left_on"]).days if r["left_on"] else None,
            "champions_remaining": r["remaining"],
            "champion_last_seen": r["last_seen"].isoformat()
            if r["last_seen"]
            else f"over {SEEN_DAYS} days ago",
        }
        for r in rows
    }
    return {"champion_left_on", "champion_left_days", "champions_remaining", "champion_last_seen"}, out


def _competitor_inputs(ds: Dataset, day: date, rules: Rules) -> tuple[set[str], dict[str, dict]]:
    """Tickets of the last 90 days whose text names a competitor or uses evaluation language."""
    names = [n for n in rules.competitors if n.strip()]
    words = _pattern(names + [t for t in rules.competitive_terms if t.strip()])
    text = "concat_ws(' ', " + ", ".join(f"CAST({c} AS VARCHAR)" for c in _text_columns(ds)) + ")"
    rows = fetch_dicts(
        ds.con,
        f"""
        SELECT account_id, count(*) AS n, CAST(max(created_at) AS DATE) AS latest_on,
               list(t ORDER BY created_at DESC, t)[1] AS latest,
               list_distinct(flatten(list(regexp_extract_all(lower(t), {literal(_pattern(names))})))) AS named
        FROM (SELECT account_id, created_at, {text} AS t FROM {ds.view("tickets")}
              WHERE {window(day, 90).sql("created_at")})
        WHERE regexp_matches(t, {literal(words)}) GROUP BY account_id""",
    )
    canonical = {re.sub(r"\s+", " ", n.lower()): n for n in names}
    out = {}
    for r in rows:
        found = {canonical.get(re.sub(r"\s+", " ", m)) for m in (r["named"] or [])}
        out[r["account_id"]] = {
            "competitor_mentions": r["n"],
            "competitor_latest_on": r["latest_on"].isoformat(),
            "competitor_latest": _shorten(r["latest"]),
            "competitors_named": ", ".join(n for n in names if n in found) or "no product named",
        }
    return {"competitor_mentions", "competitor_latest_on", "competitor_latest", "competitors_named"}, out


def _text_columns(ds: Dataset) -> list[str]:
    return [c for c in ("subject", "body", "description") if c in ds.columns("tickets")]


def _pattern(words: list[str]) -> str:
    """A case-insensitive whole-word regex for any of `words` (spaces inside a word match any whitespace)."""
    alternatives = [r"\s+".join(re.escape(part.lower()) for part in w.split()) for w in words]
    return r"(?i)\b(?:" + "|".join(alternatives or [r"[^\s\S]"]) + r")\b"


def _shorten(text: str | None, limit: int = 80) -> str | None:
    text = " ".join(str(text).split()) if text is not None else None
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def _column(values) -> list[Any]:
    """A frame column as Python values, missing ones (NaN, NaT, NA) as None."""
    return [None if gone else v for v, gone in zip(values.tolist(), values.isna().tolist(), strict=True)]
