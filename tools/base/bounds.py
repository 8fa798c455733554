"""The bounds of every user-facing parameter, in one place: the computations check them, and the CLI flags and MCP
tool arguments declared in server/analyses.py are generated with them, so no face accepts what another refuses."""

from __future__ import annotations

from datetime import date

from customer_health.tools.base.errors import MAX_MESSAGE_CHARS, InputError

WINDOW_DAYS = (1, 365)  # a usage window ending at as_of
FUNNEL_WINDOW_DAYS = (1, 365)  # from a funnel's first step to its last
LOOKBACK_DAYS = (1, 3650)  # funnels started in the last N days
TREND_WEEKS = (2, 104)
WORKFLOW_WEEKS = (1, 52)
COHORT_MONTHS = (1, 60)
PERIOD_MONTHS = (1, 60)  # the portfolio's retention period
TOP_N = (1, 200)  # accounts per portfolio or dashboard list
HORIZON_DAYS = (1, 730)  # lead time before a renewal outcome

# What one input may hold: past these a file or an argument is refused with the limit named, never read until the
# memory runs out.
FUNNEL_STEPS = (2, 20)  # each step is a self-join of the events
MAX_COLUMNS = 2_000  # per file or sheet
MAX_LINE_BYTES = 4_000_000  # one line of a CSV (so no single cell can be larger)
MAX_CELL_CHARS = 1_000_000  # one cell of a workbook or a JSON value
MAX_SHEET_CELLS = 20_000_000  # rows × columns actually present on one sheet
MAX_JSON_DEPTH = 64  # nesting of a JSON value inside a cell
MAX_ERROR_CHARS = (
    MAX_MESSAGE_CHARS  # an error message, as the CLI prints it and an MCP error result carries it
)
DATE_RANGE = (date(1900, 1, 1), date(2100, 12, 31))  # dates outside are read as unparseable


def check(name: str, value: int, bounds: tuple[int, int]) -> None:
    """Raise a readable error when `value` is outside `bounds` (inclusive)."""
    low, high = bounds
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high} (got {value}).", column=name)


def check_date(name: str, value: date) -> date:
    """`value` when it lies within DATE_RANGE; otherwise a readable error naming the range."""
    low, high = DATE_RANGE
    if not low <= value <= high:
        raise InputError(
            f"{value.isoformat()} is outside the dates this tool reads ({low.isoformat()} to {high.isoformat()}).",
            column=name,
            fix="Pass a real calendar date, e.g. 2026-06-30.",
        )
    return value


__all__ = [
    "COHORT_MONTHS",
    "DATE_RANGE",
    "FUNNEL_STEPS",
    "FUNNEL_WINDOW_DAYS",
    "HORIZON_DAYS",
    "LOOKBACK_DAYS",
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "MAX_ERROR_CHARS",
    "MAX_JSON_DEPTH",
    "MAX_LINE_BYTES",
    "MAX_SHEET_CELLS",
    "PERIOD_MONTHS",
    "TOP_N",
    "TREND_WEEKS",
    "WINDOW_DAYS",
    "WORKFLOW_WEEKS",
    "check",
    "check_date",
]
