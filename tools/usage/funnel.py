"""Ordered funnels with PostHog's semantics, their breakdowns, the broken step and the pattern behind it.

Every occurrence of step 1 starts an attempt; each next step is the earliest event of that step, not already
matched, at or after the previous matched one and within `window_days` of the attempt's step 1. Events are told
apart by identity, not time: two events at the same instant can fill consecutive steps, and one event fills at
most one step (`a → a` needs two `a` events). A user counts once, at the furthest step of their best attempt
(ties: the earliest attempt). Matching is one query in the portable SQL subset (`funnel_sql`, `next_step_ctes`:
window functions, no ASOF join), transpiled to the engine's dialect; Python only sees one aggregated row per
breakdown value.

A step no event in the data is named counts 0 users from there on, with a caveat naming the closest event names
(PostHog shows the same zero). It stays an error when no event name is close to it (difflib ratio 0.5): then it
is not a typo of an event in this export but a name from another vocabulary or another export, and a zero would
read as a real drop (with a broken step and evidence) rather than as a question asked of the wrong data.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

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
from customer_health.tools.base.sql import literal, quote, window
from customer_health.tools.data.accounts import resolve_account
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.data.semantics import is_error
from customer_health.tools.usage.workflows import next_step_ctes
from pydantic import BaseModel, Field

INTEGRATION_STEP = re.compile(r"import|integrat|permission|connect|sync|upload", re.IGNORECASE)
MIN_GROUP = 3  # users at the step before the broken one, for a role's or account's conversion to be judged
LOW = 0.5
UX_ACCOUNT_SHARE = 0.6
ERROR_SHARE = 0.25  # of the users stalled before the broken step who saw errors
SPONSOR_DAYS = 30
BREAKDOWN_LIMIT = 20
# The default period of a funnel on every face (card, facts packs, dashboard, MCP, CLI): attempts that started in
# the last 90 days, so the numbers describe current behaviour rather than the account's whole history.
DEFAULT_LOOKBACK_DAYS = 90
NONE = "(none)"
Pattern = Literal["training", "ux_friction", "integration", "sponsorship", "none"]
By = Literal["role", "segment", "account"]


class FunnelStep(BaseModel):
    step: str
    users: int = Field(description="Users whose best attempt reached at least this step.")
    conversion_from_start: float | None = Field(description="users ÷ users at step 1.")
    conversion_from_previous: float | None = Field(
        description="users ÷ users at the step before (1 at step 1)."
    )
    median_time_to_step_hours: float | None = Field(
        description="Median hours from the step before to this one, over users reaching it (None at step 1)."
    )


class FunnelEvidence(BaseModel):
    pattern: Pattern = Field(
        description="training (one role drops), ux_friction (across roles and accounts), integration (an "
        "import/connect step with errors), sponsorship (no champion/exec activity), or none."
    )
    explanation: str
    details: dict[str, float | int | None] = Field(default_factory=dict)
    roles_left_out: dict[str, str] = Field(
        default_factory=dict,
        description="Roles not compared at the broken step, each with why: their persona's `steps` in "
        "customer-health.yaml leave that step out, so a drop there is not a training gap.",
    )


class FunnelResult(Envelope):
    steps_requested: list[str]
    window_days: int
    lookback_days: int | None = Field(
        None, description="Only funnels started in the last N days to as_of count; None: all history."
    )
    period_start: date | None = Field(None, description="The first day a counted funnel may start.")
    filters: dict[str, str | int | None]
    users_started: int
    steps: list[FunnelStep]
    broken_step: str | None = Field(
        description="The step (2nd or later) with the lowest conversion from previous."
    )
    evidence: FunnelEvidence
    by: By | None = None
    breakdown: dict[str, list[FunnelStep]] = Field(
        default_factory=dict,
        description=f"Per value of `by` ('{NONE}' if missing), the 20 with most starters.",
    )
    breakdown_total: int = 0
    breakdown_truncated: bool = False


@dataclass
class _Spec:
    """What one funnel query matches: steps, window, time bounds, filters and the columns it groups by."""

    steps: list[str]
    window_days: int
    day: date
    start: datetime | None
    account: str | None
    role: str | None
    errors: list[str]
    dims: dict[str, str]


@dataclass
class _Counts:
    """One aggregated row: users reaching each step, median hours into each step, error users per step."""

    users: list[int]
    hours: list[float | None]
    errors: list[int]
    stalled_errors: list[int]

    def conversion(self, k: int) -> float | None:
        return self.users[k] / self.users[k - 1] if self.users[k - 1] else None


def compute_funnel(
    ds: Dataset,
    steps: list[str],
    *,
    window_days: int = 14,
    as_of: date | str | None = None,
    lookback_days: int | None = None,
    account: str | None = None,
    role: str | None = None,
    by: By | None = None,
) -> FunnelResult:
    """Users reaching each step of an ordered funnel, with conversions, median step times, the broken step and
    the evidence pattern behind it, optionally broken down by role, segment or account."""
    frequencies, account, absent = _validate(ds, steps, window_days, account, role)
    day = resolve_as_of(ds, as_of)
    errors = [e for e in frequencies if is_error(e)]
    start = window(day, lookback_days).start if lookback_days is not None else None
    spec = _Spec(
        list(steps), window_days, day, start, account, role, errors, _dimensions(ds, by, role, account)
    )
    groups = _collect(engine_of(ds).fetch(_funnel_sql(ds, spec)), len(steps))
    overall = groups.setdefault(("", ""), _Counts([0] * len(steps), [None] * len(steps), [], []))
    table = _steps(steps, overall)
    broken = _broken(table)  # the index of the broken step
    caveats = [f"as_of was inferred as {day}, the latest activity date in the data."] if as_of is None else []
    breakdown, total = _breakdown(steps, groups, by)
    evidence, scope_notes = _evidence(ds, spec, broken, groups, frequencies)
    return FunnelResult(
        as_of=day,
        summary=_period(day, start, lookback_days) + _summary(table, broken, window_days),
        caveats=caveats + absent + _caveats(ds, spec.dims, groups) + scope_notes,
        steps_requested=list(steps),
        window_days=window_days,
        lookback_days=lookback_days,
        period_start=start.date() if start is not None else None,
        filters={"account": account, "role": role, "lookback_days": lookback_days},
        users_started=overall.users[0],
        steps=table,
        broken_step=None if broken is None else steps[broken],
        evidence=evidence,
        by=by,
        breakdown=breakdown,
        breakdown_total=total,
        breakdown_truncated=total > len(breakdown),
    )


def _validate(
    ds: Dataset, steps: list[str], window_days: int, account: str | None, role: str | None
) -> tuple[dict, str | None, list[str]]:
    """Check steps, window and filters against the data; return event name → count, most frequent first, the
    id of the account filter (an id or a name, resolved by `resolve_account`) and a caveat per step that no event
    is named (an error when no event name is close to it)."""
    ds.view("events")  # raises when there are no events
    bounds.check("window_days", window_days, bounds.FUNNEL_WINDOW_DAYS)
    most = bounds.FUNNEL_STEPS[1]
    if isinstance(steps, list | tuple) and len(steps) > most:  # each step joins the events once more
        raise InputError(
            f"a funnel has at most {most} steps (got {len(steps):,}).",
            column="steps",
            fix=f"Keep the {most} steps that matter most, or split the journey into consecutive funnels.",
        )
    frequencies = dict(event_counts(ds))  # a warm process reads the kept reduction (load_cache)
    names = list(frequencies)
    if not isinstance(steps, list | tuple) or len(steps) < 2:
        raise InputError("a funnel needs at least two steps, in order.", column="steps", options=names)
    absent = []
    for k, step in enumerate(steps):
        if not isinstance(step, str) or not step.strip():
            raise InputError(f"step {k + 1} of the funnel is empty.", column="steps", options=names)
        if step in frequencies or step in steps[:k]:
            continue
        close = set(difflib.get_close_matches(step, names, n=10, cutoff=0.5))
        if not close:
            raise InputError(
                f"no event is named '{step}', nor anything close to it.",
                column="steps",
                options=names,
                fix="Use event names as they appear in the events export.",
            )
        nearby = ", ".join(f"'{n}'" for n in names if n in close)
        absent.append(
            f"No event is named '{step}', so nobody reaches it or any step after it; the closest event names "
            f"are {nearby}."
        )
    if account is not None and ds.events_tied():
        account = resolve_account(ds, account)
    if role is not None and ds.has("users") and "role" in ds.columns("users"):
        users = ds.view("users")
        _check_value(ds, "role", role, f"SELECT role FROM {users} GROUP BY 1 ORDER BY count(*) DESC, 1")
    return frequencies, account, absent


def _check_value(ds: Dataset, column: str, value: str, sql: str) -> None:
    valid = [r[0] for r in ds.con.execute(sql).fetchall() if r[0] is not None]
    if value not in valid:
        raise InputError(f"no {column} is '{value}'.", column=column, options=nearest(value, valid))


def _dimensions(ds: Dataset, by: By | None, role: str | None, account: str | None) -> dict[str, str]:
    """The columns the query groups by: role and account whenever available (the evidence reads them)."""
    if by not in (None, "role", "segment", "account"):
        raise InputError(
            f"cannot break a funnel down by '{by}'.", column="by", options=["role", "segment", "account"]
        )
    has_role = ds.has("users") and "role" in ds.columns("users")
    has_account = ds.events_tied()
    has_segment = ds.has("accounts") and "segment" in ds.columns("accounts")
    for wanted, present, what in (
        (by == "role" or role is not None, has_role, "a users table with a role column"),
        (by == "segment", has_segment, "an accounts table with a segment column"),
        (by in ("account", "segment") or account is not None, has_account, "account ids on events or users"),
    ):
        if wanted and not present:
            raise InputError(
                f"this breakdown or filter needs {what}.", fix="Load that export with the others."
            )
    columns = {"role": ("u.role", has_role), "account": ("f.account_id", has_account)}
    columns["segment"] = ("a.segment", by == "segment")
    return {d: expr for d, (expr, ok) in columns.items() if ok}


def _funnel_sql(ds: Dataset, spec: _Spec) -> str:
    return funnel_sql(spec, {k: relation(ds, k) for k in ("events", "users", "accounts") if ds.has(k)})


def funnel_sql(spec: _Spec, relations: dict[str, str]) -> str:
    """The funnel's reduction in the portable subset (`dialects`): attempts, the ordered matching
    (`next_step_ctes`), each user's best attempt, error flags, then one row per grouping set."""
    steps, n, within = spec.steps, len(spec.steps), f"INTERVAL '{spec.window_days} days'"
    end = window(spec.day, 1).end
    where = f"timestamp < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'"
    if spec.account is not None:
        where += f" AND account_id = {literal(spec.account)}"
    if spec.role is not None:
        where += (
            f" AND user_id IN (SELECT user_id FROM {relations['users']} WHERE role = {literal(spec.role)})"
        )
    account = "account_id" if "account" in spec.dims else "CAST(NULL AS VARCHAR) AS account_id"
    first = f" AND t >= TIMESTAMP '{spec.start:%Y-%m-%d %H:%M:%S}'" if spec.start else ""
    ctes = [
        f"ev AS (SELECT user_id AS uk, timestamp AS t, event, {account} FROM {relations['events']} WHERE {where})",
        f"a1 AS (SELECT uk, account_id, t AS t1 FROM ev WHERE event = {literal(steps[0])}{first})",
    ]
    ctes += next_step_ctes(steps, within, ("account_id",))
    ts = ", ".join(f"t{k}" for k in range(1, n + 1))
    reached = " + ".join(flag(f"t{k} IS NOT NULL") for k in range(1, n + 1))
    ctes.append(
        f"best AS (SELECT uk, account_id, reached, {ts}, ROW_NUMBER() OVER (PARTITION BY uk ORDER BY reached "
        f"DESC, t1) AS pick FROM (SELECT a{n}.*, {reached} AS reached FROM a{n}) AS r), "
        f"f0 AS (SELECT uk, account_id, reached, {ts} FROM best WHERE pick = 1)"
    )
    aggs = [f"{count_if(f'reached >= {k}')} AS n{k}" for k in range(1, n + 1)]
    aggs += [
        f"MEDIAN(CASE WHEN reached >= {k} THEN DATE_DIFF('microsecond', t{k - 1}, t{k}) END) / 3.6e9 AS h{k}"
        for k in range(2, n + 1)
    ]
    errors = ", ".join(literal(e) for e in spec.errors)
    last, kept = "f0", ["uk", "account_id", "reached", *(f"t{k}" for k in range(1, n + 1))]
    for j in [j for j in range(1, n) if errors and INTEGRATION_STEP.search(steps[j])]:
        # did a user at step j see an error within the window after it, on the way to an import-like step?
        ctes.append(f"e{j} AS (SELECT uk, t, 1 AS o FROM ev WHERE event IN ({errors}))")
        ctes += next_at_or_after(f"g{j}", last, kept, (f"t{j}", "0"), f"e{j}", f"y{j}")
        ctes.append(
            f"f{j} AS (SELECT {', '.join(kept)}, {flag(f'y{j} <= t{j} + {within}')} AS err{j} FROM g{j})"
        )
        aggs += [f"{count_if(f'reached >= {j} AND err{j} = 1')} AS e{j}"]
        aggs += [f"{count_if(f'reached = {j} AND err{j} = 1')} AS se{j}"]
        last, kept = f"f{j}", [*kept, f"err{j}"]
    joins = ""
    if "role" in spec.dims:
        joins += f" LEFT JOIN (SELECT user_id AS uk, role FROM {relations['users']}) AS u ON u.uk = f.uk"
    if "segment" in spec.dims:
        joins += (
            f" LEFT JOIN (SELECT account_id AS a_id, segment FROM {relations['accounts']}) AS a "
            "ON a.a_id = f.account_id"
        )
    cols = "".join(f", CAST({expr} AS VARCHAR) AS d_{d}" for d, expr in spec.dims.items())
    marks = "".join(f"GROUPING(d_{d}) AS g_{d}, d_{d}, " for d in spec.dims)
    sets = ", ".join(["()", *(f"(d_{d})" for d in spec.dims)])
    return (
        f"WITH {', '.join(ctes)}, src AS (SELECT f.*{cols} FROM {last} AS f{joins}) "
        f"SELECT {marks}{', '.join(aggs)} FROM src GROUP BY GROUPING SETS ({sets})"
    )


