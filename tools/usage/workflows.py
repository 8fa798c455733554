"""Workflows: per account, how many of a workflow's target users completed it and how often, against its target.

A run follows the funnel's ordered semantics (see `funnel.py`): every first-step event starts an attempt, each
next step is the earliest event of that step, not already matched, at or after the previous matched one (events
are told apart by identity, so two at the same instant can fill consecutive steps), and the last step must come
within `window_days` of the first. A completion is a last-step event that
ends at least one such run, counted once however many first steps led to it, and dated by that last step: the
completions in a period are those whose last step falls inside it (the first step may be up to `window_days`
earlier). So two imports followed by one build and one share are one completion; import, build, share, then
build and share again without a new import are one; a fresh import before the second build makes it two.
"""

from __future__ import annotations

from datetime import date

from customer_health.tools.base import bounds
from customer_health.tools.base.dialects import (
    count_if,
    engine_of,
    event_counts,
    flag,
    next_at_or_after,
    relation,
)
from customer_health.tools.base.errors import InputError, nearest
from customer_health.tools.base.formats import percent
from customer_health.tools.base.models import Envelope
from customer_health.tools.base.numbers import ratio, rnd
from customer_health.tools.base.sql import Window, literal, window
from customer_health.tools.data.accounts import account_frame
from customer_health.tools.data.config import WorkflowSpec, WorkflowTarget
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.lifecycle import lifecycle, population_caveats
from customer_health.tools.data.semantics import ResolvedSemantics, resolve_semantics
from pydantic import BaseModel, Field

HOW_TO_ADD = """workflows:
  reporting:
    steps: [import_data, build_report, share_report]
    roles: [analyst, operator]   # who is expected to run it (omit for everyone)
    target_per_week: 1           # completions per target user per week
    window_days: 14              # most days from the first step to the last"""


class WorkflowCompletion(BaseModel):
    workflow: str
    target_users: int = Field(
        description="Users of the workflow's roles on the account, not deactivated by as_of."
    )
    completers: int = Field(description="Target users with at least one completion in the period.")
    completion_rate: float | None = Field(description="completers ÷ target users.")
    completions: int = Field(description="Completed runs by target users, each last-step event counted once.")
    completions_per_user_week: float | None = Field(description="completions ÷ target users ÷ weeks.")
    target_per_week: float
    meets_target: bool | None = Field(
        description="completions_per_user_week ≥ target_per_week (None: no users)."
    )
    stopped_at: dict[str, int] = Field(
        description="Target users who did not complete, by the first step their furthest run started in the "
        "period did not reach (the first step itself if they started none); a repeated step name carries its "
        "position."
    )
    stop_step: str | None = Field(description="The step where most non-completers stopped (earlier on ties).")


class WorkflowRow(BaseModel):
    account_id: str
    name: str | None = None
    workflows: list[WorkflowCompletion]
    below_target: list[str]


class Workflows(Envelope):
    weeks: int
    period_start: date = Field(description="First day of the period; it ends with as_of.")
    workflows: dict[str, WorkflowSpec]
    totals: list[WorkflowCompletion] = Field(description="Every account pooled, one row per workflow.")
    accounts: list[WorkflowRow] = Field(
        description="Worst first: most workflows below target, then furthest below."
    )


