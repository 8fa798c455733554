"""Claude Code packaging: the project's .mcp.json, the plugin manifest and the skill are valid and agree."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PORTABLE_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}


def test_mcp_json_starts_our_server_over_stdio():
    server = json.loads((ROOT / ".mcp.json").read_text())["mcpServers"]["customer-health"]
    assert (
        server["type"] == "stdio" and server["command"] == "customer-health" and server["args"] == ["serve"]
    )


def test_plugin_manifest_names_the_plugin_and_bundles_the_same_server():
    plugin = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())
    assert plugin["name"] == "customer-health-analyst"
    assert {"version", "description", "author", "license"} <= set(plugin)
    server = plugin["mcpServers"]["customer-health"]
    assert server["command"] == "customer-health" and server["args"] == ["serve"]


def test_the_skill_has_portable_front_matter_and_points_at_every_prompt_and_rules_file():
    path = ROOT / "skills" / "customer-health-analyst" / "SKILL.md"
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front)
    assert set(meta) <= PORTABLE_KEYS
    assert meta["name"] == path.parent.name and len(meta["description"]) <= 1024
    for prompt in (
        "qbr_narrative",
        "risk_document",
        "board_summary",
        "account_summary",
        "adoption_diagnosis",
    ):
        assert prompt in body
    for rule in (ROOT / "rules").glob("*.md"):
        assert f"rules://{rule.stem}" in body, rule.stem
