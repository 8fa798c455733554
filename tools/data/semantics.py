"""What a product's events mean: core features, passive events, value events, workflows, personas.

Read from `customer-health.yaml` when the user has one; otherwise inferred from the events and labelled as such.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from customer_health.tools.base.sql import quote
from customer_health.tools.data.config import Persona, ProductSemantics, WorkflowTarget
from customer_health.tools.data.dataset import Dataset
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import duckdb

PASSIVE_PATTERN = re.compile(
    r"(^|[_\s.$-])(log_?in|sign_?in|logged_?in|session|page_?view|pageview|screen_?view|app_?open|"
    r"open_?app|visit|view_?page|heartbeat|identify|pageleave|autocapture)",
    re.IGNORECASE,
)


class EventSemantics(BaseModel):
    """The event vocabulary as used by the rest of the product, with where each part came from."""

    source: str = Field(
        description="'configured' (customer-health.yaml) or 'inferred' (from event names/usage)"
    )
    distinct_events: int
    top_events: list[dict] = Field(description="Most frequent events: name, events, accounts.")
    passive_events: list[str]
    core_features: list[str]
    core_features_source: str


def infer_event_semantics(
    con: duckdb.DuckDBPyConnection,
    events_view: str,
    configured: ProductSemantics | None = None,
    top_n: int = 15,
) -> EventSemantics:
    """Count the vocabulary; passive events by name; core features as the non-passive events used by most accounts."""
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {quote(events_view)}").fetchall()}
    acct = "count(DISTINCT account_id)" if "account_id" in cols else "count(DISTINCT user_id)"
    rows = con.execute(
        f"SELECT event, count(*) AS n, {acct} AS a FROM {quote(events_view)} GROUP BY event "
        f"ORDER BY a DESC, n DESC, event"
    ).fetchall()
    names = [r[0] for r in rows]
    if configured and configured.passive_events:
        passive = [e for e in configured.passive_events]
    else:
        passive = [e for e in names if PASSIVE_PATTERN.search(str(e))]
    if configured and configured.core_features:
        core, core_source = list(configured.core_features), "configured"
    else:
        active = [r for r in rows if r[0] not in passive and not re.search(r"error|fail", str(r[0]), re.I)]
        core, core_source = (
            [r[0] for r in active[:5]],
            "inferred: the non-passive events used by the most accounts",
        )
    top = sorted(rows, key=lambda r: (-r[1], r[0]))[:top_n]
    return EventSemantics(
        source="configured" if configured else "inferred",
        distinct_events=len(rows),
        top_events=[{"event": e, "events": n, "accounts": a} for e, n, a in top],
        passive_events=passive,
        core_features=core,
        core_features_source=core_source,
    )


class ResolvedSemantics(BaseModel):
    """The semantics every computation uses, each part labelled 'configured' or 'inferred'."""

    core_features: list[str]
    passive_events: list[str]
    value_events: list[str]
    workflows: dict[str, list[str]]
    workflow_targets: dict[str, WorkflowTarget] = Field(default_factory=dict)
    activation: str | None
    personas: dict[str, Persona]
    sources: dict[str, str] = Field(description="part → 'configured' or 'inferred: how'")

    def caveats(self, *parts: str) -> list[str]:
        """One sentence per inferred part among `parts` (default: core features), for a result's caveats."""
        out = []
        for part in parts or ("core_features",):
            how = self.sources.get(part, "")
            if how.startswith("inferred"):
                label = part.replace("_", " ")
                out.append(f"{label[0].upper()}{label[1:]} were {how} (set them in customer-health.yaml).")
        return out


def resolve_semantics(ds: Dataset, as_of_sql_end: str | None = None) -> ResolvedSemantics:
    """Configured parts as given; the rest inferred from the events, without reading any outcome column.

    Core features are inferred as the non-passive events used by the largest share of the most active half of
    accounts (by distinct users in the last 90 days) — 'what engaged customers do', not what churners didn't.
    """
    cfg = ds.semantics or ProductSemantics()
    sources: dict[str, str] = {}
    events = ds.view("events")
    upto = f"WHERE timestamp < {as_of_sql_end}" if as_of_sql_end else ""
    if cfg.passive_events:
        passive, sources["passive_events"] = list(cfg.passive_events), "configured"
    else:
        names = [
            r[0]
            for r in ds.con.execute(
                f"SELECT event FROM {events} {upto} GROUP BY event ORDER BY count(*) DESC, event"
            ).fetchall()
        ]
        passive = [e for e in names if PASSIVE_PATTERN.search(str(e))]
        sources["passive_events"] = "inferred: event names that mean presence (login, page view, session)"
    if cfg.core_features:
        core, sources["core_features"] = list(cfg.core_features), "configured"
    else:
        core = _infer_core(ds, events, upto, passive)
        sources["core_features"] = (
            "inferred: the non-passive events used by the most accounts among the more active half"
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
        value_events=value,
        workflows=workflows,
        workflow_targets=dict(cfg.workflow_targets),
        activation=activation,
        personas=personas,
        sources=sources,
    )


def _infer_core(ds: Dataset, events: str, upto: str, passive: list[str], n: int = 5) -> list[str]:
    excluded = [*passive, "__none__"]
    placeholders = ", ".join("?" for _ in excluded)
    key = "account_id" if ds.events_tied() else "user_id"
    rows = ds.con.execute(
        f"""
        WITH recent AS (SELECT * FROM {events} {upto}),
        last_day AS (SELECT max(timestamp) AS t FROM recent),
        activity AS (
            SELECT {key} AS k, count(DISTINCT user_id) AS users FROM recent, last_day
            WHERE timestamp >= t - INTERVAL 90 DAY AND {key} IS NOT NULL GROUP BY 1),
        engaged AS (SELECT k FROM activity WHERE users >= (SELECT median(users) FROM activity))
        SELECT event, count(DISTINCT {key}) AS accounts, count(*) AS n
        FROM recent WHERE {key} IN (SELECT k FROM engaged) AND event NOT IN ({placeholders})
          AND NOT regexp_matches(event, '(?i)error|fail')
        GROUP BY event ORDER BY accounts DESC, n DESC, event LIMIT {n}""",
        excluded,
    ).fetchall()
    return [r[0] for r in rows]
