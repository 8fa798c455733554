"""Start-up imports only what the command needs: asking for the version loads no data library."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "duckdb", "numpy", "sqlglot", "pyarrow", "customer_health.server.analyses")

SCRIPT = f"""
import sys
from customer_health.server.cli.main import main
code = main(["--version"])
print(code, *sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_version_is_answered_without_importing_pandas_or_duckdb():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    version_line, imported = run.stdout.splitlines()
    assert version_line.startswith("customer-health ")
    assert imported.split() == ["0"]  # exit code 0 and none of the heavy modules


def test_the_quick_answer_is_the_one_the_parser_gives(capsys):
    from customer_health.server.cli.main import build_parser, main

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
    parser_says = capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == parser_says
    assert parser_says.startswith("customer-health ")