def workflow_completion(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    weeks: int = 4,
    semantics: ResolvedSemantics | None = None,
    everyone: bool = False,
) -> Workflows:
    """Per account and workflow over the last `weeks` weeks: target users, completers, completions per target
    user per week against the target, and the step where most non-completers stopped."""
    bounds.check("weeks", weeks, bounds.WORKFLOW_WEEKS)
    ds.view("events")  # raises when there are no events
    day = resolve_as_of(ds, as_of)
    sem = semantics or resolve_semantics(ds)
    if not sem.workflows:
        raise InputError(
            "no workflows are configured, so there is nothing to measure completion of.",
            fix=f"Add a workflows section to customer-health.yaml next to the data, e.g.\n{HOW_TO_ADD}",
        )
    specs = {
        name: WorkflowSpec(steps=steps, **sem.workflow_targets.get(name, WorkflowTarget()).model_dump())
        for name, steps in sem.workflows.items()
    }
    period = window(day, weeks * 7)
    if not ds.any_event(f"timestamp < TIMESTAMP '{period.end:%Y-%m-%d %H:%M:%S}'"):
        raise InputError(
            f"there are no events on or before {day}.", fix="Load product events or pick a later as_of."
        )
    roles, caveats = _check(ds, specs)
    if as_of is None:
        caveats.insert(0, f"as_of was inferred as {day}, the latest activity date in the data.")
    counts = {name: _account_counts(ds, spec, period, roles) for name, spec in specs.items()}
    rows = []
    caveats += population_caveats(lifecycle(ds, day), day, everyone)
    for rec in account_frame(ds, day, everyone).to_dict("records"):
        acct = str(rec["account_id"])
        items = [_completion(name, spec, counts[name].get(acct), weeks) for name, spec in specs.items()]
        below = [w.workflow for w in items if w.meets_target is False]
        rows.append(WorkflowRow(account_id=acct, name=rec.get("name"), workflows=items, below_target=below))
    rows.sort(key=lambda r: (-len(r.below_target), _attainment(r), r.account_id))
    totals = [
        _completion(name, spec, _pooled(counts[name].values(), spec), weeks) for name, spec in specs.items()
    ]
    return Workflows(
        as_of=day,
        summary=_summary(day, weeks, specs, totals, rows),
        caveats=caveats,
        weeks=weeks,
        period_start=period.start.date(),
        workflows=specs,
        totals=totals,
        accounts=rows,
    )


