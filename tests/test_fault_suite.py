"""The command line under fuzzed files and injected faults: whatever the exports hold and whatever happens to the
workspace, a command ends with exit code 0 or 2, never prints a traceback, never changes a source file and never
loses what the workspace already held.

Fuzzing drives `main()` in-process (a subprocess per example would spend its time importing); killed and concurrent
processes are real processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from customer_health.server.cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tools.data.test_workspace_faults import read_only_folder, small_tmpfs

MINI = Path(__file__).resolve().parent / "data" / "mini"
MINI_ROWS = {"accounts": 3, "users": 6, "events": 13, "tickets": 4}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err


def digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def loaded_tables(*argv: str) -> dict[str, tuple[int, bool]]:
    """kind → (rows, cached) of a `load --format json`."""
    import json

    code, out, err = cli("load", *argv, "--format", "json")
    assert code == 0, err
    return {t["kind"]: (t["rows"], t["cached"]) for t in json.loads(out)["tables"]}


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory holding the mini exports (loaded once, so the workspace has something to lose)."""
    root = tmp_path / "work"
    shutil.copytree(MINI, root / "mini")
    monkeypatch.chdir(root)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CUSTOMER_HEALTH_ALLOW", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert {k: rows for k, (rows, _) in loaded_tables("mini").items()} == MINI_ROWS
    return root


# -- fuzzed exports ------------------------------------------------------------------------------------------------

HEADERS = [
    "account_id", "user_id", "timestamp", "event", "arr", "seats", "renewal_date", "created_at", "score",
    "status", "name", "segment", "amount", "month", "Account ID", "Event Time", "", "ÿ", "名前", "a,b", '"q"',
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["", "NaN", "Infinity", "-0", "1e308", "9" * 40, "$1,234.56", "1.234,56", "0001-01-01",
                     "9999-12-31", "2025-02-30", "31/12/2025", "20251231", "yes", "null", '{"a": [1, 2]}',
                     "A1", "u1", "login", "\u202eevil", "line\nbreak", "🙂"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=12),
)  # fmt: skip


@st.composite
def export_files(draw) -> tuple[str, bytes]:
    """One file as an export folder might hold it: a CSV of fuzzed headers and values, or junk."""
    shape = draw(st.sampled_from(["csv", "csv", "csv", "empty", "junk", "json"]))
    if shape == "empty":
        return draw(st.sampled_from(["accounts.csv", "events.csv", "x.parquet", "x.xlsx"])), b""
    if shape == "junk":
        name = draw(st.sampled_from(["accounts.csv", "events.parquet", "users.xlsx", "tickets.jsonl"]))
        return name, draw(st.binary(min_size=1, max_size=300))
    if shape == "json":
        body = draw(st.sampled_from(['{"account_id": "A1"', "[1, 2", '{"a": 1}\nnot json\n', "[]", "{}"]))
        return draw(st.sampled_from(["accounts.json", "events.jsonl"])), body.encode()
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(VALUES, min_size=len(header), max_size=len(header)), max_size=6))
    delim = draw(st.sampled_from([",", ";", "\t"]))

    def line(cells: list[str]) -> str:
        return delim.join(
            '"' + c.replace('"', '""') + '"' if set(c) & {delim, '"', "\n"} else c for c in cells
        )

    text = "\n".join([line(header), *(line(r) for r in rows)]) + draw(st.sampled_from(["\n", "", "\r\n"]))
    name = draw(st.sampled_from(["accounts.csv", "events.csv", "users.csv", "tickets.csv", "data.csv"]))
    return name, text.encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), errors="replace")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=st.lists(export_files(), min_size=1, max_size=3, unique_by=lambda f: f[0]), alone=st.booleans())
def test_fuzzed_exports_end_in_0_or_2_change_no_source_and_lose_nothing(work, files, alone):
    folder = work / "fuzz"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    if not alone:  # fuzzed files beside good ones, as a real folder mixes them
        for good in MINI.iterdir():
            shutil.copy(good, folder / good.name)
    for name, body in files:
        (folder / name).write_bytes(body)
    before = digests(folder)
    for command in (["load", "fuzz"], ["score", "fuzz"], *([["load", f"fuzz/{n}"] for n, _ in files[:1]])):
        code, _, err = cli(*command)
        assert_clean(code, err)
    assert digests(folder) == before
    # nothing lost: the dataset loaded before the fuzzing is still in the workspace, every table served from it
    assert loaded_tables("mini") == {k: (rows, True) for k, rows in MINI_ROWS.items()}


# -- the workspace's faults through the command line -----------------------------------------------------------------


def test_a_command_in_a_folder_with_an_apostrophe_loads_and_scores(tmp_path, monkeypatch):
    root = tmp_path / "Bob's work"
    shutil.copytree(MINI, root / "mini")
    monkeypatch.chdir(root)
    monkeypatch.delenv("CUSTOMER_HEALTH_HOME", raising=False)  # the default home: <cwd>/.customer-health
    assert cli("load", "mini")[0] == 0
    code, out, err = cli("score", "mini")
    assert code == 0 and "A1" in out, err


