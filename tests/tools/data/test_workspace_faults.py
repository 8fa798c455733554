"""The workspace under faults: a damaged workspace file is set aside and rebuilt from the sources, a home that is a
file or cannot be written to and a full disk are errors naming the folder and the fix, a load never succeeds after
skipping a table, a busy workspace says so, an edit that hides behind the same size and modification time is
still seen, and a path with an apostrophe is data, not SQL."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data import workspace as workspace_module
from customer_health.tools.data.faults import storage_fault
from customer_health.tools.data.workspace import AllowedRoots, Workspace

from tests.tools.data import test_workspace as shared

mini = shared.mini  # the fixture: the mini exports in a folder of their own


def _load(home: Path, folder: Path):
    with Workspace(home) as ws:
        result = ws.load([folder], roots=AllowedRoots([folder.parent.resolve()]))
        arr = (
            ws.connect()
            .execute(f'SELECT arr FROM "{result.views["accounts"]}" WHERE account_id = ?', ["A1"])
            .fetchone()[0]
        )
    return result, arr


def _rows(result) -> dict[str, int]:
    return {t.kind: t.rows for t in result.tables}


def _damage_truncate(db: Path) -> None:
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def _damage_zero(db: Path) -> None:
    db.write_bytes(b"")


def _damage_garbage(db: Path) -> None:
    db.write_bytes(os.urandom(64 * 1024))


def _damage_header_block(db: Path) -> None:
    with db.open("r+b") as fh:  # the catalog's first block: its checksum no longer matches
        fh.seek(12288)
        fh.write(b"\xff" * 4096)


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_zero, _damage_garbage, _damage_header_block])
def test_a_damaged_workspace_file_is_set_aside_and_rebuilt_from_the_sources(tmp_path, mini, damage):
    home = tmp_path / "ws"
    first, _ = _load(home, mini)
    damage(home / "workspace.duckdb")
    again, arr = _load(home, mini)
    kept = sorted(home.glob("workspace.duckdb.damaged-*"))
    assert len(kept) == 1  # kept for the user to look into, never deleted
    assert _rows(again) == _rows(first) and arr == 120000
    assert not any(t.cached for t in again.tables)
    (note,) = again.workspace_notes
    assert str(kept[0]) in note and "started afresh" in note


def test_a_home_that_is_a_file_names_it_and_the_fix(tmp_path, mini):
    home = tmp_path / "ws"
    home.write_text("not a folder\n")
    with pytest.raises(InputError) as err:
        _load(home, mini)
    assert str(home) in err.value.message and "CUSTOMER_HEALTH_HOME" in err.value.message
    assert home.read_text() == "not a folder\n"


def read_only_folder(folder: Path):
    """Make `folder` read-only for this process: a read-only bind mount as root (who ignores modes), else chmod.
    Returns the undo, or None when neither works here."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        return None
    remounted = subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True)
    if remounted.returncode != 0:
        subprocess.run(["umount", str(folder)], capture_output=True)
        return None
    return lambda: subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.mark.parametrize("populated", [False, True])
def test_a_read_only_home_is_an_error_naming_the_folder_and_the_fix(tmp_path, mini, populated):
    home = tmp_path / "ws"
    home.mkdir()
    if populated:
        _load(home, mini)
    undo = read_only_folder(home)
    if undo is None:
        pytest.skip("no way to make a folder read-only here")
    try:
        with pytest.raises(InputError) as err:
            _load(home, mini)
    finally:
        undo()
    assert "cannot be written to" in err.value.message and str(home) in err.value.message
    assert "CUSTOMER_HEALTH_HOME" in err.value.message


class _DiskFillsOn:
    """A DuckDB connection whose disk fills up when a statement creates a table from `name`."""

    def __init__(self, con, name: str) -> None:
        self._con, self._name = con, name

    def execute(self, sql, *args):
        if sql.startswith("CREATE OR REPLACE TABLE") and self._name in sql:
            raise duckdb.IOException('Could not write file "workspace.duckdb.wal": No space left on device')
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_a_full_disk_while_loading_a_folder_fails_the_load_instead_of_skipping_the_table(
    tmp_path, mini, monkeypatch
):
    connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: _DiskFillsOn(connect(*a, **k), "events.csv"))
    with pytest.raises(InputError) as err:
        _load(tmp_path / "ws", mini)
    assert "disk holding the workspace is full" in err.value.message
    assert "Free some space" in err.value.message and str(tmp_path / "ws") in err.value.message
    monkeypatch.setattr(duckdb, "connect", connect)  # space freed: the same workspace loads everything
    result, _ = _load(tmp_path / "ws", mini)
    assert _rows(result) == {"accounts": 3, "users": 6, "events": 13, "tickets": 4}


