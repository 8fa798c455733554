"""The workspace: one embedded DuckDB file holding the dataset registry and the ingested tables.

Sources are keyed by their content hash (and the mapping that applied), so loading an unchanged file again costs a
stat call and a lookup; a changed file is ingested again. Delete the folder and everything rebuilds from the sources,
which are only ever read.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from customer_health.tools.base.errors import InputError, InputErrors
from customer_health.tools.base.sql import literal, register, unregister
from customer_health.tools.data.config import ProductSemantics
from customer_health.tools.data.dataset import Dataset, ScoredRun
from customer_health.tools.data.engines import is_remote, is_spark_master, open_source
from customer_health.tools.data.faults import first_line, storage_fault
from customer_health.tools.data.ingest import INGEST_VERSION, SourceTable, build_views, ingest_source
from customer_health.tools.data.lifecycle import lifecycle, stage_counts
from customer_health.tools.data.load_cache import (
    FORMER_TABLES,
    attach,
    has_table,
    reuse_quality,
    reuse_settings,
    reuse_stage_counts,
    reuse_views,
)
from customer_health.tools.data.paths import AllowedRoots, parse_yaml, read_settings
from customer_health.tools.data.quality import QualityReport, dataset_quality, source_quality
from customer_health.tools.data.readers import DATA_SUFFIXES, open_file
from customer_health.tools.data.recognize import Mapping, explain_unrecognised, recognize
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import duckdb
    from customer_health.tools.base.dialects import Engine


CONFIG_NAMES = ("customer-health.yaml", "customer-health.yml")
Progress = Callable[[int, int, str], None]
LOCK_WAIT_SECONDS = 5.0  # how long a command waits for another process to let go of the workspace
# a file changed within this many seconds of being hashed may change again with the same size and times (the
# clock's granularity): its stat is not trusted to stand for its bytes, and it is hashed again next time
RACY_SECONDS = 2.0


def default_home() -> Path:
    return Path(os.environ.get("CUSTOMER_HEALTH_HOME") or Path.cwd() / ".customer-health")


class TableInfo(BaseModel):
    kind: str
    source: str
    rows: int
    columns: dict[str, str] = Field(description="canonical column → source column")
    extra_columns: list[str] = Field(default_factory=list)
    cached: bool = Field(description="True when the source was unchanged and its ingested table was reused.")
    notes: list[str] = Field(default_factory=list)


class LoadResult(BaseModel):
    """What a load recognised, how it mapped the columns, and the quality report."""

    dataset_id: str
    tables: list[TableInfo]
    quality: QualityReport
    semantics_source: str | None = Field(None, description="Path of the customer-health.yaml used, if any.")
    views: dict[str, str] = Field(default_factory=dict, exclude=True)
    lifecycle: dict[str, int] = Field(
        default_factory=dict,
        description="Accounts per lifecycle stage (not_yet_customer, onboarding, active, churned) on the default "
        "as-of date (latest_date).",
    )
    loaded_at: str | None = Field(None, description="When these sources were read (UTC, ISO 8601).")
    sources: list[str] = Field(
        default_factory=list,
        description="The files and folders that were loaded, as absolute paths (or the database's connection "
        "string, without its password).",
    )
    engine: str = Field(
        "duckdb",
        description="Where the events live and the event-level work runs: duckdb (the workspace), postgres or "
        "spark.",
    )
    restored: bool = Field(
        False,
        description="True when the dataset was picked up from an earlier session's load in this workspace.",
    )
    restore_note: str | None = Field(None, description="How the remembered dataset was picked up again.")
    workspace_notes: list[str] = Field(
        default_factory=list,
        description="What happened to the workspace itself on the way (a damaged workspace file set aside).",
    )


class LastLoad(BaseModel):
    """The workspace's record of the last dataset a session made current, so the next session can pick it up."""

    dataset_id: str
    sources: list[str]
    loaded_at: str
    config: str | None = None
    mapping: dict | None = None
    engine: str = (
        "duckdb"  # a database source is recorded without its password (it comes from the environment)
    )


class Restored(BaseModel):
    """What picking up the remembered dataset gave: the load (None when it could not be read) and what to say."""

    result: LoadResult | None = None
    note: str | None = None