def test_a_damaged_workspace_is_rebuilt_and_the_command_says_so(work, tmp_path):
    db = tmp_path / "home" / "workspace.duckdb"
    db.write_bytes(b"\0garbage" * 1000)
    code, out, err = cli("score", "mini")
    assert code == 0 and "A1" in out
    assert "could not be read" in err and "workspace.duckdb.damaged-" in err


def test_a_read_only_home_exits_2_with_the_fix(work, tmp_path):
    undo = read_only_folder(tmp_path / "home")
    if undo is None:
        pytest.skip("no way to make a folder read-only here")
    try:
        code, _, err = cli("score", "mini")
    finally:
        undo()
    assert_clean(code, err)
    assert code == 2 and "cannot be written to" in err and "CUSTOMER_HEALTH_HOME" in err


def test_a_full_disk_exits_2_with_the_fix_and_never_0_after_skipping_a_table(work, tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    undo = small_tmpfs(disk, "2m") if os.geteuid() == 0 else None
    if undo is None:
        pytest.skip("mounting a small tmpfs needs root")
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(disk / "home"))
    rng = random.Random(1)
    with (work / "mini" / "events.csv").open("a") as fh:
        fh.writelines(
            f"2025-11-03T10:00:00Z,u{1 + i % 6},e_{rng.getrandbits(64):016x}\n" for i in range(200_000)
        )
    try:
        for command in ("load", "score"):
            code, _, err = cli(command, "mini")
            assert_clean(code, err)
            assert code == 2 and "disk holding the workspace is full" in err
    finally:
        undo()


def _cli_process(home: Path, cwd: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "customer_health.server.cli.main", *argv],
        cwd=cwd,
        env={**os.environ, "CUSTOMER_HEALTH_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _big_events(folder: Path, rows: int) -> None:
    rng = random.Random(2)
    with (folder / "events.csv").open("a") as fh:
        fh.writelines(
            f"2025-11-{1 + i % 28:02d}T10:00:00Z,u{1 + i % 6},e_{rng.randrange(500)}\n" for i in range(rows)
        )


@pytest.mark.parametrize("after", [0.2, 1.0, 2.5])
def test_a_load_killed_midway_leaves_a_workspace_the_next_command_uses(work, tmp_path, after):
    _big_events(work / "mini", 300_000)
    victim = _cli_process(tmp_path / "home", work, "load", "mini")
    time.sleep(after)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    code, out, err = cli("score", "mini")
    assert code == 0 and "A1" in out, err
    assert {k: rows for k, (rows, _) in loaded_tables("mini").items()} == {
        **MINI_ROWS,
        "events": 13 + 300_000,
    }


def test_two_loads_at_once_on_one_workspace_both_finish_or_say_busy(work, tmp_path):
    _big_events(work / "mini", 100_000)
    both = [_cli_process(tmp_path / "home", work, "load", "mini") for _ in range(2)]
    ends = [(p.wait(timeout=300), p.communicate()[1]) for p in both]
    for code, err in ends:
        assert_clean(code, err)
        assert code == 0 or "busy" in err
    assert loaded_tables("mini")["events"] == (13 + 100_000, True)


def test_a_disk_filling_up_during_an_analysis_exits_2_with_the_fix(tmp_path, monkeypatch, capsys):
    import duckdb
    from customer_health.tools.reports import pipeline

    def full(*_a, **_k):
        raise duckdb.IOException("IO Error: Could not write file: No space left on device")

    shutil.copytree(Path(__file__).parent / "data" / "mini", tmp_path / "mini")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "ws"))
    monkeypatch.setattr(pipeline, "_analyze", full)
    assert main(["score", "mini"]) == 2
    err = capsys.readouterr().err
    assert "disk holding the workspace filled up" in err and "internal error" not in err


def test_a_fifo_given_to_the_stdio_mcp_server_is_refused_at_once_and_stdin_eof_stops_it(work, tmp_path):
    os.mkfifo(work / "pipe.csv")
    serve = [str(Path(sys.executable).parent / "customer-health"), "serve"]
    env = {**os.environ, "CUSTOMER_HEALTH_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        serve, cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    call = {"name": "load_data", "arguments": {"paths": ["pipe.csv"]}}
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call},
    ):
        proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()
    watchdog = threading.Timer(
        60, proc.kill
    )  # a wedged server never answers: end it rather than hang the suite
    watchdog.start()
    try:
        answers = [json.loads(proc.stdout.readline() or "null") for _ in range(2)]
    finally:
        watchdog.cancel()
    assert None not in answers, "the server did not answer within 60 s"
    proc.stdin.close()  # the client goes away
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the server did not stop when its standard input closed")
    err = proc.stderr.read().decode()
    refused = answers[1]["result"]
    assert refused["isError"] and "pipe.csv" in refused["content"][0]["text"]
    assert code == 0 and "Traceback" not in err
