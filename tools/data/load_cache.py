"""What a load computed, kept with the dataset in the workspace so the next process does not compute it again.

A warm command (the sources unchanged since they were ingested) used to spend most of its time re-deriving what the
data alone decides: the dataset's views (building them scans the tables for account names), the quality report, the
accounts per lifecycle stage, the lifecycle of every account on the day asked about (the triage views and the score
start from it), and the event semantics (passive, negative and core events). Each is kept in a small
workspace table under a key made of everything it depends on:

- the dataset_id, derived from the content of the sources (and the mapping that applied), so an edited file makes a
  new dataset and a new key;
- the product config's content (customer-health.yaml, as parsed), so an edited config is read again;
- for the quality report, the day it was judged on and the files a folder load passed over; for the stage counts
  and the lifecycle frame, the day; for the semantics, the end of the time range they were resolved over;
- this module's format version, the ingest version and a stamp of the data layer's code (an upgrade or an edit
  recomputes).

The rows of the event-level reductions (the dialects' `reduced`, `Engine.fetch`) are kept too, each as a workspace
table named by a hash of the dataset_id, the code stamp and the reduction's SQL (`KeptReductions`, at most
MAX_KEPT_REDUCTIONS of them, the least recently used dropped first).

Only datasets the workspace built use the store (`attach`); a Dataset over any other connection computes as before.
A store that cannot be written (a read-only or full workspace) only costs the saving: the answer is still returned.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import weakref
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from customer_health.tools.base.dialects import KEEPER
from customer_health.tools.base.sql import quote
from customer_health.tools.data.config import ProductSemantics
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.ingest import INGEST_VERSION
from pydantic import BaseModel

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

LOAD_CACHE_VERSION = 1  # raise when what is kept, or how it is computed, changes
# the small answers, read by every warm command; the lifecycle frames (a megabyte or so each) apart from them: DuckDB
# compresses a column of long strings as one block, so a table holding both made every small read decompress every
# frame (about 10 ms a read with two dozen frames kept)
_TABLE = "kept_answers"
_FRAMES = "kept_frames"
# what the workspace kept before (both kinds together, and the answers of every earlier code): dropped on open
FORMER_TABLES = ("load_cache",)
_MEMO_KEY = ("load_cache",)
Model = TypeVar("Model", bound=BaseModel)


class LoadCache:
    """A workspace table of kept answers: `kind` (views, quality, stages, semantics, settings, reduction; lifecycle
    frames in a table of their own, `frames`) and a key → the answer's JSON, with the code stamp it was made under.
    Keeping an answer drops those of any other code (their keys can never be asked for again)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str = _TABLE) -> None:
        self.con = con
        self.table = table

    def frames(self) -> LoadCache:
        """The store of the lifecycle frames, beside this one."""
        return LoadCache(self.con, _FRAMES)

    def _ensure(self) -> None:
        """The table exists (made once per connection, whichever store asks first)."""
        ready = _READY.setdefault(self.con, set())
        if self.table not in ready:
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (key VARCHAR PRIMARY KEY, dataset_id VARCHAR, "
                "kind VARCHAR, code VARCHAR, value VARCHAR, stored_at TIMESTAMP)"
            )
            ready.add(self.table)

    def get(self, key: str, model: type[Model]) -> Model | None:
        import duckdb

        try:
            self._ensure()
            # fetched to the end: a result left open blocks the connection's next register() (DuckDB 2)
            rows = self.con.execute(f"SELECT value FROM {self.table} WHERE key = ?", [key]).fetchall()
        except duckdb.Error:
            return None
        if not rows:
            return None
        try:
            return model.model_validate_json(rows[0][0])
        except ValueError:  # kept by an incompatible version: as good as nothing kept
            return None

    def put(self, key: str, dataset_id: str, kind: str, value: BaseModel) -> None:
        import duckdb

        try:
            self._ensure()
            self.con.execute(f"DELETE FROM {self.table} WHERE code IS DISTINCT FROM ?", [code_stamp()])
            self.con.execute(
                f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?, ?, ?, ?, now())",
                [key, dataset_id, kind, code_stamp(), value.model_dump_json()],
            )
        except (duckdb.Error, OSError):
            pass  # not kept: the next process computes it again

    def reuse(
        self, kind: str, dataset_id: str, parts: dict, model: type[Model], compute: Callable[[], Model]
    ):
        """The kept answer for these key parts, or `compute()` kept for next time."""
        key = cache_key(kind, dataset_id, parts)
        found = self.get(key, model)
        if found is None:
            found = compute()
            self.put(key, dataset_id, kind, found)
        return found