def small_tmpfs(folder: Path, size: str):
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    return (
        None
        if done.returncode
        else (lambda: subprocess.run(["umount", "-l", str(folder)], capture_output=True))
    )


def test_a_real_full_disk_is_an_error_and_the_workspace_works_once_there_is_room(tmp_path, mini):
    disk = tmp_path / "disk"
    undo = small_tmpfs(disk, "2m") if os.geteuid() == 0 else None
    if undo is None:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        rng = random.Random(0)
        with (mini / "events.csv").open("a") as fh:  # 8 MB of events that compress poorly: more than fits
            fh.writelines(
                f"2025-11-{1 + i % 28:02d}T09:00:00Z,u{1 + i % 6},event_{rng.getrandbits(64):016x}\n"
                for i in range(200_000)
            )
        with pytest.raises(InputError, match="disk holding the workspace is full"):
            _load(disk / "ws", mini)
        subprocess.run(["mount", "-o", "remount,size=200m", str(disk)], check=True)
        result, _ = _load(disk / "ws", mini)
        assert _rows(result)["events"] == 13 + 200_000
    finally:
        undo()


def test_a_full_disk_is_told_apart_from_a_malformed_export():
    assert storage_fault(OSError(errno.ENOSPC, "No space left on device")) == "full"
    assert storage_fault(duckdb.IOException("Could not write: No space left on device")) == "full"
    assert storage_fault(duckdb.InvalidInputException("CSV Error on Line: 3")) is None
    assert storage_fault(OSError(errno.EROFS, "Read-only file system")) == "read_only"


def test_a_file_edited_in_place_with_the_same_size_and_times_is_read_again(tmp_path, mini):
    accounts = mini / "accounts.csv"
    _, before = _load(tmp_path / "ws", mini)
    stat = accounts.stat()
    accounts.write_text(accounts.read_text().replace('"$120,000"', '"$920,000"'))
    os.utime(accounts, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert accounts.stat().st_size == stat.st_size and accounts.stat().st_mtime_ns == stat.st_mtime_ns
    result, after = _load(tmp_path / "ws", mini)
    assert (before, after) == (120000, 920000)
    assert not {t.kind: t.cached for t in result.tables}["accounts"]


def test_a_still_file_is_not_hashed_again_but_an_edit_behind_its_old_times_is(tmp_path, mini, monkeypatch):
    monkeypatch.setattr(
        workspace_module, "RACY_SECONDS", 0, raising=False
    )  # every file here counts as long still
    hashed: list[str] = []
    digest = hashlib.file_digest
    monkeypatch.setattr(
        hashlib, "file_digest", lambda fh, algo: hashed.append(Path(fh.name).name) or digest(fh, algo)
    )
    _load(tmp_path / "ws", mini)
    assert sorted(hashed) == ["accounts.csv", "events.csv", "tickets.csv", "users.csv"]
    hashed.clear()
    _load(tmp_path / "ws", mini)
    assert hashed == []  # unchanged stat: the remembered digest stands for the bytes
    accounts = mini / "accounts.csv"
    stat = accounts.stat()
    accounts.write_text(accounts.read_text().replace('"$9,600"', '"$9,700"'))
    os.utime(accounts, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    _load(tmp_path / "ws", mini)
    assert hashed == ["accounts.csv"]


def test_a_home_and_sources_under_a_folder_with_an_apostrophe_load(tmp_path, mini):
    folder = tmp_path / "Bob's exports"
    shutil.copytree(mini, folder)
    result, arr = _load(tmp_path / "Bob's home" / "ws", folder)
    assert _rows(result)["accounts"] == 3 and arr == 120000


def test_a_workspace_held_by_another_process_is_busy_with_a_retry_fix(tmp_path, mini, monkeypatch):
    home = tmp_path / "ws"
    _load(home, mini)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(home / "workspace.duckdb")!r})
                print("held", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(workspace_module, "LOCK_WAIT_SECONDS", 0.3, raising=False)
        with pytest.raises(InputError) as err:
            _load(home, mini)
    finally:
        holder.communicate("", timeout=60)
    assert "busy" in err.value.message and "Retry" in err.value.message
    result, _ = _load(home, mini)  # the holder is gone: the workspace is whole
    assert all(t.cached for t in result.tables)


def test_the_dataset_summary_the_mcp_tools_return_says_the_workspace_was_rebuilt(tmp_path, mini):
    from customer_health.tools.data.description import describe_load

    home = tmp_path / "ws"
    _load(home, mini)
    _damage_garbage(home / "workspace.duckdb")
    again, _ = _load(home, mini)
    (note,) = again.workspace_notes
    assert describe_load(again).summary.endswith(note)
