"""The README cannot drift from the code: every CLI command is documented, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from customer_health.server.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_every_cli_command_is_documented_in_the_readme():
    missing = [c for c in _commands() if f"customer-health {c}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line for line in ci.splitlines() if "pytest" in line).strip()
    assert command in README


def test_the_readme_main_command_runs_the_demo():
    assert re.search(r"pip install -e \. && \.venv/bin/customer-health demo", README)


def test_every_mcp_tool_prompt_and_resource_is_documented_in_the_readme():
    import anyio
    from customer_health.server.mcp.server import build_server
    from mcp import Client

    async def listing():
        server = build_server()
        async with Client(server) as c:
            tools = [t.name for t in (await c.list_tools()).tools]
            prompts = [p.name for p in (await c.list_prompts()).prompts]
            templates = [t.uri_template for t in (await c.list_resource_templates()).resource_templates]
            fixed = [str(r.uri) for r in (await c.list_resources()).resources]
        return tools, prompts, templates + fixed

    tools, prompts, resources = anyio.run(listing)
    missing = [f"tool {t}" for t in tools if f"`{t}`" not in README]
    missing += [f"prompt {p}" for p in prompts if f"mcp__customer-health__{p}" not in README]
    missing += [f"resource {r}" for r in resources if f"`{r}`" not in README]
    assert not missing, f"undocumented: {missing}"
