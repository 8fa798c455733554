"""Rounding in one place: ratios and shares to four decimals, NaN as None."""

from __future__ import annotations

DECIMALS = 4  # ratios and shares are rounded here, and only here


def rnd(value: float | None, decimals: int = DECIMALS) -> float | None:
    """Round for output; None and NaN stay None."""
    if value is None or value != value:
        return None
    return round(float(value), decimals)


def text_or_none(value: object) -> str | None:
    """A value as text; None and NaN (a missing cell from pandas) stay None."""
    return None if value is None or value != value else str(value)


def ratio(num: float | None, den: float | None) -> float | None:
    """num ÷ den rounded, or None when the denominator is missing or zero."""
    if num is None or den is None or den == 0 or den != den or num != num:
        return None
    return rnd(num / den)


def rounded(values, decimals: int = DECIMALS) -> list[float | None]:
    """`rnd` over a whole array at numpy speed, giving exactly what `rnd` gives value by value.

    numpy rounds x·10ⁿ to an integer and divides back; that can differ from Python's correctly rounded `round`
    only when x·10ⁿ lies within rounding error of a half, so those few values go through `round` itself."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    scaled = x * 10.0**decimals
    frac = scaled - np.floor(scaled)
    near_half = np.abs(frac - 0.5) < 1e-6
    out = np.round(x, decimals)
    if near_half.any():
        idx = np.flatnonzero(near_half)
        out[idx] = [round(float(v), decimals) for v in x[idx]]
    return [None if v != v else v for v in out.tolist()]
