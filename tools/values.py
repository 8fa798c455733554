"""SQL expressions that turn raw export values into canonical types, so parsing runs inside DuckDB at any size.

Epoch seconds/milliseconds/micro/nanoseconds, ISO timestamps with or without offsets, common US/European date
formats, yes/no booleans and currency strings are understood; anything else becomes NULL and is counted as
unparseable by the quality report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .schema import OUTCOME_SYNONYMS, ValueType

MISSING_MARKERS = ("", "n/a", "na", "null", "none", "nan", "-", "—", "–", "?", "#n/a", "nil", "undefined")
TRUE_WORDS = ("true", "t", "yes", "y", "1", "x", "checked", "on")
FALSE_WORDS = ("false", "f", "no", "n", "0", "unchecked", "off")

# Two-digit-year formats come first: DuckDB's %Y also accepts "24" (as the year 24), while %y refuses "2024".
_MONTH_FIRST = (
    "%m/%d/%y",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m-%d-%y",
    "%m-%d-%Y",
)
_DAY_FIRST = (
    "%d/%m/%y",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%y",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%y",
    "%d-%m-%Y",
)
_NAMED = (
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m",
    "%b %Y",
    "%B %Y",
    "%Y%m%d",
    "%a %b %d %H:%M:%S %Y",
    "%Y-%m-%d %H:%M:%S.%f",
)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})")


def quote(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + str(value).replace("'", "''") + "'"


def day_first(samples: Iterable[str | None]) -> bool:
    """Decide from sample values whether numeric dates are day/month/year (European) rather than month/day/year."""
    dots = day_over_12 = month_over_12 = 0
    for value in samples:
        if value is None:
            continue
        m = _NUMERIC_DATE.match(str(value))
        if not m:
            continue
        first, second = int(m.group(1)), int(m.group(2))
        day_over_12 += first > 12
        month_over_12 += second > 12
        dots += "." in m.group(0)
    if day_over_12 or month_over_12:
        return day_over_12 > month_over_12
    return dots > 0


def _blank_to_null(text_sql: str) -> str:
    markers = ", ".join(literal(m) for m in MISSING_MARKERS)
    return f"CASE WHEN lower(trim({text_sql})) IN ({markers}) THEN NULL ELSE trim({text_sql}) END"


def _epoch_to_timestamp(num_sql: str) -> str:
    """Per value, the magnitude says the unit: seconds < 1e11 ≤ milliseconds < 1e14 ≤ micro < 1e17 ≤ nano."""
    v = f"({num_sql})"
    micros = (
        f"CASE WHEN abs({v}) >= 1e17 THEN {v} / 1000 WHEN abs({v}) >= 1e14 THEN {v} "
        f"WHEN abs({v}) >= 1e11 THEN {v} * 1000 ELSE {v} * 1000000 END"
    )
    return f"make_timestamp(TRY_CAST({micros} AS BIGINT))"  # NaN or infinity → NULL, not an aborted load


def _text_to_timestamp(text_sql: str, dayfirst: bool) -> str:
    formats = (_DAY_FIRST + _MONTH_FIRST if dayfirst else _MONTH_FIRST + _DAY_FIRST) + _NAMED
    fmt_list = "[" + ", ".join(literal(f) for f in formats) + "]"
    t = f"({text_sql})"
    return (
        f"CASE WHEN regexp_full_match({t}, '-?[0-9]{{9,19}}(\\.[0-9]+)?') "
        f"THEN {_epoch_to_timestamp(f'TRY_CAST({t} AS DOUBLE)')} "
        # DuckDB's own cast reads 3/1/24 as the year 3, so numeric D/M/Y or M/D/Y dates skip it
        f"ELSE coalesce(CASE WHEN NOT regexp_matches({t}, '^[0-9]{{1,2}}[/.-][0-9]{{1,2}}[/.-]') "
        f"THEN timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ)) END, try_strptime({t}, {fmt_list})) END"
    )


def _text_to_number(text_sql: str) -> str:
    t = f"({text_sql})"
    # (1,200) is an accountant's negative; currency symbols, codes, thousands separators and % are dropped.
    signed = f"regexp_replace({t}, '^\\((.*)\\)$', '-\\1')"
    bare = f"regexp_replace({signed}, '[[:space:]$€£¥,%]|USD|EUR|GBP|usd|eur|gbp', '', 'g')"
    scaled = (
        f"CASE WHEN regexp_full_match({bare}, '-?[0-9.]+[kK]') THEN TRY_CAST(rtrim({bare}, 'kK') AS DOUBLE) * 1e3 "
        f"WHEN regexp_full_match({bare}, '-?[0-9.]+[mM]') THEN TRY_CAST(rtrim({bare}, 'mM') AS DOUBLE) * 1e6 "
        f"ELSE TRY_CAST({bare} AS DOUBLE) END"
    )
    return scaled


def _text_to_bool(text_sql: str) -> str:
    t = f"lower({text_sql})"
    yes = ", ".join(literal(w) for w in TRUE_WORDS)
    no = ", ".join(literal(w) for w in FALSE_WORDS)
    return f"CASE WHEN {t} IN ({yes}) THEN TRUE WHEN {t} IN ({no}) THEN FALSE END"


def is_text_type(duck_type: str) -> bool:
    return duck_type.upper().startswith(("VARCHAR", "JSON"))


def _is_numeric_type(duck_type: str) -> bool:
    base = duck_type.upper()
    return base.startswith(
        (
            "TINYINT",
            "SMALLINT",
            "INTEGER",
            "BIGINT",
            "HUGEINT",
            "UTINYINT",
            "USMALLINT",
            "UINTEGER",
            "UBIGINT",
            "FLOAT",
            "DOUBLE",
            "DECIMAL",
            "REAL",
        )
    )


def cleaned_text(column: str, duck_type: str) -> str:
    """The raw value as trimmed text, NULL for blanks and missing markers such as N/A or —."""
    col = quote(column)
    if is_text_type(duck_type):
        return _blank_to_null(col)
    if duck_type.upper().startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL")):
        # integral floats (1001.0 from a spreadsheet) read as the id 1001
        return f"CASE WHEN isnan({col}) THEN NULL WHEN {col} = trunc({col}) AND abs({col}) < 1e15 THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END"
    return f"CAST({col} AS VARCHAR)"


def parse_expr(column: str, duck_type: str, target: ValueType, *, dayfirst: bool = False) -> str:
    """SQL that converts source `column` of DuckDB type `duck_type` into the canonical `target` type."""
    col = quote(column)
    upper = duck_type.upper()
    if target in ("id", "text"):
        return cleaned_text(column, duck_type)
    if target == "outcome":
        key = f"regexp_replace(lower({cleaned_text(column, duck_type)}), '[^a-z]', '', 'g')"
        cases = " ".join(
            f"WHEN {key} IN ({', '.join(literal(w.replace('_', '')) for w in words)}) THEN {literal(value)}"
            for value, words in OUTCOME_SYNONYMS.items()
        )
        return f"CASE {cases} END"
    if target == "number":
        if _is_numeric_type(upper):
            return (
                f"CASE WHEN isnan({col}) THEN NULL ELSE CAST({col} AS DOUBLE) END"  # NaN is a missing value
            )
        if upper == "BOOLEAN":
            return f"CAST({col} AS DOUBLE)"
        return _text_to_number(cleaned_text(column, duck_type))
    if target == "bool":
        if upper == "BOOLEAN":
            return col
        if _is_numeric_type(upper):
            return f"CASE WHEN {col} = 1 THEN TRUE WHEN {col} = 0 THEN FALSE END"
        return _text_to_bool(cleaned_text(column, duck_type))
    # temporal targets
    if upper.startswith("TIMESTAMP WITH TIME ZONE") or upper == "TIMESTAMPTZ":
        ts = f"timezone('UTC', {col})"
    elif upper.startswith("TIMESTAMP") or upper == "DATE":
        ts = f"CAST({col} AS TIMESTAMP)"
    elif _is_numeric_type(upper):
        ts = _epoch_to_timestamp(f"CAST({col} AS DOUBLE)")
    else:
        ts = _text_to_timestamp(cleaned_text(column, duck_type), dayfirst)
    if target == "timestamp":
        return ts
    if target == "date":
        return f"CAST({ts} AS DATE)"
    return f"CAST(date_trunc('month', {ts}) AS DATE)"
