"""The account card: everything we know about one account, gathered from the same computations as the portfolio
views — score and drivers, seats, adoption, trend, concentration, personas, peers and, where possible, the funnel of
its core workflow and its risk signals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from customer_health.tools.base.errors import InputError
from customer_health.tools.base.models import Envelope, gc_paused
from customer_health.tools.data.accounts import resolve_account
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.health.peers import PeerRow, peer_comparison
from customer_health.tools.health.profiles import Profile
from customer_health.tools.health.score import AccountScore, format_value
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.usage.adoption import AdoptionRow, feature_adoption
from customer_health.tools.usage.funnel import DEFAULT_LOOKBACK_DAYS, compute_funnel
from customer_health.tools.usage.personas import PersonaRow, persona_activity
from customer_health.tools.usage.seats import SeatRow, seat_utilization
from customer_health.tools.usage.trends import TrendRow, usage_trends
from pydantic import Field


class AccountCard(Envelope):
    account_id: str
    name: str | None = None
    profile: dict[str, Any] = Field(description="Segment, ARR, seats, renewal date, CSM owner, as recorded.")
    score: AccountScore
    seats: SeatRow | None = None
    adoption: AdoptionRow | None = None
    trend: TrendRow | None = None
    week_ends: list[date] = Field(default_factory=list)
    personas: PersonaRow | None = None
    peers: PeerRow | None = None
    funnel: dict | None = Field(None, description="The core workflow's funnel for this account, by role.")
    risk: dict | None = Field(
        None,
        description="Signals, combined risk level, priority and reasons, escalation and the next action.",
    )
    segment: str | None = None
    csm_owner: str | None = Field(None, description="The account's owner (CSM).")
    arr: float | None = None
    renewal_date: date | None = Field(None, description="Next renewal on as_of.")
    days_to_renewal: int | None = Field(
        None, description="Days from as_of to the renewal (negative: overdue)."
    )
    status: str = Field(
        "customer", description="Lifecycle status on as_of: customer, churned, not_yet_customer."
    )
    stage: str | None = Field(None, description="Lifecycle stage on as_of.")
    priority: str | None = Field(
        None, description="urgent, high, watch or ok (customers only): health tier and risk reconciled."
    )
    one_sentence: str = Field(
        description="Who is active, what they are doing, what it is producing — in numbers."
    )


@gc_paused
def account_card(
    ds: Dataset, account_id: str, *, as_of: date | str | None = None, profile: Profile | str | None = None
) -> AccountCard:
    """One account's card, computed with the same functions (and numbers) as the portfolio-wide tools.

    Its score and risk are the analysis pipeline's rows for the same date and profile; the portfolio-wide results it
    picks one row from are computed once per dataset and date, so the second card costs only the account's own
    trend and funnel. `account_id` may be an id or a name, resolved as everywhere (`resolve_account`)."""
    account_id = resolve_account(ds, account_id)
    analysis = analyze(ds, as_of=as_of, profile=profile)
    everyone = not any(a.account_id == account_id for a in analysis.scores.accounts)
    if everyone:  # not a customer on the day: its card still shows where it stands, beside every account
        analysis = analyze(ds, as_of=as_of, profile=profile, everyone=True)
    day = analysis.as_of
    sem = resolve_semantics(ds) if ds.has("events") else None

    def once(name: str, compute):
        return ds.memo(("account_card", name, day, everyone), compute)

    score = next(a for a in analysis.scores.accounts if a.account_id == account_id)
    caveats = list(analysis.scores.caveats)
    card: dict[str, Any] = {"score": score}
    if ds.has("events"):
        card["seats"] = _pick(
            once("seats", lambda: seat_utilization(ds, as_of=day, semantics=sem, everyone=everyone)).accounts,
            account_id,
        )
        card["adoption"] = _pick(
            once(
                "adoption", lambda: feature_adoption(ds, as_of=day, semantics=sem, everyone=everyone)
            ).accounts,
            account_id,
        )
        trends = usage_trends(ds, as_of=day, account=account_id, semantics=sem)
        card["trend"], card["week_ends"] = trends.accounts[0], trends.week_ends
        card["peers"] = _pick(once("peers", lambda: peer_comparison(ds, as_of=day)).accounts, account_id)
        if ds.has("users") and "role" in ds.columns("users"):
            personas = once("personas", lambda: persona_activity(ds, as_of=day, semantics=sem))
            card["personas"] = _pick(personas.accounts, account_id)
        card["funnel"] = _funnel(ds, account_id, day, sem, caveats)
    row = _pick(analysis.risk.accounts, account_id)
    card["risk"] = row.model_dump(mode="json") if row is not None else None
    card |= {k: getattr(score, k) for k in ("segment", "csm_owner", "arr", "renewal_date", "days_to_renewal")}
    card |= {"status": score.status, "stage": score.stage, "priority": row.priority if row else None}
    info = _profile(ds, account_id)
    sentence = one_sentence(score, card.get("seats"), card.get("adoption"), card.get("trend"), sem)
    summary = (
        f"{info.get('name') or account_id} scores {score.health_score:g}/100 ({score.tier.replace('_', ' ')})"
        + (
            f", {'up' if score.trend == 'up' else 'down' if score.trend == 'down' else 'flat'} from "
            f"{score.previous_score:g} 30 days earlier"
            if score.previous_score is not None
            else ""
        )
        + f". Biggest drag: {score.drivers[0].text}."
        if score.drivers
        else "."
    )
    return AccountCard(
        as_of=day,
        account_id=account_id,
        name=info.get("name"),
        profile=info,
        summary=summary,
        caveats=caveats,
        one_sentence=sentence,
        **card,
    )


def one_sentence(
    score: AccountScore, seats: SeatRow | None, adoption: AdoptionRow | None, trend: TrendRow | None, sem
) -> str:
    """Who is active, what they are doing, what it is producing — each part from a computed number."""
    if seats is None or seats.present_users is None:
        return f"Health {score.health_score:g}/100 from the snapshot; no event data to say who is active."
    bought = seats.seats_purchased
    if bought and seats.present_users <= bought:
        who = f"{seats.present_users} of {bought:.0f} seats were in use in the last 30 days"
    elif bought:
        who = f"{seats.present_users} people were active in the last 30 days, more than the {bought:.0f} seats bought"
    else:
        who = f"{seats.present_users} people were active in the last 30 days"
    what = f"{seats.adopted_users} of them used a core feature"
    if adoption is not None and any(f.users for f in adoption.features):
        top = max(adoption.features, key=lambda f: (f.users, f.feature))
        what += f", most widely {top.feature} ({top.users} {'person' if top.users == 1 else 'people'})"
    produced = ""
    if trend is not None and sem is not None and sem.value_events:
        value_events = f"{trend.last_30['core_actions']:.0f} core actions"
        change = trend.mom["core_actions"]
        produced = f"; together they produced {value_events}" + (
            f", {format_value(change, 'change')} on the month before" if change is not None else ""
        )
    return f"{who}; {what}{produced}."


def _pick(rows: list, account_id: str):
    return next((r for r in rows if r.account_id == account_id), None)


def _profile(ds: Dataset, account_id: str) -> dict[str, Any]:
    if not ds.has("accounts"):
        return {"account_id": account_id}
    cols = [
        c
        for c in (
            "name",
            "segment",
            "industry",
            "use_case",
            "plan",
            "arr",
            "mrr",
            "seats_purchased",
            "contract_start",
            "renewal_date",
            "csm_owner",
        )
        if c in ds.columns("accounts")
    ]
    row = ds.con.execute(
        f"SELECT {', '.join(cols) or 'account_id'} FROM {ds.view('accounts')} WHERE account_id = ?",
        [account_id],
    ).fetchone()
    return {
        c: (v.isoformat() if hasattr(v, "isoformat") else v) for c, v in zip(cols, row or (), strict=False)
    }


def _funnel(ds: Dataset, account_id: str, day: date, sem, caveats: list[str]) -> dict | None:
    if sem is None or not sem.workflows:
        caveats.append(
            "No workflow configured: the card has no funnel (add workflows to customer-health.yaml)."
        )
        return None
    name, steps = next(iter(sem.workflows.items()))
    by = "role" if ds.has("users") and "role" in ds.columns("users") else None
    try:
        result = compute_funnel(
            ds, steps, as_of=day, account=account_id, by=by, lookback_days=DEFAULT_LOOKBACK_DAYS
        )
    except InputError as exc:
        caveats.append(f"Funnel of '{name}' not available: {exc.message}")
        return None
    return {
        "workflow": name,
        **result.model_dump(
            mode="json", include={"steps", "broken_step", "evidence", "breakdown", "users_started"}
        ),
    }
