"""Open an export file — CSV/TSV, XLSX, Parquet or JSON — as one or more raw relations inside DuckDB.

The file's content, not its extension alone, decides how it is read; a mismatch is an error that says how to fix it.
CSV dialects are sniffed here (delimiter, quoting, header) and then handed to DuckDB explicitly, so that a ragged
row is reported with its line number instead of being silently misread.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from customer_health.tools.base.errors import InputError
from customer_health.tools.base.sql import literal, quote
from customer_health.tools.data.recognize import recognize

if TYPE_CHECKING:
    import duckdb

DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq", ".json", ".jsonl", ".ndjson"}
_SNIFF_BYTES = 256 * 1024
_DELIMITERS = (",", ";", "\t", "|")


@dataclass
class RawSource:
    """One readable table inside a file: a SQL `FROM` clause, its columns and types, and how rows are numbered."""

    path: Path
    sheet: str | None
    fmt: str
    from_sql: str
    columns: list[str]
    types: list[str]
    first_row: int  # the user-visible row number of the first data row (header is row first_row - 1)
    notes: list[str]

    @property
    def label(self) -> str:
        return f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name


def detect_format(path: Path, head: bytes) -> str:
    """Say what the file really is from its first bytes, cross-checked against its extension."""
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        if suffix in (".xlsx", ".xlsm"):
            return "xlsx"
        raise InputError(
            "is a zip archive (an Excel workbook or a compressed export), not a text file.",
            file=path.name,
            fix="Unzip it, or save the workbook with an .xlsx extension.",
        )
    if head.startswith(b"PAR1"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm"):
        kind = "CSV text" if _looks_textual(head) else "not an Excel file"
        raise InputError(
            f"has an Excel extension but is {kind}.",
            file=path.name,
            fix="Rename it to .csv if it is a CSV export, or re-export it from Excel as .xlsx.",
        )
    if suffix in (".parquet", ".pq"):
        raise InputError(
            "has a Parquet extension but is not a Parquet file.",
            file=path.name,
            fix="Re-export it as Parquet, or give it the extension that matches its content.",
        )
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xfe\xff")):
        # DuckDB reads UTF-16 little-endian only; these would come through as garbled text
        raise InputError(
            "is UTF-32 or big-endian UTF-16 text, an encoding we can't read.",
            file=path.name,
            fix="Save it as CSV UTF-8, or as Excel 'Unicode Text' (UTF-16 little-endian).",
        )
    if head.startswith(b"\xff\xfe"):
        return "csv-utf16"
    if not head.strip():
        raise InputError("is empty.", file=path.name, fix="Export the data again; the file has no content.")
    if b"\x00" in head or not _looks_textual(head):
        raise InputError(
            "is binary data, not a text export (or uses an encoding we can't read, such as UTF-32).",
            file=path.name,
            fix="Export it as CSV (UTF-8), XLSX, Parquet or JSON.",
        )
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    # a CSV may start with a bracket too ("[Internal] Acme,..."): only text that parses as JSON is JSON
    if stripped[:1] in (b"[", b"{") and _parses_as_json(stripped, cut=len(head) >= _SNIFF_BYTES):
        return "json"
    return "csv"


def _parses_as_json(head: bytes, cut: bool) -> bool:
    """Whether the sample is one JSON document or JSON Lines; a sample cut short need only parse up to the cut."""
    text = head.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    pos = 0
    try:
        while pos < len(text):
            _, pos = decoder.raw_decode(text, pos)
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
    except json.JSONDecodeError as exc:
        # a cut sample fails at its end; a text file that is not JSON fails on its first line
        first_line = text.find("\n") if "\n" in text else len(text)
        return cut and exc.pos > min(first_line, len(text) // 2)
    return True


def _looks_textual(head: bytes) -> bool:
    sample = head[:8192]
    if not sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12))
    try:
        sample.decode("utf-8")
        return controls / len(sample) < 0.01
    except UnicodeDecodeError as exc:
        if len(head) > len(sample) and exc.start >= len(sample) - 4:  # a character cut at the sample's end
            return controls / len(sample) < 0.01
        high = sum(1 for b in sample if b >= 0x80)
        return controls / len(sample) < 0.01 and high / len(sample) < 0.3  # latin-1 text, not random bytes


def open_file(con: duckdb.DuckDBPyConnection, path: Path) -> list[RawSource]:
    """Every raw table in `path` (a workbook gives one per non-empty sheet)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(
            f"cannot be read ({exc.strerror}).",
            file=path.name,
            fix="Check the path and the file's permissions.",
        ) from None
    fmt = detect_format(path, head)
    if fmt == "xlsx":
        return _open_xlsx(con, path)
    if fmt == "parquet":
        return [_open_parquet(con, path)]
    if fmt == "json":
        return [_open_json(con, path, head)]
    return [_open_csv(con, path, head, utf16=fmt == "csv-utf16")]


