"""What a product's events mean: core features, passive and negative events, value events, workflows, personas.

Read from `customer-health.yaml` when the user has one; otherwise inferred from the events and labelled as such.

Event names come in every style — `Page View` (Mixpanel/Amplitude/Segment), `$pageview` (PostHog), `page_viewed`,
`pageView`, `[Amplitude] Page Viewed` — so a name is first normalised to lower-case words (`$` and brackets dropped,
camelCase/TitleCase/snake/kebab/space split) and the vocabulary is matched on whole words of that form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from customer_health.tools.base.dialects import engine_of, relation
from customer_health.tools.base.formats import percent
from customer_health.tools.base.sql import quote
from customer_health.tools.data.config import Persona, ProductSemantics, WorkflowTarget
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.load_cache import reuse_semantics
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import duckdb

# Each entry is matched against the normalised name ("page viewed", "pageview", "logged in") as whole words;
# ` ?` lets a compound written as one word (`pageview`, `login`, `adview`) match too.
_PASSIVE_WORDS = [
    # page and screen views, loads and leaves
    r"page ?(views?|viewed|viewing|loads?|loaded|leaves?|left|exits?|exited|visits?|visited|hits?)",
    r"(view|views|viewed|visit|visited|load|loaded|open|opened) (an? |the )?(\w+ ){0,2}page",
    r"screen ?(views?|viewed|loads?|loaded)",
    r"(view|viewed) (an? |the )?(\w+ )?screen",
    r"^(pages?|screens?)$",
    # logins, sign-ins, logouts
    r"(log|logs|logged|logging) ?(ins?|ons?|outs?|offs?)",
    r"(sign|signs|signed|signing) ?(ins?|outs?)",  # not "signed off": an approval is work
    # sessions (a session itself, not "coaching session booked")
    r"^sessions?$",
    r"sessions? (start|starts|started|end|ends|ended|begin|began|resumed|timeout|timed out)",
    r"(start|started|end|ended|new) sessions?",
    # app opens and lifecycle
    r"(app|apps|application) ?(opens?|opened|launch|launches|launched|starts?|started|foregrounded|backgrounded|"
    r"resumed|closed|became active)",
    r"(open|opened|launch|launched) (the |an? )?(app|application)",
    # opens and deliveries of messages sent to the user
    r"(emails?|e mails?|newsletters?|messages?|notifications?|push|sms) ?(opens?|opened|delivered|received|"
    r"displayed|shown|seen|read)",
    # site visits, keep-alives, tracker bookkeeping
    r"^(visit|visits|visited)$",
    r"(visit|visited) (the )?(site|web ?site|home ?page|app)",
    r"(web ?site|site|store|home ?page) visits?",
    r"heart ?beats?",
    r"^pings?$",
    r"keep ?alive",
    r"(group )?identif(y|ied|ies)",
    r"auto ?capture",
]
# errors, failures, crashes ("error", "fail" and "exception" also inside a word: `importerror`, `syncfailed`)
_ERROR_WORDS = [
    r"crash|crashes|crashed|timeouts?|timed out|not found|invalid|declined|rage ?clicks?|dead ?clicks?",
    r"(trial|subscription|license|licence|plan|card|contract) expired",
]
_ERROR_INSIDE = re.compile(r"error|fail|exception")
_NEGATIVE_WORDS = [
    # dislikes and thumbs down
    r"dislikes?|disliked|unliked?|unlikes|thumbs? ?down|down ?vot(e|es|ed)|negative (feedback|rating|review)",
    # ads shown to the user
    r"ads? ?(views?|viewed|impressions?|shown|displayed|served|loaded|watched|clicks?|clicked|played|requested)",
    r"(view|viewed|watch|watched|shown|clicked) (an? )?ads?",
    r"impressions?|advert|adverts|advertisements?",
    # unsubscribes, opt-outs, spam reports
    r"un ?subscrib(e|es|ed|ing)|un ?subscriptions?|opt(s|ed)? ?outs?",
    r"(mark|marked|report|reported|flag|flagged) (as )?spam|spam (reports?|complaints?)",
    # cancellations, downgrades, churn
    r"cancel|cancels|canceled|cancelled|canceling|cancelling|cancell?ations?",
    r"downgrad(e|es|ed|ing)",
    r"churned|^churns?$|(account|customer|user|subscription) churn",
    # accounts deleted or closed
    r"(account|workspace|user|profile|organi[sz]ation|org|team|tenant|subscription|membership|company) "
    r"(deleted|delete|deletion|removed|closed|deactivated|terminated|suspended)",
    r"(delete|deleted|close|closed|deactivate|deactivated|terminate|terminated) (the |my |an? )?"
    r"(account|workspace|profile|organi[sz]ation|org|tenant|subscription|membership)",
    # uninstalls and disconnections
    r"un ?install(s|ed|ing)?|disconnect(s|ed|ing)?",
    # complaints, bounces, refunds, abandonment
    r"complain(s|ed|t|ts)?",
    r"bounce|bounces|bounced|bouncing",
    r"refund(s|ed|ing)?|charge ?backs?",
    r"abandon(s|ed|ment)?",
]


def _vocabulary(words: list[str]) -> re.Pattern:
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(f"(?:{w})" for w in words) + r")(?![a-z0-9])")


_PASSIVE = _vocabulary(_PASSIVE_WORDS)
_ERROR = _vocabulary(_ERROR_WORDS)
_NEGATIVE = _vocabulary(_NEGATIVE_WORDS)
# events a tracker records by itself: PostHog/Mixpanel reserve a leading `$`, Amplitude brackets its own name
_TRACKER_EVENT = re.compile(r"^\s*(\$|\[amplitude\])", re.IGNORECASE)


def event_words(name: object) -> str:
    """The name as lower-case words: `$pageview` → 'pageview', `Page Viewed` → 'page viewed', `pageView` and
    `page-view` → 'page view', `LoggedIn` → 'logged in', `[Amplitude] Start Session` → 'amplitude start session'."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def event_kind(name: object) -> Literal["passive", "negative"] | None:
    """'negative' for an event that means a problem or a step back (error, crash, dislike, ad view, unsubscribe,
    cancel, downgrade, churn, account deleted, uninstall, complaint, bounce, refund); else 'passive' for one that
    means presence rather than use (page or screen view, login, session, app open, message open, heartbeat, visit,
    or an event the tracker records by itself); else None — an event that may be real work."""
    words = event_words(name)
    if _is_error(words) or _NEGATIVE.search(words):
        return "negative"
    if _PASSIVE.search(words) or _TRACKER_EVENT.match(str(name)):
        return "passive"
    return None


