"""Text from the data made safe where it is shown: without escape sequences and controls on a terminal, literal in
markdown (checked against an independent CommonMark renderer), and read back as written by the grounding check."""

from __future__ import annotations

import html
import io
import re
import sys

from customer_health.server.render.output import (
    markdown_plain,
    markdown_text,
    terminal_safe_stdout,
    terminal_text,
)
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
PRINTABLE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


def test_escape_sequences_go_whole_and_newlines_and_tabs_stay():
    text = "a\x1b[1;31mb\x1b[0m\tc\n\x1b]0;title\x07d\x1b]8;;http://x\x1b\\e\x9b2Jf\x1b(Bg\x00\x07\x08\x7f\x85h\r"
    assert terminal_text(text) == "ab\tc\ndefgh"


@given(st.text(max_size=60))
def test_nothing_a_terminal_acts_on_survives(text):
    out = terminal_text(text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", out)
    assert terminal_text(out) == out


def test_standard_output_is_cleaned_only_inside_the_boundary():
    buffer = io.StringIO()
    original, sys.stdout = sys.stdout, buffer
    try:
        with terminal_safe_stdout():
            print("\x1b[31mRed\x1b[0m Ltd")
        print("\x1b[31mraw\x1b[0m")  # outside: JSON and CSV are written as they are
        with terminal_safe_stdout(enabled=False):
            print("\x1b[1mkept\x1b[0m")
    finally:
        sys.stdout = original
    assert buffer.getvalue() == "Red Ltd\n\x1b[31mraw\x1b[0m\n\x1b[1mkept\x1b[0m\n"


def _shown(markdown: str) -> str:
    """The text a CommonMark viewer shows for one paragraph, markup gone."""
    rendered = MD.render(markdown)
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n"), rendered
    return html.unescape(rendered[3:-5])


@given(PRINTABLE)
def test_any_printable_value_reads_literally_in_a_markdown_sentence(value):
    assert _shown(f"Account {markdown_text(value)} renewed.") == f"Account {value} renewed."


@given(PRINTABLE)
def test_a_value_at_the_start_of_a_line_starts_no_heading_list_or_quote(value):
    if value.strip() and value == value.strip():
        assert _shown(markdown_text(value)) == value


@given(PRINTABLE.filter(lambda v: v.strip() == v and v))
def test_a_value_stays_inside_its_table_cell(value):
    rendered = MD.render(f"| Name | ARR |\n|---|---|\n| {markdown_text(value)} | 1 |\n")
    cells = re.findall(r"<td>(.*?)</td>", rendered, re.S)
    assert [html.unescape(c) for c in cells] == [value, "1"]


def test_the_issue_examples_render_as_text():
    for value in (
        "<script>alert(1)</script>",
        "[click](http://evil.example)",
        "![img](http://evil.example/a.png)",
        "`rm -rf /`",
        "# Heading",
        "a | b",
        "**bold** _it_ ~~gone~~",
        "&lt;b&gt; &#65;",
    ):
        rendered = MD.render(f"- {markdown_text(value)}\n")
        assert not re.search(r"<(?!/?(?:ul|li)>)", rendered), rendered  # no tag but the list's own
        assert html.unescape(rendered) == f"<ul>\n<li>{value}</li>\n</ul>\n"


def test_line_breaks_and_controls_in_a_value_cannot_end_its_line():
    assert markdown_text("Acme\n# Injected\r\n\x1b[2Jheading\tx") == "Acme # Injected heading x"


@given(PRINTABLE)
def test_undoing_the_escapes_gives_back_the_value(value):
    assert markdown_plain(markdown_text(value)) == value