def _decode(head: bytes, utf16: bool) -> tuple[str, str]:
    if utf16:
        return head.decode("utf-16", errors="ignore"), "utf-16"
    try:
        return head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if len(head) >= _SNIFF_BYTES and exc.start >= len(head) - 4:  # a character cut at the sample's end
            return head[: exc.start].decode("utf-8"), "utf-8"
        return head.decode("latin-1"), "latin-1"


def sniff_dialect(text: str) -> tuple[str, list[str]]:
    """Pick the delimiter that splits the sample into the most consistent rows; return it and the header."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if len(text) >= _SNIFF_BYTES // 2 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample is partial
    sample = "\n".join(lines[:200])
    best: tuple[float, int, str, list[list[str]]] | None = None
    for delim in _DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delim) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistency = sum(len(r) == width for r in rows) / len(rows)
        score = (consistency, width, delim, rows)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        rows = [r for r in csv.reader(io.StringIO(sample)) if r]
        return ",", rows[0] if rows else []
    return best[2], best[3][0]


def _open_csv(con: duckdb.DuckDBPyConnection, path: Path, head: bytes, utf16: bool) -> RawSource:
    text, encoding = _decode(head, utf16)
    delim, header = sniff_dialect(text)
    header = [h.strip() for h in header]
    if not header or all(not h for h in header):
        raise InputError(
            "has no header row.", file=path.name, fix="Put the column names in the first line of the file."
        )
    columns = _unique_names(header)
    col_spec = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in columns) + "}"
    options = (
        f"auto_detect=false, header=true, delim={literal(delim)}, quote='\"', escape='\"', "
        f"columns={col_spec}, strict_mode=true, encoding={literal(encoding)}, "
        f"max_line_size=10000000"
    )
    from_sql = f"read_csv({literal(str(path))}, {options})"
    notes = []
    if delim != ",":
        notes.append(f"delimiter {'TAB' if delim == chr(9) else repr(delim)}")
    if encoding != "utf-8":
        notes.append(f"encoding {encoding}")
    return RawSource(path, None, "csv", from_sql, columns, ["VARCHAR"] * len(columns), 2, notes)


def as_latin1(raw: RawSource) -> RawSource | None:
    """The same CSV read as latin-1, for a file whose invalid UTF-8 starts after the sniffed sample."""
    if raw.fmt != "csv" or "encoding='utf-8'" not in raw.from_sql:
        return None
    from_sql = raw.from_sql.replace("encoding='utf-8'", "encoding='latin-1'")
    return RawSource(
        raw.path,
        raw.sheet,
        raw.fmt,
        from_sql,
        raw.columns,
        raw.types,
        raw.first_row,
        [*raw.notes, "encoding latin-1"],
    )


def _open_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> RawSource:
    from_sql = f"read_parquet({literal(str(path))})"
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()
    except Exception as exc:  # duckdb raises several error classes for a damaged file
        raise InputError(
            f"is not a readable Parquet file ({first_line(exc)}).",
            file=path.name,
            fix="Re-export the file; it may be truncated.",
        ) from None
    return RawSource(path, None, "parquet", from_sql, [d[0] for d in desc], [d[1] for d in desc], 1, [])


def _open_json(con: duckdb.DuckDBPyConnection, path: Path, head: bytes) -> RawSource:
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    fmt = "array" if first == b"[" else "newline_delimited"
    from_sql = f"read_json({literal(str(path))}, format={literal(fmt)}, sample_size=20000, maximum_depth=3)"
    not_records = InputError(
        "is JSON but not a list of records.",
        file=path.name,
        fix="Export an array of objects ([{...}, {...}]) or one JSON object per line (JSON Lines).",
    )
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()
    except Exception:
        raise not_records from None
    if first not in (b"[", b"{"):
        raise not_records
    names, exprs, types = [], [], []
    for name, dtype, *_ in desc:
        if dtype.upper().startswith("STRUCT(") and not dtype.endswith("]"):  # a list of structs stays whole
            for field_name, field_type in _struct_fields(con, from_sql, name):
                names.append(field_name)
                exprs.append(f"{quote(name)}.{quote(field_name)}")
                types.append(field_type)
        else:
            names.append(name)
            exprs.append(quote(name))
            types.append(dtype)
    if names == ["json"]:  # DuckDB's name for the values of an array or lines that are not objects
        raise not_records
    if first == b"{":
        _refuse_wrapped_records(con, path, from_sql, names, types)
    unique = _unique_names(names)
    select = ", ".join(f"{e} AS {quote(n)}" for e, n in zip(exprs, unique, strict=True))
    sub = f"(SELECT {select} FROM {from_sql})"
    flat_types = [
        t if not t.upper().startswith(("STRUCT", "MAP", "LIST")) and not t.endswith("[]") else "JSON"
        for t in types
    ]
    if any(t == "JSON" for t in flat_types):
        select = ", ".join(
            f"{'CAST(to_json(' + e + ') AS VARCHAR)' if t == 'JSON' else e} AS {quote(n)}"
            for e, n, t in zip(exprs, unique, flat_types, strict=True)
        )
        sub = f"(SELECT {select} FROM {from_sql})"
        flat_types = ["VARCHAR" if t == "JSON" else t for t in flat_types]
    return RawSource(path, None, "json", sub, unique, flat_types, 1, [])


def _refuse_wrapped_records(
    con: duckdb.DuckDBPyConnection, path: Path, from_sql: str, names: list[str], types: list[str]
) -> None:
    """An API response such as {"data": [{...}, {...}], "has_more": false} holds the records; it is not one.

    It is a single object with a list of objects in it whose own fields make no table; one record that merely
    has a list inside (an order with its items) is recognised as a table and kept.
    """
    lists = [
        n for n, t in zip(names, types, strict=True) if re.fullmatch(r"STRUCT\(.*\)\[\]", t.upper(), re.S)
    ]
    if not lists or recognize(path.name, names) is not None:
        return
    if con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {from_sql} LIMIT 2)").fetchone()[0] > 1:
        return
    raise InputError(
        f"is one JSON object that holds the records under '{lists[0]}', not a list of records.",
        file=path.name,
        fix=f"Export the list itself, or extract it first (for example: jq '.{lists[0]}' {path.name} > records.json).",
    )


def _struct_fields(con: duckdb.DuckDBPyConnection, from_sql: str, column: str) -> list[tuple[str, str]]:
    rows = con.execute(f"DESCRIBE SELECT {quote(column)}.* FROM {from_sql}").fetchall()
    return [(r[0], r[1]) for r in rows]


def _open_xlsx(con: duckdb.DuckDBPyConnection, path: Path) -> list[RawSource]:
    import openpyxl
    import pandas as pd

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(
            f"is not a readable Excel workbook ({first_line(exc)}).",
            file=path.name,
            fix="Open it in Excel and save it again as .xlsx, or export the sheet as CSV.",
        ) from None
    sources = []
    try:
        for index, sheet in enumerate(book.worksheets):
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            header_at = _header_row(rows)
            if header_at is None:
                continue
            header = [str(h).strip() if h is not None else "" for h in rows[header_at]]
            width = max((i + 1 for i, h in enumerate(header) if h), default=0)
            columns = _unique_names([h or f"column_{i + 1}" for i, h in enumerate(header[:width])])
            body = [[_cell_text(v) for v in (r + [None] * width)[:width]] for r in rows[header_at + 1 :]]
            while body and all(v is None for v in body[-1]):
                body.pop()
            frame = pd.DataFrame(body, columns=columns, dtype=object).astype("string")
            view = f"_xlsx_{abs(hash((str(path), index))) % 10**12}"
            con.register(view, frame)
            sources.append(
                RawSource(
                    path, sheet.title, "xlsx", view, columns, ["VARCHAR"] * len(columns), header_at + 2, []
                )
            )
    finally:
        book.close()
    if not sources:
        raise InputError(
            "is a workbook with no sheet that holds a table.",
            file=path.name,
            fix="Put a header row and data rows on a sheet, or export the table as CSV.",
        )
    return sources


def _header_row(rows: list[list[object]]) -> int | None:
    """The header is the first row, within the first 30, that is more than half as wide as the widest one."""
    counts = [sum(v is not None and str(v).strip() != "" for v in r) for r in rows[:30]]
    widest = max(counts, default=0)
    if widest == 0:
        return None
    # strictly more than half: a one-cell title above a two-column table is not its header
    return next(i for i, c in enumerate(counts) if c > widest / 2)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if hasattr(value, "isoformat"):  # a date or a time of day (time.isoformat takes no `sep`)
        return value.isoformat()
    return str(value)


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        name = raw if raw else "column"
        if name.lower() in seen:
            seen[name.lower()] += 1
            name = f"{name}_{seen[name.lower()]}"
        seen.setdefault(name.lower(), 1)
        out.append(name)
    return out


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return re.sub(r"^[A-Za-z ]*Error: ", "", text[0]) if text else type(exc).__name__