def _is_error(words: str) -> bool:
    return bool(_ERROR_INSIDE.search(words) or _ERROR.search(words))


def is_error(name: object) -> bool:
    """An error, failure, exception, crash or timeout — the part of the negative events that means something broke."""
    return _is_error(event_words(name))


def is_passive(name: object) -> bool:
    return event_kind(name) == "passive"


def is_negative(name: object) -> bool:
    return event_kind(name) == "negative"


class EventClass:
    """One kind of event name, with a regex-like `search(name)` (truthy when the name is of that kind)."""

    def __init__(self, kind: Literal["passive", "negative"]) -> None:
        self.kind = kind

    def search(self, name: object) -> bool:
        return event_kind(name) == self.kind


PASSIVE_PATTERN = EventClass("passive")
NEGATIVE_PATTERN = EventClass("negative")
PASSIVE_HOW = (
    "inferred: event names that mean presence (page or screen view, login, session, app or email open)"
)
NEGATIVE_HOW = (
    "inferred: event names that mean a problem or a step back (error, dislike, ad view, unsubscribe, cancel, "
    "downgrade, churn, uninstall, refund); never core features"
)


class EventSemantics(BaseModel):
    """The event vocabulary as used by the rest of the product, with where each part came from."""

    source: str = Field(
        description="'configured' (customer-health.yaml) or 'inferred' (from event names/usage)"
    )
    distinct_events: int
    top_events: list[dict] = Field(description="Most frequent events: name, events, accounts.")
    passive_events: list[str]
    negative_events: list[str] = Field(
        default_factory=list, description="Events that mean a problem or a step back, by name; never core."
    )
    core_features: list[str]
    core_features_source: str
    core_feature_reasons: dict[str, str] = Field(
        default_factory=dict, description="Inferred core feature → why it was chosen."
    )
    passed_over: dict[str, str] = Field(
        default_factory=dict,
        description="Events more widely used than an inferred core feature but not core → why (passive/negative).",
    )