def _collect(rows: list[dict], n: int) -> dict[tuple[str, str], _Counts]:
    """Aggregated rows keyed by (dimension, value); the overall row is ('', '')."""
    out = {}
    for row in rows:
        dim = next((k[2:] for k, v in row.items() if k.startswith("g_") and v == 0), "")
        value = (row[f"d_{dim}"] or NONE) if dim else ""
        out[(dim, value)] = _Counts(
            users=[int(row[f"n{k}"]) for k in range(1, n + 1)],
            hours=[None] + [row[f"h{k}"] for k in range(2, n + 1)],
            errors=[int(row.get(f"e{j}", 0)) for j in range(1, n)],
            stalled_errors=[int(row.get(f"se{j}", 0)) for j in range(1, n)],
        )
    return out


def _steps(steps: list[str], counts: _Counts) -> list[FunnelStep]:
    users = counts.users
    return [
        FunnelStep(
            step=step,
            users=users[k],
            conversion_from_start=ratio(users[k], users[0]),
            conversion_from_previous=ratio(users[k], users[k - 1] if k else users[0]),
            median_time_to_step_hours=rnd(counts.hours[k]),
        )
        for k, step in enumerate(steps)
    ]


def _broken(table: list[FunnelStep]) -> int | None:
    rates = [(s.conversion_from_previous, k) for k, s in enumerate(table) if k]
    scored = [r for r in rates if r[0] is not None]
    return min(scored)[1] if scored else None