class Workspace:
    """The DuckDB workspace under `home`; use as a context manager so the file lock is released promptly."""

    def __init__(
        self, home: str | Path | None = None, *, memory_limit: str = "1GB", progress_bar: bool = False
    ) -> None:
        self.home = Path(home) if home else default_home()
        self.memory_limit = memory_limit
        self.progress_bar = (
            progress_bar  # DuckDB draws its bar on stdout: only for a terminal, never in MCP mode
        )
        self._con: duckdb.DuckDBPyConnection | None = None
        self.notes: list[str] = []  # what happened to the workspace itself (a damaged file set aside)
        self._documents: dict[str, object] = {}  # customer-health.yaml text → its parsed document

    def __enter__(self) -> Workspace:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db_path(self) -> Path:
        return self.home / "workspace.duckdb"

    def connect(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._open()
        return self._con

    def _open(self) -> duckdb.DuckDBPyConnection:
        """Open the workspace file, waiting briefly for another process to let go of it; a damaged file is moved
        aside and the workspace starts afresh (it is a cache of the sources); other faults say what to do."""
        import duckdb

        self._prepare_home()
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        damaged = False
        while True:
            try:
                return self._open_file()
            except (duckdb.Error, OSError) as exc:
                fault = storage_fault(exc)
                if fault == "busy" and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                if fault == "damaged" and not damaged:
                    damaged = True
                    self._set_aside(exc)
                    continue
                raise self._fault_error(exc, fault) from None

    def _open_file(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        con = duckdb.connect(str(self.db_path))
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"SET memory_limit = {literal(self.memory_limit)}")
            con.execute(f"SET temp_directory = {literal(str(self.home / 'tmp'))}")
            con.execute(f"SET enable_progress_bar = {str(self.progress_bar).lower()}")
            for ddl in _REGISTRY_DDL:
                con.execute(ddl)
        except BaseException:
            con.close()
            raise
        return con

    def _prepare_home(self) -> None:
        """The home folder exists and can be written to, or an InputError says why not and what to do."""
        try:
            if self.home.exists() and not self.home.is_dir():
                raise FileExistsError(errno.EEXIST, "exists and is not a folder", str(self.home))
            (self.home / "tmp").mkdir(parents=True, exist_ok=True)
            probe = self.home / f".write-check-{os.getpid()}"
            os.close(os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
            probe.unlink()
        except (FileExistsError, NotADirectoryError):
            raise InputError(
                "is a file, and the workspace needs a folder there.",
                file=str(self.home),
                fix="Move that file away, or set CUSTOMER_HEALTH_HOME to a folder (it is created if missing).",
            ) from None
        except OSError as exc:
            raise self._fault_error(exc, storage_fault(exc) or "read_only") from None

    def _set_aside(self, exc: BaseException) -> None:
        """Move a damaged workspace file (and its write-ahead log) aside, keeping it, and note that it happened."""
        self.close()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.home / f"{self.db_path.name}.damaged-{stamp}"
        n = 1
        while target.exists():
            n += 1
            target = self.home / f"{self.db_path.name}.damaged-{stamp}-{n}"
        try:
            os.replace(self.db_path, target)
            wal = self.db_path.with_name(self.db_path.name + ".wal")
            if wal.exists():
                os.replace(wal, target.with_name(target.name + ".wal"))
        except OSError as move_exc:
            raise InputError(
                f"is damaged ({first_line(exc)}) and could not be moved aside ({move_exc.strerror}).",
                file=str(self.db_path),
                fix="Move or delete that file yourself (it only caches the sources, which are read again) and "
                "run the command again.",
            ) from None
        self.notes.append(
            f"The workspace file {self.db_path} could not be read ({first_line(exc)}). It was moved to {target} "
            "and the workspace was started afresh; loaded sources are read again, and scores remembered from "
            "earlier snapshots start over."
        )

    def _fault_error(self, exc: BaseException, fault: str | None) -> Exception:
        """The InputError for a storage fault, naming the workspace and the fix; anything else is returned as is."""
        if fault == "busy":
            return InputError(
                "the workspace is busy: another customer-health process has it open.",
                file=str(self.db_path),
                fix="Retry when that process has finished, or set CUSTOMER_HEALTH_HOME to another folder.",
            )
        if fault == "full":
            return InputError(
                "the disk holding the workspace is full, so the data could not be stored; nothing was reported "
                "as loaded.",
                file=str(self.home),
                fix="Free some space on that disk (the workspace keeps a copy of the loaded data), or set "
                "CUSTOMER_HEALTH_HOME to a folder on a disk with room, then run the command again.",
            )
        if fault == "read_only":
            return InputError(
                f"the workspace folder cannot be written to ({first_line(exc)}).",
                file=str(self.home),
                fix="Make the folder writable, or set CUSTOMER_HEALTH_HOME to a folder you can write to.",
            )
        if fault == "damaged":
            return InputError(
                f"the workspace file is damaged ({first_line(exc)}).",
                file=str(self.db_path),
                fix="Move or delete that file (it only caches the sources, which are read again) and run the "
                "command again.",
            )
        return exc

    def _workspace_fault(self, exc: BaseException) -> str | None:
        """The storage fault `exc` reports about this workspace (not about a source file), if any."""
        fault = storage_fault(exc)
        if fault in ("full", "busy"):
            return fault
        if fault is None:
            return None
        where = getattr(exc, "filename", None) or str(exc)
        return fault if str(self.home) in str(where) else None

    def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            # a connection a storage fault invalidated has nothing left to flush
            with contextlib.suppress(Exception):
                con.close()

    def load(
        self,
        paths: list[str | Path],
        *,
        mapping: Mapping | None = None,
        roots: AllowedRoots | None = None,
        config: str | Path | None = None,
        today: date | None = None,
        progress: Progress | None = None,
        remember: bool = False,
        engine: str = "duckdb",
    ) -> LoadResult:
        """Load files and folders into a dataset: recognise, ingest (or reuse), assemble views, report quality.
        With `remember`, this becomes the dataset the next session in this workspace picks up (see `restore`).
        A database source (a postgresql:// connection string, or with engine="spark" local[*] or sc://HOST:PORT)
        keeps its events where they are (`_load_remote`).

        A workspace file found damaged on the way is moved aside and the load runs again on a fresh one; a full
        disk or an unwritable workspace is an InputError saying what to do, never a load that skipped a table."""
        import duckdb

        options = {
            "mapping": mapping,
            "roots": roots,
            "config": config,
            "today": today,
            "progress": progress,
            "remember": remember,
            "engine": engine,
        }
        for attempt in (1, 2):
            try:
                result = self._load(paths, **options)
            except (duckdb.Error, OSError) as exc:
                fault = self._workspace_fault(exc)
                if fault is None:
                    raise
                if fault == "damaged" and attempt == 1:
                    self._set_aside(exc)
                    continue
                self.close()
                raise self._fault_error(exc, fault) from None
            result.workspace_notes = list(self.notes)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _load(
        self,
        paths: list[str | Path],
        *,
        mapping: Mapping | None,
        roots: AllowedRoots | None,
        config: str | Path | None,
        today: date | None,
        progress: Progress | None,
        remember: bool,
        engine: str,
    ) -> LoadResult:
        con = self.connect()
        roots = roots or AllowedRoots.from_env()
        if not paths:
            raise InputError(
                "no files or folders were given.", fix="Name at least one export file or folder."
            )
        if engine != "duckdb" or any(is_remote(str(p)) for p in paths):
            return self._load_remote(
                paths,
                engine,
                mapping=mapping,
                roots=roots,
                config=config,
                today=today,
                progress=progress,
                remember=remember,
            )
        files, folder_files, config_path = self._expand(paths, roots, config)
        given = [str(roots.resolve(p)) for p in paths]
        # what to record is what was asked for: a config or mapping found in a folder is found there again
        asked = LastLoad(
            dataset_id="",
            sources=given,
            loaded_at="",
            config=str(config_path) if config else None,
            mapping={"files": mapping.files, "columns": mapping.columns} if mapping else None,
        )
        semantics = self._semantics(config_path) if config_path else None
        if semantics and semantics.mapping and mapping is None:
            mapping = Mapping.from_dict(semantics.mapping, source=str(config_path))
        mapping = mapping or Mapping()
        mapping_key = json.dumps({"files": mapping.files, "columns": mapping.columns}, sort_keys=True)
        sources: list[SourceTable] = []
        infos: list[TableInfo] = []
        errors: list[InputError] = []
        skipped: list[str] = []
        known = _Registry(con, [str(p) for p in files])
        for i, path in enumerate(files):
            if progress:
                progress(i, len(files), path.name)
            try:
                loaded, cached = self._load_file(con, path, mapping, mapping_key, known)
            except InputError as exc:
                if path in folder_files:
                    skipped.append(exc.message)
                else:
                    errors.append(exc)
                continue
            sources += loaded
            infos += [_table_info(st, cached) for st in loaded]
        if progress:
            progress(len(files), len(files), "done")
        if errors:
            raise errors[0] if len(errors) == 1 else InputErrors(errors)
        if not sources:
            reasons = "; ".join(skipped[:10]) if skipped else "it holds no data files"
            raise InputError(
                f"nothing recognisable was found ({reasons}).",
                file=", ".join(str(p) for p in paths),
                fix="Point at exports of accounts, users, events, tickets, NPS, revenue or outcomes.",
            )
        dataset_id = hashlib.sha256("|".join(sorted(s.table for s in sources)).encode()).hexdigest()[:12]
        views = reuse_views(con, dataset_id, lambda: build_views(con, f"ds_{dataset_id}", sources))

        # kept with the dataset (content-derived id), so a warm load does not profile the sources again
        report = reuse_quality(
            con,
            dataset_id,
            today=today,
            skipped=skipped,
            semantics=semantics,
            model=QualityReport,
            compute=lambda: _measure(con, sources, views, today, skipped, semantics),
        )
        result = LoadResult(dataset_id=dataset_id, tables=infos, quality=report, views=views, sources=given)
        return self._register(result, sources, config_path, asked if remember else None)

    def _load_remote(
        self,
        paths: list[str | Path],
        engine: str,
        *,
        mapping: Mapping | None,
        roots: AllowedRoots,
        config: str | Path | None,
        today: date | None,
        progress: Progress | None,
        remember: bool,
    ) -> LoadResult:
        """Load a database: its events stay there (a few facts about them are counted there, and the dataset's
        engine runs the event-level work on them); its other tables, small, are fetched and ingested as files
        are. Nothing is written to the source, and no password is kept, shown or written anywhere."""
        con = self.connect()
        if len(paths) != 1:
            raise InputError(
                "a database is loaded on its own: give one connection string, with no files beside it.",
                column="engine",
                fix="Load the database alone (customer-health load postgresql://USER@HOST/DATABASE), or the "
                "files alone without --engine.",
            )
        source = str(paths[0])
        if not is_remote(source) and not is_spark_master(source):
            roots.resolve(source)  # a path passes the path policy whatever the engine
        config_path = roots.resolve(config, folder=False) if config else None
        semantics = self._semantics(config_path) if config_path else None
        asked = LastLoad(
            dataset_id="",
            sources=[],
            loaded_at="",
            config=str(config_path) if config_path else None,
            mapping={"files": mapping.files, "columns": mapping.columns} if mapping else None,
        )
        if semantics and semantics.mapping and mapping is None:
            mapping = Mapping.from_dict(semantics.mapping, source=str(config_path))
        mapping = mapping or Mapping()
        mapping_key = json.dumps({"files": mapping.files, "columns": mapping.columns}, sort_keys=True)
        from customer_health.tools.data.engines.postgres import without_secret
        from customer_health.tools.data.remote import (
            ENGINE_NAMES,
            bulk_latest,
            content_digest,
            event_facts,
            events_quality,
            fetched,
            label_of,
            relation_names,
        )

        remote = open_source(source, engine, relation_names(mapping.files))
        assert remote is not None  # open_source refuses a path for any engine but duckdb
        shown = without_secret(source)
        where = f"{ENGINE_NAMES.get(remote.dialect, remote.dialect)} at {shown}"
        if not remote.relations:
            raise InputError(
                f"no table or view in {where} was recognised as accounts, users, events or another kind.",
                fix="Name them in a mapping file (--map) whose files section maps each table to its kind, e.g. "
                "files: {analytics.events: events, crm.accounts: accounts}.",
            )
        sources: list[SourceTable] = []
        infos: list[TableInfo] = []
        known = _Registry(con, [])
        small = sorted((k, r) for k, r in remote.relations.items() if k != "events")
        for i, (kind, relation) in enumerate(small):
            if progress:
                progress(i, len(small), label_of(relation))
            label = label_of(relation)
            with fetched(con, remote, relation) as raw:
                digest = content_digest(con.execute(f"SELECT * FROM {raw.from_sql}").fetchall())
                file_key = hashlib.sha256(
                    f"{INGEST_VERSION}|{shown}|{label}|{kind}|{digest}|{mapping_key}".encode()
                ).hexdigest()[:16]
                forced = Mapping(files={label: kind}, columns=mapping.columns)
                loaded, cached = self._ingest(
                    con, file_key, f"{shown} {label}", lambda r=raw: [r], forced, label, known
                )
            sources += loaded
            infos += [_table_info(st, cached) for st in loaded]
        if progress:
            progress(len(small), len(small), "done")
        facts = event_facts(remote, remote.relations["events"]) if "events" in remote.relations else None
        dataset_id = hashlib.sha256(
            json.dumps(
                [shown, remote.dialect, sorted(s.table for s in sources), facts.key() if facts else None]
            ).encode()
        ).hexdigest()[:12]
        views = reuse_views(con, dataset_id, lambda: build_views(con, f"ds_{dataset_id}", sources))
        report = _measure(con, sources, views, today, [], semantics)
        if facts is not None:
            latest, stray = bulk_latest(con, facts.days, today)
            table, notes = events_quality(facts, where, latest, stray)
            report.tables.append(table)
            report.issues += notes
            if latest is not None:
                report.latest_date = latest.isoformat()
                report.age_days = (today - latest).days if today else None
            # a name that exists nowhere in the workspace: a read of the events not ported to the engine fails
            views = views | {"events": f"ds_{dataset_id}_events_at_source"}
            infos.append(
                TableInfo(
                    kind="events",
                    source=facts.relation,
                    rows=facts.rows,
                    columns={c: c for c in facts.columns},
                    cached=False,
                    notes=[f"stays in {where}: the event-level work runs there"],
                )
            )
        _ENGINES[dataset_id] = remote
        result = LoadResult(
            dataset_id=dataset_id,
            tables=infos,
            quality=report,
            views=views,
            sources=[shown],
            engine=remote.dialect,
        )
        return self._register(
            result,
            sources,
            config_path,
            asked.model_copy(update={"sources": [shown], "engine": remote.dialect}) if remember else None,
        )

    def _register(
        self, result: LoadResult, sources: list[SourceTable], config_path: Path | None, asked: LastLoad | None
    ) -> LoadResult:
        """Make `result` the workspace's current dataset (and, given `asked`, the one the next session picks up),
        stamped with its customer-health.yaml, the load time and its accounts per lifecycle stage."""
        con = self.connect()
        result.semantics_source = str(config_path) if config_path else None
        entry = [
            json.dumps(result.sources),
            json.dumps(result.views),
            json.dumps([s.model_dump() for s in sources]),
        ]
        # written only when something changed: a warm command reads the registry and writes nothing to it
        registered, current = con.execute(
            "SELECT (SELECT [paths, views, sources] FROM datasets WHERE dataset_id = $1), "
            "(SELECT value FROM state WHERE key = 'current_dataset')",
            [result.dataset_id],
        ).fetchall()[0]
        if registered != entry:
            con.execute(
                "INSERT OR REPLACE INTO datasets VALUES (?, now(), ?, ?, ?)", [result.dataset_id, *entry]
            )
        if current != result.dataset_id:
            con.execute("INSERT OR REPLACE INTO state VALUES ('current_dataset', ?)", [result.dataset_id])
        result.loaded_at = datetime.now(UTC).isoformat(timespec="seconds")
        ds = self.dataset(result)
        if (day := ds.latest_date) is not None:
            result.lifecycle = reuse_stage_counts(
                con, result.dataset_id, day, lambda: stage_counts(lifecycle(ds, day))
            )
        if asked is not None:
            self._record(
                asked.model_copy(update={"dataset_id": result.dataset_id, "loaded_at": result.loaded_at})
            )
        return result

    def _record(self, record: LastLoad) -> None:
        self.connect().execute(
            "INSERT OR REPLACE INTO state VALUES ('last_load', ?)", [record.model_dump_json()]
        )

    def last_load(self) -> LastLoad | None:
        """The record of the last load made with `remember` in this workspace, if there is a readable one."""
        row = self.connect().execute("SELECT value FROM state WHERE key = 'last_load'").fetchone()
        if row is None:
            return None
        try:
            return LastLoad.model_validate_json(row[0])
        except ValueError:  # written by an incompatible version: as good as no record
            return None

    def restore(
        self, *, roots: AllowedRoots, today: date | None = None, progress: Progress | None = None
    ) -> Restored:
        """Pick up the remembered dataset by loading its sources again (cheap when they are unchanged: each file
        costs a stat and a lookup). Sources that changed on disk are read again and the record follows them; sources
        that are gone, unreadable or outside `roots` give no dataset and a note saying why."""
        record = self.last_load()
        if record is None:
            return Restored()
        where = ", ".join(record.sources)
        try:
            result = self.load(
                record.sources,
                mapping=Mapping.from_dict(record.mapping, source="the remembered mapping")
                if record.mapping
                else None,
                roots=roots,
                config=record.config,
                today=today,
                progress=progress,
                engine=record.engine,
            )
        except InputError as exc:
            secret = (
                " The database's password is never remembered: give it in PGPASSWORD or ~/.pgpass (or a "
                "service in PGSERVICE), or load_data the connection string again."
                if record.engine != "duckdb" or any(is_remote(s) for s in record.sources)
                else ""
            )
            return Restored(
                note=f"The dataset loaded at {record.loaded_at} from {where} could not be picked up again: "
                f"{exc.message}{secret}"
            )
        result.restored = True
        if result.dataset_id == record.dataset_id:
            result.loaded_at = record.loaded_at
            result.restore_note = (
                f"Picked up the dataset loaded at {record.loaded_at} from {where} by an earlier session in this "
                "workspace; load_data replaces it."
            )
        else:
            # the record follows the sources: it names the dataset they make now, loaded how they were before
            self._record(
                record.model_copy(update={"dataset_id": result.dataset_id, "loaded_at": result.loaded_at})
            )
            result.restore_note = (
                f"The sources changed on disk since they were loaded at {record.loaded_at}, so they were read "
                f"again from {where}; load_data replaces this dataset."
            )
        return Restored(result=result, note=result.restore_note)

    def dataset(self, result: LoadResult) -> Dataset:
        """The handle computations take, for a dataset this workspace has just loaded."""
        semantics = self._semantics(Path(result.semantics_source)) if result.semantics_source else None
        q = result.quality
        latest, note = (date.fromisoformat(q.latest_date) if q.latest_date else None), None
        if latest is None and q.loaded_on and not _dated(result.views):
            latest = date.fromisoformat(q.loaded_on)
            note = f"The data has no dates, so it is read as of the day it was loaded ({latest})."
        engine = None
        if result.engine != "duckdb":
            engine = _ENGINES.get(result.dataset_id)
            if engine is None:
                raise InputError(
                    f"the dataset {result.dataset_id} lives in a database this process has not connected to.",
                    fix=f"Load it again: customer-health load {' '.join(result.sources)} --engine {result.engine}.",
                )
        return attach(
            Dataset(
                self.connect(),
                result.dataset_id,
                dict(result.views),
                semantics,
                latest,
                history=self,
                as_of_note=note,
                engine=engine,
            )
        )

    def _semantics(self, path: Path) -> ProductSemantics:
        """The product semantics in a customer-health.yaml, read afresh; its parsed document is kept with the
        workspace, keyed by the file's content (`reuse_settings`), so a warm command does not parse it again."""
        text = read_settings(path)
        if text not in self._documents:
            self._documents = {
                text: reuse_settings(self.connect(), text, lambda: parse_yaml(text, path.name))
            }
        return ProductSemantics.from_document(copy.deepcopy(self._documents[text]), source=path.name)

    def _expand(
        self, paths: list[str | Path], roots: AllowedRoots, config: str | Path | None
    ) -> tuple[list[Path], set[Path], Path | None]:
        files: list[Path] = []
        folder_files: set[Path] = set()
        config_path = roots.resolve(config, folder=False) if config else None
        for raw in paths:
            path = roots.resolve(raw)
            if path.is_dir():
                # every file read from the folder passes the same policy, resolved through its links
                inside = [
                    p
                    for p, _ in roots.listing(
                        path, lambda n: Path(n).suffix.lower() in DATA_SUFFIXES or n in CONFIG_NAMES
                    )
                ]
                data = [p for p in inside if p.suffix.lower() in DATA_SUFFIXES]
                if not data:
                    raise InputError(
                        "is a folder with no data files (.csv, .tsv, .xlsx, .parquet, .json, .jsonl).",
                        file=str(raw),
                        fix="Point at the folder that holds the exports.",
                    )
                files += data
                folder_files.update(data)
                if config_path is None:
                    config_path = next((p for p in inside if p.name in CONFIG_NAMES), None)
            elif path.name in CONFIG_NAMES:
                config_path = config_path or path
            else:
                files.append(path)
        unique = list(dict.fromkeys(files))
        return unique, folder_files, config_path

    def _load_file(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        mapping: Mapping,
        mapping_key: str,
        known: _Registry,
    ) -> tuple[list[SourceTable], bool]:
        digest = self._content_hash(con, path, known)
        file_key = hashlib.sha256(f"{INGEST_VERSION}|{digest}|{mapping_key}".encode()).hexdigest()[:16]
        return self._ingest(con, file_key, str(path), lambda: open_file(con, path), mapping, path.name, known)

    def _ingest(
        self,
        con: duckdb.DuckDBPyConnection,
        file_key: str,
        where: str,
        opened: Callable[[], list],
        mapping: Mapping,
        label: str,
        known: _Registry,
    ) -> tuple[list[SourceTable], bool]:
        """The canonical tables of one source (a file, or a table fetched from a database) keyed by `file_key`
        (its content and the mapping): reused when the workspace has them, else recognised and ingested from the
        raw tables `opened()` gives, replacing what an earlier version of the source at `where` left."""
        kept = known.sources(file_key)
        if kept:
            cached = [SourceTable.model_validate_json(info) for info in kept]
            if all(has_table(con, s.table) for s in cached):
                return cached, True
        known.changed()  # the registry is written from here on
        self._forget_path(con, where)
        loaded = []
        for position, raw in enumerate(opened()):
            rec = recognize(raw.label, raw.columns, mapping, sheet=raw.sheet)
            if rec is None:
                if raw.sheet is not None:
                    continue  # an unrelated sheet in a workbook (notes, pivots) is passed over
                raise explain_unrecognised(raw.label, raw.columns, mapping)
            st = ingest_source(con, raw, rec, f"src_{file_key}_{position}")
            loaded.append(st)
            con.execute(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, now())",
                [f"{file_key}:{position}", file_key, where, position, st.model_dump_json()],
            )
        if not loaded:
            raise explain_unrecognised(label, [], mapping)
        return loaded, False

    def _content_hash(self, con: duckdb.DuckDBPyConnection, path: Path, known: _Registry) -> str:
        """sha256 of the bytes. The digest is reused only while the file's stat is the one it was computed from,
        change time and inode included (an edit that restores size and modification time still moves the change
        time), and only when the file had been still for RACY_SECONDS when it was hashed; otherwise it is read
        again (about 0.13 s per 100 MB)."""
        stat = path.stat()
        stamp = [str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]
        if (digest := known.digest(stamp)) is not None:
            return digest
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        still = time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) > RACY_SECONDS * 1e9
        con.execute(
            "INSERT OR REPLACE INTO content_hashes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [*stamp, digest, still]
        )
        return digest

    def _forget_path(self, con: duckdb.DuckDBPyConnection, where: str) -> None:
        """Drop the tables of an earlier version of this source, so a changed one doesn't leave stale copies."""
        for (info,) in con.execute("SELECT info FROM sources WHERE path = ?", [where]).fetchall():
            table = SourceTable.model_validate_json(info).table
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute("DELETE FROM sources WHERE path = ?", [where])

    def remember_scores(self, dataset_id: str, scores: ScoredRun) -> None:
        """Keep this run's scores, so a later upload of a snapshot can say how each account moved."""
        import pandas as pd

        con = self.connect()
        frame = pd.DataFrame(
            {
                "account_id": [a.account_id for a in scores.accounts],
                "health_score": [a.health_score for a in scores.accounts],
                "tier": [a.tier for a in scores.accounts],
            }
        )
        # one statement over the frame: row-by-row executemany takes seconds per thousand accounts
        register(con, "_scores_to_remember", frame)
        try:
            con.execute(
                "INSERT OR REPLACE INTO score_history SELECT ?, ?, ?, account_id, health_score, tier, now() "
                "FROM _scores_to_remember",
                [dataset_id, scores.as_of, scores.profile],
            )
        except Exception as exc:
            fault = self._workspace_fault(exc)
            if fault is None:
                raise
            self.close()
            raise self._fault_error(exc, fault) from None
        finally:
            if self._con is not None:
                unregister(con, "_scores_to_remember")

    def earlier_scores(self, dataset_id: str, scores: ScoredRun) -> dict[str, tuple[float, str]]:
        """Each account's most recent score from another upload (an earlier snapshot), same profile."""
        rows = (
            self.connect()
            .execute(
                """SELECT account_id, arg_max(health_score, recorded_at), arg_max(tier, recorded_at)
               FROM score_history WHERE dataset_id <> ? AND profile = ? AND as_of <= ? GROUP BY 1""",
                [dataset_id, scores.profile, scores.as_of],
            )
            .fetchall()
        )
        return {a: (s, t) for a, s, t in rows}


