"""The workspace: content-hash caching, re-ingestion of changed files, allowed roots, read-only sources, and the
memory of the last dataset a session made current, which a later session picks up again."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data import workspace
from customer_health.tools.data.recognize import Mapping
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


# --- the last load, remembered -------------------------------------------------------------------------------
@pytest.fixture
def roots(tmp_path):
    return AllowedRoots([tmp_path.resolve()])


def test_a_remembered_load_is_picked_up_unchanged_with_when_and_where_it_was_loaded(tmp_path, mini, roots):
    with Workspace(tmp_path / "ws") as ws:
        first = ws.load([mini], roots=roots, remember=True)
    with Workspace(tmp_path / "ws") as ws:  # a new process on the same workspace
        restored = ws.restore(roots=roots)
    again = restored.result
    assert again is not None and again.restored is True
    assert again.dataset_id == first.dataset_id
    assert again.loaded_at == first.loaded_at  # the original load's time, not the moment it was picked up
    assert again.sources == [str(mini.resolve())]
    assert all(t.cached for t in again.tables)  # unchanged sources: nothing was ingested again
    assert restored.note.startswith(
        f"Picked up the dataset loaded at {first.loaded_at} from {mini.resolve()}"
    )


def test_nothing_is_picked_up_when_no_load_was_remembered(tmp_path, mini, roots):
    with Workspace(tmp_path / "ws") as ws:
        ws.load([mini], roots=roots)  # a load that did not ask to be remembered (the CLI's, an outcomes file)
        restored = ws.restore(roots=roots)
    assert restored.result is None and restored.note is None


def test_a_load_that_is_not_remembered_leaves_the_record_of_the_last_one(tmp_path, mini, roots):
    with Workspace(tmp_path / "ws") as ws:
        whole = ws.load([mini], roots=roots, remember=True)
        ws.load([mini / "accounts.csv"], roots=roots)
        restored = ws.restore(roots=roots)
    assert restored.result.dataset_id == whole.dataset_id
    assert {t.kind for t in restored.result.tables} == {"accounts", "users", "events", "tickets"}


def test_sources_changed_on_disk_are_read_again_and_the_record_follows_them(tmp_path, mini, roots):
    with Workspace(tmp_path / "ws") as ws:
        first = ws.load([mini], roots=roots, remember=True)
    with (mini / "users.csv").open("a") as fh:
        fh.write("u7,A3,analyst,2025-03-01,no\n")
    with Workspace(tmp_path / "ws") as ws:
        restored = ws.restore(roots=roots)
        record = ws.last_load()
    result = restored.result
    assert result.restored is True and result.dataset_id != first.dataset_id
    by_kind = {t.kind: t for t in result.tables}
    assert by_kind["users"].rows == 7 and not by_kind["users"].cached and by_kind["events"].cached
    assert "changed on disk since they were loaded at " + first.loaded_at in restored.note
    assert record.dataset_id == result.dataset_id and record.loaded_at == result.loaded_at


def test_the_mapping_a_load_was_given_is_applied_again_when_it_is_picked_up(tmp_path, mini, roots):
    mapping = Mapping(files={"tickets.csv": "tickets"})
    with Workspace(tmp_path / "ws") as ws:
        first = ws.load([mini], roots=roots, mapping=mapping, remember=True)
        plain = ws.load([mini], roots=roots)
    assert plain.dataset_id != first.dataset_id  # the mapping is part of what identifies the dataset
    with Workspace(tmp_path / "ws") as ws:
        restored = ws.restore(roots=roots)
    assert restored.result.dataset_id == first.dataset_id and restored.note.startswith("Picked up")


def test_sources_that_are_gone_give_no_dataset_and_a_note_naming_them(tmp_path, mini, roots):
    with Workspace(tmp_path / "ws") as ws:
        first = ws.load([mini], roots=roots, remember=True)
    shutil.rmtree(mini)
    with Workspace(tmp_path / "ws") as ws:
        restored = ws.restore(roots=roots)
    assert restored.result is None
    assert restored.note.startswith(
        f"The dataset loaded at {first.loaded_at} from {mini.resolve()} could not"
    )
    assert "does not exist" in restored.note


def test_sources_outside_the_folders_now_allowed_give_no_dataset_and_a_note(tmp_path, mini, roots):
    with Workspace(tmp_path / "ws") as ws:
        ws.load([mini], roots=roots, remember=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with Workspace(tmp_path / "ws") as ws:
        restored = ws.restore(roots=AllowedRoots([elsewhere.resolve()]))
    assert restored.result is None and "outside the folders this tool may read" in restored.note


def test_an_unreadable_record_counts_as_none(tmp_path, mini, roots):
    with Workspace(tmp_path / "ws") as ws:
        ws.load([mini], roots=roots, remember=True)
        ws.connect().execute("UPDATE state SET value = '{\"dataset_id\": 3' WHERE key = 'last_load'")
        assert ws.last_load() is None
        assert ws.restore(roots=roots).result is None


# --- what a warm load asks of the workspace --------------------------------------------------------------------------
class _Recording:
    """The workspace connection, noting each statement run through it."""

    def __init__(self, con) -> None:
        self._con, self.statements = con, []

    def execute(self, sql, *args, **kwargs):
        self.statements.append(" ".join(str(sql).split()))
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _warm_load(home: Path, folder: Path) -> tuple[list[str], object]:
    """The statements a second process's load of `folder` runs (after it opened the workspace), and its result.
    The files count as long still (otherwise a file written a moment ago is hashed again each time)."""
    roots = AllowedRoots([folder.parent.resolve()])
    with Workspace(home) as ws:
        ws.load([folder], roots=roots)
    with Workspace(home) as ws:
        recording = _Recording(ws.connect())
        ws._con = recording
        result = ws.load([folder], roots=roots)
    return recording.statements, result


def test_a_warm_load_reads_the_registry_as_often_for_four_files_as_for_one(tmp_path, mini, monkeypatch):
    monkeypatch.setattr(workspace, "RACY_SECONDS", 0)
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(mini / "events.csv", one)
    few, _ = _warm_load(tmp_path / "ws1", one)
    many, result = _warm_load(tmp_path / "ws4", mini)
    assert len(result.tables) == 4 and all(t.cached for t in result.tables)

    def registry(statements: list[str]) -> list[str]:
        return [s for s in statements if "content_hashes" in s or "FROM sources" in s]

    assert len(registry(many)) == len(registry(few)) > 0


def test_a_warm_load_writes_nothing_to_the_workspace(tmp_path, mini, monkeypatch):
    monkeypatch.setattr(workspace, "RACY_SECONDS", 0)
    statements, result = _warm_load(tmp_path / "ws", mini)
    writes = [
        s
        for s in statements
        if s.split()[0].upper() in {"INSERT", "UPDATE", "DELETE", "DROP", "ALTER"}
        or (s.upper().startswith("CREATE") and "IF NOT EXISTS" not in s.upper())
    ]
    assert writes == [] and all(t.cached for t in result.tables)


def test_the_registry_follows_the_dataset_loaded_last_and_where_it_was_read(tmp_path, mini):
    other = tmp_path / "other"
    shutil.copytree(mini, other)
    (other / "tickets.csv").unlink()
    roots = AllowedRoots([tmp_path.resolve()])
    with Workspace(tmp_path / "ws") as ws:
        con = ws.connect()

        def current() -> str:
            return con.execute("SELECT value FROM state WHERE key = 'current_dataset'").fetchone()[0]

        a = ws.load([mini], roots=roots)
        b = ws.load([other], roots=roots)
        assert current() == b.dataset_id != a.dataset_id
        assert ws.load([mini], roots=roots).dataset_id == current() == a.dataset_id
        moved = tmp_path / "moved"
        shutil.copytree(mini, moved)
        assert ws.load([moved], roots=roots).dataset_id == a.dataset_id
        paths = con.execute("SELECT paths FROM datasets WHERE dataset_id = ?", [a.dataset_id]).fetchone()[0]
    assert paths == f'["{moved.resolve()}"]'


def test_a_warm_load_reads_its_customer_health_yaml_without_parsing_it(tmp_path, mini, monkeypatch):
    from customer_health.tools.data import paths

    shutil.copy(DATA / "facts" / "customer-health.yaml", mini)
    roots = AllowedRoots([tmp_path.resolve()])
    with Workspace(tmp_path / "ws") as ws:
        cold = ws.dataset(ws.load([mini], roots=roots)).semantics
    paths._PARSED.clear()
    monkeypatch.setattr(paths, "_load_yaml", lambda *a: pytest.fail("the YAML was parsed again"))
    with Workspace(tmp_path / "ws") as ws:
        warm = ws.dataset(ws.load([mini], roots=roots)).semantics
    assert warm == cold and warm.core_features == ["import_data", "build_report", "share_report"]