def _breakdown(steps: list[str], groups: dict, by: By | None) -> tuple[dict[str, list[FunnelStep]], int]:
    rows = [(value, c) for (dim, value), c in groups.items() if dim == by]
    top = sorted(rows, key=lambda r: (-r[1].users[0], r[0]))[:BREAKDOWN_LIMIT]
    return {value: _steps(steps, c) for value, c in sorted(top, key=lambda r: r[0])}, len(rows)


def _caveats(ds: Dataset, dims: dict, groups: dict) -> list[str]:
    out, missing, started = [], groups.get(("role", NONE)), groups[("", "")].users[0]
    if "role" not in dims:
        out.append(
            "No user roles (a users table with a role column): the training pattern cannot be checked."
        )
    elif missing and missing.users[0]:
        out.append(f"{missing.users[0]} of {started} users who started have no role in the users table.")
    if "account" in dims and ds.has("users") and _account_via_users(ds):
        out.append("Some events carry no account id: their account was taken from the users table.")
    return out


def _account_via_users(ds: Dataset) -> bool:
    """Whether the events view takes account ids from users (ingest joins only when some event lacks one)."""
    row = ds.con.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = ?", [ds.views["events"]]
    ).fetchone()
    return bool(row and ds.views["users"] in (row[0] or ""))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else percent(value)


