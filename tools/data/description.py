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
    lifecycle: dict[str, int] = Field(
        default_factory=dict, description="Accounts per lifecycle stage on latest_date (the default as_of)."
    )
    issues: list[QualityIssue] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    loaded_at: str | None = Field(None, description="When the sources were loaded (UTC, ISO 8601).")
    sources: list[str] = Field(
        default_factory=list, description="The files and folders loaded (absolute paths)."
    )
    restored: bool = Field(
        False, description="True when an earlier session's load in this workspace was picked up again."
    )


def describe_load(loaded: LoadResult) -> DatasetSummary:
    q = loaded.quality
    tables = [
        LoadedTable.model_validate(t.model_dump(include=set(LoadedTable.model_fields))) for t in loaded.tables
    ]
    summary = (
        f"Loaded {', '.join(f'{t.kind} ({t.rows:,} rows)' for t in loaded.tables)}. "
        f"Latest activity {q.latest_date or 'unknown'}; {len(q.issues)} data-quality issue(s)."
    )
    if loaded.lifecycle:
        summary += f" {lifecycle_sentence(loaded.lifecycle, q.latest_date)}"
    if loaded.restore_note:
        summary += f" {loaded.restore_note}"
    for note in loaded.workspace_notes:  # a damaged workspace set aside and rebuilt: said, not silent
        summary += f" {note}"
    return DatasetSummary(
        summary=summary,
        dataset_id=loaded.dataset_id,
        tables=tables,
        latest_date=q.latest_date,
        outcome_columns=q.outcome_columns,
        semantics=q.semantics,
        skipped=q.skipped[:10],
        lifecycle=loaded.lifecycle,
        issues=q.issues,
        loaded_at=loaded.loaded_at,
        sources=loaded.sources,
        restored=loaded.restored,
    )


def lifecycle_sentence(counts: dict[str, int], day: str | None) -> str:
    """'On 2026-08-31: 206 customers (16 onboarding), 34 churned, 6 not yet customers.'"""
    customers = counts.get("onboarding", 0) + counts.get("active", 0)
    text = f"On {day}: {customers} customer(s) ({counts.get('onboarding', 0)} onboarding)"
    if counts.get("churned"):
        text += f", {counts['churned']} churned"
    if counts.get("not_yet_customer"):
        text += f", {counts['not_yet_customer']} not yet customers"
    return text + "."


__all__ = ["DatasetSummary", "LoadedTable", "describe_load", "lifecycle_sentence"]