def infer_event_semantics(
    con: duckdb.DuckDBPyConnection,
    events_view: str,
    configured: ProductSemantics | None = None,
    top_n: int = 15,
) -> EventSemantics:
    """Count the vocabulary; passive and negative events by name; core features as the events used by most
    accounts that are neither passive nor negative, each with the reason it was chosen."""
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {quote(events_view)}").fetchall()}
    key = "account_id" if "account_id" in cols else "user_id"
    rows = con.execute(
        f"SELECT event, count(DISTINCT {key}) AS a, count(*) AS n FROM {quote(events_view)} GROUP BY event "
        f"ORDER BY a DESC, n DESC, event"
    ).fetchall()
    names = [r[0] for r in rows]
    if configured and configured.passive_events:
        passive = list(configured.passive_events)
    else:
        passive = [e for e in names if is_passive(e)]
    negative = _negative(names, passive, configured.core_features if configured else [])
    reasons: dict[str, str] = {}
    passed: dict[str, str] = {}
    if configured and configured.core_features:
        core, core_source = list(configured.core_features), "configured"
    else:
        total = con.execute(f"SELECT count(DISTINCT {key}) FROM {quote(events_view)}").fetchone()[0]
        unit = "accounts" if key == "account_id" else "users"
        core, reasons, passed = _choose_core(rows, passive, negative, total, unit)
        core_source = "inferred: the events used by the most accounts that are neither passive nor negative"
    top = sorted(rows, key=lambda r: (-r[2], r[0]))[:top_n]
    return EventSemantics(
        source="configured" if configured else "inferred",
        distinct_events=len(rows),
        top_events=[{"event": e, "events": n, "accounts": a} for e, a, n in top],
        passive_events=passive,
        negative_events=negative,
        core_features=core,
        core_features_source=core_source,
        core_feature_reasons=reasons,
        passed_over=passed,
    )


ACCOUNT_LEVEL_NOTE = (
    "The events are account-level (no user column): each account counts as one person, so active users, seats in "
    "use and how concentrated the work is are per account, not per person."
)


class ResolvedSemantics(BaseModel):
    """The semantics every computation uses, each part labelled 'configured' or 'inferred'."""

    core_features: list[str]
    passive_events: list[str]
    negative_events: list[str] = Field(
        default_factory=list, description="Events that mean a problem or a step back, by name; never core."
    )
    value_events: list[str]
    workflows: dict[str, list[str]]
    workflow_targets: dict[str, WorkflowTarget] = Field(default_factory=dict)
    activation: str | None
    personas: dict[str, Persona]
    sources: dict[str, str] = Field(description="part → 'configured' or 'inferred: how'")
    core_feature_reasons: dict[str, str] = Field(
        default_factory=dict, description="Inferred core feature → why it was chosen."
    )
    passed_over: dict[str, str] = Field(
        default_factory=dict,
        description="Events more widely used than an inferred core feature but not core → why (passive/negative).",
    )

    account_level: bool = Field(
        False,
        description="The events name no user: each account counts as one person (user_id = account_id).",
    )

    def caveats(self, *parts: str) -> list[str]:
        """One sentence per inferred part among `parts` (default: core features), for a result's caveats; inferred
        core features also say why each was chosen and which more widely used events were passed over."""
        out = []
        for part in parts or ("core_features",):
            how = self.sources.get(part, "")
            if how.startswith("inferred"):
                label = part.replace("_", " ")
                out.append(f"{label[0].upper()}{label[1:]} were {how} (set them in customer-health.yaml).")
                if part == "core_features":
                    out += _core_notes(self.core_feature_reasons, self.passed_over)
        if self.account_level:
            out.append(ACCOUNT_LEVEL_NOTE)
        return out


