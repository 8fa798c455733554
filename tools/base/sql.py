"""SQL helpers shared by every event-level reduction: day windows, quoting, lists, row fetching."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from customer_health.tools.base.errors import InputError
from customer_health.tools.base.numbers import DECIMALS


class Window(NamedTuple):
    """A half-open timestamp range [start, end) covering whole calendar days."""

    start: datetime
    end: datetime

    def sql(self, column: str = "timestamp") -> str:
        return f"{column} >= TIMESTAMP '{self.start:%Y-%m-%d %H:%M:%S}' AND {column} < TIMESTAMP '{self.end:%Y-%m-%d %H:%M:%S}'"


def window(as_of: date, days: int, offset_days: int = 0) -> Window:
    """The `days` calendar days ending at `as_of` (inclusive), shifted back by `offset_days`.

    window(d, 30) covers d-29 … d; window(d, 30, 30) is the prior 30 days, d-59 … d-30.
    """
    if days < 1:
        raise InputError(f"a window must be at least 1 day (got {days}).")
    end_day = as_of - timedelta(days=offset_days)
    end = datetime.combine(end_day + timedelta(days=1), time.min)
    return Window(end - timedelta(days=days), end)


def fetch_dicts(con, sql: str, params: list | None = None) -> list[dict]:
    """Run a query and return its rows as dicts (fast: no pandas in between)."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def in_list(values: list[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")" if values else "(NULL)"


def change_sql(now: str, before: str) -> str:
    return f"CASE WHEN {before} <> 0 THEN round(({now} - {before}) / {before}, {DECIMALS}) END"


def quote(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + str(value).replace("'", "''") + "'"


def register(con, name: str, table) -> None:
    """`table` (a pandas frame or Arrow table) readable in `con` as `name`. Any result an earlier query left unread
    is completed first: DuckDB 2 refuses to register or unregister while one is pending."""
    getattr(con, "complete", lambda: None)()  # DuckDB 1.x has no pending results to complete
    con.register(name, table)


def unregister(con, name: str) -> None:
    """Undo `register` (completing any pending result first, for the same reason)."""
    getattr(con, "complete", lambda: None)()
    con.unregister(name)
