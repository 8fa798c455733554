"""One path policy for every file the product opens: resolved through links, inside the allowed folders, a regular
file — and an error that names the path and the fix, never what the file holds."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.paths import AllowedRoots, read_text, readable
from customer_health.tools.data.workspace import Workspace, read_mapping_file
from customer_health.tools.health.profiles import load_profile

ACCOUNTS = "account_id,name,arr\nA1,Acme,1000\nA2,Beta,2000\n"
SECRET = "aws_secret_access_key: AKIA-NOT-REAL\npassword: hunter2-SECRET\n"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A working directory with a data folder, and a folder outside the allowed ones."""
    work, outside = tmp_path / "work", tmp_path / "outside"
    (work / "data").mkdir(parents=True)
    outside.mkdir()
    (work / "data" / "accounts.csv").write_text(ACCOUNTS)
    (outside / "secret.csv").write_text(ACCOUNTS.replace("Acme", "Hidden Corp"))
    (outside / "secret.yaml").write_text(SECRET)
    monkeypatch.chdir(work)
    monkeypatch.delenv("CUSTOMER_HEALTH_ALLOW", raising=False)
    return work, outside


def _load(tmp_path, *paths, **kwargs):
    with Workspace(tmp_path / "home") as ws:
        return ws.load(list(paths), **kwargs)


def test_a_link_inside_a_loaded_folder_that_leads_outside_is_refused_and_nothing_is_read(tree, tmp_path):
    work, outside = tree
    (work / "data" / "events.csv").symlink_to(outside / "secret.csv")
    with pytest.raises(InputError) as err:
        _load(tmp_path, work / "data")
    assert "outside the folders" in err.value.message and "events.csv" in err.value.message
    assert "Hidden Corp" not in err.value.message


def test_a_link_inside_a_folder_that_stays_inside_the_allowed_folders_loads_under_its_own_name(
    tree, tmp_path
):
    work, _ = tree
    (work / "exports").mkdir()
    (work / "exports" / "acc_2024.csv").write_text(ACCOUNTS)
    (work / "data" / "accounts.csv").unlink()
    (work / "data" / "accounts.csv").symlink_to(work / "exports" / "acc_2024.csv")
    result = _load(tmp_path, work / "data")
    assert [(t.kind, t.source, t.rows) for t in result.tables] == [("accounts", "accounts.csv", 2)]


def test_a_profile_outside_the_allowed_folders_is_refused_without_echoing_its_content(tree):
    _, outside = tree
    with pytest.raises(InputError) as err:
        load_profile(str(outside / "secret.yaml"))
    text = err.value.message
    assert "outside the folders" in text
    for secret in ("aws_secret_access_key", "hunter2", "password", "AKIA"):
        assert secret not in text


def test_a_profile_inside_the_working_directory_still_loads_and_a_missing_one_says_so(tree):
    work, _ = tree
    (work / "mine.yaml").write_text("extends: usage_based\nname: mine\n")
    assert load_profile("mine.yaml").name == "mine"
    with pytest.raises(InputError, match="does not exist"):
        load_profile("nope.yaml")


def test_a_profile_with_broken_yaml_names_the_line_not_the_text_around_it(tree):
    work, _ = tree
    (work / "broken.yaml").write_text("name: x\npassword: hunter2-SECRET: x\n")
    with pytest.raises(InputError) as err:
        load_profile("broken.yaml")
    assert "not valid YAML" in err.value.message and "hunter2" not in err.value.message


def test_a_mapping_file_with_broken_yaml_never_echoes_its_text(tree):
    work, _ = tree
    (work / "map.yaml").write_text("files: {\n  token: hunter2-SECRET: x\n")
    with pytest.raises(InputError) as err:
        read_mapping_file(work / "map.yaml")
    assert "hunter2" not in err.value.message and "map.yaml" in err.value.message


def test_a_config_outside_the_allowed_folders_is_refused(tree, tmp_path):
    work, outside = tree
    (outside / "customer-health.yaml").write_text("core_features: [x]\n")
    with pytest.raises(InputError, match="outside the folders"):
        _load(tmp_path, work / "data", config=outside / "customer-health.yaml")


def test_a_fifo_is_refused_before_it_is_opened(tree, tmp_path):
    work, _ = tree
    os.mkfifo(work / "data" / "events.csv")  # opening it for reading would block until a writer came
    with pytest.raises(InputError, match="named pipe"):
        _load(tmp_path, work / "data" / "events.csv")
    with pytest.raises(InputError, match="named pipe"):
        _load(tmp_path, work / "data")
    with pytest.raises(InputError, match="named pipe"):
        readable(work / "data" / "events.csv")


def test_a_socket_and_a_device_are_refused(tree, tmp_path):
    work, _ = tree
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind("s.csv")
        with pytest.raises(InputError, match="a socket"):
            _load(tmp_path, work / "s.csv")
    finally:
        sock.close()
    with pytest.raises(InputError, match="a device"):
        _load(tmp_path, Path("/dev/zero"), roots=AllowedRoots.from_env(["/dev"]))
    with pytest.raises(InputError, match="a device"):
        readable(Path("/dev/zero"))


def test_a_symlink_loop_and_an_overlong_name_are_input_errors(tree, tmp_path):
    work, _ = tree
    (work / "loop.csv").symlink_to(work / "loop.csv")
    with pytest.raises(InputError, match="loop"):
        _load(tmp_path, work / "loop.csv")
    with pytest.raises(InputError, match="longer than the file system allows"):
        _load(tmp_path, work / ("x" * 300 + ".csv"))


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_and_folder_are_input_errors(tree, tmp_path):
    work, _ = tree
    locked = work / "locked.csv"
    locked.write_text(ACCOUNTS)
    locked.chmod(0)
    shut = work / "shut"
    shut.mkdir()
    shut.chmod(0)
    try:
        with pytest.raises(InputError, match="permission denied"):
            _load(tmp_path, locked)
        with pytest.raises(InputError, match="permission denied"):
            _load(tmp_path, shut)
    finally:
        locked.chmod(0o644)
        shut.chmod(0o755)


def test_settings_files_are_read_only_when_small_regular_and_allowed(tree):
    work, outside = tree
    (work / "big.yaml").write_bytes(b"a: 1\n" * 2_000_000)
    with pytest.raises(InputError, match="settings file may be at most"):
        read_text("big.yaml")
    with pytest.raises(InputError, match="outside the folders"):
        read_text(outside / "secret.yaml")
    real, text = read_text(outside / "secret.yaml", AllowedRoots.from_env([outside]))
    assert real == (outside / "secret.yaml").resolve() and text == SECRET


def test_a_folder_that_cannot_be_listed_is_an_input_error(tree, tmp_path, monkeypatch):
    work, _ = tree
    real_listdir = os.listdir

    def refuse(path="."):
        if os.fspath(path).endswith("data"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", refuse)
    with pytest.raises(InputError, match="permission denied"):
        _load(tmp_path, work / "data")
