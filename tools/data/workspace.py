"""The workspace: one embedded DuckDB file holding the dataset registry and the ingested tables.

Sources are keyed by their content hash (and the mapping that applied), so loading an unchanged file again costs a
stat call and a lookup; a changed file is ingested again. Delete the folder and everything rebuilds from the sources,
which are only ever read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from customer_health.tools.base.errors import InputError, InputErrors
from customer_health.tools.data.config import ProductSemantics
from customer_health.tools.data.dataset import Dataset, ScoredRun
from customer_health.tools.data.ingest import INGEST_VERSION, SourceTable, build_views, ingest_source
from customer_health.tools.data.lifecycle import lifecycle, stage_counts
from customer_health.tools.data.quality import QualityReport, dataset_quality, source_quality
from customer_health.tools.data.readers import DATA_SUFFIXES, open_file
from customer_health.tools.data.recognize import Mapping, explain_unrecognised, recognize
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import duckdb


CONFIG_NAMES = ("customer-health.yaml", "customer-health.yml")
Progress = Callable[[int, int, str], None]


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


@dataclass
class AllowedRoots:
    """Folders loads may read from; a path that resolves (through links) outside all of them is refused."""

    roots: list[Path] = field(default_factory=list)

    @classmethod
    def from_env(cls, extra: Iterable[str | Path] = ()) -> AllowedRoots:
        roots = [Path.cwd()]
        env = os.environ.get("CUSTOMER_HEALTH_ALLOW", "")
        roots += [Path(p) for p in env.split(os.pathsep) if p]
        roots += [Path(p) for p in extra]
        roots.append(example_dir().parent.resolve())  # the bundled example data
        return cls([r.expanduser().resolve() for r in roots])

    def resolve(self, path: str | Path) -> Path:
        candidate = Path(path).expanduser()
        real = candidate.resolve()
        if not any(real == r or r in real.parents for r in self.roots):
            shown = ", ".join(str(r) for r in self.roots[:4])
            raise InputError(
                f"is outside the folders this tool may read ({shown}).",
                file=str(path),
                fix="Move the file under the working directory, or allow its folder with --allow DIR "
                "(or CUSTOMER_HEALTH_ALLOW).",
            )
        if not real.exists():
            raise InputError("does not exist.", file=str(path), fix="Check the path and its spelling.")
        return real


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
            import duckdb

            self.home.mkdir(parents=True, exist_ok=True)
            (self.home / "tmp").mkdir(exist_ok=True)
            try:
                con = duckdb.connect(str(self.db_path))
            except duckdb.IOException as exc:
                if "lock" in str(exc).lower():
                    raise InputError(
                        "the workspace is in use by another customer-health process.",
                        file=str(self.db_path),
                        fix="Wait for it to finish, or point CUSTOMER_HEALTH_HOME at another folder.",
                    ) from None
                raise
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
            con.execute(f"SET temp_directory = '{self.home / 'tmp'}'")
            con.execute(f"SET enable_progress_bar = {str(self.progress_bar).lower()}")
            for ddl in _REGISTRY_DDL:
                con.execute(ddl)
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def load(
        self,
        paths: list[str | Path],
        *,
        mapping: Mapping | None = None,
        roots: AllowedRoots | None = None,
        config: str | Path | None = None,
        today: date | None = None,
        progress: Progress | None = None,
    ) -> LoadResult:
        """Load files and folders into a dataset: recognise, ingest (or reuse), assemble views, report quality."""
        con = self.connect()
        roots = roots or AllowedRoots.from_env()
        if not paths:
            raise InputError(
                "no files or folders were given.", fix="Name at least one export file or folder."
            )
        files, folder_files, config_path = self._expand(paths, roots, config)
        semantics = _read_semantics(config_path) if config_path else None
        if semantics and semantics.mapping and mapping is None:
            mapping = Mapping.from_dict(semantics.mapping, source=str(config_path))
        mapping = mapping or Mapping()
        mapping_key = json.dumps({"files": mapping.files, "columns": mapping.columns}, sort_keys=True)
        sources: list[SourceTable] = []
        infos: list[TableInfo] = []
        errors: list[InputError] = []
        skipped: list[str] = []
        for i, path in enumerate(files):
            if progress:
                progress(i, len(files), path.name)
            try:
                loaded, cached = self._load_file(con, path, mapping, mapping_key)
            except InputError as exc:
                if path in folder_files:
                    skipped.append(exc.message)
                else:
                    errors.append(exc)
                continue
            for st in loaded:
                sources.append(st)
                infos.append(
                    TableInfo(
                        kind=st.kind,
                        source=st.source,
                        rows=st.rows,
                        columns=st.columns,
                        extra_columns=st.extra_columns,
                        cached=cached,
                        notes=st.notes,
                    )
                )
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
        views = build_views(con, f"ds_{dataset_id}", sources)
        tables, issues = [], []
        for st in sources:
            tq, iss = source_quality(con, st, today)
            tables.append(tq)
            issues += iss
        report = dataset_quality(
            con, views, tables, issues, sources, today=today, skipped=skipped, semantics=semantics
        )
        con.execute(
            "INSERT OR REPLACE INTO datasets VALUES (?, now(), ?, ?, ?)",
            [
                dataset_id,
                json.dumps([str(p) for p in paths]),
                json.dumps(views),
                json.dumps([s.model_dump() for s in sources]),
            ],
        )
        con.execute("INSERT OR REPLACE INTO state VALUES ('current_dataset', ?)", [dataset_id])
        result = LoadResult(
            dataset_id=dataset_id,
            tables=infos,
            quality=report,
            views=views,
            semantics_source=str(config_path) if config_path else None,
        )
        ds = self.dataset(result)
        if ds.latest_date is not None:
            result.lifecycle = stage_counts(lifecycle(ds, ds.latest_date))
        return result

    def dataset(self, result: LoadResult) -> Dataset:
        """The handle computations take, for a dataset this workspace has just loaded."""
        semantics = _read_semantics(Path(result.semantics_source)) if result.semantics_source else None
        q = result.quality
        latest, note = (date.fromisoformat(q.latest_date) if q.latest_date else None), None
        if latest is None and q.loaded_on and not _dated(result.views):
            latest = date.fromisoformat(q.loaded_on)
            note = f"The data has no dates, so it is read as of the day it was loaded ({latest})."
        return Dataset(
            self.connect(),
            result.dataset_id,
            dict(result.views),
            semantics,
            latest,
            history=self,
            as_of_note=note,
        )

    def _expand(
        self, paths: list[str | Path], roots: AllowedRoots, config: str | Path | None
    ) -> tuple[list[Path], set[Path], Path | None]:
        files: list[Path] = []
        folder_files: set[Path] = set()
        config_path = roots.resolve(config) if config else None
        for raw in paths:
            path = roots.resolve(raw)
            if path.is_dir():
                inside = sorted(
                    p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))
                )
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
        self, con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping, mapping_key: str
    ) -> tuple[list[SourceTable], bool]:
        digest = self._content_hash(con, path)
        file_key = hashlib.sha256(f"{INGEST_VERSION}|{digest}|{mapping_key}".encode()).hexdigest()[:16]
        rows = con.execute(
            "SELECT info FROM sources WHERE file_key = ? ORDER BY position", [file_key]
        ).fetchall()
        if rows:
            cached = [SourceTable.model_validate_json(r[0]) for r in rows]
            if all(_table_exists(con, s.table) for s in cached):
                return cached, True
        self._forget_path(con, path)
        loaded = []
        for position, raw in enumerate(open_file(con, path)):
            rec = recognize(raw.label, raw.columns, mapping, sheet=raw.sheet)
            if rec is None:
                if raw.sheet is not None:
                    continue  # an unrelated sheet in a workbook (notes, pivots) is passed over
                raise explain_unrecognised(raw.label, raw.columns, mapping)
            st = ingest_source(con, raw, rec, f"src_{file_key}_{position}")
            loaded.append(st)
            con.execute(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, now())",
                [f"{file_key}:{position}", file_key, str(path), position, st.model_dump_json()],
            )
        if not loaded:
            raise explain_unrecognised(path.name, [], mapping)
        return loaded, False

    def _content_hash(self, con: duckdb.DuckDBPyConnection, path: Path) -> str:
        """sha256 of the bytes, remembered against (size, mtime) so an unchanged file is not read again."""
        stat = path.stat()
        row = con.execute(
            "SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
            [str(path), stat.st_size, stat.st_mtime_ns],
        ).fetchone()
        if row:
            return row[0]
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        con.execute(
            "INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
            [str(path), stat.st_size, stat.st_mtime_ns, digest],
        )
        return digest

    def _forget_path(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        """Drop the tables of an earlier version of this file, so a changed file doesn't leave stale copies."""
        for (info,) in con.execute("SELECT info FROM sources WHERE path = ?", [str(path)]).fetchall():
            table = SourceTable.model_validate_json(info).table
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute("DELETE FROM sources WHERE path = ?", [str(path)])

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
        con.register("_scores_to_remember", frame)
        try:
            con.execute(
                "INSERT OR REPLACE INTO score_history SELECT ?, ?, ?, account_id, health_score, tier, now() "
                "FROM _scores_to_remember",
                [dataset_id, scores.as_of, scores.profile],
            )
        finally:
            con.unregister("_scores_to_remember")

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


def _dated(views: dict[str, str]) -> bool:
    """Whether the dataset has a table whose rows carry their own dates (a snapshot export has none)."""
    return any(kind in views for kind in ("events", "tickets", "nps", "revenue", "subscriptions"))


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0]
    )


def _read_semantics(path: Path) -> ProductSemantics:
    return ProductSemantics.from_yaml_text(path.read_text(encoding="utf-8"), source=path.name)


def read_mapping_file(path: Path) -> Mapping:
    """A mapping file is YAML or JSON with `files:` and `columns:` sections."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(
            f"could not be read as YAML or JSON ({exc}).",
            file=path.name,
            fix="Write it as 'files: {...}' and 'columns: {...}' sections.",
        ) from None
    return Mapping.from_dict(data, source=path.name)


_REGISTRY_DDL = (
    "CREATE TABLE IF NOT EXISTS file_hashes (path VARCHAR PRIMARY KEY, size BIGINT, mtime_ns BIGINT, sha256 VARCHAR)",
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
