"""Risk signals: each account's signals as of a date, its combined risk level from the signal-combination
matrix, one priority reconciling that risk with the health tier (priority.py), and one response: the escalation
stage the priority calls for (ARR and speed of decline add people) and the first step of the most urgent playbook,
both under one owner and one deadline. Accounts come in call-list order: priority, ARR at stake, days to renewal.

What a signal means, when it fires and what to do about it live in rules/*.md (read by signal_rules.py); the
values the conditions read come from signal_inputs.py. The per-account assembly here is plain Python over
dicts.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from customer_health.tools.base.errors import InputError
from customer_health.tools.base.formats import money
from customer_health.tools.base.models import Envelope, constructor, gc_paused
from customer_health.tools.base.numbers import rnd
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from customer_health.tools.health.profiles import Profile
from customer_health.tools.health.score import HealthScores, score_accounts
from customer_health.tools.risk.inputs import NEEDS, signal_inputs
from customer_health.tools.risk.priority import (
    PRIORITIES,
    PRIORITY_RISK,
    Priority,
    call_order,
    decide_priority,
)
from customer_health.tools.risk.rules import (
    RISK_RANK,
    SEVERITY_RANK,
    Category,
    RiskLevel,
    Rules,
    Severity,
    format_evidence,
    load_rules,
    risk_level,
)
from pydantic import BaseModel, Field


class SignalHit(BaseModel):
    id: str
    title: str
    severity: Severity
    category: Category
    evidence: str = Field(description="The numbers behind the signal, in a sentence.")
    playbook: str
    detected_at: date = Field(description="The as-of date the signal was computed for.")


class CombinationHit(BaseModel):
    id: str
    risk_level: RiskLevel
    action: str
    playbook: str


class NextAction(BaseModel):
    action: str
    when: str
    owner: str
    sla: str
    playbook: str
    playbook_title: str
    because: str = Field(description="The signal or combination that chose this playbook.")


class EscalationStep(BaseModel):
    stage: str
    owner: str
    sla: str
    reasons: list[str]


class AccountRisk(BaseModel):
    account_id: str
    name: str | None = None
    segment: str | None = None
    csm_owner: str | None = None
    arr: float | None = None
    health_score: float
    tier: str
    previous_score: float | None = None
    renewal_date: date | None = None
    days_to_renewal: int | None = Field(
        None, description="Days from as_of to the renewal (negative: overdue)."
    )
    status: str = Field("customer", description="Lifecycle status on as_of (always a customer here).")
    stage: str | None = Field(None, description="Lifecycle stage on as_of: onboarding or active.")
    risk_level: RiskLevel
    priority: Priority = Field(
        description="urgent, high, watch or ok: the health tier and the risk level reconciled (priority.py)."
    )
    priority_reasons: list[str] = Field(description="Why: the headline signal, the health, the renewal.")
    signals: list[SignalHit] = Field(description="Most severe first.")
    combinations: list[CombinationHit]
    escalation: EscalationStep = Field(
        description="The stage the priority calls for; same owner and SLA as the next action."
    )
    next_action: NextAction | None = Field(
        description="The first step of the most urgent playbook the priority calls for, under the escalation's "
        "owner and SLA."
    )


class RiskSignals(Envelope):
    accounts: list[AccountRisk] = Field(
        description="Customer accounts in call-list order: priority, then ARR, then days to renewal."
    )
    risk_counts: dict[str, int]
    priority_counts: dict[str, int] = Field(description="Accounts per priority: urgent, high, watch, ok.")
    signal_counts: dict[str, int] = Field(description="Accounts per signal id.")
    arr_at_risk: float = Field(description="ARR of the accounts at high or critical risk.")
    total_rows: int
    truncated: bool
    rules: list[str] = Field(description="The rules files the signals and playbooks came from.")


@gc_paused
def risk_signals(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    scores: HealthScores | None = None,
    profile: Profile | str | dict | None = None,
    limit: int | None = None,
) -> RiskSignals:
    """Signals, combined risk, priority, escalation and one next action per customer account, in call-list
    order."""
    rules = load_rules()
    day = resolve_as_of(ds, as_of)
    sem = resolve_semantics(ds) if ds.has("events") else None
    if scores is None:
        scores = score_accounts(ds, as_of=day, profile=profile, semantics=sem)
    elif scores.as_of != day:
        raise InputError(
            f"the scores are as of {scores.as_of}, the signals as of {day}.",
            column="as_of",
            fix="Score the accounts as of the same date.",
        )
    rows, available = signal_inputs(ds, day, sem, rules, scores)
    customers = [a for a in scores.accounts if a.status == "customer"]
    checks = compile_checks(rules, available)
    found = []
    for a in customers:
        row = rows[a.account_id]
        row.setdefault("stage", a.stage)
        row.setdefault("csm_owner", a.csm_owner)
        row.setdefault("segment", a.segment)
        if row.get("renewal_on") is None and a.renewal_date is not None:
            row["renewal_on"], row["days_to_renewal"] = a.renewal_date.isoformat(), a.days_to_renewal
        found.append(assess(row, rules, available, day, checks))
    found.sort(key=call_order)
    accounts = _account_rows(found)
    shown = accounts if limit is None else accounts[:limit]
    counts = {
        lvl: sum(a.risk_level == lvl for a in accounts)
        for lvl in ("critical", "high", "medium", "low", "none")
    }
    by_priority = {p: sum(a.priority == p for a in accounts) for p in PRIORITIES}
    fired = Counter(h.id for a in accounts for h in a.signals)
    per_signal = {s.id: fired[s.id] for s in rules.signals}
    at_risk = sum(a.arr or 0 for a in accounts if a.risk_level in ("critical", "high"))
    caveats = _caveats(rules, available, sem, len(scores.accounts) - len(customers), day)
    return RiskSignals(
        as_of=day,
        accounts=shown,
        risk_counts=counts,
        priority_counts=by_priority,
        signal_counts={k: v for k, v in per_signal.items() if v},
        arr_at_risk=round(at_risk, 2),
        total_rows=len(accounts),
        truncated=len(shown) < len(accounts),
        rules=rules.files,
        summary=_summary(accounts, counts, by_priority, per_signal, at_risk, rules, day),
        caveats=caveats,
    )


@gc_paused
def attach_signals(scores: HealthScores, risk: RiskSignals) -> None:
    """Copy each account's signals and next action onto its score row, so one score table carries both (with the
    cycle collector paused: it would otherwise walk the portfolio's ~150,000 drivers again and again)."""
    by_id = {a.account_id: a for a in risk.accounts}
    for s in scores.accounts:
        r = by_id.get(s.account_id)
        s.signals = (
            [{"id": h.id, "severity": h.severity, "evidence": h.evidence} for h in r.signals] if r else []
        )
        s.next_action = r.next_action.model_dump(mode="json") if r and r.next_action else None
        s.priority = r.priority if r else None


