"""Distribution, end to end: with nothing but `uv` and Node on PATH, the server starts exactly as .mcp.json and the
plugin say and answers `initialize` within 5 s once the environment is prepared; the official validators (Claude
Code's `claude plugin validate`, `@anthropic-ai/mcpb validate`) accept the plugin, the marketplace and the bundle.

How the environment is prepared, offline at start: the plugin's own SessionStart hook runs `uv sync --frozen` into a
temporary plugin-data folder (this needs PyPI, or uv's cache, once); every server start then runs with
UV_OFFLINE=1, so it proves the start installs nothing. The project's .mcp.json uses the project's .venv by default;
here UV_PROJECT_ENVIRONMENT points it at the same prepared environment, so the test never touches a developer's
.venv. npm and PyPI are package registries (allowed in CI); outside CI an unreachable registry skips with the
reason, in CI (CI set) it fails.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.test_packaging import packaging_script

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
START_LIMIT_S = 5.0
MCPB = ["npx", "-y", "@anthropic-ai/mcpb@2"]
CLAUDE = ["npx", "-y", "@anthropic-ai/claude-code@latest"]

pytestmark = [pytest.mark.distribution, pytest.mark.slow]


def expand(value: str, env: dict[str, str]) -> str:
    """Claude Code's expansion in MCP configs: ${VAR} and ${VAR:-default}; nothing else."""

    def one(match: re.Match[str]) -> str:
        name, _, default = match.group(1).partition(":-")
        return env.get(name, default if ":-" in match.group(1) else match.group(0))

    return re.sub(r"\$\{([^}]+)\}", one, value)


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the distribution tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def only_uv_and_node(tmp_path_factory) -> dict[str, str]:
    """An environment whose PATH holds uv, node and npx (links in one folder) and /usr/bin for sh, nothing else."""
    tools = tmp_path_factory.mktemp("bin")
    for name in ("uv", "node", "npx"):
        found = VENV_BIN / name
        if not found.exists():
            unavailable(f"{name} is not installed in {VENV_BIN} (pip install -e '.[dev]' brings uv and Node)")
        (tools / name).symlink_to(found)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UV_", "VIRTUAL_ENV", "CLAUDE_", "CUSTOMER_"))
    }
    env["PATH"] = f"{tools}{os.pathsep}/usr/bin"
    return env


@pytest.fixture(scope="module")
def plugin_data(only_uv_and_node, tmp_path_factory) -> Path:
    """The plugin's data folder after its SessionStart hook ran (the environment prepared as a user's would be)."""
    data = tmp_path_factory.mktemp("plugin-data")
    hooks = json.loads((ROOT / "hooks" / "hooks.json").read_text())["hooks"]["SessionStart"][0]["hooks"]
    env = {**only_uv_and_node, "CLAUDE_PLUGIN_ROOT": str(ROOT), "CLAUDE_PLUGIN_DATA": str(data)}
    for hook in hooks:
        done = subprocess.run(
            ["sh", "-c", hook["command"]], env=env, capture_output=True, text=True, timeout=hook["timeout"]
        )
        assert done.returncode == 0 and done.stdout == "", done.stderr
    if not (data / "venv" / "bin" / "customer-health").exists():
        unavailable(f"the SessionStart hook could not prepare the environment: {done.stderr.strip()[-400:]}")
    return data


def fastest_start(command: list[str], env: dict[str, str], cwd: Path, tries: int = 3) -> tuple[float, dict]:
    """The quickest of a few starts (a shared CI machine is noisy) and its answer.

    A wall-clock limit means nothing on a machine running several times more work than it has CPUs (seen while
    other test suites ran beside this one): outside CI that case skips with the figures; in CI it fails.
    """
    runs = [initialize_seconds(command, env, cwd) for _ in range(tries)]
    seconds, answer = min(runs, key=lambda run: run[0])
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if seconds >= START_LIMIT_S and load > 2 and not os.environ.get("CI"):
        times = [round(s, 2) for s, _ in runs]
        pytest.skip(
            f"initialize took {times} s on a machine loaded {load:.1f}x its CPUs; the limit is not measurable"
        )
    return seconds, answer