def _check(ds: Dataset, specs: dict[str, WorkflowSpec]) -> tuple[bool, list[str]]:
    """Every step is an event in the data and every role a role in the users table; say what cannot be checked."""
    names = [event for event, _ in event_counts(ds)]
    for name, spec in specs.items():
        for step in spec.steps:
            if step not in names:
                raise InputError(
                    f"workflow '{name}' has a step '{step}', and no event has that name.",
                    column=f"workflows.{name}.steps",
                    options=nearest(step, names),
                    fix="Correct the step in customer-health.yaml to an event name from the data.",
                )
    if not ds.has("users") and not ds.events_tied():
        raise InputError(
            "the events have no account column and there is no users table to map them.",
            fix="Load a users export (user_id, account_id, role) or events with an account/group id.",
        )
    wanted = any(spec.roles for spec in specs.values())
    has_roles = ds.has("users") and "role" in ds.columns("users")
    caveats = []
    if not ds.has("users"):
        caveats.append(
            "No users table: a workflow's target users are the users with any event in the period, whatever "
            "their role, and deactivated users cannot be left out (load a users export with user_id, account_id, "
            "role)."
        )
    elif wanted and not has_roles:
        caveats.append(
            "The users table has no role column: every user counts as a target user of every workflow."
        )
    if not (wanted and has_roles):
        return has_roles, caveats
    known = dict(
        ds.con.execute(
            f"SELECT coalesce(role, ''), count(*) FROM {ds.view('users')} GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    )
    for name, spec in specs.items():
        for role in spec.roles:
            if role not in known:
                raise InputError(
                    f"workflow '{name}' expects role '{role}', and no user has it.",
                    column=f"workflows.{name}.roles",
                    options=nearest(role, [r for r in known if r]),
                    fix="Use role names as they appear in the users table.",
                )
    if known.get(""):
        targeted = ", ".join(name for name, spec in specs.items() if spec.roles)
        caveats.append(
            f"Users without a role ({known['']}) are not counted as target users of {targeted} "
            "(fill in the role column of the users export)."
        )
    return has_roles, caveats


def _account_counts(ds: Dataset, spec: WorkflowSpec, period: Window, roles: bool) -> dict[str, dict]:
    """One query per workflow (`workflow_sql`), transpiled to the engine's dialect: one row per account."""
    rows = engine_of(ds).fetch(_workflow_sql(ds, spec, period, roles))
    return {str(r["account_id"]): r for r in rows}


def _workflow_sql(ds: Dataset, spec: WorkflowSpec, period: Window, roles: bool) -> str:
    """The workflow's reduction in the portable subset (`dialects`): one row per account."""
    return workflow_sql(
        spec, period, _targets_sql(ds, spec, period, roles), {"events": relation(ds, "events")}
    )


def workflow_sql(spec: WorkflowSpec, period: Window, targets: str, relations: dict[str, str]) -> str:
    """Runs per user by the ordered matching (`next_step_ctes`), then target users (the query `targets`,
    yielding uk and account_id) counted per account: completers, completions and where the rest stopped."""
    steps, n = spec.steps, len(spec.steps)
    within = f"INTERVAL '{spec.window_days} days'"
    start, end = (f"TIMESTAMP '{t:%Y-%m-%d %H:%M:%S}'" for t in period)
    step_list = ", ".join(literal(s) for s in dict.fromkeys(steps))
    ctes = [
        f"ev AS (SELECT user_id AS uk, timestamp AS t, event FROM {relations['events']} "
        f"WHERE timestamp >= {start} - {within} AND timestamp < {end} AND event IN ({step_list}))",
        f"a1 AS (SELECT uk, t AS t1 FROM ev WHERE event = {literal(steps[0])})",
    ]
    ctes += next_step_ctes(steps, within)
    reached = " + ".join(flag(f"t{k} IS NOT NULL") for k in range(1, n + 1))
    ctes.append(
        f"runs AS (SELECT uk, COUNT(DISTINCT CASE WHEN t{n} >= {start} THEN t{n} END) AS done, "
        f"COALESCE(MAX(CASE WHEN t1 >= {start} THEN {reached} END), 0) AS reached FROM a{n} GROUP BY uk)"
    )
    ctes.append(f"targets AS ({targets})")
    stops = "".join(
        f", {count_if(f'COALESCE(done, 0) = 0 AND COALESCE(reached, 0) = {k}')} AS s{k}" for k in range(n)
    )
    return (
        f"WITH {', '.join(ctes)} SELECT account_id, COUNT(*) AS target_users, "
        f"{count_if('done > 0')} AS completers, COALESCE(SUM(done), 0) AS completions{stops} "
        "FROM targets LEFT JOIN runs USING (uk) GROUP BY account_id"
    )


def next_step_ctes(steps: list[str], within: str, carry: tuple[str, ...] = ()) -> list[str]:
    """CTEs a2 … an of the ordered matching, in the portable subset: each adds t{k}, the time of the earliest
    step-k event not already matched, at or after t{k-1} and within `within` of t1; NULL once a step is missed.

    Events are distinct by identity, not by time (PostHog's semantics): two events at the same instant can fill
    consecutive steps (`a → a` needs two `a` events, which may share a second), and no event fills two steps.
    Identical events (same user, name and instant) are interchangeable, so each gets an occurrence number o;
    step k takes the earliest (t, o) at or after (t{k-1}, u + 1), u being the step-k-named events the chain has
    already taken at t{k-1} (the trailing steps at that instant, which took occurrences 1 … u). The lookup is
    `next_at_or_after`, a window MIN over the merged stream (no ASOF join).

    Reads `a1 (uk, t1, *carry)` and `ev (uk, t, event)`, which the caller defines; the funnel's semantics.
    """
    ctes = []
    for k in range(2, len(steps) + 1):
        prior = ["uk", *carry, *(f"t{j}" for j in range(1, k))]
        taken = [flag(f"t{j} = t{k - 1}") for j in range(1, k) if steps[j - 1] == steps[k - 1]]
        used = " + ".join(taken) if taken else "0"
        ctes.append(
            f"s{k} AS (SELECT uk, t, ROW_NUMBER() OVER (PARTITION BY uk, t ORDER BY t) AS o FROM ev "
            f"WHERE event = {literal(steps[k - 1])})"
        )
        ctes += next_at_or_after(f"m{k}", f"a{k - 1}", prior, (f"t{k - 1}", f"{used} + 1"), f"s{k}", f"x{k}")
        ctes.append(
            f"a{k} AS (SELECT {', '.join(prior)}, CASE WHEN x{k} <= t1 + {within} THEN x{k} END AS t{k} "
            f"FROM m{k})"
        )
    return ctes


def _targets_sql(ds: Dataset, spec: WorkflowSpec, period: Window, roles: bool) -> str:
    """The workflow's target users (uk, account_id): of its roles, created by as_of and not deactivated by then."""
    end = f"TIMESTAMP '{period.end:%Y-%m-%d %H:%M:%S}'"
    if not ds.has("users"):
        return (
            f"SELECT DISTINCT user_id AS uk, account_id FROM {relation(ds, 'events')} "
            f"WHERE {period.sql()} AND account_id IS NOT NULL"
        )
    cols = ds.columns("users")
    where = ["account_id IS NOT NULL"]
    if spec.roles and roles:
        where.append(f"role IN ({', '.join(literal(r) for r in spec.roles)})")
    if "deactivated_at" in cols:
        where.append(f"(deactivated_at IS NULL OR deactivated_at >= {end})")
    if "created_at" in cols:
        where.append(f"(created_at IS NULL OR created_at < {end})")
    return (
        f"SELECT DISTINCT user_id AS uk, account_id FROM {relation(ds, 'users')} WHERE {' AND '.join(where)}"
    )


def _pooled(rows, spec: WorkflowSpec) -> dict:
    keys = ["target_users", "completers", "completions", *(f"s{k}" for k in range(len(spec.steps)))]
    return {key: sum(int(r[key]) for r in rows) for key in keys}


def _completion(name: str, spec: WorkflowSpec, row: dict | None, weeks: int) -> WorkflowCompletion:
    row = row or {}
    users = int(row.get("target_users", 0))
    per_week = rnd(int(row.get("completions", 0)) / (users * weeks)) if users else None
    stopped = {_label(spec.steps, k): int(row.get(f"s{k}", 0)) for k in range(len(spec.steps))}
    most = max(stopped.values(), default=0)
    return WorkflowCompletion(
        workflow=name,
        target_users=users,
        completers=int(row.get("completers", 0)),
        completion_rate=ratio(int(row.get("completers", 0)), users),
        completions=int(row.get("completions", 0)),
        completions_per_user_week=per_week,
        target_per_week=spec.target_per_week,
        meets_target=None if per_week is None else per_week >= spec.target_per_week,
        stopped_at=stopped,
        stop_step=next((s for s, v in stopped.items() if v == most), None) if most else None,
    )


def _label(steps: list[str], k: int) -> str:
    """A step's name, with its position when the name occurs more than once in the workflow."""
    return steps[k] if steps.count(steps[k]) == 1 else f"{steps[k]} (step {k + 1})"


def _attainment(row: WorkflowRow) -> float:
    """The lowest share of target reached over the row's workflows (accounts with no target users sort last)."""
    shares = [
        w.completions_per_user_week / w.target_per_week for w in row.workflows if w.meets_target is not None
    ]
    return min(shares, default=float("inf"))


def _summary(
    day: date, weeks: int, specs: dict, totals: list[WorkflowCompletion], rows: list[WorkflowRow]
) -> str:
    parts = []
    for total in totals:
        below = sum(total.workflow in r.below_target for r in rows)
        judged = sum(
            any(w.workflow == total.workflow and w.meets_target is not None for w in r.workflows)
            for r in rows
        )
        name = f"'{total.workflow}' ({' → '.join(specs[total.workflow].steps)})"
        if not total.target_users:
            parts.append(f"{name} has no target users.")
            continue
        text = (
            f"{name}: {total.completers} of {total.target_users} target users ({percent(total.completion_rate)}) "
            f"completed it, {total.completions_per_user_week:g} completions per user per week against a target "
            f"of {total.target_per_week:g}; {below} of {judged} accounts are below target"
        )
        parts.append(
            text + (f", and most non-completers stopped at {total.stop_step}." if total.stop_step else ".")
        )
    return f"Over the {weeks} weeks to {day}: " + " ".join(parts)


__all__ = ["WorkflowCompletion", "WorkflowRow", "Workflows", "workflow_completion"]
