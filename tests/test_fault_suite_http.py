"""The HTTP server under attack and bad luck: several MCP sessions at once, each with a dataset of its own, between
bad requests (no token or a wrong one, a foreign Host or Origin, malformed JSON-RPC, a huge body, a session id that
is not theirs), adversarial and fuzzed tool arguments, and a client killed in the middle of a call. Whatever arrives,
a tool answers with a normal result or a short readable error (no traceback), a session never sees another's data,
no source file changes, and the server keeps answering, then stops cleanly when told to.

The server is a real process (tests/server/mcp/test_http.py starts it) reached with the SDK's HTTP client and with
raw requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import MCPError

from tests.server.mcp.test_http import (
    INITIALIZE,
    RAW_HEADERS,
    TOKEN,
    _env,
    accounts,
    client,
    http_server,
    two_exports,
)

ERROR_CAP = 4_000  # an error result: the 2,000-character message and the SDK's few words around it
AUTH = {"authorization": f"Bearer {TOKEN}"}


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def readable(result):
    """`result` is a normal answer or a short readable error, with no traceback either way."""
    text = text_of(result)
    assert "Traceback" not in text and 'File "/' not in text, text[:2_000]
    if result.is_error:
        assert 0 < len(text) <= ERROR_CAP, text[:500]
    return result


async def attempt(c, tool: str, args: dict):
    """A call whose rejection may come as an error result or as a protocol error: either must be readable."""
    try:
        return readable(await c.call_tool(tool, args))
    except MCPError as exc:
        message = str(exc)
        assert "Traceback" not in message and len(message) <= ERROR_CAP, message[:500]
        return None


def seven_accounts_csv() -> str:
    rows = ["account_id,name,segment,arr,seats_purchased,contract_start,renewal_date,csm_owner"]
    rows += [f"P-{i},Pasted {i},MM,{50_000 + i},{5 + i},2025-03-01,2027-03-01,Lee" for i in range(7)]
    return "\n".join(rows) + "\n"


def big_events(folder: Path, rows: int) -> Path:
    """An export whose load takes a while: a client can be killed while the server reads it."""
    accounts(folder, 40)
    with (folder / "users.csv").open("w") as fh:
        fh.write(
            "user_id,account_id,role\n" + "".join(f"u{i},ACC-{i % 40:03d},analyst\n" for i in range(200))
        )
    with (folder / "events.csv").open("w") as fh:
        fh.write("timestamp,user_id,event\n")
        fh.writelines(
            f"2026-0{1 + i % 9}-{1 + i % 28:02d}T10:00:00Z,u{i % 200},e_{i % 97}\n" for i in range(rows)
        )
    return folder


@pytest.fixture
def work(tmp_path):
    work = two_exports(tmp_path)
    big_events(work / "big", 400_000)
    os.mkfifo(work / "pipe.csv")  # a path that would hang a reader
    return work


# the adversarial arguments every session sends between its own calls
ADVERSARIAL = [
    ("load_data", {"paths": ["x" * 1_000_000]}),  # a huge argument, echoed back at most in part
    ("load_data", {"paths": ["../../../../../../etc/passwd"]}),
    ("load_data", {"paths": ["pipe.csv"]}),
    ("load_data", {"paths": ["/dev/zero"]}),
    ("load_data", {"csv_text": "a," * 1_000_001}),  # over the paste limit
    ("load_data", {}),
    ("get_account_card", {"account_id": "NOPE" * 50_000}),
    ("score_accounts", {"as_of": "9999-12-31"}),
    ("score_accounts", {"as_of": "0001-01-01"}),
    ("score_accounts", {"profile": "/etc/passwd"}),
    ("score_accounts", {"limit": 0}),
    ("score_accounts", {"limit": "all of them"}),
    ("analyze_funnel", {"steps": [f"step_{i}" for i in range(1_000)]}),
    ("check_draft", {"text": "y" * 200_001, "kind": "qbr"}),
    ("validate_health_model", {"outcomes": "/etc/shadow"}),
    ("fit_health_profile", {"out": "/etc/cron.d/evil.yaml"}),
    ("no_such_tool", {}),
]


async def own_session(url: str, load: dict, rows: int, seen: dict[str, list[int]], label: str) -> None:
    """A client that loads its own dataset and checks, between adversarial calls, that it still sees it."""
    async with client(url, TOKEN) as c:
        assert not readable(await c.call_tool("load_data", load)).is_error
        for step in range(3):
            for tool, args in ADVERSARIAL[step::3]:
                await attempt(c, tool, args)
                await anyio.sleep(0)
            described = readable(await c.call_tool("describe_dataset", {}))
            scored = readable(await c.call_tool("score_accounts", {"include_all": True}))
            seen[label] += [
                sum(t["rows"] for t in described.structured_content["tables"]),
                scored.structured_content["total_rows"],
            ]
        table = await c.read_resource("table://score")
        seen[label].append(len(table.contents[0].text.strip().splitlines()) - 1)


async def bad_requests(url: str) -> dict[str, int]:
    """Requests a server must turn away, each with the status it got."""
    host = url.split("/")[2]
    got = {}
    async with httpx2.AsyncClient(timeout=120) as h:

        async def post(name: str, body: bytes | None = None, **headers: str) -> httpx2.Response:
            content = body if body is not None else json.dumps(INITIALIZE).encode()
            response = await h.post(url, content=content, headers=RAW_HEADERS | headers)
            got[name] = response.status_code
            assert "Traceback" not in response.text
            return response

        opened = await post("initialize", **AUTH)
        theirs = opened.headers["mcp-session-id"]  # a session of another client, then tried by others
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "describe_dataset"}}
        await post("no token")
        await post("wrong token", authorization="Bearer guess-guess-guess-guess")
        await post("not bearer", authorization=f"Basic {TOKEN}")
        await post("foreign host", host="evil.example", **AUTH)
        await post("foreign origin", origin="http://evil.example", **AUTH)
        await post("malformed json", b'{"jsonrpc": "2.0", "id": 1, "method": ', **AUTH)
        await post("not json-rpc", b'{"hello": "world"}', **AUTH)
        await post("garbage batch", b"[1, 2, 3]", **AUTH)
        await post("huge body", b'{"x": "' + b"a" * 6_000_000 + b'"}', **AUTH)
        await post("unknown session", json.dumps(call).encode(), **AUTH, **{"mcp-session-id": "f" * 32})
        await post("their session, no token", json.dumps(call).encode(), **{"mcp-session-id": theirs})
        await post(
            "their session, wrong token",
            json.dumps(call).encode(),
            authorization="Bearer guess-guess-guess-guess",
            **{"mcp-session-id": theirs},
        )
        got["their session, foreign host"] = (
            await h.post(
                url,
                content=json.dumps(call).encode(),
                headers=RAW_HEADERS | AUTH | {"host": "evil.example", "mcp-session-id": theirs},
            )
        ).status_code
        ended = await h.delete(url, headers=AUTH | {"mcp-session-id": theirs, "host": host})
        got["close their session"] = ended.status_code
    return got


KILLED_CLIENT = """
import anyio, sys
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

