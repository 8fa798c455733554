"""JSON output is written fast and is byte for byte what the standard library writes: whatever the values (floats
written with an exponent or in full, characters outside ASCII, control characters, lone surrogates) — and strict JSON:
NaN and infinities, which JSON has no spelling for, are written as null wherever they sit."""

from __future__ import annotations

import json
from typing import Any

from customer_health.server.render.output import to_json
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel


class Holder(BaseModel):
    data: Any


def _nulls(value: Any) -> Any:
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return None
    if isinstance(value, dict):
        return {k: _nulls(v) for k, v in value.items()}
    return [_nulls(v) for v in value] if isinstance(value, list) else value


def _stdlib(result: BaseModel) -> str:
    return json.dumps(_nulls(result.model_dump(mode="json")), indent=2, ensure_ascii=False, default=str)


def _strict(text: str):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_json_output_is_what_the_standard_library_writes(value):
    result = Holder(data=value)
    assert to_json(result) == _stdlib(result)
    _strict(to_json(result))


def test_numbers_the_fast_writer_spells_differently_are_written_as_the_standard_library_writes_them():
    # json writes 1e-05, 2.5e-07 and 1e+16; a faster writer spells the first two 0.00001 and 2.5e-7
    for value in (1e-05, 2.5e-07, 0.00012, 1e16, 12345678901234567890.0, -0.0, float("nan"), float("-inf")):
        result = Holder(data={"x": [value, 1.5]})
        assert to_json(result) == _stdlib(result)
    assert to_json(Holder(data=1e-05)) == '{\n  "data": 1e-05\n}'
    assert to_json(Holder(data="é\u2028\x00")) == '{\n  "data": "é\u2028\\u0000"\n}'


def test_a_plain_dict_is_written_with_its_dates_as_text():
    from datetime import datetime

    assert to_json({"at": datetime(2026, 1, 2, 3, 4)}) == '{\n  "at": "2026-01-02 03:04:00"\n}'


class Leaf(BaseModel):
    x: float | None = None
    xs: list[float] = []
    label: str = ""


class Tree(BaseModel):
    leaf: Leaf = Leaf()
    leaves: dict[str, Leaf] = {}
    child: Tree | None = None
    data: Any = None


FLOATS = st.floats(allow_nan=True, allow_infinity=True)
LEAVES = st.builds(
    Leaf,
    x=st.none() | FLOATS,
    xs=st.lists(FLOATS, max_size=3),
    label=st.text(st.characters(codec=None, exclude_categories=()), max_size=6),
)
TREES = st.recursive(
    st.builds(Tree, leaf=LEAVES, data=VALUES),
    lambda inner: st.builds(
        Tree, leaf=LEAVES, leaves=st.dictionaries(st.text(max_size=4), LEAVES, max_size=2), child=inner
    ),
    max_leaves=4,
)


@settings(max_examples=300, deadline=None)
@given(TREES)
def test_nested_models_are_written_as_the_standard_library_writes_them(tree):
    assert to_json(tree) == _stdlib(tree)


def test_nan_and_infinities_are_written_as_null_wherever_they_sit():
    # a float field, a list of floats, a nested model (which keeps its own serialisation config) and an untyped field
    tree = Tree(
        leaf=Leaf(x=float("nan"), xs=[float("inf"), 2.5]), child=Tree(leaf=Leaf(x=None)), data=float("-inf")
    )
    text = to_json(tree)
    assert text == _stdlib(tree)
    parsed = _strict(text)
    assert parsed["leaf"] == {"x": None, "xs": [None, 2.5], "label": ""} and parsed["data"] is None
    assert _strict(to_json({"a": [float("nan"), {"b": float("inf")}]})) == {"a": [None, {"b": None}]}
