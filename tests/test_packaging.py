"""Packaging: .mcp.json, the plugin and its marketplace, the Claude Desktop bundle, the MCP registry entry and the
PyPI metadata agree with each other and with pyproject.toml (the one place the version is written); every CLI option
has help. The end-to-end starts and the official validators are in tests/test_distribution.py."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest
import yaml
from customer_health.server.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
PORTABLE_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
SERVER_CMD = ["customer-health", "serve"]


def read_json(*parts: str) -> dict:
    return json.loads(ROOT.joinpath(*parts).read_text(encoding="utf-8"))


def packaging_script(name: str) -> ModuleType:
    """A script of packaging/ (not a package) imported by path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def github_owner_and_repo() -> str:
    return re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", PROJECT["urls"]["Repository"]).group(1)


def test_mcp_json_starts_our_server_through_uv_from_the_project_folder():
    server = read_json(".mcp.json")["mcpServers"]["customer-health"]
    assert server["type"] == "stdio" and server["command"] == "uv"
    args = server["args"]
    assert args[0] == "run" and args[-2:] == SERVER_CMD
    assert args[args.index("--project") + 1] == "${CLAUDE_PROJECT_DIR:-.}"


def test_the_plugin_starts_the_same_server_through_uv_from_its_own_folder_with_its_environment_in_plugin_data():
    plugin = read_json(".claude-plugin", "plugin.json")
    assert plugin["name"] == "customer-health-analyst"
    assert {"version", "description", "author", "license"} <= set(plugin)
    server = plugin["mcpServers"]["customer-health"]
    args = server["args"]
    assert server["command"] == "uv" and args[0] == "run" and args[-2:] == SERVER_CMD
    assert args[args.index("--project") + 1] == "${CLAUDE_PLUGIN_ROOT}" and "--frozen" in args
    assert server["env"]["UV_PROJECT_ENVIRONMENT"] == "${CLAUDE_PLUGIN_DATA}/venv"


def test_the_session_start_hook_syncs_the_environment_the_plugin_server_runs_in():
    hooks = read_json("hooks", "hooks.json")["hooks"]["SessionStart"]
    command = hooks[0]["hooks"][0]["command"]
    assert command == 'sh "${CLAUDE_PLUGIN_ROOT}/hooks/prepare-environment.sh"'
    script = (ROOT / "hooks" / "prepare-environment.sh").read_text(encoding="utf-8")
    assert 'UV_PROJECT_ENVIRONMENT="$data/venv" uv sync' in script and "--frozen" in script


def test_the_repository_is_its_own_marketplace_listing_the_plugin():
    market = read_json(".claude-plugin", "marketplace.json")
    listed = {p["name"]: p for p in market["plugins"]}
    assert listed["customer-health-analyst"]["source"] == "./"
    assert read_json(".claude-plugin", "plugin.json")["name"] in listed


def test_every_manifest_carries_the_version_written_once_in_pyproject(capsys):
    version = PROJECT["version"]
    server = read_json("server.json")
    assert read_json(".claude-plugin", "plugin.json")["version"] == version
    assert read_json("packaging", "mcpb", "manifest.json")["version"] == version
    assert server["version"] == version and [p["version"] for p in server["packages"]] == [version]
    assert metadata.version("customer-health-analyst") == version  # reinstall (pip install -e .) after a bump
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"customer-health {version}\n"


def test_both_console_scripts_run_the_same_entry_point():
    scripts = PROJECT["scripts"]
    assert (
        scripts["customer-health-analyst"] == scripts["customer-health"] == "customer_health.server.cli:main"
    )
    installed = {e.name: e.value for e in metadata.entry_points(group="console_scripts")}
    assert installed["customer-health-analyst"] == installed["customer-health"]


