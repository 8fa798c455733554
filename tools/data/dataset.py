"""The handle computations receive: the canonical views of one loaded dataset and what its events mean."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from customer_health.tools.base import bounds
from customer_health.tools.base.dialects import elsewhere, engine_of, first_row, relation
from customer_health.tools.base.errors import InputError
from customer_health.tools.base.sql import quote
from customer_health.tools.data.config import ProductSemantics
from customer_health.tools.data.schema import KINDS

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

_HOW_TO_ADD = {
    "accounts": "an accounts export (account_id plus e.g. name, segment, arr, seats_purchased, renewal_date)",
    "users": "a users export (user_id, account_id, role)",
    "events": "a product-events export (timestamp, user_id, event) from Segment, Amplitude, Mixpanel or PostHog",
    "tickets": "a support-tickets export (account_id, created_at) from Zendesk or Intercom",
    "nps": "an NPS survey export (account_id, score, responded_at)",
    "revenue": "a monthly revenue table (account_id, month, mrr)",
    "outcomes": "renewal outcomes (account_id, outcome, date)",
    "subscriptions": "a subscriptions or billing export (account_id, start, end or status, MRR or amount, quantity) "
    "from Stripe, Chargebee, Recurly or Zuora",
}


class ScoredRun(Protocol):
    """What score history needs of a scoring run (the health layer's result has it): when, how, who scored what."""

    as_of: date
    profile: str
    accounts: Sequence  # each with account_id, health_score and tier


class ScoreHistory(Protocol):
    """Where earlier runs' scores are kept (the workspace), so a later upload can say how each account moved."""

    def earlier_scores(self, dataset_id: str, scores: ScoredRun) -> dict[str, tuple[float, str]]: ...

    def remember_scores(self, dataset_id: str, scores: ScoredRun) -> None: ...


@dataclass
class Dataset:
    """Canonical views (`kind → view name`) on one DuckDB connection, plus the product semantics if configured."""

    con: duckdb.DuckDBPyConnection
    dataset_id: str
    views: dict[str, str]
    semantics: ProductSemantics | None = None
    latest_date: date | None = None
    history: ScoreHistory | None = field(default=None, repr=False)
    as_of_note: str | None = None  # how the default as-of was chosen when the data could not say (no dates)
    # where the event-level reductions run (tools.base.dialects.Engine); None: this DuckDB connection
    engine: object = field(default=None, repr=False)
    _columns: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _memo: dict[tuple, object] = field(default_factory=dict, repr=False)

    def memo(self, key: tuple, compute):
        """`compute()` once per key for this dataset: the views never change after a load, so neither does the
        answer. Callers get the stored object and must not mutate it (copy first)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def memo_many(self, keys: dict, compute) -> dict:
        """`memo` for several answers one computation gives together: `keys` maps each wanted item to its memo
        key, and `compute(missing_items)` returns {item: answer} for those not already kept."""
        missing = [item for item, key in keys.items() if key not in self._memo]
        if missing:
            for item, answer in compute(missing).items():
                self._memo[keys[item]] = answer
        return {item: self._memo[key] for item, key in keys.items()}

    def has(self, kind: str) -> bool:
        return kind in self.views

    def view(self, kind: str) -> str:
        """The quoted view name of `kind`, or an error saying which input is missing and how to add it."""
        if kind not in KINDS:
            raise InputError(f"unknown table kind '{kind}'.", options=list(KINDS))
        if kind not in self.views:
            loaded = ", ".join(sorted(self.views)) or "nothing"
            raise InputError(
                f"this needs {'an' if kind[0] in 'aeiou' else 'a'} {kind} table, and the dataset has {loaded}.",
                fix=f"Load {_HOW_TO_ADD[kind]} together with the other files.",
            )
        return quote(self.views[kind])

    def account_names(self) -> list[str]:
        """Every account name in the accounts table (what a draft may not mention unless its facts do)."""
        if not self.has("accounts") or "name" not in self.columns("accounts"):
            return []
        sql = f"SELECT DISTINCT name FROM {self.view('accounts')} WHERE name IS NOT NULL ORDER BY 1"
        return [r[0] for r in self.con.execute(sql).fetchall()]

    def events_tied(self) -> bool:
        """Whether any event can be tied to an account (directly or through the users table)."""
        if not self.has("events") or "account_id" not in self.columns("events"):
            return False
        return self.memo(("events_tied",), lambda: self.any_event("account_id IS NOT NULL"))

    def events_first_day(self) -> date | None:
        """The first day the events cover (where the export begins), or None without events."""
        return self.events_span()[0]

    def events_span(self) -> tuple[date | None, date | None]:
        """The first and the last day with an event (None, None without events), read on the dataset's engine."""
        if not self.has("events"):
            return None, None

        def compute() -> tuple[date | None, date | None]:
            row = first_row(
                self,
                "SELECT CAST(MIN(timestamp) AS DATE) AS first_day, CAST(MAX(timestamp) AS DATE) AS last_day "
                f"FROM {relation(self, 'events')}",
            )
            return _day(row["first_day"]), _day(row["last_day"])

        return self.memo(("events_span",), compute)

    def account_level_events(self) -> bool:
        """Whether the events name no person apart from the account (an export with no user column, whose view
        sets user_id to the account id): then each account counts as one person."""
        if not self.has("events") or "account_id" not in self.columns("events"):
            return False
        return self.memo(
            ("account_level_events",), lambda: not self.any_event("user_id IS DISTINCT FROM account_id")
        )

    def any_event(self, condition: str) -> bool:
        """Whether some event meets `condition` (portable SQL), asked on the dataset's engine."""
        sql = f"SELECT 1 AS x FROM {relation(self, 'events')} WHERE {condition} LIMIT 1"
        return first_row(self, f"SELECT COUNT(*) AS n FROM ({sql}) AS e")["n"] > 0

    def columns(self, kind: str) -> list[str]:
        if kind not in self._columns:
            if elsewhere(self, kind):  # the table lives on another engine: ask it for the names only
                names, _ = engine_of(self).rows(f"SELECT * FROM {relation(self, kind)} LIMIT 0")
                self._columns[kind] = list(names)
            else:
                rows = self.con.execute(f"DESCRIBE SELECT * FROM {self.view(kind)}").fetchall()
                self._columns[kind] = [r[0] for r in rows]
        return self._columns[kind]

    def frame(self, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A pandas frame of an account-level table (accounts, users, tickets, nps, revenue, outcomes)."""
        cols = "*" if columns is None else ", ".join(quote(c) for c in columns if c in self.columns(kind))
        return self.con.execute(f"SELECT {cols} FROM {self.view(kind)}").df()

    def default_as_of(self) -> date:
        """The latest activity date in the data — never the wall clock."""
        if self.latest_date is None:
            raise InputError(
                "the data has no dates, so 'as of' cannot be inferred.",
                fix="Pass the date the data describes as the as-of date (as_of, or --as-of on the command line), "
                "e.g. 2026-06-30.",
            )
        return self.latest_date


def _day(value) -> date | None:
    """A day from what an engine returns for a date (a date, or a timestamp from some drivers)."""
    return value.date() if isinstance(value, datetime) else value


def resolve_as_of(ds: Dataset, as_of: date | str | None) -> date:
    """An explicit as-of date, or the latest activity date in the data (never the wall clock)."""
    if as_of is None:
        return ds.default_as_of()
    if isinstance(as_of, date):
        return as_of
    try:
        return bounds.check_date("as_of", date.fromisoformat(str(as_of)[:10]))
    except ValueError:
        raise InputError(
            f"'{as_of}' is not a date.", column="as_of", fix="Use YYYY-MM-DD, e.g. 2026-06-30."
        ) from None
