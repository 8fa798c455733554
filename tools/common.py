"""Shared conventions of the computations: the as-of date, windows, rounding, and the result envelope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import NamedTuple, TypeVar

from pydantic import BaseModel, Field

from .dataset import Dataset
from .errors import InputError

M = TypeVar("M", bound=BaseModel)

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


class Window(NamedTuple):
    """A half-open timestamp range [start, end) covering whole calendar days."""

    start: datetime
    end: datetime

    def sql(self, column: str = "timestamp") -> str:
        return f"{column} >= TIMESTAMP '{self.start:%Y-%m-%d %H:%M:%S}' AND {column} < TIMESTAMP '{self.end:%Y-%m-%d %H:%M:%S}'"


def window(as_of: date, days: int, offset_days: int = 0) -> Window:
    """The `days` calendar days ending at `as_of` (inclusive), shifted back by `offset_days`.

    window(d, 30) covers d-29 … d; window(d, 30, 30) is the prior 30 days, d-59 … d-30.
    """
    if days < 1:
        raise InputError(f"a window must be at least 1 day (got {days}).")
    end_day = as_of - timedelta(days=offset_days)
    end = datetime.combine(end_day + timedelta(days=1), time.min)
    return Window(end - timedelta(days=days), end)


def resolve_as_of(ds: Dataset, as_of: date | str | None) -> date:
    """An explicit as-of date, or the latest activity date in the data (never the wall clock)."""
    if as_of is None:
        return ds.default_as_of()
    if isinstance(as_of, date):
        return as_of
    try:
        return date.fromisoformat(str(as_of)[:10])
    except ValueError:
        raise InputError(
            f"'{as_of}' is not a date.", column="as_of", fix="Use YYYY-MM-DD, e.g. 2026-06-30."
        ) from None


class Envelope(BaseModel):
    """Fields every computation result carries so it reads on its own."""

    as_of: date
    summary: str = Field("", description="Two to four sentences of facts with numbers.")
    caveats: list[str] = Field(
        default_factory=list, description="What was missing or inferred, and what it leaves out."
    )


def fetch_dicts(con, sql: str, params: list | None = None) -> list[dict]:
    """Run a query and return its rows as dicts (fast: no pandas in between)."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


_ADAPTERS: dict[type, object] = {}


def validate_rows(model: type[BaseModel], rows: list[dict]) -> list:
    """Validate many rows at once through one cached TypeAdapter (much faster than a model per row)."""
    from pydantic import TypeAdapter

    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(list[model])
    return _ADAPTERS[model].validate_python(rows)


def trusted(model: type[M], **values) -> M:
    """An instance of `model` from values this code computed itself, without validation.

    What `model_construct` does for a model with no aliases, extras or defaults left to fill, minus its per-call
    bookkeeping (about 10 µs, which adds up over 150,000 drivers). Every field must be given.
    """
    if len(values) != len(model.__pydantic_fields__):
        missing = set(model.__pydantic_fields__) - set(values)
        raise TypeError(f"{model.__name__}: trusted() needs every field; missing {sorted(missing)}")
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def constructor(model: type[M]):
    """A function making instances of `model` from dicts of computed values, as `trusted` does, at a third of its
    cost: for building the hundreds of thousands of drivers of a large portfolio. Each dict must hold every field
    and is used as the instance's own (don't reuse it)."""
    new, set_attr, n = model.__new__, object.__setattr__, len(model.__pydantic_fields__)
    # one "fields set" shared by every instance: each has every field set, so pydantic's only change to it (adding
    # a field on assignment) is a no-op, and copies take their own; one object less per instance for the GC to scan
    fields = set(model.__pydantic_fields__)

    def make(values: dict) -> M:
        if len(values) != n:
            return trusted(model, **values)  # raises, naming what is missing
        obj = new(model)
        set_attr(obj, "__dict__", values)
        set_attr(obj, "__pydantic_fields_set__", fields)
        set_attr(obj, "__pydantic_extra__", None)
        set_attr(obj, "__pydantic_private__", None)
        return obj

    return make


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


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector while building many small objects that form no cycles (the drivers of a
    large portfolio): otherwise it runs over and over as they pile up, costing more than building them."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def gc_paused(fn):
    """Run `fn` with the cycle collector paused (see `paused_gc`): for computations that build a row object per
    account. Without it, once a large result is alive (a scored portfolio keeps ~150,000 drivers), every few
    thousand new objects trigger a collection that walks all of them again."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paused_gc():
            return fn(*args, **kwargs)

    return wrapper