def test_the_registry_entry_validates_against_the_published_schema_and_names_the_pypi_package():
    schema = json.loads(
        (ROOT / "tests" / "data" / "registry" / "server.schema.json").read_text(encoding="utf-8")
    )
    server = read_json("server.json")
    jsonschema.validate(server, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert server["name"] == f"io.github.{github_owner_and_repo().split('/')[0]}/{PROJECT['name']}"
    assert server["repository"]["url"] == PROJECT["urls"]["Repository"]
    (package,) = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == PROJECT["name"]
    assert package["runtimeHint"] == "uvx" and package["packageArguments"][0]["value"] == "serve"


def test_the_vendored_schema_rejects_what_the_registry_rejects():
    schema = json.loads(
        (ROOT / "tests" / "data" / "registry" / "server.schema.json").read_text(encoding="utf-8")
    )
    server = read_json("server.json")
    for broken in (
        {**server, "name": "customer-health-analyst"},  # no namespace
        {**server, "description": "x" * 101},  # over the 100-character limit
        {**server, "packages": [{**server["packages"][0], "version": "latest"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_pypi_metadata_has_readme_licence_links_and_classifiers():
    assert PROJECT["readme"] == "README.md" and PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"] and (ROOT / "LICENSE").exists()
    assert {"Homepage", "Repository", "Issues"} <= set(PROJECT["urls"])
    assert "Programming Language :: Python :: 3 :: Only" in PROJECT["classifiers"]
    assert not any(
        c.startswith("License ::") for c in PROJECT["classifiers"]
    )  # PEP 639: the expression says it


def test_the_bundle_lets_the_user_choose_the_exports_folder_and_passes_it_as_the_allowed_root():
    manifest = read_json("packaging", "mcpb", "manifest.json")
    assert manifest["manifest_version"] == "0.4" and manifest["server"]["type"] == "uv"
    assert manifest["user_config"]["exports_dir"]["type"] == "directory"
    config = manifest["server"]["mcp_config"]
    args = config["args"]
    assert config["command"] == "uv" and args[args.index("--project") + 1] == "${__dirname}"
    assert args[args.index("--allow") + 1] == "${user_config.exports_dir}"
    assert args[args.index("--directory") + 1] == "${user_config.exports_dir}"
    assert config["env"]["CUSTOMER_HEALTH_ALLOW"] == "${user_config.exports_dir}"
    assert args[args.index("serve") - 1] == "customer-health"


def test_the_bundle_stage_holds_the_uv_project_and_no_build_litter(tmp_path):
    build_mcpb = packaging_script("build_mcpb")
    staged = build_mcpb.stage(tmp_path / "stage")
    names = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    assert {"manifest.json", "mcpb_entry.py", "pyproject.toml", "uv.lock", "README.md", "LICENSE"} <= names
    assert "server/cli/main.py" in names and "examples/sample/accounts.csv" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert json.loads((staged / "manifest.json").read_text())["server"]["entry_point"] in names


def walk_options(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk_options(sub, f"{path} {name}")
        else:
            yield path, action


def test_every_option_of_every_subcommand_has_help():
    missing = [
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, action in walk_options(build_parser(), "customer-health")
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert missing == []


def readme_section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = re.search(r"^#{2,3} ", text[start + len(heading) :], flags=re.M)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def check_readme_install_sections(text: str) -> None:
    """The commands the README shows are the ones the manifests define."""
    code = readme_section(text, "### Install in Claude Code")
    market = read_json(".claude-plugin", "marketplace.json")
    assert f"claude plugin marketplace add {github_owner_and_repo()}\n" in code
    assert f"claude plugin install {market['plugins'][0]['name']}@{market['name']}\n" in code
    assert (
        "claude mcp add customer-health -- /absolute/path/to/customer-health-analyst/.venv/bin/customer-health serve"
        in code
    )
    package = read_json("server.json")["packages"][0]
    assert f"uvx {package['identifier']} {package['packageArguments'][0]['value']}" in code
    desktop = readme_section(text, "### Install in Claude Desktop")
    manifest = read_json("packaging", "mcpb", "manifest.json")
    assert f"{manifest['name']}-<version>.mcpb" in desktop
    assert "python packaging/build_mcpb.py" in desktop
    assert manifest["user_config"]["exports_dir"]["title"] in desktop
    assert f"mcp-name: {read_json('server.json')['name']}" in text


def test_the_readme_install_commands_match_the_manifests():
    check_readme_install_sections((ROOT / "README.md").read_text(encoding="utf-8"))


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


def test_setting_the_version_rewrites_pyproject_and_every_manifest_alike(tmp_path):
    for parts in (
        ("pyproject.toml",),
        (".claude-plugin", "plugin.json"),
        ("server.json",),
        ("packaging", "mcpb", "manifest.json"),
    ):
        target = tmp_path.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(ROOT.joinpath(*parts).read_text(encoding="utf-8"), encoding="utf-8")
    set_version = packaging_script("set_version")
    set_version.set_version("7.8.9rc1", root=tmp_path)
    assert tomllib.loads((tmp_path / "pyproject.toml").read_text())["project"]["version"] == "7.8.9rc1"
    server = json.loads((tmp_path / "server.json").read_text())
    assert server["version"] == server["packages"][0]["version"] == "7.8.9rc1"
    for parts in ((".claude-plugin", "plugin.json"), ("packaging", "mcpb", "manifest.json")):
        assert json.loads(tmp_path.joinpath(*parts).read_text())["version"] == "7.8.9rc1"
    with pytest.raises(SystemExit):
        set_version.set_version("^1.2", root=tmp_path)
