"""The one way every face writes money and percentages: $533,700 · $1.2M · 42% · +12% · — for a missing value.

Rounding is Python's own (`format`, as `round` does it: the nearest value, a tie to even, on the float as stored),
so these strings agree with the facts packs' numbers and with the `{metric:+.0%}` evidence a rules file writes.
Dates are written one way everywhere already (ISO: 2026-03-31, months 2026-03), so there is no date formatter.
"""

from __future__ import annotations

import math

MISSING = "—"
MILLION_FROM = 999_500  # so that 999,999 reads $1.0M, never $1,000K


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _unsigned_zero(text: str) -> str:
    """'-0%' and '-0.0%' (a small negative rounded away) lose their minus sign."""
    return text[1:] if text.startswith("-") and not text.strip("-0.%") else text


def money(amount: float | None) -> str:
    """$5,004 below a million, $1.2M from 999,500 up, -$45,000 when negative, — for None."""
    if _missing(amount):
        return MISSING
    size = abs(amount)
    text = f"${size / 1e6:,.1f}M" if size >= MILLION_FROM else f"${size:,.0f}"
    return f"-{text}" if amount < 0 and text != "$0" else text


def percent(ratio: float | None, decimals: int = 0) -> str:
    """A ratio as a percentage: 0.42 → 42%, 0.4213 with decimals=1 → 42.1%, — for None."""
    if _missing(ratio):
        return MISSING
    return _unsigned_zero(f"{ratio:.{decimals}%}")


def change(ratio: float | None, decimals: int = 0) -> str:
    """A change as a signed percentage: 0.12 → +12%, -0.43 → -43%, 0 → +0%, — for None."""
    if _missing(ratio):
        return MISSING
    text = _unsigned_zero(f"{ratio:+.{decimals}%}")
    return text if text[0] in "+-" else f"+{text}"


__all__ = ["MISSING", "change", "money", "percent"]