@functools.cache
def code_stamp() -> str:
    """The data layer's code as it stands (size and modification time of each module): an edit or an upgrade that
    changes how a report or the semantics are worked out invalidates what was kept, without a version bump."""
    stats = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in Path(__file__).parent.rglob("*.py")
    )
    return hashlib.sha256(repr(stats).encode()).hexdigest()[:16]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the workspace has a table (or a view that still reads) named `name` in its main schema, by looking that
    one name up: listing the tables (duckdb_tables()) reads every table's storage details, about 10 ms on a
    workspace of a few dozen. The connection's temporary objects are not the workspace's."""
    import duckdb

    if (catalog := _CATALOGS.get(con)) is None:
        catalog = _CATALOGS[con] = con.execute("SELECT current_database()").fetchall()[0][0]
    try:
        con.execute(f"SELECT 1 FROM {quote(catalog)}.main.{quote(name)} LIMIT 0").fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):  # not there, or a view that no longer reads
        return False
    return True


# per connection, looked up or made once: its database (its file's catalog), and the stores' tables made
_CATALOGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_READY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cache_key(kind: str, dataset_id: str, parts: dict) -> str:
    text = json.dumps(
        {
            "v": LOAD_CACHE_VERSION,
            "ingest": INGEST_VERSION,
            "code": code_stamp(),
            "kind": kind,
            "dataset": dataset_id,
            **parts,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def config_hash(semantics: ProductSemantics | None) -> str | None:
    """The product config's content as parsed (not its path or modification time): None when there is none."""
    if semantics is None:
        return None
    return hashlib.sha256(semantics.model_dump_json().encode()).hexdigest()


def attach(ds: Dataset) -> Dataset:
    """Let computations on this workspace-built dataset keep and reuse what they derive (see `store_of`), and
    keep the rows of its event-level reductions in workspace tables (`KeptReductions`)."""
    store = ds.memo(_MEMO_KEY, lambda: LoadCache(ds.con))
    if ds.engine is None:  # events on another engine may change under the same dataset: never kept
        ds.memo(KEEPER, lambda: KeptReductions(ds, store))
    return ds


def store_of(ds: Dataset) -> LoadCache | None:
    """The store of a dataset the workspace built, or None for any other dataset."""
    store = ds.memo(_MEMO_KEY, lambda: None)
    return store if isinstance(store, LoadCache) else None


def reuse_quality(
    con: duckdb.DuckDBPyConnection,
    dataset_id: str,
    *,
    today: date | None,
    skipped: list[str],
    semantics: ProductSemantics | None,
    model: type[Model],
    compute: Callable[[], Model],
):
    """The dataset's quality report kept for this day, these passed-over files and this config, or `compute()`
    (kept for next time)."""
    parts = {"today": today, "skipped": skipped, "config": config_hash(semantics)}
    return LoadCache(con).reuse("quality", dataset_id, parts, model, compute)


class Views(BaseModel):
    """The dataset's canonical views, kind → view name."""

    views: dict[str, str]


def reuse_views(
    con: duckdb.DuckDBPyConnection, dataset_id: str, compute: Callable[[], dict[str, str]]
) -> dict[str, str]:
    """The dataset's views as an earlier load built them, when every one is still in the workspace; else
    `compute()` (which builds them), kept for next time. Building them scans the tables (account names given in
    place of ids are looked up), which a warm command need not repeat."""
    store = LoadCache(con)
    key = cache_key("views", dataset_id, {})
    kept = store.get(key, Views)
    if kept is not None and all(has_table(con, name) for name in set(kept.views.values())):
        return dict(kept.views)
    views = compute()
    store.put(key, dataset_id, "views", Views(views=views))
    return views