def _account_rows(found: list[dict[str, Any]]) -> list[AccountRisk]:
    """`assess`'s dicts as AccountRisk rows, built without validating what this module computed: the dicts are
    made in the models' field order, and only the renewal date (ISO text) and the numbers (an int where a float
    is declared) are what validation would convert. Per-row validation cost as much as assessing."""
    make = {m: constructor(m) for m in (AccountRisk, SignalHit, CombinationHit, EscalationStep, NextAction)}
    hit, combo = make[SignalHit], make[CombinationHit]
    rows = []
    for d in found:
        d["arr"], d["health_score"], d["previous_score"] = _floats(
            d["arr"], d["health_score"], d["previous_score"]
        )
        days, renewal = d["days_to_renewal"], d["renewal_date"]
        d["days_to_renewal"] = None if days is None else int(days)
        d["renewal_date"] = (
            renewal if renewal is None or isinstance(renewal, date) else date.fromisoformat(renewal)
        )
        d["signals"] = [hit(h) for h in d["signals"]]
        d["combinations"] = [combo(c) for c in d["combinations"]]
        d["escalation"] = make[EscalationStep](d["escalation"])
        if d["next_action"] is not None:
            d["next_action"] = make[NextAction](d["next_action"])
        rows.append(make[AccountRisk](d))
    return rows


def _floats(*values: Any) -> tuple[float | None, ...]:
    return tuple(None if v is None else float(v) for v in values)


