"""The workspace: content-hash caching, re-ingestion of changed files, allowed roots, read-only sources."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def mini(tmp_path):
    folder = tmp_path / "exports"
    shutil.copytree(DATA / "mini", folder)
    return folder


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in folder.iterdir()
    }


def test_second_load_reuses_the_ingested_tables(tmp_path, mini):
    roots = AllowedRoots([tmp_path.resolve()])
    with Workspace(tmp_path / "ws") as ws:
        first = ws.load([mini], roots=roots)
        second = ws.load([mini], roots=roots)
    assert not any(t.cached for t in first.tables)
    assert all(t.cached for t in second.tables)
    assert first.dataset_id == second.dataset_id


def test_a_changed_file_is_ingested_again(tmp_path, mini):
    roots = AllowedRoots([tmp_path.resolve()])
    with Workspace(tmp_path / "ws") as ws:
        first = ws.load([mini], roots=roots)
        with (mini / "users.csv").open("a") as fh:
            fh.write("u7,A3,analyst,2025-03-01,no\n")
        second = ws.load([mini], roots=roots)
    by_kind = {t.kind: t for t in second.tables}
    assert not by_kind["users"].cached and by_kind["users"].rows == 7
    assert by_kind["events"].cached
    assert first.dataset_id != second.dataset_id


def test_deleting_the_workspace_rebuilds_everything(tmp_path, mini):
    roots = AllowedRoots([tmp_path.resolve()])
    with Workspace(tmp_path / "ws") as ws:
        first = ws.load([mini], roots=roots)
    shutil.rmtree(tmp_path / "ws")
    with Workspace(tmp_path / "ws") as ws:
        again = ws.load([mini], roots=roots)
    assert again.dataset_id == first.dataset_id
    assert [t.rows for t in again.tables] == [t.rows for t in first.tables]


def test_source_files_are_byte_identical_and_untouched_after_load(tmp_path, mini):
    before = _digests(mini)
    with Workspace(tmp_path / "ws") as ws:
        ws.load([mini], roots=AllowedRoots([tmp_path.resolve()]))
    assert _digests(mini) == before
    assert sorted(p.name for p in mini.iterdir()) == sorted(before)


def test_paths_outside_the_allowed_roots_are_refused(tmp_path, mini):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(mini / "accounts.csv", outside / "accounts.csv")
    roots = AllowedRoots([mini.resolve()])
    with Workspace(tmp_path / "ws") as ws, pytest.raises(InputError, match="outside the folders") as err:
        ws.load([mini / ".." / "outside" / "accounts.csv"], roots=roots)
    assert "--allow" in err.value.message


def test_a_link_pointing_outside_the_roots_is_refused(tmp_path, mini):
    secret = tmp_path / "secret.csv"
    secret.write_text("account_id\nA1\n")
    os.symlink(secret, mini / "link.csv")
    with Workspace(tmp_path / "ws") as ws, pytest.raises(InputError, match="outside"):
        ws.load([mini / "link.csv"], roots=AllowedRoots([mini.resolve()]))


def test_a_folder_skips_unrecognisable_files_and_says_why(tmp_path, mini):
    (mini / "notes.csv").write_text("colour,flavour\nred,sweet\n")
    with Workspace(tmp_path / "ws") as ws:
        result = ws.load([mini], roots=AllowedRoots([tmp_path.resolve()]))
    assert len(result.tables) == 4
    assert any("notes.csv" in s and "no table recognised" in s for s in result.quality.skipped)


def test_a_folder_with_nothing_recognisable_is_an_error(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.csv").write_text("colour,flavour\nred,sweet\n")
    (folder / "b.txt").write_text("hello\n")
    with Workspace(tmp_path / "ws") as ws, pytest.raises(InputError, match="nothing recognisable"):
        ws.load([folder], roots=AllowedRoots([tmp_path.resolve()]))


def test_a_folder_without_data_files_is_an_error(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "README.md").write_text("# nothing\n")
    with Workspace(tmp_path / "ws") as ws, pytest.raises(InputError, match="no data files"):
        ws.load([folder], roots=AllowedRoots([tmp_path.resolve()]))


def test_several_bad_files_named_explicitly_are_reported_together(tmp_path):
    (tmp_path / "a.csv").write_text("")
    (tmp_path / "b.csv").write_text("colour\nred\n")
    with Workspace(tmp_path / "ws") as ws, pytest.raises(InputError) as err:
        ws.load([tmp_path / "a.csv", tmp_path / "b.csv"], roots=AllowedRoots([tmp_path.resolve()]))
    assert "a.csv" in err.value.message and "b.csv" in err.value.message


def test_a_config_next_to_the_data_is_used_for_semantics(tmp_path, mini):
    (mini / "customer-health.yaml").write_text(
        "core_features: [import_data, share_report]\npassive_events: [login]\n"
    )
    with Workspace(tmp_path / "ws") as ws:
        result = ws.load([mini], roots=AllowedRoots([tmp_path.resolve()]))
    assert result.quality.semantics["source"] == "configured"
    assert result.quality.semantics["core_features"] == ["import_data", "share_report"]
    assert result.semantics_source.endswith("customer-health.yaml")


def test_a_config_with_an_unknown_key_names_the_key(tmp_path, mini):
    (mini / "customer-health.yaml").write_text("core_feature: [import_data]\n")
    with Workspace(tmp_path / "ws") as ws, pytest.raises(InputError, match="core_feature"):
        ws.load([mini], roots=AllowedRoots([tmp_path.resolve()]))
