"""PostgreSQL as an engine: the event-level reductions run in the server, only their per-account rows come back.

The connection is read-only (every transaction is opened READ ONLY, so nothing the tool sends can write), its
credentials come only from the connection string or the libpq environment (PGPASSWORD, PGSERVICE, ~/.pgpass), and
no message names the password: a failure is reported with the connection string's password blanked out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from customer_health.tools.base.dialects import Engine, engine_from_query
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.schema import KINDS, TABLES

_FIX = (
    "Check the connection string (postgresql://USER@HOST:PORT/DATABASE; give the password in PGPASSWORD or "
    "~/.pgpass rather than on the command line) and that the server accepts connections from here."
)


REDUCTION_FIX = (
    "Check that the tables or views the load found carry the canonical columns with usable types (the events' "
    "timestamp a timestamp, not text; ids text) and that the connecting user may read them: a view that renames and "
    "casts the columns, named in a mapping file (--map, files: {schema.view: events}), is the usual fix."
)


def masked(url: str) -> str:
    """The connection string with any password replaced by ***, for messages."""
    url = re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url, flags=re.IGNORECASE)


def without_secret(url: str) -> str:
    """The connection string with no password or token at all: what is recorded and shown. Connecting with it
    again takes the password from the environment (PGPASSWORD, PGSERVICE, ~/.pgpass) as libpq does."""
    url = re.sub(r"(://[^/:@]*):[^@/]*@", r"\1@", url)
    url = re.sub(r"(?<=[?&;])(password|token)=[^&;\s]*[&;]?", "", url, flags=re.IGNORECASE)
    return re.sub(r"[?&;]+$", "", url)


def _scrubbed(text: str, url: str) -> str:
    secret = re.search(r"://[^/:@]*:([^@/]*)@", url) or re.search(r"password=([^&\s]*)", url, re.IGNORECASE)
    if secret and secret.group(1):
        text = text.replace(secret.group(1), "***")
    return masked(text)


def connect(url: str):
    """A read-only psycopg connection to `url` (autocommit off, every transaction READ ONLY)."""
    try:
        import psycopg
    except ImportError:
        raise InputError(
            "reading from PostgreSQL needs the psycopg driver.",
            fix="Install it with: pip install 'customer-health-analyst[postgres]'.",
        ) from None
    try:
        conn = psycopg.connect(url, connect_timeout=10)
        conn.read_only = True
        with conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = on")
        conn.commit()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"cannot connect to PostgreSQL at {masked(url)}: {_scrubbed(first, url)}", fix=_FIX
        ) from None
    return conn


def _tables(conn) -> dict[str, list[str]]:
    """Every table and view the user can see outside the system schemas: quoted name → column names."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY table_schema, table_name, ordinal_position"
        )
        rows = cur.fetchall()
    conn.rollback()
    out: dict[str, list[str]] = {}
    for schema, table, column in rows:
        name = table if schema == "public" else f"{schema}.{table}"
        out.setdefault(name, []).append(column)
    return out


def _quoted(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def find_relations(
    tables: Mapping[str, list[str]], mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """kind → quoted relation: the tables or views `mapping` names (kind → table), and for every other kind the
    one relation named like it (its kind or a file-name hint) or else the only one carrying its required
    canonical columns (and one of each any-of group), never one the mapping gave another kind. A named table that
    does not exist is an error."""
    found: dict[str, str] = {}
    for kind, name in (mapping or {}).items():
        if kind not in KINDS:
            raise InputError(f"unknown table kind '{kind}'.", options=list(KINDS))
        if name not in tables:
            raise InputError(
                f"the mapping names '{name}' for the {kind} table, and the database has no such table or view.",
                options=sorted(tables)[:20],
                fix="Name a table or view the connecting user can read (schema.table outside public).",
            )
        found[kind] = _quoted(name)
    for kind in KINDS:
        if kind in found:
            continue
        spec = TABLES[kind]
        taken = {unquoted for unquoted in tables if _quoted(unquoted) in found.values()}
        fits = [
            name
            for name, cols in tables.items()
            if name not in taken
            and set(spec.required) <= set(cols)
            and all(set(g) & set(cols) for g in spec.any_of)
        ]
        named = [n for n in fits if n.split(".")[-1].lower() in (kind, *spec.name_hints)]
        pick = named[:1] or (fits if len(fits) == 1 else [])
        if pick:
            found[kind] = _quoted(pick[0])
    return found


def postgres_engine(url: str, mapping: Mapping[str, str] | None = None) -> Engine:
    """The PostgreSQL database at `url` as an engine, its relations found by `find_relations`."""
    conn = connect(url)
    relations = find_relations(_tables(conn), mapping)

    import psycopg

    def query(sql: str) -> tuple[list[str], list[tuple]]:
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                names = [d.name for d in cur.description]
                return names, cur.fetchall()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"PostgreSQL at {masked(url)} could not run a reduction: {_scrubbed(first, url)}",
                fix=REDUCTION_FIX,
            ) from None
        finally:
            conn.rollback()  # end the read-only transaction; nothing is ever committed

    return engine_from_query("postgres", query, relations)


__all__ = ["connect", "find_relations", "masked", "postgres_engine", "without_secret"]