# the engines of the remote datasets loaded in this process (a connection is not kept in the workspace file)
_ENGINES: dict[str, Engine] = {}


def _measure(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceTable],
    views: dict[str, str],
    today: date | None,
    skipped: list[str],
    semantics: ProductSemantics | None,
) -> QualityReport:
    """The quality report of ingested sources: each one profiled, then the checks across them."""
    tables, issues = [], []
    for st in sources:
        tq, iss = source_quality(con, st, today)
        tables.append(tq)
        issues += iss
    return dataset_quality(
        con, views, tables, issues, sources, today=today, skipped=skipped, semantics=semantics
    )


def _table_info(st: SourceTable, cached: bool) -> TableInfo:
    return TableInfo(
        kind=st.kind,
        source=st.source,
        rows=st.rows,
        columns=st.columns,
        extra_columns=st.extra_columns,
        cached=cached,
        notes=st.notes,
    )


def _dated(views: dict[str, str]) -> bool:
    """Whether the dataset has a table whose rows carry their own dates (a snapshot export has none)."""
    return any(kind in views for kind in ("events", "tickets", "nps", "revenue", "subscriptions"))


class _Registry:
    """What a load looks up in the registry for each source (its trusted content hash, the records of its ingested
    tables), read once for all the sources: two queries, not two per file. Once a source is ingested again (the
    registry is written), the later look-ups read the records afresh."""

    def __init__(self, con: duckdb.DuckDBPyConnection, paths: list[str]) -> None:
        self.con = con
        rows = (
            con.execute(
                "SELECT path, size, mtime_ns, ctime_ns, inode, device, digest FROM content_hashes "
                "WHERE trusted AND list_contains(?, path)",
                [paths],
            ).fetchall()
            if paths
            else []
        )
        self._digests = {tuple(r[:6]): r[6] for r in rows}
        self._sources: dict[str, list[str]] | None = None

    def digest(self, stamp: list) -> str | None:
        """The digest hashed from the file while its stat was `stamp` (path, size, times, inode, device)."""
        return self._digests.get(tuple(stamp))

    def sources(self, file_key: str) -> list[str]:
        """The ingested tables' records (SourceTable JSON) under `file_key`, in position order."""
        if self._sources is None:
            self._sources = {}
            for key, info in self.con.execute(
                "SELECT file_key, info FROM sources ORDER BY position"
            ).fetchall():
                self._sources.setdefault(key, []).append(info)
        return self._sources.get(file_key, [])

    def changed(self) -> None:
        self._sources = None