class SettingsDocument(BaseModel):
    """A settings file's parsed document (customer-health.yaml), kept when JSON gives it back exactly."""

    document: Any


def reuse_settings(con: duckdb.DuckDBPyConnection, text: str, parse: Callable[[], Any]) -> Any:
    """The document in a settings file's `text` as an earlier process parsed it (keyed by a hash of the text, so an
    edited file is parsed again), or `parse()`, kept for next time when JSON gives it back exactly (a date, or a
    key that is not a string, is not kept). A warm command thus reads its customer-health.yaml without the YAML
    parser."""
    store = LoadCache(con)
    key = cache_key("settings", "", {"text": hashlib.sha256(text.encode()).hexdigest()})
    if (kept := store.get(key, SettingsDocument)) is not None:
        return kept.document
    document = parse()
    as_kept = SettingsDocument(document=document)
    if repr(SettingsDocument.model_validate_json(as_kept.model_dump_json()).document) == repr(document):
        store.put(key, "", "settings", as_kept)
    return document


class StageCounts(BaseModel):
    """Accounts per lifecycle stage on a day, as a load reports them."""

    counts: dict[str, int]


def reuse_stage_counts(
    con: duckdb.DuckDBPyConnection, dataset_id: str, day: date, compute: Callable[[], dict[str, int]]
) -> dict[str, int]:
    """The accounts per lifecycle stage on `day` kept for this dataset, or `compute()` (kept for next time)."""
    kept = LoadCache(con).reuse(
        "stages", dataset_id, {"day": day}, StageCounts, lambda: StageCounts(counts=compute())
    )
    return dict(kept.counts)


def reuse_semantics(ds: Dataset, as_of_sql_end: str | None, model: type[Model], compute: Callable[[], Model]):
    """The resolved semantics kept for this dataset, config and time range, or `compute()` (kept for next time
    when the workspace built the dataset)."""
    store = store_of(ds)
    if store is None:
        return compute()
    parts = {"end": as_of_sql_end, "config": config_hash(ds.semantics)}
    return store.reuse("semantics", ds.dataset_id, parts, model, compute)


class KeptFrame(BaseModel):
    """A table of one row per account as JSON columns: the index, each column's values and how to read them back
    (`float`: NaN kept as null; `date`: ISO days; otherwise the values as they are, restored to the column's dtype)."""

    index: list[Any]
    index_name: str | None
    columns: dict[str, list[Any]]
    kinds: dict[str, str]
    dtypes: dict[str, str]


def frame_to_kept(frame: pd.DataFrame) -> KeptFrame | None:
    """The frame as columns to keep, or None when it holds what this format would not give back unchanged."""
    if not all(type(v) is str for v in frame.index) or not all(type(c) is str for c in frame.columns):
        return None
    columns: dict[str, list[Any]] = {}
    kinds: dict[str, str] = {}
    for name in frame.columns:
        col = frame[name]
        values = col.tolist()
        if col.dtype.kind == "f":
            columns[name], kinds[name] = [v if v == v else None for v in values], "float"
            continue
        present = {type(v) for v in values if v is not None}
        if present == {date}:
            columns[name], kinds[name] = [v.isoformat() if v is not None else None for v in values], "date"
        elif present <= {str, int, bool} or (present == {str, float} and str(col.dtype) != "object"):
            # a string dtype's missing values read back as it had them (NaN); an object column's None stays None
            columns[name], kinds[name] = [v if type(v) is not float else None for v in values], "plain"
        else:
            return None
    dtypes = {c: str(frame[c].dtype) for c in frame.columns}
    return KeptFrame(
        index=frame.index.tolist(), index_name=frame.index.name, columns=columns, kinds=kinds, dtypes=dtypes
    )