def resolve_semantics(ds: Dataset, as_of_sql_end: str | None = None) -> ResolvedSemantics:
    """Configured parts as given; the rest inferred from the events, without reading any outcome column.

    Core features are inferred as the events used by the largest share of the most active half of accounts (by
    distinct users in the last 90 days) that are neither passive nor negative — 'what engaged customers do', not
    what churners didn't. Kept with a workspace-built dataset (by its content-derived id and the config), so a later
    process reuses it.
    """
    return reuse_semantics(ds, as_of_sql_end, ResolvedSemantics, lambda: _resolve(ds, as_of_sql_end))


def _resolve(ds: Dataset, as_of_sql_end: str | None) -> ResolvedSemantics:
    cfg = ds.semantics or ProductSemantics()
    sources: dict[str, str] = {}
    ds.view("events")  # raises when there are no events
    events = relation(ds, "events")
    upto = f"WHERE timestamp < {as_of_sql_end}" if as_of_sql_end else ""
    counted = engine_of(ds).fetch(f"SELECT event, COUNT(*) AS n FROM {events} {upto} GROUP BY event")
    # ordered here, the same on every engine: most frequent first, then by name (no name last)
    names = [
        r["event"]
        for r in sorted(counted, key=lambda r: (-int(r["n"]), r["event"] is None, r["event"] or ""))
    ]
    if cfg.passive_events:
        passive, sources["passive_events"] = list(cfg.passive_events), "configured"
    else:
        passive = [e for e in names if is_passive(e)]
        sources["passive_events"] = PASSIVE_HOW
    negative = _negative(names, passive, cfg.core_features)
    sources["negative_events"] = NEGATIVE_HOW
    reasons: dict[str, str] = {}
    passed: dict[str, str] = {}
    if cfg.core_features:
        core, sources["core_features"] = list(cfg.core_features), "configured"
    else:
        core, reasons, passed = _infer_core(ds, events, upto, passive, negative)
        sources["core_features"] = (
            "inferred: the events used by the most accounts among the more active half that are neither passive "
            "nor negative"
        )
    value = list(cfg.value_events)
    sources["value_events"] = "configured" if value else "inferred: none configured"
    workflows = dict(cfg.workflows)
    sources["workflows"] = "configured" if workflows else "inferred: none configured"
    activation = cfg.activation or (value[0] if value else (core[0] if core else None))
    sources["activation"] = (
        "configured" if cfg.activation else "inferred: the first value event or core feature"
    )
    personas = dict(cfg.personas)
    sources["personas"] = "configured" if personas else "inferred: none configured"
    return ResolvedSemantics(
        core_features=core,
        passive_events=passive,
        negative_events=negative,
        value_events=value,
        workflows=workflows,
        workflow_targets=dict(cfg.workflow_targets),
        activation=activation,
        personas=personas,
        sources=sources,
        core_feature_reasons=reasons,
        passed_over=passed,
        account_level=ds.account_level_events(),
    )


def _negative(names: list, passive: list[str], core: list[str]) -> list[str]:
    """Negative events by name, leaving out any the user configured as passive or core."""
    kept = {*passive, *core}
    return [e for e in names if e not in kept and is_negative(e)]


