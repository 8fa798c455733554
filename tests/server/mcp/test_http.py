"""The server over streamable HTTP as a team would run it: a real process on a free port, reached with the SDK's
HTTP client and with raw requests for the header cases. Each client keeps its own dataset and its own roots; a token
is required off loopback and checked on every request; Host and Origin headers must be allowed ones; stdout stays
empty."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from customer_health.server.mcp.http import Guard, team_tokens, transport_security
from customer_health.server.mcp.session import Sessions, current_key
from customer_health.tools.base.errors import InputError
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import ClientCapabilities, Implementation, InitializeRequestParams, ListRootsResult, Root

BIN = Path(sys.executable).parent
TOKEN = "s3cret-team-token-0123456789"
HELLO = InitializeRequestParams(
    protocol_version="2025-06-18",
    capabilities=ClientCapabilities(),
    client_info=Implementation(name="t", version="1"),
)
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": HELLO.model_dump(mode="json", by_alias=True),
}
RAW_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def accounts(folder: Path, n: int) -> Path:
    """An accounts export of `n` customers."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["account_id,name,segment,arr,seats_purchased,contract_start,renewal_date,csm_owner"]
    rows += [
        f"ACC-{i:03d},Company {i},SMB,{10_000 + 100 * i},{10 + i},2025-01-01,2027-01-01,Dana"
        for i in range(n)
    ]
    (folder / "accounts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def two_exports(root: Path) -> Path:
    """A working directory under `root` with a 12-account and a 30-account export in it."""
    work = root / "work"
    accounts(work / "twelve", 12)
    accounts(work / "thirty", 30)
    return work


@pytest.fixture
def work(tmp_path):
    """The server's working directory with a 12-account and a 30-account export in it."""
    return two_exports(tmp_path)


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _env(work: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMER_HEALTH")}
    env["CUSTOMER_HEALTH_HOME"] = str(work.parent / "ws")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


class Running:
    def __init__(self, proc: subprocess.Popen, url: str, out: Path, err: Path) -> None:
        self.proc, self.url, self.out, self.err = proc, url, out, err


@contextmanager
def http_server(work: Path, host: str = "127.0.0.1", env: dict[str, str] | None = None, **serve):
    """`serve(transport="http", …)` in a process of its own, once its port answers (generous for a loaded machine);
    stdout and stderr go to files (a full pipe would stall the server)."""
    port = _free_port(host)
    args = json.dumps({"transport": "http", "host": host, "port": port, **serve})
    out, err = work.parent / f"stdout-{port}.txt", work.parent / f"stderr-{port}.txt"
    code = "import json, sys; from customer_health.server.mcp.server import serve; serve(**json.loads(sys.argv[1]))"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, args], cwd=work, env=env or _env(work), stdout=o, stderr=e
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the server stopped: {err.read_text()}"
            try:
                with socket.create_connection((host, port), timeout=0.2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not open its port within 60 s"
                time.sleep(0.1)
        yield Running(proc, f"http://{host}:{port}/mcp", out, err)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@asynccontextmanager
async def client(url: str, token: str | None = None, roots: list[Path] | None = None, mode: str = "legacy"):
    """The SDK's streamable-HTTP client, sending the bearer token and offering `roots` when given; "legacy" mode
    opens an MCP session (Mcp-Session-Id), as Claude Code does; "auto" speaks the sessionless 2026-07-28 protocol."""
    headers = {"authorization": f"Bearer {token}"} if token else None
    extra = {"mode": mode}
    if roots is not None:

        async def list_roots(context) -> ListRootsResult:
            return ListRootsResult(roots=[Root(uri=f.resolve().as_uri(), name=f.name) for f in roots])

        extra["list_roots_callback"] = list_roots
    async with (
        create_mcp_http_client(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), **extra) as c,
    ):
        yield c


def raw_post(url: str, **headers: str) -> httpx2.Response:
    return httpx2.post(url, json=INITIALIZE, headers=RAW_HEADERS | headers, timeout=60)


# --- one dataset per MCP session ----------------------------------------------------------------------------------
def test_each_http_client_keeps_its_own_dataset(work):
    async def go(url):
        async with client(url) as a, client(url) as b:
            await a.call_tool("load_data", {"paths": ["twelve"]})
            await b.call_tool("load_data", {"paths": ["thirty"]})
            answers = (
                await a.call_tool("score_accounts", {}),
                await b.call_tool("score_accounts", {}),
                await a.call_tool("describe_dataset", {}),
            )
            assert Path(
                answers[0].structured_content["full_table"]
            ).is_file()  # there while the session lasts
            return answers

    with http_server(work) as server:
        a_scores, b_scores, a_dataset = anyio.run(go, server.url)
    assert a_scores.structured_content["total_rows"] == 12  # not the 30 client B loaded after it
    assert b_scores.structured_content["total_rows"] == 30
    assert [t["rows"] for t in a_dataset.structured_content["tables"]] == [12]
    assert a_scores.structured_content["full_table"] != b_scores.structured_content["full_table"]


def gone_within(path: Path, within: float = 30) -> bool:
    """Whether `path` is removed within `within` seconds (sessions are cleaned up in the background)."""
    deadline = time.monotonic() + within
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def test_a_session_s_own_files_go_when_its_client_closes_it_and_the_rest_stay(work):
    async def go(url):
        async with client(url) as other:
            await other.call_tool("load_data", {"paths": ["thirty"]})
            kept = await other.call_tool("score_accounts", {})
            async with client(url) as a:
                await a.call_tool("load_data", {"csv_text": (work / "twelve" / "accounts.csv").read_text()})
                scored = await a.call_tool("score_accounts", {})
                scratch = Path(scored.structured_content["full_table"]).parents[1]
                assert {p.name for p in scratch.iterdir()} == {"tables", "pasted"}
            closed = gone_within(scratch)  # the client closed its session (DELETE)
            others = Path(kept.structured_content["full_table"])
            assert others.is_file()  # another session's tables stay while it lasts
            return scored, closed, others

    with http_server(work) as server:
        scored, closed, others = anyio.run(go, server.url)
    assert closed and scored.structured_content["total_rows"] == 12
    assert gone_within(others.parents[1])  # the other client closed its session too
    assert not list((work.parent / "ws" / "sessions").iterdir())


def test_a_new_session_beyond_the_cap_is_refused_with_what_to_do(work):
    async def go(url):
        async with client(url) as first:
            await first.call_tool("describe_dataset", {})
            return raw_post(url)

    with http_server(work, env=_env(work, CUSTOMER_HEALTH_MAX_SESSIONS="1")) as server:
        refused = anyio.run(go, server.url)
        after = raw_post(server.url)  # the first client closed its session: room again
    message = refused.json()["error"]["message"]
    assert refused.status_code == 503 and after.status_code == 200
    assert "already has 1 open sessions" in message and "CUSTOMER_HEALTH_MAX_SESSIONS" in message
    assert "idle for 30 minutes" in message


def test_a_bad_session_limit_refuses_to_start(work):
    done = subprocess.run(
        [str(BIN / "customer-health"), "serve", "--transport", "http", "--port", str(_free_port())],
        cwd=work,
        env=_env(work, CUSTOMER_HEALTH_SESSION_IDLE_SECONDS="forever"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "CUSTOMER_HEALTH_SESSION_IDLE_SECONDS" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_new_http_session_picks_up_the_remembered_dataset_for_itself(work):
    async def go(url):
        async with client(url) as a:
            loaded = await a.call_tool("load_data", {"paths": ["twelve"]})
        async with client(url) as later:
            return loaded, await later.call_tool("describe_dataset", {})

    with http_server(work) as server:
        loaded, described = anyio.run(go, server.url)
    assert described.structured_content["restored"] is True  # its own pick-up, not the first client's dataset
    assert described.structured_content["dataset_id"] == loaded.structured_content["dataset_id"]


def test_a_client_s_roots_allow_folders_for_its_own_session_only(work):
    outside = accounts(work.parent / "outside" / "exports", 5)

    async def go(url):
        async with client(url, roots=[outside.parent]) as a, client(url, roots=[]) as b:
            await b.call_tool("load_data", {"paths": ["thirty"]})
            a_loaded = await a.call_tool("load_data", {"paths": [str(outside)]})
            b_reads = await b.call_tool("validate_health_model", {"outcomes": str(outside / "accounts.csv")})
            return a_loaded, b_reads

    with http_server(work) as server:
        a_loaded, b_reads = anyio.run(go, server.url)
    assert not a_loaded.is_error
    assert b_reads.is_error and "outside the folders this tool may read" in b_reads.content[0].text


def test_without_mcp_sessions_each_token_holder_keeps_their_own_dataset(work):
    tokens = work.parent / "tokens"
    tokens.write_text(f"# the team\nalice:{TOKEN}-alice\nbob:{TOKEN}-bob\n")

    async def go(url):
        async with (
            client(url, f"{TOKEN}-alice", mode="auto") as a,
            client(url, f"{TOKEN}-bob", mode="auto") as b,
        ):
            await a.call_tool("load_data", {"paths": ["twelve"]})
            await b.call_tool("load_data", {"paths": ["thirty"]})
            return await a.call_tool("score_accounts", {}), await b.call_tool("score_accounts", {})

    with http_server(work, token_file=str(tokens)) as server:
        alice, bob = anyio.run(go, server.url)
    assert (alice.structured_content["total_rows"], bob.structured_content["total_rows"]) == (12, 30)


def test_sessions_forget_the_idle_and_the_least_recently_used(tmp_path):
    sessions = Sessions(home=tmp_path / "ws", cap=2, idle_seconds=3600)

    def use(key: str):
        marked = current_key.set(key)
        try:
            return sessions.current()
        finally:
            current_key.reset(marked)

    try:
        first, second = use("a"), use("b")
        assert use("a") is first  # used again: now the most recent
        use("c")  # over the cap: "b" was used least recently
        assert len(sessions) == 2 and use("a") is first and use("b") is not second
        sessions.forget("a")  # its client closed it
        assert len(sessions) == 1 and use("a") is not first
        sessions.idle_seconds = 0  # every other session is now idle too long
        time.sleep(0.01)
        use("d")
        assert len(sessions) == 1
    finally:
        sessions.close()


def test_requests_are_tied_to_their_holder_and_session_and_a_closed_session_is_forgotten():
    seen, ended, sent = [], [], []

    async def inner(scope, receive, send):
        seen.append(current_key.get())

    async def send(message):
        sent.append(message)

    guard = Guard(inner, {"alice": f"{TOKEN}a", "bob": f"{TOKEN}b"}, ended.append)

    def request(method: str, token: str, session: str | None = None):
        headers = [(b"authorization", f"Bearer {token}".encode())]
        headers += [(b"mcp-session-id", session.encode())] if session else []
        anyio.run(guard, {"type": "http", "method": method, "headers": headers}, None, send)

    request("POST", f"{TOKEN}a", "s1")
    request("POST", f"{TOKEN}b")
    request("DELETE", f"{TOKEN}b", "s1")
    request("POST", f"{TOKEN}c", "s1")  # no such token: refused before the app sees it
    assert seen == ["alice/s1", "bob", "bob/s1"]  # the same session id under another token is another session
    assert ended == ["bob/s1"]
    assert sent[0]["status"] == 401


# --- bearer token ---------------------------------------------------------------------------------------------------
def test_a_token_is_required_on_every_request_once_set(work):
    async def go(url):
        async with client(url, token=TOKEN) as c:
            return await c.call_tool("load_data", {"paths": ["twelve"]})

    with http_server(work, env=_env(work, CUSTOMER_HEALTH_TOKEN=TOKEN)) as server:
        missing = raw_post(server.url)
        wrong = raw_post(server.url, authorization="Bearer not-the-token-0123456789")
        right = raw_post(server.url, authorization=f"Bearer {TOKEN}")
        loaded = anyio.run(go, server.url)
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in missing.text + wrong.text
    assert not loaded.is_error
    assert TOKEN not in server.err.read_text() + server.out.read_text()


def test_serving_beyond_loopback_without_a_token_refuses_to_start(work):
    port = _free_port()
    try:
        done = subprocess.run(
            [
                str(BIN / "customer-health"),
                "serve",
                "--transport",
                "http",
                "--host",
                "0.0.0.0",
                "--port",
                str(port),
            ],
            cwd=work,
            env=_env(work),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the server started listening on 0.0.0.0 without a token")
    assert done.returncode == 2
    assert "CUSTOMER_HEALTH_TOKEN" in done.stderr and "--token-file" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_token_file_is_read_and_bad_tokens_are_refused_without_being_echoed(tmp_path):
    one, team = tmp_path / "one", tmp_path / "team"
    one.write_text(TOKEN + "\n")
    team.write_text(f"# who may connect\n\nalice:{TOKEN}a\n  bob : {TOKEN}b\n")
    assert team_tokens("0.0.0.0", str(one), env={}) == {"team": TOKEN}
    assert team_tokens("0.0.0.0", str(team), env={}) == {"alice": f"{TOKEN}a", "bob": f"{TOKEN}b"}
    assert team_tokens("0.0.0.0", None, env={"CUSTOMER_HEALTH_TOKEN": TOKEN}) == {"team": TOKEN}
    assert team_tokens("127.0.0.1", None, env={}) == {}  # optional on loopback
    assert team_tokens("::1", None, env={}) == {}
    cases = {"short": ("hunter2-pass\n", "at least 16 characters"), "empty": ("\n# none\n", "holds no token")}
    for name, (text, problem) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError) as caught:
            team_tokens("0.0.0.0", str(tmp_path / name), env={})
        assert problem in caught.value.message and "hunter2" not in caught.value.message
    with pytest.raises(InputError, match="cannot be read"):
        team_tokens("0.0.0.0", str(tmp_path / "missing"), env={})
    with pytest.raises(InputError) as caught:
        team_tokens("0.0.0.0", None, env={"CUSTOMER_HEALTH_TOKEN": "hunter2 pass word"})
    assert "CUSTOMER_HEALTH_TOKEN" in caught.value.message and "hunter2" not in caught.value.message
    with pytest.raises(InputError, match="needs a bearer token"):
        team_tokens("10.1.2.3", None, env={})


# --- allowed hosts --------------------------------------------------------------------------------------------------
def test_hosts_and_origins_outside_the_allowed_list_are_refused(work):
    # 127.0.0.2 is outside the SDK's built-in localhost list, as any LAN address is
    with http_server(work, host="127.0.0.2", allowed_hosts=["health.example.com"]) as server:
        port = server.url.split(":")[2].split("/")[0]
        evil_host = raw_post(server.url, host="evil.example")
        evil_origin = raw_post(server.url, origin="http://evil.example")
        own = raw_post(server.url, host=f"127.0.0.2:{port}", origin=f"http://127.0.0.2:{port}")
        named = raw_post(server.url, host="health.example.com", origin="https://health.example.com")
    assert (evil_host.status_code, evil_origin.status_code) == (421, 403)
    assert (own.status_code, named.status_code) == (200, 200)


def test_allowed_hosts_are_explicit_with_the_bind_host_and_localhost_by_default():
    default = transport_security("10.0.0.5")
    assert default.enable_dns_rebinding_protection
    assert default.allowed_hosts == [
        "10.0.0.5",
        "10.0.0.5:*",
        "127.0.0.1",
        "127.0.0.1:*",
        "localhost",
        "localhost:*",
        "[::1]",
        "[::1]:*",
    ]
    everywhere = transport_security("0.0.0.0", ["health.example.com:8443", "fe80::1"])
    assert everywhere.allowed_hosts[:3] == ["health.example.com:8443", "[fe80::1]", "[fe80::1]:*"]
    assert "0.0.0.0:*" not in everywhere.allowed_hosts
    assert "https://health.example.com:8443" in everywhere.allowed_origins


# --- logs ----------------------------------------------------------------------------------------------------------
def test_http_mode_writes_its_logs_to_stderr_and_nothing_to_stdout(work):
    with http_server(work) as server:
        assert raw_post(server.url).status_code == 200
        deadline = time.monotonic() + 30
        while "POST /mcp" not in server.err.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert "POST /mcp" in server.err.read_text()  # the access log, on stderr
    assert server.out.read_text() == ""


def test_a_sessionless_client_s_files_last_until_the_server_stops(work):
    async def scored(url):  # the 2026-07-28 protocol: no session for its client to close
        async with client(url, mode="auto") as c:
            await c.call_tool("load_data", {"paths": ["twelve"]})
            return Path((await c.call_tool("score_accounts", {})).structured_content["full_table"])

    with http_server(work) as server:
        table = anyio.run(scored, server.url)
        time.sleep(0.5)
        assert table.is_file()
    assert not table.parents[1].exists()  # the server's stop ended every session


def test_a_token_holder_never_picks_up_the_dataset_another_holder_loaded(work):
    tokens = work.parent / "tokens"
    tokens.write_text(f"alice:{TOKEN}-alice\nbob:{TOKEN}-bob\n")

    async def go(url):
        async with client(url, f"{TOKEN}-alice") as a:
            await a.call_tool("load_data", {"paths": ["twelve"]})
        async with client(url, f"{TOKEN}-bob") as b:
            bob_sees = await b.call_tool("describe_dataset", {})
        async with client(url, f"{TOKEN}-alice") as a:
            alice_sees = await a.call_tool("describe_dataset", {})
        return bob_sees, alice_sees

    with http_server(work, token_file=str(tokens)) as server:
        bob_sees, alice_sees = anyio.run(go, server.url)
    assert bob_sees.is_error and "no dataset is loaded yet" in bob_sees.content[0].text
    assert "another person" in bob_sees.content[0].text and "ACC-" not in bob_sees.content[0].text
    assert not alice_sees.is_error and alice_sees.structured_content["restored"] is True  # her own, picked up