def _period(day: date, start: datetime | None, lookback_days: int | None) -> str:
    """The period the counts cover, said first so no reader takes them for all of history (or the reverse)."""
    if start is None:
        return f"Funnels started at any time up to {day}: "
    return f"Funnels started {start:%Y-%m-%d} to {day} (the last {lookback_days} days): "


def _summary(table: list[FunnelStep], broken: int | None, window_days: int) -> str:
    first, last = table[0], table[-1]
    if not first.users:
        return f"Nobody did '{first.step}' in the period, so nobody started the funnel."
    text = (
        f"{first.users} users started at '{first.step}'; {last.users} ({_pct(last.conversion_from_start)}) "
        f"reached '{last.step}' within {window_days} days."
    )
    if broken is not None:
        rate = table[broken].conversion_from_previous
        text += (
            f" The biggest drop is at '{table[broken].step}': {_pct(rate)} of those at the step before go on."
        )
    return text


@dataclass
class _Drop:
    """The broken step (index k) and the counts the evidence checks read."""

    step: str
    previous: str
    k: int
    overall: _Counts
    roles: dict[str, _Counts]
    accounts: dict[str, _Counts]

    def pooled(self, counts) -> float | None:
        counts = list(counts)
        before = sum(c.users[self.k - 1] for c in counts)
        return sum(c.users[self.k] for c in counts) / before if before else None

    def judged(self, groups: dict[str, _Counts]) -> dict[str, float]:
        """Conversion at the broken step of each group with enough users at the step before."""
        return {g: c.conversion(self.k) for g, c in groups.items() if c.users[self.k - 1] >= MIN_GROUP}


