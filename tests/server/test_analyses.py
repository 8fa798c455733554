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


# --- declaring costs nothing: the command line is built without importing any computation --------------------------
HEAVY = ("pandas", "duckdb", "numpy", "sqlglot", "pyarrow", "pydantic")
PARSER_SCRIPT = """
import contextlib, io, sys
from customer_health.server.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main([{named!r}, "--help"])  # the command line built and parsed, nothing run
layers = ("tools.usage", "tools.health", "tools.risk", "tools.reports", "tools.narrative", "server.render")
ours = sorted(m for m in sys.modules if m.startswith(tuple("customer_health." + x for x in layers)))
print(code, *sorted(m for m in {heavy!r} if m in sys.modules), *ours)
"""


@pytest.mark.parametrize("named", ["seats", "funnel", "score"])
def test_building_the_command_line_for_an_analysis_imports_no_computation_nor_pandas_nor_duckdb(named):
    import subprocess
    import sys

    script = PARSER_SCRIPT.format(named=named, heavy=HEAVY)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0"]  # exit 0, and no data library, no computation, no renderer


def test_a_command_built_alone_has_the_options_and_help_it_has_among_every_command(capsys):
    for analysis in ANALYSES:
        alone = next(
            a for a in build_parser(analysis.name)._actions if isinstance(a, argparse._SubParsersAction)
        )
        assert alone.choices[analysis.name].format_help() == _subcommands()[analysis.name].format_help()
    everything = set(_subcommands())
    assert {"draft", "check"} <= everything
    assert set(_subcommands()) - set(
        next(a for a in build_parser("seats")._actions if isinstance(a, argparse._SubParsersAction)).choices
    ) == {"draft", "check"}
    assert main(["drft"]) == 2  # a misspelt command is told every command there is
    assert "'draft'" in capsys.readouterr().err


def test_what_a_parameter_needs_before_the_computation_is_imported_equals_the_computations_own():
    from typing import get_args

    from customer_health.server import analyses
    from customer_health.tools.risk.priority import Priority
    from customer_health.tools.usage.funnel import DEFAULT_LOOKBACK_DAYS

    assert get_args(analyses.Priority) == get_args(Priority)
    assert analyses.FUNNEL_LOOKBACK_DAYS == DEFAULT_LOOKBACK_DAYS


@pytest.mark.parametrize("analysis", ANALYSES, ids=lambda a: a.name)
def test_every_declared_reference_names_what_it_says(analysis):
    from pydantic import BaseModel

    assert issubclass(analysis.model, BaseModel)
    assert callable(analysis.text)
    assert analysis.table is None or callable(analysis.table)
    assert analysis.model.__name__ == analysis.model_at.rpartition(":")[2]
