"""The README cannot drift from the code: every CLI command is documented, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from customer_health.server.cli import build_parser

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