def _evidence(
    ds: Dataset, spec: _Spec, k: int | None, groups: dict, frequencies: dict[str, int]
) -> tuple[FunnelEvidence, list[str]]:
    """The first pattern that fits the broken step: integration, training, sponsorship, then UX friction; none
    when the broken step is an event the data never holds (its zero says nothing about behaviour). Roles compare
    only among those expected to do the step (`_role_scope`); the caveats say who was left out, or that the
    personas do not say."""
    if k is None:
        return FunnelEvidence(
            pattern="none", explanation="Nobody started the funnel, so there is no drop."
        ), []
    if spec.steps[k] not in frequencies:
        return FunnelEvidence(
            pattern="none",
            explanation=f"No event in the data is named '{spec.steps[k]}', so nobody can reach it: the drop "
            "comes from the step's name, not from what users did.",
        ), []
    by = {d: {v: c for (dim, v), c in groups.items() if dim == d and v != NONE} for d in ("role", "account")}
    left_out, notes = _role_scope(ds, spec.steps[k], sorted(by["role"]))
    roles = {r: c for r, c in by["role"].items() if r not in left_out}
    drop = _Drop(spec.steps[k], spec.steps[k - 1], k, groups[("", "")], roles, by["account"])
    found = _integration(drop, spec) or _training(drop) or _sponsorship(ds, drop, spec) or _ux_friction(drop)
    rate = drop.overall.conversion(k)
    evidence = found or FunnelEvidence(
        pattern="none",
        explanation=f"{_pct(rate)} of users who reached {drop.previous} go on to {drop.step}; the drop is "
        "not isolated to one role, tied to errors or missing sponsors, or shared by most accounts.",
        details={"conversion": rnd(rate)},
    )
    if left_out and found is None:
        evidence.explanation += f" Not compared, as not expected to do {drop.step}: {', '.join(left_out)}."
    evidence.roles_left_out = left_out
    return evidence, notes


