"""One priority per customer account, reconciling its health tier with the risk level of its signals, and the
call-list order built on it.

The levels, most pressing first:

- `urgent`: act today. A low health score (tier at_risk or critical) *and* critical risk signals, or a critical
  tier with high risk; or a `high` account whose risk is high or critical and whose renewal is at most 90 days
  away. Both the score and the signals must point the same way, so urgent stays a short list.
- `high`: act this week. Low health with medium or high risk, a critical tier on its own, or a middling score
  (neutral) with critical signals; or a `watch` account with high or critical risk renewing within 90 days.
- `watch`: look, don't escalate. A healthy or thriving score with high or critical signals (a healthy score with
  collapsing usage is "watch: usage falling", not an emergency), a neutral score with any signal, or a low score
  without a strong signal.
- `ok`: nothing to do beyond the routine: a healthy score with at most medium signals, or a neutral one with none.

The escalation stage follows from the priority alone (urgent → the last stage of rules/escalation.md, high → the
stage for high risk, watch → medium, ok → low), so the escalation and the next action share one owner and one
deadline (see signals.py).
"""

from __future__ import annotations

from typing import Any, Literal

from customer_health.tools.base.errors import InputError, nearest

Priority = Literal["urgent", "high", "watch", "ok"]
PRIORITIES: tuple[str, ...] = ("urgent", "high", "watch", "ok")
PRIORITY_RANK = {"ok": 0, "watch": 1, "high": 2, "urgent": 3}
# the risk level a priority calls for: chooses the escalation stage and caps which combinations' playbooks apply
PRIORITY_RISK = {"urgent": "critical", "high": "high", "watch": "medium", "ok": "low"}
RENEWAL_SOON_DAYS = 90

# health tier → risk level of the signals → priority
_MATRIX: dict[str, dict[str, str]] = {
    "critical": {"critical": "urgent", "high": "urgent", "medium": "high", "low": "high", "none": "high"},
    "at_risk": {"critical": "urgent", "high": "high", "medium": "high", "low": "watch", "none": "watch"},
    "neutral": {"critical": "high", "high": "watch", "medium": "watch", "low": "watch", "none": "ok"},
    "healthy": {"critical": "watch", "high": "watch", "medium": "ok", "low": "ok", "none": "ok"},
    "thriving": {"critical": "watch", "high": "watch", "medium": "ok", "low": "ok", "none": "ok"},
}
_BUMP = {"watch": "high", "high": "urgent"}
_PHRASE = {
    "usage": "usage falling",
    "engagement": "key people going quiet",
    "sentiment": "unhappy respondents",
    "support": "support escalations",
    "organizational": "champion gone",
    "competitive": "competitor in view",
    "contractual": "renewal due",
    "onboarding": "onboarding stalled",
    "health": "score falling",
}
_SIGNAL_PHRASE = {
    "low_seat_utilization": "seats under-used",
    "present_not_adopted": "seats under-used",
    "never_active": "never active",
}


def decide_priority(
    *,
    tier: str,
    health: float,
    risk_level: str,
    signals: list[dict[str, Any]],
    days_to_renewal: int | None,
) -> tuple[str, list[str]]:
    """The account's priority and its reasons, the first a headline ('usage falling: …'). `signals` are the hits,
    most severe first, as dicts with id, category, title and evidence."""
    priority = _MATRIX.get(tier, _MATRIX["neutral"])[risk_level]
    top = signals[0] if signals else None
    reasons = [
        f"{_SIGNAL_PHRASE.get(top['id'], _PHRASE.get(top['category'], top['category']))}: {top['evidence']}"
        if top
        else "no risk signal"
    ]
    if tier in ("healthy", "thriving") and risk_level in ("high", "critical"):
        reasons.append(
            f"health {health:g} is {tier}: {risk_level} signals call for a look, not an escalation"
        )
    else:
        reasons.append(f"health {health:g} is {tier}; the signals make it {risk_level} risk")
    soon = days_to_renewal is not None and 0 <= days_to_renewal <= RENEWAL_SOON_DAYS
    if soon and priority in _BUMP and risk_level in ("high", "critical"):
        priority = _BUMP[priority]
        reasons.append(f"renews in {days_to_renewal} days, raised to {priority}")
    return priority, reasons


def call_order(row: Any) -> tuple:
    """The call list's sort key: priority, then ARR at stake (largest first), then days to renewal (soonest first,
    unknown last), then the account id."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k, None)
    days = get("days_to_renewal")
    return (
        -PRIORITY_RANK[get("priority")],
        -(get("arr") or 0),
        days is None,
        days if days is not None else 0,
        get("account_id"),
    )


def filter_accounts(
    result: Any,
    *,
    owner: str | None = None,
    segment: str | None = None,
    priority: str | None = None,
    priorities: dict[str, str] | None = None,
) -> Any:
    """A copy of a result whose `accounts` rows are only those with this owner (csm_owner), segment and priority
    (each matched case-insensitively, each optional), the summary saying what was kept. Rows without a `priority`
    field take theirs from `priorities` (account id → priority). An owner or segment no row has is an error
    naming the ones there are."""
    wanted = {"csm_owner": owner, "segment": segment}
    if not any(wanted.values()) and not priority:
        return result
    rows = list(result.accounts)
    for field, value in wanted.items():
        if not value:
            continue
        there = sorted({str(getattr(r, field)) for r in rows if getattr(r, field, None) is not None})
        if value.casefold() not in {t.casefold() for t in there}:
            raise InputError(
                f"no account has {field} '{value}'.",
                column=field,
                options=nearest(value, there),
                fix="Use one of the values listed (as the accounts table writes them).",
            )
        rows = [r for r in rows if str(getattr(r, field, None) or "").casefold() == value.casefold()]
    if priority:
        lookup = priorities or {}
        rows = [r for r in rows if (getattr(r, "priority", None) or lookup.get(r.account_id)) == priority]
    said = [f"{label} '{v}'" for label, v in (("owner", owner), ("segment", segment)) if v]
    said += [f"priority {priority}"] if priority else []
    note = (
        f" Filtered by {', '.join(said)}: {len(rows)} of {len(result.accounts)} listed accounts are shown "
        f"(the counts above are for all of them)."
    )
    update: dict[str, Any] = {"accounts": rows, "summary": result.summary + note}
    if "total_rows" in type(result).model_fields:
        update |= {"total_rows": len(rows), "truncated": False}
    return result.model_copy(update=update)


__all__ = [
    "PRIORITIES",
    "PRIORITY_RANK",
    "PRIORITY_RISK",
    "RENEWAL_SOON_DAYS",
    "Priority",
    "call_order",
    "decide_priority",
    "filter_accounts",
]
