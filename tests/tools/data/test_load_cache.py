"""What a load computed is kept with the dataset: a later process on the same workspace reuses the quality report
and the event semantics, and recomputes them when the sources, the config or the day change."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from customer_health.tools.data import load_cache, semantics, workspace
from customer_health.tools.data.dataset import Dataset
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.data.workspace import AllowedRoots, Workspace

DATA = Path(__file__).resolve().parents[2] / "data"
DAY = date(2026, 6, 1)


@pytest.fixture
def mini(tmp_path):
    folder = tmp_path / "exports"
    shutil.copytree(DATA / "mini", folder)
    return folder


@pytest.fixture
def quality_calls(monkeypatch):
    """How many times the dataset's quality report was actually computed."""
    return _counting(monkeypatch, workspace, "dataset_quality")


@pytest.fixture
def semantics_calls(monkeypatch):
    """How many times the event semantics were actually resolved from the events."""
    return _counting(monkeypatch, semantics, "_resolve")


def _load(home: Path, folder: Path, today: date = DAY):
    """A load as a separate process makes it: a fresh Workspace on the same home."""
    with Workspace(home) as ws:
        result = ws.load([folder], roots=AllowedRoots([folder.parent.resolve()]), today=today)
        sem = resolve_semantics(ws.dataset(result))
    return result, sem


def test_a_second_process_reuses_the_quality_report_and_the_semantics(
    tmp_path, mini, quality_calls, semantics_calls
):
    first, first_sem = _load(tmp_path / "ws", mini)
    second, second_sem = _load(tmp_path / "ws", mini)
    assert (len(quality_calls), len(semantics_calls)) == (1, 1)
    assert second.dataset_id == first.dataset_id
    assert second.quality == first.quality
    assert second_sem == first_sem


def test_a_changed_config_is_read_again(tmp_path, mini, quality_calls, semantics_calls):
    first, first_sem = _load(tmp_path / "ws", mini)
    (mini / "customer-health.yaml").write_text("core_features: [export_csv]\n", encoding="utf-8")
    second, second_sem = _load(tmp_path / "ws", mini)
    assert second.dataset_id == first.dataset_id  # same sources: only the config moved
    assert (len(quality_calls), len(semantics_calls)) == (2, 2)
    assert first_sem.sources["core_features"].startswith("inferred")
    assert (second_sem.core_features, second_sem.sources["core_features"]) == (["export_csv"], "configured")
    # and the same config again is served from the workspace
    _load(tmp_path / "ws", mini)
    assert (len(quality_calls), len(semantics_calls)) == (2, 2)


def test_an_edited_source_makes_a_new_dataset_and_a_new_report(tmp_path, mini, quality_calls):
    first, _ = _load(tmp_path / "ws", mini)
    events = mini / "events.csv"
    lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
    events.write_text("".join(lines[:-1]), encoding="utf-8")  # one event fewer
    second, _ = _load(tmp_path / "ws", mini)
    assert second.dataset_id != first.dataset_id
    assert len(quality_calls) == 2
    rows = {t.kind: t.rows for t in second.tables}
    assert rows["events"] == len(lines) - 2  # header and the dropped line


def test_the_report_is_judged_again_on_another_day(tmp_path, mini, quality_calls):
    first, _ = _load(tmp_path / "ws", mini, today=DAY)
    second, _ = _load(tmp_path / "ws", mini, today=date(2026, 6, 2))
    assert len(quality_calls) == 2
    assert (first.quality.loaded_on, second.quality.loaded_on) == ("2026-06-01", "2026-06-02")


def test_semantics_over_an_earlier_range_are_kept_apart(tmp_path, mini, semantics_calls):
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([mini], roots=AllowedRoots([tmp_path.resolve()]), today=DAY))
        everything = resolve_semantics(ds)
        nothing = resolve_semantics(ds, "TIMESTAMP '1990-01-01'")
        again = resolve_semantics(ds)
    assert len(semantics_calls) == 2
    assert everything.core_features and not nothing.core_features
    assert again == everything


def test_a_dataset_the_workspace_did_not_build_keeps_nothing(semantics_calls):
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES ('a1', 'u1', TIMESTAMP '2024-01-01', 'build_report')) "
        "t(account_id, user_id, timestamp, event)"
    )
    ds = Dataset(con, "plain", {"events": "ev"})
    resolve_semantics(ds)
    resolve_semantics(ds)
    assert len(semantics_calls) == 2
    assert load_cache.store_of(ds) is None
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"ev"}


def test_the_cache_key_follows_every_part_it_names():
    base = load_cache.cache_key("quality", "abc", {"today": DAY, "config": None})
    assert load_cache.cache_key("quality", "abc", {"today": DAY, "config": None}) == base
    assert load_cache.cache_key("quality", "abd", {"today": DAY, "config": None}) != base
    assert load_cache.cache_key("semantics", "abc", {"today": DAY, "config": None}) != base
    assert load_cache.cache_key("quality", "abc", {"today": DAY, "config": "x"}) != base


def _counting(monkeypatch, module, name: str) -> list:
    calls: list = []
    real = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_a_second_process_reuses_the_views_and_the_stage_counts(tmp_path, mini, monkeypatch):
    builds = _counting(monkeypatch, workspace, "build_views")
    stages = _counting(monkeypatch, workspace, "lifecycle")
    first, _ = _load(tmp_path / "ws", mini)
    second, _ = _load(tmp_path / "ws", mini)
    assert (len(builds), len(stages)) == (1, 1)
    assert second.views == first.views
    assert second.lifecycle == first.lifecycle and sum(first.lifecycle.values()) > 0


def test_a_view_gone_from_the_workspace_is_built_again(tmp_path, mini, monkeypatch):
    builds = _counting(monkeypatch, workspace, "build_views")
    first, _ = _load(tmp_path / "ws", mini)
    with Workspace(tmp_path / "ws") as ws:
        ws.connect().execute(f'DROP VIEW "{first.views["events"]}"')
    second, _ = _load(tmp_path / "ws", mini)
    assert len(builds) == 2
    assert second.views == first.views
    assert {t.kind: t.rows for t in second.tables} == {t.kind: t.rows for t in first.tables}
