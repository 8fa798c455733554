"""Personas: per account, how many of each persona's users are active week to week, against the persona's target."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from customer_health.tools.base.dialects import engine_of, reduced, relation
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.models import Envelope, gc_paused
from customer_health.tools.base.numbers import rnd
from customer_health.tools.base.sql import window
from customer_health.tools.data.accounts import account_frame
from customer_health.tools.data.config import Persona
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from pydantic import BaseModel, Field

WEEKS = 4


class PersonaActivity(BaseModel):
    persona: str
    roles: list[str]
    users: int = Field(description="Users of this persona on the account (not deactivated by as_of).")
    weekly_active_rate: float | None = Field(
        description="Mean over the last 4 weeks of the share of the persona's users active that week."
    )
    target: float
    meets_target: bool | None
    active_last_week: int


class PersonaRow(BaseModel):
    account_id: str
    name: str | None = None
    personas: list[PersonaActivity]
    below_target: list[str]


class Personas(Envelope):
    weeks: int
    personas: dict[str, Persona]
    accounts: list[PersonaRow]


@gc_paused
def weeks_active_sql(day: date, weeks: int, relations: dict[str, str]) -> str:
    """Which users had an event in which of the last `weeks` weeks to `day` (wk: 0 the latest), one row per user
    and week, in the portable subset (`dialects`)."""
    age = f"DATE_DIFF('day', CAST(timestamp AS DATE), DATE '{day}')"
    return (
        f"SELECT user_id, {age} // 7 AS wk FROM {relations['events']} WHERE {window(day, weeks * 7).sql()} "
        f"AND user_id IS NOT NULL GROUP BY user_id, {age} // 7"
    )


def persona_activity(
    ds: Dataset, *, as_of: date | str | None = None, semantics: ResolvedSemantics | None = None
) -> Personas:
    """Weekly-active rate of each persona's users per account over the last four weeks, vs its target."""
    day = resolve_as_of(ds, as_of)
    sem = semantics or resolve_semantics(ds)
    caveats: list[str] = []
    personas = sem.personas
    if not ds.has("users") or "role" not in ds.columns("users"):
        raise InputError(
            "persona activity needs a users table with a role column.",
            fix="Load a users export with user_id, account_id and role.",
        )
    if not personas:
        roles = [
            r[0]
            for r in ds.con.execute(
                f"SELECT DISTINCT role FROM {ds.view('users')} WHERE role IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
        personas = {role: Persona(roles=[role], weekly_active_target=0.5) for role in roles}
        caveats.append(
            "No personas configured: each role is its own persona with a 50% weekly-active target "
            "(set personas in customer-health.yaml)."
        )
    role_to_persona = {role: name for name, p in personas.items() for role in p.roles}
    end = datetime.combine(day + timedelta(days=1), time.min)
    deactivated = (
        f"AND (deactivated_at IS NULL OR deactivated_at >= TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}')"
        if "deactivated_at" in ds.columns("users")
        else ""
    )
    users = ds.con.execute(
        f"SELECT account_id, role, count(*) FROM {ds.view('users')} WHERE role IS NOT NULL {deactivated} "
        "GROUP BY ALL"
    ).fetchall()
    # who was active in which of the last WEEKS weeks, reduced per user on the dataset's engine; their account and
    # role come from the users table here
    sql = weeks_active_sql(day, WEEKS, {"events": relation(ds, "events")})
    weeks = reduced(ds.con, engine_of(ds), sql, "_persona_weeks", {"user_id": "VARCHAR", "wk": "BIGINT"})
    active = ds.con.execute(
        f"""SELECT u.account_id, u.role, w.wk, count(DISTINCT w.user_id)
            FROM {weeks} w JOIN {ds.view("users")} u USING (user_id)
            WHERE u.role IS NOT NULL GROUP BY ALL"""
    ).fetchall()
    counts: dict[tuple[str, str], int] = {}
    for acct, role, n in users:
        if role in role_to_persona:
            key = (acct, role_to_persona[role])
            counts[key] = counts.get(key, 0) + n
    weekly: dict[tuple[str, str, int], int] = {}
    for acct, role, wk, n in active:
        if role in role_to_persona:
            key = (acct, role_to_persona[role], int(wk))
            weekly[key] = weekly.get(key, 0) + n
    rows = []
    for rec in account_frame(ds, day).to_dict("records"):
        acct = rec["account_id"]
        items = []
        for name, persona in personas.items():
            n = counts.get((acct, name), 0)
            active_weeks = sum(min(weekly.get((acct, name, wk), 0), n) for wk in range(WEEKS))
            rate = rnd(active_weeks / (n * WEEKS)) if n else None
            items.append(
                PersonaActivity(
                    persona=name,
                    roles=persona.roles,
                    users=n,
                    weekly_active_rate=rate,
                    target=persona.weekly_active_target,
                    meets_target=None if rate is None else rate >= persona.weekly_active_target,
                    active_last_week=weekly.get((acct, name, 0), 0),
                )
            )
        below = [p.persona for p in items if p.meets_target is False]
        rows.append(
            PersonaRow(account_id=str(acct), name=rec.get("name"), personas=items, below_target=below)
        )
    rows.sort(key=lambda r: (-len(r.below_target), r.account_id))
    missing = {}
    for r in rows:
        for p in r.below_target:
            missing[p] = missing.get(p, 0) + 1
    detail = ", ".join(f"{p} at {n}" for p, n in sorted(missing.items(), key=lambda kv: (-kv[1], kv[0])))
    summary = (
        f"Over the {WEEKS} weeks to {day}, {sum(bool(r.below_target) for r in rows)} of {len(rows)} accounts "
        f"have at least one persona below its weekly-active target" + (f" ({detail})." if detail else ".")
    )
    return Personas(
        as_of=day, weeks=WEEKS, personas=personas, accounts=rows, summary=summary, caveats=caveats
    )
