"""The `customer-health` command line: the load contract, exit codes, and errors without tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from customer_health.server.cli.main import main

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "ws"))
    shutil.copytree(DATA / "mini", tmp_path / "mini")
    return tmp_path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "customer_health.server.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CUSTOMER_HEALTH_HOME": str(cwd / "ws")},
    )


def test_load_json_has_the_contract_keys(in_tmp, capsys):
    assert main(["load", "mini", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"dataset_id", "tables", "quality"} <= set(out)
    events = next(t for t in out["tables"] if t["kind"] == "events")
    assert {"kind", "source", "rows", "columns"} <= set(events)
    assert events["source"] == "events.csv" and events["rows"] == 13
    assert events["columns"] == {"timestamp": "timestamp", "user_id": "user_id", "event": "event"}
    assert {"tables", "issues", "latest_date", "outcome_columns", "semantics"} <= set(out["quality"])


def test_load_table_output_lists_each_table_and_the_warnings(in_tmp, capsys):
    assert main(["load", "mini"]) == 0
    out = capsys.readouterr().out
    for kind in ("accounts", "users", "events", "tickets"):
        assert kind in out
    assert "Quality: 4 warning(s)" in out
    assert "u9" in out


def test_a_mapping_file_forces_columns(in_tmp, capsys):
    (in_tmp / "odd.csv").write_text("when,who,did\n2025-01-01T10:00:00,u1,login\n")
    (in_tmp / "map.yaml").write_text("columns:\n  events: {timestamp: when, user_id: who, event: did}\n")
    assert main(["load", "odd.csv", "--map", "map.yaml", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tables"][0]["kind"] == "events"
    assert out["tables"][0]["columns"] == {"timestamp": "when", "user_id": "who", "event": "did"}


def test_a_bad_mapping_key_is_exit_code_2_naming_the_key(in_tmp, capsys):
    (in_tmp / "map.yaml").write_text("columns:\n  events: {when: ts}\n")
    assert main(["load", "mini", "--map", "map.yaml"]) == 2
    err = capsys.readouterr().err
    assert "columns.events.when" in err and "timestamp" in err


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"", "empty.csv", "is empty"),
        (b"account_id,name\n", "header.csv", "no data rows"),
        (bytes(range(256)) * 8, "garbage.csv", "binary"),
        (b"account_id,name\nA1,x\n", "renamed.xlsx", "Rename it to .csv"),
        (b"account_id,name\nA1,x\nA2,y,z\n", "ragged.csv", "row 3"),
        (b"colour,flavour\nred,sweet\n", "unknown.csv", "Closest"),
        (b"[1, 2, 3]", "numbers.json", "not a list of records"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(in_tmp, content, name, expected):
    (in_tmp / name).write_bytes(content)
    proc = run_cli("load", name, cwd=in_tmp)
    assert proc.returncode == 2, proc.stderr
    assert name in proc.stderr and expected in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert (in_tmp / name).read_bytes() == content


def test_a_path_outside_the_allowed_roots_exits_2(in_tmp):
    proc = run_cli("load", "/etc/hostname", cwd=in_tmp)
    assert proc.returncode == 2
    assert "outside the folders" in proc.stderr and "--allow" in proc.stderr


def test_allow_lets_a_folder_outside_the_working_directory_in(in_tmp, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere")
    shutil.copy(DATA / "mini" / "accounts.csv", other / "accounts.csv")
    proc = run_cli("load", str(other / "accounts.csv"), "--allow", str(other), "--format", "json", cwd=in_tmp)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tables"][0]["rows"] == 3