def _role_scope(ds: Dataset, step: str, roles: list[str]) -> tuple[dict[str, str], list[str]]:
    """Which roles are not expected to do `step`, each with why, and the caveat that says so.

    A role is left out when every persona holding it lists its `steps` and none of them lists this one
    (executives whose persona does not import data are not a training gap at the import step). A role no
    persona holds, or whose persona lists no steps, is compared as before; when no persona of these roles lists
    steps at all, the caveat says every role was compared."""
    if not roles:
        return {}, []
    personas = ds.semantics.personas if ds.semantics else {}
    left_out: dict[str, str] = {}
    stated = False
    for role in roles:
        holding = {name: p for name, p in personas.items() if role in p.roles}
        if not holding or any(p.steps is None for p in holding.values()):
            stated = stated or any(p.steps is not None for p in holding.values())
            continue
        stated = True
        if not any(step in p.steps for p in holding.values()):
            names = " and ".join(f"'{n}'" for n in holding)
            left_out[role] = f"the {names} persona's steps in customer-health.yaml do not include {step}"
    if not stated:
        shown = ", ".join(roles[:6]) + (", …" if len(roles) > 6 else "")
        return {}, [
            f"No persona of the roles here ({shown}) lists its steps in customer-health.yaml (a persona's "
            f"`steps`), so every role is compared at {step}, including any not expected to do it."
        ]
    if not left_out:
        return {}, []
    why = "; ".join(f"{role} ({reason})" for role, reason in left_out.items())
    return left_out, [
        f"At {step} the evidence compares only the roles expected to do it; left out: {why}. A drop there is "
        "not read as a training gap."
    ]


def _integration(drop: _Drop, spec: _Spec) -> FunnelEvidence | None:
    if not spec.errors or not INTEGRATION_STEP.search(drop.step):
        return None
    before, k = drop.overall.users[drop.k - 1], drop.k
    stalled = before - drop.overall.users[k]
    seen, stalled_seen = drop.overall.errors[k - 1], drop.overall.stalled_errors[k - 1]
    if not seen or not stalled or stalled_seen / stalled < ERROR_SHARE:
        return None
    return FunnelEvidence(
        pattern="integration",
        explanation=f"{drop.step} is an import/integration step, and {seen} of {before} users who reached "
        f"{drop.previous} saw error events ({', '.join(spec.errors[:3])}) within {spec.window_days} days "
        f"after it, {stalled_seen} of the {stalled} who stopped there among them.",
        details={"users_with_errors": seen, "stalled_users": stalled, "stalled_with_errors": stalled_seen},
    )


def _training(drop: _Drop) -> FunnelEvidence | None:
    """A role converting at under half the others' pooled rate (itself 50%+); the biggest loser wins."""
    judged, k, found = drop.judged(drop.roles), drop.k, []
    for role, rate in judged.items():
        others = drop.pooled(c for r, c in drop.roles.items() if r != role)
        if others is not None and others >= LOW and rate < others / 2:
            lost = drop.roles[role].users[k - 1] - drop.roles[role].users[k]
            found.append((-lost, role, rate, others))
    if len(judged) < 2 or not found:
        return None
    _, role, rate, others = min(found)
    mine = drop.roles[role].users
    return FunnelEvidence(
        pattern="training",
        explanation=f"{role} users: {_pct(rate)} convert at {drop.step} vs {_pct(others)} for other roles "
        f"({mine[k]} of {mine[k - 1]} {role} users who reached {drop.previous} went on).",
        details={"role_conversion": rnd(rate), "other_roles_conversion": rnd(others)},
    )


