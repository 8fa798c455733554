"""Hostile and unlucky inputs through both faces: the CLI exits 2 with a message naming the file and the fix (never
a traceback, never a hang), the MCP server answers with an error result of bounded length, and neither echoes a
file it was not allowed to read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from customer_health.server.cli.main import main
from customer_health.server.mcp.server import build_server
from customer_health.tools.base.errors import MAX_MESSAGE_CHARS
from customer_health.tools.data.workspace import example_dir
from mcp import Client

SECRET = "aws_secret_access_key: AKIA-NOT-REAL\ndb_password: hunter2-SECRET\n"
LEAKS = ("aws_secret_access_key", "db_password", "hunter2", "AKIA")


@pytest.fixture
def work(tmp_path, monkeypatch):
    """The example data in a working directory, a secret profile and an export outside the allowed folders."""
    root = tmp_path / "work"
    root.mkdir()
    shutil.copytree(example_dir(), root / "sample")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "prof.yaml").write_text(SECRET)
    (outside / "tickets.csv").write_text("account_id,created_at\nSECRET-CO,2026-01-01\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CUSTOMER_HEALTH_ALLOW", raising=False)
    return root, outside


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def mcp_calls(home: Path, calls: list[tuple[str, dict]]) -> list:
    async def go():
        server = build_server(home=home)
        async with Client(server) as c:
            out = [await c.call_tool(name, args) for name, args in calls]
        server.session_state.close()
        return out

    return anyio.run(go)


def test_a_profile_outside_the_allowed_folders_is_refused_and_its_secrets_never_shown(work, capsys):
    _, outside = work
    code, text = cli(capsys, "score", "sample", "--profile", str(outside / "prof.yaml"))
    assert code == 2 and "outside the folders" in text
    assert not any(leak in text for leak in LEAKS)


def test_a_link_in_a_loaded_folder_leading_outside_is_refused_over_the_cli_and_mcp(work, tmp_path, capsys):
    root, outside = work
    os.symlink(outside / "tickets.csv", root / "sample" / "more_tickets.csv")
    code, text = cli(capsys, "score", "sample", "--format", "json")
    assert code == 2 and "more_tickets.csv" in text and "outside the folders" in text
    assert "SECRET-CO" not in text
    loaded, scored = mcp_calls(
        tmp_path / "mcp-home",
        [("load_data", {"paths": ["sample"]}), ("score_accounts", {"profile": str(outside / "prof.yaml")})],
    )
    assert loaded.is_error and "outside the folders" in loaded.content[0].text
    assert "SECRET-CO" not in loaded.content[0].text


def test_the_mcp_profile_argument_outside_the_allowed_folders_is_an_error_without_the_secret(work, tmp_path):
    _, outside = work
    _, scored = mcp_calls(
        tmp_path / "mcp-home",
        [("load_data", {"paths": ["sample"]}), ("score_accounts", {"profile": str(outside / "prof.yaml")})],
    )
    text = scored.content[0].text
    assert scored.is_error and "outside the folders" in text
    assert not any(leak in text for leak in LEAKS)


def test_an_mcp_error_echoing_a_huge_argument_is_capped(work, tmp_path):
    _, funnel = mcp_calls(
        tmp_path / "mcp-home",
        [
            ("load_data", {"paths": ["sample"]}),
            ("analyze_funnel", {"steps": ["q" * 1_000_000, "import_data"]}),
        ],
    )
    assert funnel.is_error
    text = funnel.content[0].text  # the SDK puts "Error executing tool analyze_funnel: " before the message
    assert len(text) <= MAX_MESSAGE_CHARS + 100 and "(truncated)" in text and "Fix:" in text


def test_a_funnel_of_400_steps_is_refused_over_both_faces(work, tmp_path, capsys):
    steps = ",".join(f"s{i}" for i in range(400))
    code, text = cli(capsys, "funnel", "sample", "--steps", steps)
    assert code == 2 and "at most 20 steps" in text
    _, funnel = mcp_calls(
        tmp_path / "mcp-home",
        [("load_data", {"paths": ["sample"]}), ("analyze_funnel", {"steps": steps.split(",")})],
    )
    assert funnel.is_error and "at most 20 steps" in funnel.content[0].text


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "wide.csv",
            ",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n",
            "10,000 columns; at most 2,000",
        ),
        ("big.csv", "account_id,name,arr\nA1," + "x" * 5_000_000 + ",10\n", "4,000,000 bytes"),
        ("bad.jsonl", '{"account_id": "A1", "name": "a"}\n{"account_id": oops\n', "line 2"),
    ],
)
def test_files_past_a_limit_exit_2_naming_it(work, capsys, name, content, expected):
    Path(name).write_text(content)
    code, text = cli(capsys, "load", name)
    assert code == 2 and expected in text and "internal error" not in text


def test_a_symlink_loop_and_an_overlong_name_exit_2(work, capsys):
    os.symlink("loop.csv", "loop.csv")
    code, text = cli(capsys, "load", "loop.csv")
    assert code == 2 and "loop" in text
    code, text = cli(capsys, "load", "x" * 300 + ".csv")
    assert code == 2 and "longer than the file system allows" in text


def test_a_fifo_exits_2_at_once_instead_of_hanging(work):
    root, _ = work
    os.mkfifo(root / "events.csv")
    done = subprocess.run(
        [sys.executable, "-m", "customer_health.server.cli.main", "load", "events.csv"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CUSTOMER_HEALTH_HOME": str(root.parent / "home")},
    )
    assert done.returncode == 2 and "named pipe" in done.stderr and "Traceback" not in done.stderr


def test_a_date_outside_1900_to_2100_in_the_data_is_reported_not_used(work, capsys):
    Path("accounts.csv").write_text(
        "account_id,name,arr,renewal_date\nA1,Acme,10,9999-12-31\nA2,Beta,20,2026-03-01\n"
    )
    code, text = cli(capsys, "load", "accounts.csv", "--format", "json")
    assert code == 0 and "row 2: 9999-12-31" in text
