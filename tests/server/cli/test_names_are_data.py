"""Names are data everywhere: account names carrying terminal escape sequences, HTML, markdown links and images or
jinja syntax are printed without their control characters by every text command, kept as they are in JSON and CSV,
read literally in template drafts, and seen by the grounding check as the account's name."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from customer_health.server.cli.main import main
from markdown_it import MarkdownIt

DATA = Path(__file__).resolve().parents[2] / "data"
ESC_NAME = "\x1b[31mRed\x1b[0m \x1b]0;pwned\x07Ltd\x9b2J"  # recolour, retitle the window, clear the screen
HTML_NAME = "Evil <script>alert(1)</script> [click](http://evil.example) ![img](http://evil.example/a.png)"
JINJA_NAME = "{{ 77 }}"
CODE_NAME = "# Big `rm -rf` | Co"
_INVISIBLE = re.compile(
    r"\x1b\[[0-9;]*[A-Za-z]|\x1b\][^\x07]*\x07|\x9b[0-9;]*[A-Za-z]"
)  # zero width on screen


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The mini export with its three accounts renamed: A1 → jinja syntax, A2 → escapes, A3 → HTML and markdown;
    one workspace for the module, so the export is ingested once."""
    root = tmp_path_factory.mktemp("names")
    shutil.copytree(DATA / "mini", root / "mini")
    path = root / "mini" / "accounts.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row, name in zip(rows, (JINJA_NAME, ESC_NAME, HTML_NAME), strict=True):
        row["name"] = name
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture
def named(folder, work_in):
    return work_in(folder)


def _controls(text: str) -> list[str]:
    """Every control character a terminal would act on (C0 but newline and tab, DEL, C1)."""
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160]


@pytest.mark.parametrize(
    "command",
    [
        ["score", "mini", "--all-accounts"],
        ["signals", "mini"],
        ["account", "mini", "--id", "A2"],
        ["seats", "mini"],
    ],
)
def test_a_text_command_prints_a_name_without_its_escape_sequences(named, capsys, command):
    assert main(command) == 0
    out = capsys.readouterr().out
    assert _controls(out) == []
    assert "Red Ltd" in out  # the name's printable text, the sequences gone whole (no stray "[31m")
    assert "[31m" not in out and "pwned" not in out


def test_the_name_columns_of_a_text_table_line_up_once_the_escapes_are_gone(named, capsys):
    assert main(["seats", "mini"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("ACCOUNT"))
    rows = [line for line in lines if line.startswith(("A1 ", "A2 ", "A3 "))]
    at = [next(line.index(s) for s in ("Enterprise", "SMB", "Mid-Market") if s in line) for line in rows]
    shown = {len(_INVISIBLE.sub("", line[:n])) for line, n in zip(rows, at, strict=True)}  # columns on screen
    assert len(rows) == 3 and shown == {header.index("SEGMENT")}


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_json_and_csv_keep_the_name_exactly_as_the_data_holds_it(named, capsys, fmt):
    assert main(["score", "mini", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        names = {a["name"] for a in json.loads(out)["accounts"]}
    else:
        names = {r["name"] for r in csv.DictReader(out.splitlines())}
    assert ESC_NAME in names and HTML_NAME in names


def _rendered(markdown: str) -> str:
    """The draft as a markdown viewer shows it (CommonMark with tables and strikethrough, raw HTML allowed)."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


@pytest.mark.parametrize("kind", ["qbr", "summary", "risk"])
def test_a_template_draft_shows_html_links_and_images_in_a_name_as_text(named, capsys, kind):
    assert main(["draft", kind, "mini", "--account", "A3", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    html = _rendered(out["draft"])
    assert "<script" not in html and "<a " not in html and "<img" not in html
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt; [click](http://evil.example) ![img](" in html
    names = [c["text"] for c in out["grounding"]["claims"] if c["kind"] == "account"]
    assert HTML_NAME in names and out["grounding"]["passed"]


def test_backticks_pipes_and_a_leading_hash_in_a_name_are_text_even_in_a_table(named, capsys):
    shutil.copytree(named / "mini", named / "coded")
    accounts = named / "coded" / "accounts.csv"
    accounts.write_text(accounts.read_text(encoding="utf-8").replace(JINJA_NAME, CODE_NAME), encoding="utf-8")
    assert main(["draft", "risk", "coded", "--account", "A1", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    html = _rendered(out["draft"])
    assert "<code>rm -rf</code>" not in html and "<h1># Big" not in html  # (fact ids in footnotes are code)
    assert "# Big `rm -rf` | Co" in html  # one piece of text: the pipe split no table cell
    assert out["grounding"]["passed"]


@pytest.mark.parametrize("kind", ["qbr", "summary", "risk"])
def test_jinja_syntax_in_a_name_stays_literal_and_the_check_reads_it_as_the_name(named, capsys, kind):
    assert main(["draft", kind, "mini", "--account", "A1", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert f": {JINJA_NAME}" in out["draft"]  # the heading names the account as written, not evaluated (77)
    claims = out["grounding"]["claims"]
    assert [c["text"] for c in claims if c["kind"] == "account"][0] == JINJA_NAME
    assert not [c for c in claims if c["kind"] != "account" and c["text"] == "77"]
    assert out["grounding"]["passed"], out["grounding"]["unsupported"]


def test_a_template_draft_printed_to_the_terminal_carries_no_escape_sequence(named, capsys):
    assert main(["draft", "summary", "mini", "--account", "A2"]) == 0
    captured = capsys.readouterr()
    assert "Red Ltd" in captured.out
    assert _controls(captured.out) == [] and _controls(captured.err) == []
