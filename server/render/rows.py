"""Results as flat rows, one per account (or step, or group), for CSV files and bounded MCP tables."""

from __future__ import annotations


def cohort_rows(result) -> list[dict]:
    rows = []
    for table in (result.logo, result.revenue, result.active_users):
        if table is None:
            continue
        for r in table.rows:
            rows.append(
                {
                    "metric": table.metric,
                    "cohort": r.cohort,
                    "size": r.size,
                    "low_confidence": r.low_confidence,
                    **{f"m{i}": v for i, v in enumerate(r.values)},
                }
            )
    return rows


def score_rows(result) -> list[dict]:
    rows = []
    for a in result.accounts:
        row = a.model_dump(mode="json", exclude={"drivers"})
        row["top_drivers"] = "; ".join(d.text for d in a.drivers[:3])
        rows.append(row)
    return rows


def signal_rows(result) -> list[dict]:
    return [
        {
            **a.model_dump(mode="json", include={"account_id", "name", "segment", "csm_owner", "arr"}),
            "renewal_date": a.renewal_date.isoformat() if a.renewal_date else None,
            "days_to_renewal": a.days_to_renewal,
            "status": a.status,
            "stage": a.stage,
            "health_score": a.health_score,
            "tier": a.tier,
            "risk_level": a.risk_level,
            "priority": a.priority,
            "priority_reasons": "; ".join(a.priority_reasons),
            "signals": "; ".join(f"{s.id}: {s.evidence}" for s in a.signals),
            "next_action": a.next_action.action if a.next_action else "",
            "owner": a.next_action.owner if a.next_action else "",
            "sla": a.next_action.sla if a.next_action else "",
            "escalation": a.escalation.stage,
        }
        for a in result.accounts
    ]


def portfolio_rows(result) -> list[dict]:
    rows = [
        {"section": "health", "group": t.tier, "accounts": t.accounts, "arr": t.arr}
        for t in result.health_distribution
    ]
    for name, breakdown in (("segment", result.by_segment), ("csm_owner", result.by_owner)):
        rows += [
            {
                "section": name,
                "group": g.group,
                "accounts": g.accounts,
                "arr": g.arr,
                "mean_health": g.mean_health,
                "at_risk_arr": g.at_risk_arr,
            }
            for g in breakdown.rows
        ]
    return rows


def validation_rows(result) -> list[dict]:
    return [a.model_dump(mode="json") for a in result.accounts]


def funnel_rows(result) -> list[dict]:
    rows = [{"group": "(all)", **s.model_dump(mode="json")} for s in result.steps]
    for group, steps in result.breakdown.items():
        rows += [{"group": group, **s.model_dump(mode="json")} for s in steps]
    return rows


def card_row(card) -> dict:
    s = card.score
    return {
        "account_id": card.account_id,
        "name": card.name,
        "segment": s.segment,
        "csm_owner": s.csm_owner,
        "arr": s.arr,
        "renewal_date": s.renewal_date.isoformat() if s.renewal_date else None,
        "days_to_renewal": s.days_to_renewal,
        "status": s.status,
        "stage": s.stage,
        "health_score": s.health_score,
        "tier": s.tier,
        "trend": s.trend,
        "top_drivers": "; ".join(d.text for d in s.drivers[:3]),
        "summary": card.one_sentence,
        "risk_level": (card.risk or {}).get("risk_level"),
        "priority": (card.risk or {}).get("priority"),
        "next_action": ((card.risk or {}).get("next_action") or {}).get("action"),
    }


def workflow_rows(result) -> list[dict]:
    return [
        {"account_id": a.account_id, "name": a.name, **w.model_dump(mode="json")}
        for a in result.accounts
        for w in a.workflows
    ]