async def go():
    async with create_mcp_http_client(headers={"authorization": "Bearer " + sys.argv[2]}) as http:
        async with Client(streamable_http_client(sys.argv[1], http_client=http), mode="legacy") as c:
            print("calling", flush=True)
            await c.call_tool("load_data", {"paths": ["big"]})

anyio.run(go)
"""


def kill_a_client_mid_call(url: str, work: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_CLIENT, url, TOKEN], cwd=work, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "calling"
    time.sleep(0.5)  # the load is under way
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_concurrent_sessions_between_bad_requests_keep_their_own_data_and_the_server_serves_on(work):
    before = digests(work)
    seen: dict[str, list[int]] = {"twelve": [], "thirty": [], "pasted": []}

    async def storm(url: str) -> dict[str, int]:
        statuses = {}

        async def turned_away() -> None:
            statuses.update(await bad_requests(url))

        async with anyio.create_task_group() as tg:
            tg.start_soon(own_session, url, {"paths": ["twelve"]}, 12, seen, "twelve")
            tg.start_soon(own_session, url, {"paths": ["thirty"]}, 30, seen, "thirty")
            tg.start_soon(
                own_session, url, {"csv_text": seven_accounts_csv(), "name": "accounts"}, 7, seen, "pasted"
            )
            tg.start_soon(turned_away)
            tg.start_soon(anyio.to_thread.run_sync, kill_a_client_mid_call, url, work)
        return statuses

    async def still_answering(url: str):
        async with client(url, TOKEN) as c:
            return readable(await c.call_tool("load_data", {"paths": ["twelve/accounts.csv"]}))

    with http_server(work, env=_env(work, CUSTOMER_HEALTH_TOKEN=TOKEN)) as server:
        statuses = anyio.run(storm, server.url)
        after = anyio.run(still_answering, server.url)
    assert seen == {"twelve": [12] * 7, "thirty": [30] * 7, "pasted": [7] * 7}  # never another session's rows
    assert statuses == {
        "initialize": 200,
        "no token": 401,
        "wrong token": 401,
        "not bearer": 401,
        "foreign host": 421,
        "foreign origin": 403,
        "malformed json": 400,
        "not json-rpc": 400,
        "garbage batch": 400,
        "huge body": 413,
        "unknown session": 404,
        "their session, no token": 401,
        "their session, wrong token": 401,
        "their session, foreign host": 421,
        "close their session": 200,
    }
    assert not after.is_error and after.structured_content["tables"][0]["rows"] == 12
    assert server.proc.returncode == 0  # stopped cleanly when told to (SIGTERM)
    log = server.err.read_text()
    assert "Traceback" not in log and TOKEN not in log and server.out.read_text() == ""
    assert digests(work) == before  # no source changed
    assert not list((work.parent / "ws" / "sessions").iterdir())  # every session's scratch went with it


# --- fuzzed arguments -----------------------------------------------------------------------------------------------
TOOLS = ["score_accounts", "risk_signals", "get_account_card", "analyze_funnel", "usage_trends", "load_data",
         "describe_dataset", "portfolio_summary", "cohort_retention", "seat_utilization", "check_draft"]  # fmt: skip
NAMES = ["account_id", "as_of", "profile", "limit", "steps", "window_days", "weeks", "months", "paths", "csv_text",
         "owner", "segment", "priority", "include_all", "top_n", "period_months", "text", "kind", "by", "x"]  # fmt: skip
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "9999-12-31",
            "1899-12-31",
            "2026-02-30",
            "../../etc/passwd",
            "pipe.csv",
            "twelve",
            "ACC-001",
            "'; DROP TABLE accounts; --",
            "\u202e",
            "\x00",
            "table://score",
        ]
    )  # fmt: skip
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz") / "work"
    accounts(work / "twelve", 12)
    os.mkfifo(work / "pipe.csv")
    before = digests(work)
    with http_server(work, env=_env(work, CUSTOMER_HEALTH_TOKEN=TOKEN)) as server:
        yield server, work
    assert digests(work) == before
    assert "Traceback" not in server.err.read_text() and server.proc.returncode == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tool=st.sampled_from(TOOLS), args=st.dictionaries(st.sampled_from(NAMES), JSON, max_size=4))
def test_fuzzed_tool_arguments_get_a_result_or_a_readable_error(fuzz_server, tool, args):
    server, _ = fuzz_server

    async def go():
        async with client(server.url, TOKEN) as c:
            await attempt(c, "load_data", {"paths": ["twelve"]})
            await attempt(c, tool, args)
            described = readable(await c.call_tool("describe_dataset", {}))  # the session still serves
            return described

    described = anyio.run(go)
    assert not described.is_error