def _infer_core(
    ds: Dataset, events: str, upto: str, passive: list[str], negative: list[str], n: int = 5
) -> tuple[list[str], dict[str, str], dict[str, str]]:
    key = "account_id" if ds.events_tied() else "user_id"
    engine = engine_of(ds)
    # how many accounts have each number of recent users: a small table, whose median is taken here
    spread = engine.fetch(engaged_sql(key, upto, {"events": events}))
    middle = _median({int(r["users"]): int(r["n"]) for r in spread})
    rows: list[tuple] = []
    total = 0
    if middle is not None:
        total = sum(int(r["n"]) for r in spread if r["users"] >= middle)
        got = engine.fetch(engaged_sql(key, upto, {"events": events}, middle))
        # ordered here, the same on every engine: most accounts, then most events, then by name
        rows = sorted(
            ((r["event"], int(r["accounts"]), int(r["n"])) for r in got),
            key=lambda r: (-r[1], -r[2], r[0] is None, r[0] or ""),
        )
    unit = "the more active half's accounts" if key == "account_id" else "the more active half's users"
    return _choose_core(rows, passive, negative, total, unit, n)


def engaged_sql(key: str, upto: str, relations: dict[str, str], middle: float | None = None) -> str:
    """Core-feature inference's event-level reductions, in the portable subset (`dialects`; no median aggregate
    is portable, so the median is taken between the two): without `middle`, how many accounts (`key`s) had each
    number of distinct users in the 90 days to the last event ('users', 'n'); with it, per event, the accounts
    with at least `middle` such users that used it and its events ('event', 'accounts', 'n'). `upto`: a WHERE
    clause on the events, or ''."""
    recent = (
        f"WITH recent AS (SELECT * FROM {relations['events']} {upto}), "
        "last_day AS (SELECT MAX(timestamp) AS t FROM recent), "
        f"activity AS (SELECT {key} AS k, COUNT(DISTINCT user_id) AS users FROM recent, last_day "
        f"WHERE timestamp >= t - INTERVAL 90 DAY AND {key} IS NOT NULL GROUP BY {key})"
    )
    if middle is None:
        return f"{recent} SELECT users, COUNT(*) AS n FROM activity GROUP BY users"
    return (
        f"{recent}, engaged AS (SELECT k FROM activity WHERE users >= {float(middle)!r}) "
        f"SELECT event, COUNT(DISTINCT {key}) AS accounts, COUNT(*) AS n FROM recent "
        f"WHERE {key} IN (SELECT k FROM engaged) GROUP BY event"
    )


def _median(counts: dict[int, int]) -> float | None:
    """The median of a multiset given as value → how many times (the mean of the middle two when their number is
    even, as SQL's continuous median), or None when it is empty."""
    n = sum(counts.values())
    if not n:
        return None
    values = sorted(counts)
    upto, below, above = 0, None, None
    for v in values:
        upto += counts[v]
        if below is None and upto >= (n + 1) // 2:
            below = v
        if upto >= n // 2 + 1:
            above = v
            break
    return float(below) if n % 2 else (below + above) / 2


_NEITHER = ", neither passive nor negative"


def _choose_core(
    rows: list[tuple], passive: list[str], negative: list[str], total: int, unit: str, n: int = 5
) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The first `n` events of `rows` (event, accounts, events; most widely used first) that are neither passive
    nor negative, each with its reason; and the excluded events ranked above the last one chosen, with theirs."""
    skip = {**{e: "passive" for e in passive}, **{e: "negative" for e in negative}}
    core: list[str] = []
    reasons: dict[str, str] = {}
    passed: dict[str, str] = {}
    for event, accounts, _ in rows:
        if len(core) == n:
            break
        if event in skip:
            passed[event] = skip[event]
            continue
        core.append(event)
        share = percent(accounts / total) if total else "—"
        reasons[event] = f"used by {share} of {unit} ({accounts} of {total}){_NEITHER}"
    return core, reasons, passed


def _core_notes(reasons: dict[str, str], passed: dict[str, str]) -> list[str]:
    notes = []
    if reasons:
        why = "; ".join(f"{e} — {r.removesuffix(_NEITHER)}" for e, r in reasons.items())
        notes.append(f"Chosen as core features, each neither passive nor negative: {why}.")
    if passed:
        by_kind = {k: [e for e, why in passed.items() if why == k] for k in ("passive", "negative")}
        parts = [f"{', '.join(map(str, es))} ({k})" for k, es in by_kind.items() if es]
        notes.append(f"More widely used but not core features: {'; '.join(parts)}.")
    return notes