def initialize_seconds(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, dict]:
    """Start the server, send `initialize`, return the seconds until the answer and the answer."""
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        command, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        proc.stdin.write((json.dumps(request) + "\n").encode())
        proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout=30)
        assert ready, (
            f"no answer to initialize in 30 s: {proc.stderr.read1().decode()[-800:] if proc.poll() else ''}"
        )
        line = proc.stdout.readline()
        elapsed = time.monotonic() - started
        assert line, f"the server closed stdout: {proc.stderr.read().decode()[-800:]}"
        return elapsed, json.loads(line)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_the_plugin_starts_the_server_as_plugin_json_says_with_only_uv_and_node_on_path(
    only_uv_and_node, plugin_data, tmp_path
):
    spec = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())["mcpServers"]["customer-health"]
    host = {**only_uv_and_node, "CLAUDE_PLUGIN_ROOT": str(ROOT), "CLAUDE_PLUGIN_DATA": str(plugin_data)}
    env = {**host, **{k: expand(v, host) for k, v in spec["env"].items()}, "UV_OFFLINE": "1"}
    command = [expand(spec["command"], host), *(expand(a, host) for a in spec["args"])]
    seconds, answer = fastest_start(command, env, cwd=tmp_path)
    assert answer["result"]["serverInfo"]["name"] == "customer-health"
    assert seconds < START_LIMIT_S, f"initialize took {seconds:.2f} s (the quickest of 3)"
    # the workspace is created on the first call that needs it; plugin.json points it into the plugin's data
    assert env["CUSTOMER_HEALTH_HOME"] == str(plugin_data / "workspace")


def test_the_project_starts_the_server_as_mcp_json_says_with_only_uv_and_node_on_path(
    only_uv_and_node, plugin_data, tmp_path
):
    spec = json.loads((ROOT / ".mcp.json").read_text())["mcpServers"]["customer-health"]
    host = {
        **only_uv_and_node,
        "UV_PROJECT_ENVIRONMENT": str(plugin_data / "venv"),  # stands in for the project's .venv
        "CUSTOMER_HEALTH_HOME": str(tmp_path / "workspace"),
    }
    env = {**host, **{k: expand(v, host) for k, v in spec["env"].items()}, "UV_OFFLINE": "1"}
    command = [expand(spec["command"], host), *(expand(a, host) for a in spec["args"])]
    seconds, answer = fastest_start(command, env, cwd=ROOT)  # Claude Code starts it in the project folder
    assert answer["result"]["serverInfo"]["name"] == "customer-health"
    assert seconds < START_LIMIT_S, f"initialize took {seconds:.2f} s (the quickest of 3)"


def test_the_committed_lock_file_matches_pyproject(only_uv_and_node, plugin_data):
    done = subprocess.run(
        ["uv", "lock", "--check", "--offline", "--project", str(ROOT)],
        env=only_uv_and_node,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"uv.lock is stale; run `uv lock`: {done.stderr[-600:]}"


def npx(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        unavailable(f"{' '.join(args[:3])} timed out (npm unreachable?)")
    if done.returncode != 0 and re.search(r"ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|E404", done.stderr):
        unavailable(f"npm is unreachable: {done.stderr.strip()[-300:]}")
    return done


def test_claude_code_validates_the_plugin_and_the_marketplace_strictly(only_uv_and_node):
    for target in (".", ".claude-plugin/marketplace.json"):
        done = npx([*CLAUDE, "plugin", "validate", "--strict", target], only_uv_and_node)
        assert done.returncode == 0, (
            f"claude plugin validate {target}:\n{done.stdout[-2000:]}{done.stderr[-800:]}"
        )


def test_the_official_bundle_cli_accepts_the_manifest_and_rejects_a_broken_one(only_uv_and_node, tmp_path):
    done = npx([*MCPB, "validate", str(ROOT / "packaging" / "mcpb" / "manifest.json")], only_uv_and_node)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = json.loads((ROOT / "packaging" / "mcpb" / "manifest.json").read_text())
    broken["server"]["type"] = "conda"  # not a server type the spec knows
    (tmp_path / "manifest.json").write_text(json.dumps(broken))
    assert npx([*MCPB, "validate", str(tmp_path / "manifest.json")], only_uv_and_node).returncode != 0


def test_the_build_script_packs_a_bundle_with_the_project_and_its_lock(
    only_uv_and_node, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", only_uv_and_node["PATH"])
    try:
        bundle = packaging_script("build_mcpb").build(tmp_path)
    except subprocess.CalledProcessError as exc:
        unavailable(f"mcpb pack failed (npm unreachable?): {exc}")
    names = set(zipfile.ZipFile(bundle).namelist())
    assert {"manifest.json", "pyproject.toml", "uv.lock", "mcpb_entry.py", "server/cli/main.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.startswith(".venv/")]
