"""The conversation's view of a result: the model's own shape, as many main rows as fit, declared trims, and the
keys that say what was left out."""

from __future__ import annotations

import json

from customer_health.server.mcp.view import fit, size, view_model
from pydantic import BaseModel


class Row(BaseModel):
    account_id: str
    notes: list[str]


class Part(BaseModel):
    items: list[int]


class Result(BaseModel):
    summary: str
    caveats: list[str]
    accounts: list[Row]
    side: Part


def result(n: int, side: int = 3) -> Result:
    rows = [Row(account_id=f"A{i:04d}", notes=[f"note {k}" for k in range(5)]) for i in range(n)]
    return Result(
        summary="s", caveats=[f"c{i}" for i in range(12)], accounts=rows, side=Part(items=list(range(side)))
    )


def test_the_main_table_keeps_as_many_rows_as_fit_and_says_how_many_there_were():
    full = result(500)
    payload = fit(full, ("accounts",), budget=5_000)
    shown = len(payload["accounts"])
    assert payload["total_rows"] == 500 and payload["truncated"] is True
    assert size(payload) <= 5_000
    # one more row would not have fitted: each row is the same size
    one_row = size(full.accounts[0].model_dump(mode="json")) + 2
    assert size(payload) + one_row > 5_000 - 200
    assert [r["account_id"] for r in payload["accounts"]] == [f"A{i:04d}" for i in range(shown)]
    assert len(payload["caveats"]) == 10


def test_a_small_result_is_shown_whole():
    payload = fit(result(3), ("accounts",))
    assert payload["total_rows"] == 3 and payload["truncated"] is False and len(payload["accounts"]) == 3


def test_limit_caps_the_rows_and_trims_shorten_nested_lists_without_counting_as_truncation():
    payload = fit(result(50), ("accounts",), trim={"accounts.notes": 2}, limit=10)
    assert len(payload["accounts"]) == 10 and payload["truncated"] is True
    assert all(r["notes"] == ["note 0", "note 1"] for r in payload["accounts"])
    whole = fit(result(4), ("accounts",), trim={"accounts.notes": 2})
    assert whole["truncated"] is False


def test_other_lists_are_halved_when_the_rest_alone_is_too_big():
    payload = fit(result(5, side=5_000), ("accounts",), budget=3_000)
    assert size(payload) <= 3_000 and payload["truncated"] is True
    assert len(payload["side"]["items"]) < 5_000


def test_the_view_validates_against_the_models_view_schema():
    payload = fit(result(500), ("accounts",), budget=5_000)
    payload.update(full_table="/x.csv", full_table_uri="table://x")
    model = view_model(Result)
    assert model.model_validate(payload).total_rows == 500
    assert json.loads(model.model_validate(payload).model_dump_json())["truncated"] is True
