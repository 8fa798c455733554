"""A loaded dataset described in a few lines: what was recognised, how fresh it is, and what the load noticed."""

from __future__ import annotations

from customer_health.tools.data.quality import QualityIssue
from customer_health.tools.data.workspace import LoadResult
from pydantic import BaseModel, Field


class LoadedTable(BaseModel):
    kind: str
    source: str
    rows: int
    columns: dict[str, str] = Field(description="canonical column → source column")
    cached: bool = Field(description="True when the source was unchanged and its ingested table was reused.")


class DatasetSummary(BaseModel):
    """The current dataset: its tables, latest date, what the events mean and its data-quality issues."""

    summary: str
    dataset_id: str
    tables: list[LoadedTable]
    latest_date: str | None = Field(None, description="Latest activity date: the default as_of.")
    outcome_columns: list[str] = Field(default_factory=list, description="Read only by validation.")
    semantics: dict = Field(
        default_factory=dict, description="What the events mean (configured or inferred)."
    )
    skipped: list[str] = Field(
        default_factory=list, description="Files in a folder that were not loaded, and why."
    )
    issues: list[QualityIssue] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)


def describe_load(loaded: LoadResult) -> DatasetSummary:
    q = loaded.quality
    tables = [
        LoadedTable.model_validate(t.model_dump(include=set(LoadedTable.model_fields))) for t in loaded.tables
    ]
    summary = (
        f"Loaded {', '.join(f'{t.kind} ({t.rows:,} rows)' for t in loaded.tables)}. "
        f"Latest activity {q.latest_date or 'unknown'}; {len(q.issues)} data-quality issue(s)."
    )
    return DatasetSummary(
        summary=summary,
        dataset_id=loaded.dataset_id,
        tables=tables,
        latest_date=q.latest_date,
        outcome_columns=q.outcome_columns,
        semantics=q.semantics,
        skipped=q.skipped[:10],
        issues=q.issues,
    )


__all__ = ["DatasetSummary", "LoadedTable", "describe_load"]