def compile_checks(rules: Rules, available: set[str]) -> tuple[list, list, list]:
    """Each signal's and combination's condition as a function of a row, for the inputs this dataset has, and
    each group's members as a set."""
    signals = [(s, s.condition.compile(available)) for s in rules.signals]
    combos = [(c, c.condition.compile(available) if c.condition else None) for c in rules.combinations]
    groups = [(g, set(members)) for g, members in rules.groups.items()]
    return signals, combos, groups


def assess(
    row: dict[str, Any], rules: Rules, available: set[str], day: date, checks: tuple[list, list] | None = None
) -> dict[str, Any]:
    """One account's signals, matched combinations, risk level, escalation and next action, as a dict."""
    signal_checks, combo_checks, groups = checks or compile_checks(rules, available)
    hits = [s for s, test in signal_checks if test(row)]
    hit_ids = {s.id for s in hits}
    fired = hit_ids | {s.category for s in hits} | {g for g, members in groups if hit_ids & members}
    combos = [
        c
        for c, test in combo_checks
        if all(n in fired for n in c.all_of)
        and not any(n in fired for n in c.none_of)
        and (test is None or test(row))
    ]
    rank = max(
        [SEVERITY_RANK[s.severity] for s in hits] + [RISK_RANK[c.risk_level] for c in combos], default=0
    )
    level = risk_level(rank)
    order = sorted(range(len(hits)), key=lambda i: -SEVERITY_RANK[hits[i].severity])
    signals = [
        {
            "id": s.id,
            "title": s.title,
            "severity": s.severity,
            "category": s.category,
            "evidence": format_evidence(s.evidence, row),
            "playbook": s.playbook,
            "detected_at": day,
        }
        for s in (hits[i] for i in order)
    ]
    priority, reasons = decide_priority(
        tier=row["tier"],
        health=row["health_score"],
        risk_level=level,
        signals=signals,
        days_to_renewal=row.get("days_to_renewal"),
    )
    step = _next_action(hits, combos, rules, priority)
    escalation = _escalate(row, priority, rules, step)
    if step is not None:
        step |= {
            "owner": escalation["owner"],
            "sla": escalation["sla"],
            "when": f"within {escalation['sla']}",
        }
    return {
        "account_id": row["account_id"],
        "name": row.get("name"),
        "segment": row.get("segment"),
        "csm_owner": row.get("csm_owner"),
        "arr": rnd(row.get("arr"), 2),
        "health_score": row["health_score"],
        "tier": row["tier"],
        "previous_score": row.get("previous_score"),
        "renewal_date": row.get("renewal_on"),
        "days_to_renewal": row.get("days_to_renewal"),
        "status": "customer",
        "stage": row.get("stage"),
        "risk_level": level,
        "priority": priority,
        "priority_reasons": reasons,
        "signals": signals,
        "combinations": [
            {"id": c.id, "risk_level": c.risk_level, "action": c.action, "playbook": c.playbook}
            for c in combos
        ],
        "escalation": escalation,
        "next_action": step,
    }


def _stage(priority: str, rules: Rules):
    """The escalation stage a priority calls for: the last stage whose risk level is within the priority's."""
    stages = rules.escalation.stages
    want = RISK_RANK[PRIORITY_RISK[priority]]
    return stages[max((i for i, s in enumerate(stages) if RISK_RANK[s.risk_level] <= want), default=0)]


def _hours(sla: str) -> int:
    n, unit = sla.split(" ", 1)
    return int(n) * {"h": 1, "d": 24, "w": 168}[unit[0]]


def _escalate(
    row: dict[str, Any], priority: str, rules: Rules, step: dict[str, Any] | None
) -> dict[str, Any]:
    """The one response: the stage the priority calls for, ARR and fast drops adding people, and the chosen
    playbook's owner and SLA folded in (the tighter deadline wins), so the next action cannot disagree."""
    esc = rules.escalation
    stage = _stage(priority, rules)
    owners = list(stage.owner)
    reasons = [f"priority {priority} calls for {stage.id}"]
    arr = row.get("arr")
    if esc.arr and arr is not None and arr >= esc.arr.min_arr and stage.id in esc.arr.stages:
        owners.append(esc.arr.involve)
        reasons.append(f"ARR {money(arr)} is at least {money(esc.arr.min_arr)}")
    change = row.get("health_change")
    for drop in esc.drops:
        if change is not None and -change > drop.more_than:
            owners.append(drop.involve)
            reasons.append(f"the score fell {-change:g} points in 30 days (more than {drop.more_than:g})")
    sla = stage.sla
    if step is not None:
        owners += step["owner"].split(" + ")
        if _hours(step["sla"]) < _hours(sla):
            sla = step["sla"]
            reasons.append(f"the {step['playbook_title'].lower()} playbook is due within {sla}")
    return {"stage": stage.id, "owner": " + ".join(dict.fromkeys(owners)), "sla": sla, "reasons": reasons}