def read_mapping_file(path: Path) -> Mapping:
    """A mapping file is YAML or JSON with `files:` and `columns:` sections."""
    data = parse_yaml(
        read_settings(path), path.name, fix="Write it as 'files: {...}' and 'columns: {...}' sections."
    )
    return Mapping.from_dict(data, source=path.name)


_REGISTRY_DDL = (
    "DROP TABLE IF EXISTS file_hashes",  # keyed by size and modification time only: an edit could hide from it
    *(f"DROP TABLE IF EXISTS {name}" for name in FORMER_TABLES),
    "CREATE TABLE IF NOT EXISTS content_hashes (path VARCHAR PRIMARY KEY, size BIGINT, mtime_ns BIGINT, "
    "ctime_ns BIGINT, inode UBIGINT, device UBIGINT, digest VARCHAR, trusted BOOLEAN)",
    "CREATE TABLE IF NOT EXISTS sources (source_key VARCHAR PRIMARY KEY, file_key VARCHAR, path VARCHAR, "
    "position INTEGER, info VARCHAR, ingested_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS datasets (dataset_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, paths VARCHAR, "
    "views VARCHAR, sources VARCHAR)",
    "CREATE TABLE IF NOT EXISTS state (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS score_history (dataset_id VARCHAR, as_of DATE, profile VARCHAR, "
    "account_id VARCHAR, health_score DOUBLE, tier VARCHAR, recorded_at TIMESTAMP, "
    "PRIMARY KEY (dataset_id, as_of, profile, account_id))",
)


def example_dir() -> Path:
    """The bundled example portfolio (works from a checkout and from an installed wheel)."""
    return Path(str(resources.files("customer_health.examples"))) / "sample"
