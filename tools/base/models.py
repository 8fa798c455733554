"""Shared conventions of the computations: the as-of date, windows, rounding, and the result envelope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TypeVar

from pydantic import BaseModel, Field

M = TypeVar("M", bound=BaseModel)


class Envelope(BaseModel):
    """Fields every computation result carries so it reads on its own."""

    as_of: date
    summary: str = Field("", description="Two to four sentences of facts with numbers.")
    caveats: list[str] = Field(
        default_factory=list, description="What was missing or inferred, and what it leaves out."
    )


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