def _next_action(hits: list, combos: list, rules: Rules, priority: str) -> dict[str, Any] | None:
    """The first step of the most urgent playbook: highest rank first, a combination before a lone signal. A
    combination whose risk level is above what the priority calls for (a save team for a healthy account) is
    left out: its signals' own playbooks answer instead."""
    cap = RISK_RANK[PRIORITY_RISK[priority]]
    options = [
        (SEVERITY_RANK[s.severity], 0, -i, s.playbook, f"signal: {s.title}") for i, s in enumerate(hits)
    ]
    options += [
        (RISK_RANK[c.risk_level], 1, -i, c.playbook, f"combination: {c.action}")
        for i, c in enumerate(combos)
        if RISK_RANK[c.risk_level] <= cap
    ]
    if not options:
        fallback = rules.escalation.fallback
        stage = _stage(priority, rules).id
        if not fallback or stage not in fallback.stages:
            return None
        options = [(0, 0, 0, fallback.playbook, f"escalation stage {stage} without a single signal")]
    *_, playbook_id, because = max(options)
    playbook = rules.playbook(playbook_id)
    first = playbook.actions[0]
    return {
        "action": first.do,
        "when": first.when,
        "owner": playbook.owner,
        "sla": playbook.sla,
        "playbook": playbook.id,
        "playbook_title": playbook.title,
        "because": because,
    }


def _summary(
    accounts: list[AccountRisk],
    counts: dict[str, int],
    by_priority: dict[str, int],
    per_signal: dict[str, int],
    at_risk: float,
    rules: Rules,
    day: date,
) -> str:
    flagged = sum(bool(a.signals) for a in accounts)
    text = (
        f"As of {day}, {flagged} of {len(accounts)} customer accounts show at least one risk signal: "
        f"{counts['critical']} at critical risk, {counts['high']} high, {counts['medium']} medium "
        f"({money(at_risk)} ARR at high or critical risk). Weighed with their health and renewal dates: "
        f"{by_priority['urgent']} urgent, {by_priority['high']} high priority, {by_priority['watch']} to watch."
    )
    common = sorted(((n, i) for i, n in per_signal.items() if n), key=lambda x: (-x[0], x[1]))[:3]
    if common:
        titles = {s.id: s.title.lower() for s in rules.signals}
        text += " Most frequent: " + ", ".join(f"{titles[i]} ({n})" for n, i in common) + "."
    top = accounts[0] if accounts and accounts[0].next_action else None
    if top:
        text += (
            f" First to call: {top.name or top.account_id} ({top.priority}, {top.signals[0].title.lower()}"
            if top.signals
            else f" First to call: {top.name or top.account_id} ({top.priority}"
        )
        step = top.next_action
        text += f"); next action: {step.action[0].lower()}{step.action[1:]} ({step.owner}, {step.sla})."
    return text


def _caveats(
    rules: Rules, available: set[str], sem: ResolvedSemantics | None, lost: int, day: date
) -> list[str]:
    missing: dict[str, list[str]] = {}
    for s in rules.signals:
        if not s.condition.evaluable(available):
            gaps = sorted(s.condition.metrics() - available)
            need = next((v for k, v in NEEDS.items() if any(k in g for g in gaps)), "product events")
            missing.setdefault(need, []).append(s.id)
    caveats = [f"Not evaluated without {need}: {', '.join(ids)}." for need, ids in missing.items()]
    caveats += list(sem.caveats()) if sem else []
    if lost:
        caveats.append(f"{lost} account(s) already lost by {day} are left out.")
    return caveats
