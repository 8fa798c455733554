"""Writing results where they are read: JSON or CSV for scripts (CSV cells that a spreadsheet would run as formulas
are defused), text for a terminal (escape sequences and control characters from the data removed) and values from the
data inside markdown (escaped so that they read literally)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import pydantic_core
from pydantic import BaseModel

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that starts like a formula gets a leading apostrophe; numbers are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted columns; lists become compact JSON text."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, default=str, separators=(",", ":"))
        else:
            out[name] = value
    return out


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    flat = [flatten(r) for r in rows]
    columns: list[str] = []
    for r in flat:
        columns += [c for c in r if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in flat:
        writer.writerow({k: safe_cell(v) for k, v in r.items()})
    return buf.getvalue()


def _spelt_as_json_does(text: str) -> bool:
    """Whether pydantic-core's text numbers every float as the standard library would: they differ only under 1e-4,
    where pydantic-core writes 0.00003 (json: 3e-05) and 1e-7 (json: 1e-07). Such text inside a string (a word
    like re-engage after a digit) only sends the result the slow way. Literal searches: 67 MB in a fraction of a
    second, where a regular expression took seconds."""
    if "0.0000" in text:
        return False
    at = text.find("e-")
    while at != -1:
        if text[at - 1].isdigit():
            return False
        at = text.find("e-", at + 2)
    return True


def _finite(value: Any) -> Any:
    """`value` with every NaN and infinity as None: JSON has no such numbers (RFC 8259; jq and JavaScript refuse
    them), so they are written as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def to_json(result: BaseModel | dict) -> str:
    """Indented JSON, characters as they are, NaN and infinities as null (strict JSON). The standard library's
    indented writer is pure Python (1.7 s for 10,000 scored accounts under load); pydantic-core writes the same text
    straight from the model in Rust, and is used whenever its text is byte for byte what `json.dumps(data, indent=2,
    ensure_ascii=False)` writes — it numbers small and huge floats another way, so any such number sends the result
    the slow way."""
    if not isinstance(result, BaseModel):  # a dict may hold values `default=str` writes (a datetime, a path)
        return json.dumps(_finite(result), indent=2, ensure_ascii=False, default=str, allow_nan=False)
    try:  # in one pass from the model, without a dict of the whole result in between
        text = pydantic_core.to_json(result, indent=2, inf_nan_mode="null").decode("utf-8")
    except ValueError:  # a lone surrogate in a string: the standard library writes it as it is
        text = None
    if text is None or not _spelt_as_json_does(text):
        data = _finite(result.model_dump(mode="json"))  # JSON types only
        return json.dumps(data, indent=2, ensure_ascii=False, default=str, allow_nan=False)
    return text


# --- text from the data, made safe for where it is shown -----------------------------------------------------------
# ESC sequences (CSI `ESC [ … final`, OSC/DCS/APC/PM/SOS strings ended by BEL or ESC \, two-character escapes), then
# any other C0 or C1 control and DEL; newline and tab are layout and stay.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """`text` with terminal escape sequences and control characters removed (newlines and tabs kept), so a name in
    the data cannot move the cursor, recolour or retitle the terminal it is printed on."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~]|&(?=#?\w+;)|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_BLOCK_START = re.compile(r"^(\s*)(?:([#>+=-])|(\d+)([.)]))")
_MD_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def markdown_text(text: str, *, mid_line: bool = False) -> str:
    """One value from the data, to be read literally inside markdown: HTML tags, links, images, code spans,
    emphasis and table pipes are backslash-escaped, a leading `#`, `>`, `-`, `+`, `=` or `1.` cannot start a block
    (unless the caller puts it `mid_line`, after other text), and control characters and line breaks go (a line
    break would end the list item or table row it sits in)."""
    flat = " ".join(terminal_text(text).splitlines()).replace("\t", " ")
    escaped = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), flat)
    return escaped if mid_line else _MD_BLOCK_START.sub(_escape_block_start, escaped)


def _escape_block_start(m: re.Match) -> str:
    indent, marker, digits, dot = m.groups()
    return indent + ("\\" + marker if marker else digits + "\\" + dot)


def markdown_plain(text: str) -> str:
    """Markdown as a reader sees it: every backslash escape of ASCII punctuation undone (`\\[x\\]` reads `[x]`)."""
    return _MD_ESCAPED.sub(r"\1", text)


class _TerminalStream:
    """A text stream that passes everything through `terminal_text` on its way to `stream`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(terminal_text(text))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, buffer … of the real stream
        return getattr(self._stream, name)


@contextmanager
def terminal_safe_stdout(enabled: bool = True) -> Iterator[None]:
    """While inside, text written to standard output is stripped of escape sequences and control characters: the
    one boundary where a command's text meets the terminal. JSON and CSV output are written outside it, unchanged."""
    if not enabled:
        yield
        return
    original = sys.stdout
    sys.stdout = _TerminalStream(original)
    try:
        yield
    finally:
        sys.stdout = original