def kept_to_frame(kept: KeptFrame) -> pd.DataFrame:
    import pandas as pd

    data: dict[str, Any] = {}
    for name, values in kept.columns.items():
        kind = kept.kinds[name]
        if kind == "float":
            data[name] = pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
        elif kind == "date":
            data[name] = pd.Series([date.fromisoformat(v) if v else None for v in values], dtype=object)
        else:
            data[name] = pd.Series(values, dtype=object).astype(kept.dtypes[name])
    frame = pd.DataFrame(data, columns=list(kept.columns))
    frame.index = pd.Index(kept.index, dtype=object, name=kept.index_name)
    return frame


def reuse_lifecycle(ds: Dataset, day: date, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The lifecycle frame on `day` kept for this dataset and config, or `compute()` (kept for next time when the
    workspace built the dataset)."""
    store = store_of(ds)
    if store is None:
        return compute()
    key = cache_key("lifecycle", ds.dataset_id, {"day": day, "config": config_hash(ds.semantics)})
    frames = store.frames()
    kept = frames.get(key, KeptFrame)
    if kept is not None:
        return kept_to_frame(kept)
    frame = compute()
    if (as_columns := frame_to_kept(frame)) is not None:
        frames.put(key, ds.dataset_id, "lifecycle", as_columns)
    return frame


def _lifecycle_table_name(ds: Dataset, day: date) -> str:
    key = cache_key("lifecycle_table", ds.dataset_id, {"day": day, "config": config_hash(ds.semantics)})
    return f"{REDUCTION_PREFIX}lifecycle_{key[:32]}"


def kept_lifecycle_table(ds: Dataset, day: date) -> str | None:
    """The workspace table holding the lifecycle frame on `day` as DuckDB read it from pandas, when an earlier
    process kept it for this dataset, config and code (`keep_lifecycle_table`); else None. Joining it gives what
    joining the registered frame gives, with no frame built."""
    keeper = ds.memo(KEEPER, lambda: None)
    return keeper.kept(_lifecycle_table_name(ds, day)) if isinstance(keeper, KeptReductions) else None


def keep_lifecycle_table(ds: Dataset, day: date, relation: str) -> None:
    """Copy `relation` (the registered lifecycle frame on `day`) into a workspace table for later processes, one
    of the kept reductions (the same cap and the same rule for older code); a workspace that cannot be written only
    costs the saving."""
    keeper = ds.memo(KEEPER, lambda: None)
    if isinstance(keeper, KeptReductions):
        keeper.keep_copy(_lifecycle_table_name(ds, day), relation)


# the workspace tables that hold kept reductions, and how many are kept at most (the least recently used go first)
REDUCTION_PREFIX = "kept_red_"
MAX_KEPT_REDUCTIONS = 48


class KeptTable(BaseModel):
    """A kept reduction's table and the code stamp it was made under."""

    table: str
    code: str


class KeptReductions:
    """The rows of the dataset's event-level reductions, each made once into a workspace table and read from it
    by later calls, in this process and later ones (the dialects' `Engine.keep`).

    A reduction's SQL names everything it depends on (as-of dates, windows, event names, relations), and the
    dataset_id is a hash of the sources' content: (dataset_id, code stamp, the SQL) is a complete key. A reduction
    reading a relation of this process only (a registered frame, a temporary view) is not kept. A workspace that
    cannot be written only loses the saving: the caller runs the reduction as it is. At most `cap` tables are kept;
    when one more is made, those of an older code and the least recently used go."""

    def __init__(self, ds: Dataset, store: LoadCache, cap: int = MAX_KEPT_REDUCTIONS) -> None:
        self.ds, self.store, self.cap = ds, store, cap
        self._tables: set[str] | None = None
        self._used: set[str] = set()
        self._off = False

    def table_name(self, sql: str) -> str:
        digest = hashlib.sha256(sql.encode()).hexdigest()
        return REDUCTION_PREFIX + cache_key("reduction", self.ds.dataset_id, {"sql": digest})[:32]

    def __call__(self, sql: str) -> str | None:
        import duckdb

        if self._off:
            return None
        name = self.table_name(sql)
        try:
            if self._kept(name):
                self._touch(name)
                return name
            if self._reads_temporary(sql):
                return None
        except (duckdb.Error, OSError):
            self._off = True  # read-only, full or busy: run reductions as they are from now on
            return None
        return self._make(name, sql)

    def kept(self, name: str) -> str | None:
        """`name` when that table is kept (marked used), else None."""
        import duckdb

        if self._off:
            return None
        try:
            if not self._kept(name):
                return None
            self._touch(name)
        except (duckdb.Error, OSError):
            return None
        return name

    def keep_copy(self, name: str, relation: str) -> str | None:
        """Keep the rows of `relation` — one of this process's own (a registered frame), which the caller keys by
        `name` (dataset, code and everything the rows depend on) — as the kept table `name`."""
        return None if self._off else self._make(name, f"SELECT * FROM {relation}")

    def _make(self, name: str, sql: str) -> str | None:
        import duckdb

        try:
            self.ds.con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" AS {sql}')
        except (duckdb.Error, OSError):
            self._off = True
            return None
        self._existing().add(name)
        self._used.add(name)
        self.store.put(name, self.ds.dataset_id, "reduction", KeptTable(table=name, code=code_stamp()))
        self._evict(keep=name)
        return name

    def _kept(self, name: str) -> bool:
        """Whether the table `name` is kept: one look-up (the whole list is read only to make or drop one)."""
        return name in self._tables if self._tables is not None else has_table(self.ds.con, name)

    def _existing(self) -> set[str]:
        if self._tables is None:
            rows = self.ds.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary "
                "AND database_name = current_database() AND starts_with(table_name, ?)",
                [REDUCTION_PREFIX],
            ).fetchall()
            self._tables = {r[0] for r in rows}
        return self._tables

    def _former_lifecycle_tables(self) -> list[str]:
        """Lifecycle tables kept by earlier versions outside the cap (one per day asked, never dropped)."""
        rows = self.ds.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary "
            "AND database_name = current_database() AND starts_with(table_name, 'load_cache_lifecycle_')"
        ).fetchall()
        return [r[0] for r in rows]

    def _reads_temporary(self, sql: str) -> bool:
        rows = self.ds.con.execute(
            "SELECT view_name FROM duckdb_views() WHERE temporary "
            "UNION ALL SELECT table_name FROM duckdb_tables() WHERE temporary"
        ).fetchall()
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
        return any(r[0] in words for r in rows)

    def _touch(self, name: str) -> None:
        """Mark a kept table used now (once per process), so the cap drops the least recently used first. One among
        the most recently used (a quarter of the cap; the latest alone for a cap under 8) is left as it is: far from
        being dropped, marking it would only make a warm command write to the workspace (a command reads a few
        kept tables: a lifecycle table and its reductions)."""
        import duckdb

        if name in self._used:
            return
        self._used.add(name)
        table = self.store.table
        with contextlib.suppress(duckdb.Error, OSError):
            recent = self.ds.con.execute(
                f"SELECT key FROM {table} WHERE kind = 'reduction' ORDER BY stored_at DESC, key LIMIT ?",
                [max(1, self.cap // 4)],
            ).fetchall()
            if (name,) not in recent:
                self.ds.con.execute(f"UPDATE {table} SET stored_at = now() WHERE key = ?", [name])

    def _evict(self, keep: str) -> None:
        import duckdb

        try:
            rows = self.ds.con.execute(
                f"SELECT key, value FROM {self.store.table} WHERE kind = 'reduction' ORDER BY stored_at DESC, key"
            ).fetchall()
            current = [k for k, v in rows if json.loads(v).get("code") == code_stamp()]
            recorded = {k for k, _ in rows}
            # tables of an older code, the least recently used beyond the cap, and tables nothing records
            drop = [k for k in recorded if k not in current] + current[self.cap :]
            drop += sorted(self._existing() - recorded)
            drop += self._former_lifecycle_tables()
            # never one this process has used: its name may be held (the lifecycle table of a day is remembered)
            for name in dict.fromkeys(d for d in drop if d != keep and d not in self._used):
                self.ds.con.execute(f'DROP TABLE IF EXISTS "{name}"')
                self.ds.con.execute(f"DELETE FROM {self.store.table} WHERE key = ?", [name])
                self._existing().discard(name)
        except (duckdb.Error, OSError, ValueError):
            pass  # the next keep tries again
