"""Each analysis is declared once and both faces are generated from it: the CLI flags and the MCP arguments have
the same names, bounds and defaults, and every analysis tool advertises its result model as the output schema."""

from __future__ import annotations

import argparse

import anyio
import pytest
from customer_health.server.analyses import ANALYSES, Param
from customer_health.server.cli.main import build_parser, main
from customer_health.server.mcp.server import build_server
from mcp import Client


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.fixture(scope="module")
def tools() -> dict:
    async def listing():
        server = build_server()
        async with Client(server) as c:
            return {t.name: t for t in (await c.list_tools()).tools}

    return anyio.run(listing)


def test_every_analysis_has_one_cli_command_and_one_mcp_tool(tools):
    commands = _subcommands()
    for analysis in ANALYSES:
        assert analysis.name in commands
        assert analysis.tool in tools
        assert tools[analysis.tool].description == analysis.help
    assert len({a.name for a in ANALYSES}) == len({a.tool for a in ANALYSES}) == len(ANALYSES)


@pytest.mark.parametrize("analysis", ANALYSES, ids=lambda a: a.name)
def test_the_cli_flags_and_the_mcp_arguments_agree_on_bounds_and_defaults(analysis, tools):
    command = _subcommands()[analysis.name]
    flags = {a.dest: a for a in command._actions}
    schema = tools[analysis.tool].input_schema
    for p in analysis.params:
        assert p.name in flags and p.cli_flag in flags[p.name].option_strings
        arg = schema["properties"][p.name]
        if p.required:
            assert p.name in schema.get("required", []) and flags[p.name].required
        else:
            assert arg.get("default") == p.default and flags[p.name].default == p.default
        if p.bounds:
            assert (arg["minimum"], arg["maximum"]) == p.bounds


@pytest.mark.parametrize("analysis", ANALYSES, ids=lambda a: a.name)
def test_every_analysis_tool_advertises_its_result_model_and_how_much_is_shown(analysis, tools):
    output = tools[analysis.tool].output_schema
    assert output is not None
    assert {"summary", "caveats", "total_rows", "truncated", "full_table", "full_table_uri"} <= set(
        output["properties"]
    )
    assert set(analysis.model.model_fields) <= set(output["properties"])


def test_a_value_out_of_bounds_is_refused_by_both_faces_with_the_same_bound(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("account_id,arr\nA1,100\n")
    assert main(["cohorts", "a.csv", "--months", "61"]) == 2
    assert "--months: must be between 1 and 60 (got 61)" in capsys.readouterr().err

    async def call():
        server = build_server(home=tmp_path / "ws")
        async with Client(server) as c:
            return await c.call_tool("cohort_retention", {"months": 61})

    result = anyio.run(call)
    assert result.is_error and "less than or equal to 60" in result.content[0].text


def test_a_list_parameter_is_comma_separated_on_the_command_line():
    steps = Param("steps", list[str], "Steps.", min_items=2, required=True)
    assert steps.parse("a, b,c") == ["a", "b", "c"]
    with pytest.raises(argparse.ArgumentTypeError, match="at least 2"):
        steps.parse("a")
