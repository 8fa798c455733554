"""The accounts of a dataset: the accounts table, or the distinct account ids seen in events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.dataset import Dataset

if TYPE_CHECKING:
    import pandas as pd


def account_frame(ds: Dataset) -> pd.DataFrame:
    """One row per account: the accounts table, or the distinct account ids seen in events."""
    import pandas as pd

    if ds.has("accounts"):
        want = [
            "account_id",
            "name",
            "segment",
            "use_case",
            "seats_purchased",
            "active_users_30d",
            "arr",
            "mrr",
        ]
        return ds.frame("accounts", want)
    if not ds.events_tied():
        raise InputError(
            "the events have no account column and there is no users table to map them.",
            fix="Load a users export (user_id, account_id) or events with an account/group id.",
        )
    ids = ds.con.execute(
        f"SELECT DISTINCT account_id FROM {ds.view('events')} WHERE account_id IS NOT NULL ORDER BY 1"
    ).fetchall()
    return pd.DataFrame({"account_id": [r[0] for r in ids]})


def account_source_sql(ds: Dataset, columns: tuple[str, ...]) -> str:
    """SELECT of the accounts (or the distinct account ids in events), with NULL for absent columns."""
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
    return (
        f"SELECT DISTINCT account_id{', ' + nulls if nulls else ''} FROM {ds.view('events')} "
        "WHERE account_id IS NOT NULL"
    )
