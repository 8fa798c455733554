"""The bounds of every user-facing parameter, in one place: the computations check them, and the CLI flags and MCP
tool arguments declared in server/analyses.py are generated with them, so no face accepts what another refuses."""

from __future__ import annotations

from customer_health.tools.base.errors import InputError

WINDOW_DAYS = (1, 365)  # a usage window ending at as_of
FUNNEL_WINDOW_DAYS = (1, 365)  # from a funnel's first step to its last
LOOKBACK_DAYS = (1, 3650)  # funnels started in the last N days
TREND_WEEKS = (2, 104)
WORKFLOW_WEEKS = (1, 52)
COHORT_MONTHS = (1, 60)
PERIOD_MONTHS = (1, 60)  # the portfolio's retention period
TOP_N = (1, 200)  # accounts per portfolio or dashboard list
HORIZON_DAYS = (1, 730)  # lead time before a renewal outcome


def check(name: str, value: int, bounds: tuple[int, int]) -> None:
    """Raise a readable error when `value` is outside `bounds` (inclusive)."""
    low, high = bounds
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high} (got {value}).", column=name)


__all__ = [
    "COHORT_MONTHS",
    "FUNNEL_WINDOW_DAYS",
    "HORIZON_DAYS",
    "LOOKBACK_DAYS",
    "PERIOD_MONTHS",
    "TOP_N",
    "TREND_WEEKS",
    "WINDOW_DAYS",
    "WORKFLOW_WEEKS",
    "check",
]
