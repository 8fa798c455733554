"""The accounts of a dataset (the accounts table, or the distinct account ids seen in events), and the one rule by
which an account a user names — an id, a name, or part of one — is resolved to its id.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from typing import TYPE_CHECKING

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.lifecycle import CUSTOMER_STAGES, event_account_ids, lifecycle_table
from customer_health.tools.data.subscriptions import PRICE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

MIN_PREFIX = 2  # letters and digits a prefix or word must have to match an account
_WORD_BREAK = re.compile(r"[\W_]+")


def account_frame(ds: Dataset, day: date | None = None, everyone: bool = False) -> pd.DataFrame:
    """One row per account (`account_source_sql`'s accounts): id, name, segment, use case, seats, MRR and ARR."""
    columns = ("name", "segment", "use_case", "seats_purchased", "active_users_30d", "arr", "mrr")
    return ds.con.execute(f"{account_source_sql(ds, columns, day, everyone)} ORDER BY account_id").df()


# what subscriptions say of an account on a day, over what an accounts snapshot says (the lifecycle's columns)
_AS_OF_DAY = {
    "seats_purchased": "l.sub_seats",
    "mrr": "l.sub_mrr",
    "arr": "l.sub_mrr * 12",
    "renewal_date": "l.renews_on",
    "contract_start": "l.customer_since",
}


_FROM_SUBSCRIPTIONS = {  # which subscription columns give an account column on a day
    "seats_purchased": ("quantity",),
    "mrr": PRICE_COLUMNS,
    "arr": PRICE_COLUMNS,
    "renewal_date": ("period_end", "end_date", "interval"),
    "contract_start": ("start_date",),
}


def account_has(ds: Dataset, column: str) -> bool:
    """Whether the accounts have `column` at all: in the accounts table, or on any day from the subscriptions."""
    if ds.has("accounts") and column in ds.columns("accounts"):
        return True
    sources = _FROM_SUBSCRIPTIONS.get(column, ())
    return ds.has("subscriptions") and any(c in ds.columns("subscriptions") for c in sources)


def account_source_sql(
    ds: Dataset,
    columns: tuple[str, ...],
    day: date | None = None,
    everyone: bool = False,
    *,
    existing: bool = False,
) -> str:
    """SELECT of the accounts (or the distinct account ids in events), with NULL for absent columns.

    With `day`: only the customers on that day (onboarding or active, see tools/data/lifecycle) — with `existing`,
    the accounts that had become customers by then, churned or not; with `everyone`, every account — and where
    subscriptions say what an account had on the day (seats, MRR, ARR, renewal, start), that wins over the
    snapshot's value."""
    base = _account_base_sql(ds, columns)
    if day is None:
        return base
    table = lifecycle_table(ds, day)
    subs = ds.has("subscriptions")
    cols = ", ".join(
        f"coalesce({_AS_OF_DAY[c]}, b.{c}) AS {c}" if subs and c in _AS_OF_DAY else f"b.{c}" for c in columns
    )
    where = (
        ""
        if everyone
        else " WHERE l.stage <> 'not_yet_customer'"
        if existing
        else f" WHERE l.stage IN {CUSTOMER_STAGES!r}"
    )
    return f"SELECT b.account_id{', ' + cols if cols else ''} FROM ({base}) b JOIN {table} l USING (account_id){where}"


def _account_base_sql(ds: Dataset, columns: tuple[str, ...]) -> str:
    if ds.has("accounts"):
        have = set(ds.columns("accounts"))
        cols = ", ".join(c if c in have else f"NULL AS {c}" for c in ("account_id", *columns))
        return f"SELECT {cols} FROM {ds.view('accounts')}"
    if not ds.events_tied():
        raise InputError(
            "the events have no account column and there is no users table to map them.",
            fix="Load a users export (user_id, account_id) or events with an account/group id.",
        )
    nulls = ", ".join(f"NULL AS {c}" for c in columns)
    return f"SELECT account_id{', ' + nulls if nulls else ''} FROM {event_account_ids(ds)} AS e"


def accounts_with_names(ds: Dataset) -> list[tuple[str, str | None]]:
    """Every account as (id, name or None), sorted by id; computed once per dataset."""

    def compute() -> tuple[tuple[str, str | None], ...]:
        found = ds.con.execute(
            f"SELECT account_id, name FROM ({account_source_sql(ds, ('name',))})"
        ).fetchall()
        return tuple(sorted((str(a), None if n is None else str(n)) for a, n in found if a is not None))

    return list(ds.memo(("accounts_with_names",), compute))


def account_labels(rows: list[tuple[str, str | None]]) -> list[str]:
    """How accounts are listed in an error's options: "ID (Name)", or the id alone when there is no name."""
    return [f"{a} ({n})" if n else a for a, n in rows]


def resolve_account(ds: Dataset, token: str) -> str:
    """The account id a user means — the one rule every CLI command, MCP tool and prompt resolves accounts by.

    Tried in order, the first level with any match decides:
    1. an account id, exactly as given (surrounding spaces ignored);
    2. an id or an exact name, compared case-insensitively ("acc-0073", "willow transport");
    3. an id or name compared ignoring case and punctuation ("willow-transport", "acc0073");
    4. a prefix of an id or name, or one whole word of an id or name, of at least MIN_PREFIX characters, again ignoring
       case and punctuation ("willow", "transport") — so the single-token arguments of slash commands work.
    One match is the answer. Several at the first matching level → InputError saying how many accounts match and
    listing them (at most 10, as "ID (Name)"). None at any level → InputError listing the 10 nearest accounts.
    """
    rows = accounts_with_names(ds)
    text = str(token or "").strip()
    if not text:
        raise InputError(
            "no account given.",
            column="account_id",
            options=account_labels(rows[:10]),
            fix="Pass an account id or its name.",
        )
    if any(a == text for a, _ in rows):
        return text
    folded, key = _fold(text), _slug(text)
    long_enough = len(key) >= MIN_PREFIX
    levels = (
        lambda a, n: _fold(a) == folded or (n is not None and _fold(n) == folded),
        lambda a, n: bool(key) and any(_slug(s) == key for s in (a, n) if s),
        lambda a, n: (
            long_enough
            and (
                any(_slug(s).startswith(key) for s in (a, n) if s)
                or any(_slug(w) == key for s in (a, n) if s for w in _WORD_BREAK.split(s))
            )
        ),
    )
    for matches in levels:
        hits = [(a, n) for a, n in rows if matches(a, n)]
        if len(hits) == 1:
            return hits[0][0]
        if hits:
            raise InputError(
                f"'{text}' matches {len(hits)} accounts.",
                column="account_id",
                options=account_labels(hits[:10]),
                fix="Use the account id, or more of the name.",
            )
    raise InputError(
        f"no account has the id or name '{text}'.",
        column="account_id",
        options=account_labels(_nearest(text, rows)),
        fix="Use one of these account ids, or an account's name.",
    )


def _fold(text: str) -> str:
    """Case-insensitive and blind to runs of spaces: 'Acme  corp ' and 'ACME Corp' fold alike."""
    return " ".join(text.split()).casefold()


def _slug(text: str) -> str:
    """Letters and digits only, case-folded: 'Acme-Corp' and 'ACME corp' are both 'acmecorp'."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _nearest(text: str, rows: list[tuple[str, str | None]], n: int = 10) -> list[tuple[str, str | None]]:
    """The n accounts whose id or name is spelt closest to `text` (case and punctuation ignored)."""
    key = _slug(text)
    scored = sorted(
        (-max(difflib.SequenceMatcher(None, key, _slug(s)).ratio() for s in (a, nm) if s), a, nm)
        for a, nm in rows
    )
    return [(a, nm) for _, a, nm in scored[:n]]
