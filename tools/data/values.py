"""SQL expressions that turn raw export values into canonical types, so parsing runs inside DuckDB at any size.

Epoch seconds/milliseconds/micro/nanoseconds, yyyymmdd integers, ISO timestamps with or without offsets, common
US/European date formats, yes/no booleans, currency strings and decimal commas are understood; anything else becomes
NULL and is counted as unparseable by the quality report. Where a convention is ambiguous value by value (day/month
order, decimal point or comma, yyyymmdd or epoch) a sample of the column decides, once for the whole column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from customer_health.tools.base.sql import literal, quote
from customer_health.tools.data.schema import OUTCOME_SYNONYMS, ValueType

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
_US_GROUPED = re.compile(
    r"^[1-9]\d{0,2}(,\d{3})+$"
)  # 1,234 or 12,345,678: a comma that can only group thousands
_EU_GROUPED = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+$")
# integer dates 1900-01-01..2099-12-31; read as epoch seconds they would all fall in August 1970, a time no
# product export covers, so a column of them is taken as yyyymmdd
YYYYMMDD_RANGE = (19000101, 20991231)
# an ISO timestamp whose offset is set off by a space ("2026-03-01 10:00:00 +0100"), which DuckDB's cast refuses
_SPACED_OFFSET = "^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?) +(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"


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


def number_convention(samples: Iterable[object]) -> Literal["comma", "point"] | None:
    """Which decimal mark sample values use: "comma" (1.234,56 and 12,5), "point" (1,234.56), or None (can't say).

    Only values that one convention cannot produce count as evidence: `12,5` or `1.234,56` for the comma, `12.5`,
    `1,234.56` or `1,234,567` for the point. `1,234` and `1.234` fit both and decide nothing. Any evidence for the
    point wins, so a US amount is never misread; the comma needs evidence and none against it.
    """
    comma = point = 0
    for value in samples:
        if value is None or not isinstance(value, str):
            continue
        digits = re.sub(r"[^0-9,.]", "", value)
        has_comma, has_point = "," in digits, "." in digits
        if has_comma and has_point:
            comma += digits.rfind(",") > digits.rfind(".")
            point += digits.rfind(".") > digits.rfind(",")
        elif has_comma:
            if digits.count(",") > 1:
                point += 1  # only thousands groups repeat
            else:
                comma += not _US_GROUPED.match(digits)
        elif has_point:
            if digits.count(".") > 1:
                comma += 1
            else:
                point += not _EU_GROUPED.match(digits)
    if point:
        return "point"
    return "comma" if comma else None


def yyyymmdd_integers(samples: Iterable[object]) -> bool:
    """Decide whether a numeric date column holds yyyymmdd integers (20260301) rather than epoch times.

    Every sampled value must be a whole number in 1900-01-01..2099-12-31 that is a real calendar date; one value
    that is not (an epoch such as 1709251200, or 20260230) and the column is read as epoch times.
    """
    import datetime as dt

    seen = False
    for value in samples:
        if value is None:
            continue
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        if number != number or not number.is_integer():
            return False
        whole = int(number)
        if not YYYYMMDD_RANGE[0] <= whole <= YYYYMMDD_RANGE[1]:
            return False
        try:
            dt.date(whole // 10000, whole // 100 % 100, whole % 100)
        except ValueError:
            return False
        seen = True
    return seen


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
    spaced = f"regexp_replace({t}, {literal(_SPACED_OFFSET)}, '\\1\\4')"  # tried only where the cast fails
    return (
        f"CASE WHEN regexp_full_match({t}, '-?[0-9]{{9,19}}(\\.[0-9]+)?') "
        f"THEN {_epoch_to_timestamp(f'TRY_CAST({t} AS DOUBLE)')} "
        # DuckDB's own cast reads 3/1/24 as the year 3, so numeric D/M/Y or M/D/Y dates skip it
        f"ELSE coalesce(CASE WHEN NOT regexp_matches({t}, '^[0-9]{{1,2}}[/.-][0-9]{{1,2}}[/.-]') "
        f"THEN timezone('UTC', coalesce(TRY_CAST({t} AS TIMESTAMPTZ), TRY_CAST({spaced} AS TIMESTAMPTZ))) END, "
        f"try_strptime({t}, {fmt_list})) END"
    )


def _text_to_number(text_sql: str, decimal_comma: bool = False) -> str:
    t = f"({text_sql})"
    # (1,200) is an accountant's negative; currency symbols, codes, spaces (also non-breaking) and % are dropped.
    signed = f"regexp_replace({t}, '^\\((.*)\\)$', '-\\1')"
    bare = (
        f"regexp_replace({signed}, '[[:space:]\\x{{00A0}}\\x{{202F}}$€£¥%]|USD|EUR|GBP|usd|eur|gbp', '', 'g')"
    )
    # A thousands separator must group by three from the left (1,234,567); anything else is not this convention's
    # number and stays unread (so the quality report shows it) rather than being misread by a factor of 10^n.
    # Each expression is written out wherever it is used, so every step refers to the one before at most twice.
    group, point = (".", ",") if decimal_comma else (",", ".")
    valid = f"[^{group}]*|-?[0-9]{{1,3}}([{group}][0-9]{{3}})+([{point}][0-9]*)?[kKmM]?"
    plain = f"CASE WHEN regexp_full_match({bare}, '{valid}') THEN replace({bare}, '{group}', '') END"
    if decimal_comma:
        plain = f"replace({plain}, ',', '.')"
    scale = f"[1, 1e3, 1e3, 1e6, 1e6][strpos('kKmM', right({plain}, 1)) + 1]"  # no suffix: position 0, 1×
    return f"TRY_CAST(regexp_replace({plain}, '([0-9.])[kKmM]$', '\\1') AS DOUBLE) * {scale}"


def _words_to_number(key_sql: str, words: tuple[tuple[str, float | None], ...], otherwise: str) -> str:
    by_value: dict[float | None, list[str]] = {}
    for word, value in words:
        by_value.setdefault(value, []).append(literal(word))
    cases = " ".join(
        f"WHEN {key_sql} IN ({', '.join(ws)}) THEN {'NULL' if v is None else repr(float(v))}"
        for v, ws in by_value.items()
    )
    return f"CASE {cases} ELSE {otherwise} END"


def word_key(text_sql: str) -> str:
    """SQL for a text's words as one key: lower-case letters only ('Closed-Won' → 'closedwon')."""
    return f"regexp_replace(lower({text_sql}), '[^a-z]', '', 'g')"


def raw_text(column: str, duck_type: str, words: tuple[tuple[str, float | None], ...] = ()) -> str:
    """The raw value as text for the quality report; a word that means 'no value' (Zendesk's Offered) is blank."""
    text = f"CAST({quote(column)} AS VARCHAR)"
    blanks = [w for w, v in words if v is None]
    if not blanks or not is_text_type(duck_type):
        return text
    return (
        f"CASE WHEN {word_key(text)} IN ({', '.join(literal(w) for w in blanks)}) THEN NULL ELSE {text} END"
    )


def _text_to_bool(text_sql: str) -> str:
    t = f"lower({text_sql})"
    yes = ", ".join(literal(w) for w in TRUE_WORDS)
    no = ", ".join(literal(w) for w in FALSE_WORDS)
    return f"CASE WHEN {t} IN ({yes}) THEN TRUE WHEN {t} IN ({no}) THEN FALSE END"


def is_text_type(duck_type: str) -> bool:
    return duck_type.upper().startswith(("VARCHAR", "JSON"))


def is_numeric_type(duck_type: str) -> bool:
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


def parse_expr(
    column: str,
    duck_type: str,
    target: ValueType,
    *,
    dayfirst: bool = False,
    decimal_comma: bool = False,
    yyyymmdd: bool = False,
    words: tuple[tuple[str, float | None], ...] = (),
) -> str:
    """SQL that converts source `column` of DuckDB type `duck_type` into the canonical `target` type.

    The keyword flags are the column's conventions, decided once from a sample: `dayfirst` for 03/01 dates,
    `decimal_comma` for 1.234,56 numbers, `yyyymmdd` for integer dates; `words` maps rating words to numbers.
    """
    col = quote(column)
    upper = duck_type.upper()
    if target in ("id", "text"):
        return cleaned_text(column, duck_type)
    if target == "outcome":
        key = word_key(cleaned_text(column, duck_type))
        cases = " ".join(
            f"WHEN {key} IN ({', '.join(literal(w.replace('_', '')) for w in words)}) THEN {literal(value)}"
            for value, words in OUTCOME_SYNONYMS.items()
        )
        return f"CASE {cases} END"
    if target == "number":
        if is_numeric_type(upper):
            return (
                f"CASE WHEN isnan({col}) THEN NULL ELSE CAST({col} AS DOUBLE) END"  # NaN is a missing value
            )
        if upper == "BOOLEAN":
            return f"CAST({col} AS DOUBLE)"
        number = _text_to_number(cleaned_text(column, duck_type), decimal_comma)
        if words:
            return _words_to_number(word_key(cleaned_text(column, duck_type)), words, number)
        return number
    if target == "bool":
        if upper == "BOOLEAN":
            return col
        if is_numeric_type(upper):
            return f"CASE WHEN {col} = 1 THEN TRUE WHEN {col} = 0 THEN FALSE END"
        return _text_to_bool(cleaned_text(column, duck_type))
    # temporal targets
    if upper.startswith("TIMESTAMP WITH TIME ZONE") or upper == "TIMESTAMPTZ":
        ts = f"timezone('UTC', {col})"
    elif upper.startswith("TIMESTAMP") or upper == "DATE":
        ts = f"CAST({col} AS TIMESTAMP)"
    elif is_numeric_type(upper) and yyyymmdd:
        ts = f"try_strptime(CAST(TRY_CAST({col} AS BIGINT) AS VARCHAR), '%Y%m%d')"
    elif is_numeric_type(upper):
        ts = _epoch_to_timestamp(f"CAST({col} AS DOUBLE)")
    else:
        ts = _text_to_timestamp(cleaned_text(column, duck_type), dayfirst)
    if target == "timestamp":
        return ts
    if target == "date":
        return f"CAST({ts} AS DATE)"
    return f"CAST(date_trunc('month', {ts}) AS DATE)"