def _sponsorship(ds: Dataset, drop: _Drop, spec: _Spec) -> FunnelEvidence | None:
    """For one account: no champion/exec sponsor active in the last 30 days. For many: most starting accounts
    lack one and convert at under half the rate of the others."""
    flags = [c for c in ("is_champion", "is_exec_sponsor") if ds.has("users") and c in ds.columns("users")]
    if not flags or not drop.accounts:
        return None
    active = _sponsor_activity(ds, flags, spec.day)
    since = f"in the {SPONSOR_DAYS} days to {spec.day}"
    if spec.account is not None:
        sponsors, live = active.get(spec.account, (0, 0))
        rate = _pct(drop.overall.conversion(drop.k))
        if live:
            return None
        return FunnelEvidence(
            pattern="sponsorship",
            explanation=f"{spec.account} has no champion or executive-sponsor activity {since} ({sponsors} "
            f"flagged, none active); {rate} go on from {drop.previous} to {drop.step}.",
            details={"sponsors": sponsors, "active_sponsors": 0},
        )
    lacking = {a for a in drop.accounts if not active.get(a, (0, 0))[1]}
    share = len(lacking) / len(drop.accounts)
    without = drop.pooled(c for a, c in drop.accounts.items() if a in lacking)
    others = drop.pooled(c for a, c in drop.accounts.items() if a not in lacking)
    if share < LOW or others is None or (without or 0) >= others / 2:
        return None
    return FunnelEvidence(
        pattern="sponsorship",
        explanation=f"{len(lacking)} of {len(drop.accounts)} accounts with starters ({_pct(share)}) have no "
        f"champion or executive-sponsor activity {since}; their users convert {_pct(without)} at {drop.step} "
        f"vs {_pct(others)} elsewhere.",
        details={"lacking_share": rnd(share), "lacking_conversion": rnd(without), "other": rnd(others)},
    )


def _sponsor_activity(ds: Dataset, flags: list[str], day: date) -> dict[str, tuple[int, int]]:
    """Per account: flagged champions/exec sponsors, and how many of them had events in the last 30 days."""
    flagged = " OR ".join(f"COALESCE({quote(f)}, FALSE)" for f in flags)
    sql = (
        f"WITH s AS (SELECT user_id, account_id FROM {relation(ds, 'users')} WHERE {flagged}), "
        f"act AS (SELECT DISTINCT user_id FROM {relation(ds, 'events')} "
        f"WHERE {window(day, SPONSOR_DAYS).sql()} AND user_id IN (SELECT user_id FROM s)) "
        "SELECT s.account_id AS account_id, COUNT(*) AS n, COUNT(act.user_id) AS m "
        "FROM s LEFT JOIN act ON act.user_id = s.user_id GROUP BY s.account_id"
    )
    # kept by the query itself (it names the day and the flags): a warm process does not scan the events again
    return {r["account_id"]: (int(r["n"]), int(r["m"])) for r in engine_of(ds).fetch(sql)}


def _ux_friction(drop: _Drop) -> FunnelEvidence | None:
    roles, accounts = drop.judged(drop.roles), drop.judged(drop.accounts)
    low_roles = sum(v < LOW for v in roles.values())
    low_accounts = sum(v < LOW for v in accounts.values())
    if drop.roles and low_roles < 2:
        return None
    if not accounts or low_accounts / len(accounts) < UX_ACCOUNT_SHARE:
        return None
    return FunnelEvidence(
        pattern="ux_friction",
        explanation=f"{drop.step} fails across the board: {low_roles} of {len(roles)} roles and "
        f"{low_accounts} of {len(accounts)} accounts ({MIN_GROUP}+ users at {drop.previous}) convert "
        f"below {percent(LOW)}.",
        details={"roles_below": low_roles, "accounts_below": low_accounts, "accounts": len(accounts)},
    )


__all__ = ["FunnelEvidence", "FunnelResult", "FunnelStep", "compute_funnel"]
