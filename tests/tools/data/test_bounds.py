"""Bounded everything: each input past a limit is refused with the limit named (or, for a value, reported as
unparseable), never read until memory runs out; shapes that real exports take (mixed line endings, a long note)
still load."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from customer_health.tools.base import bounds
from customer_health.tools.base.errors import MAX_MESSAGE_CHARS, InputError, InputErrors
from customer_health.tools.data.config import ProductSemantics
from customer_health.tools.data.workspace import Workspace, example_dir
from customer_health.tools.health.validation import validate_health_model
from customer_health.tools.usage.funnel import compute_funnel


@pytest.fixture
def load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def _load(name: str, content: str | bytes):
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with Workspace(tmp_path / "home") as ws:
            return ws.load([path])

    return _load


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("bounds") / "home")
    ds = ws.dataset(ws.load([example_dir()]))
    yield ds
    ws.close()


def _unparseable(result, column: str) -> list[str]:
    issue = next(i for i in result.quality.issues if i.code == "unparseable" and i.column == column)
    return issue.examples


def test_a_file_of_more_than_2000_columns_is_refused_naming_the_limit(load):
    extra = [f"c{i}" for i in range(1999)]
    header = ",".join(["account_id", "name", *extra])
    row = ",".join(["A1", "Acme", *["1"] * len(extra)])
    with pytest.raises(InputError, match="2,001 columns; at most 2,000"):
        load("wide.csv", f"{header}\n{row}\n")
    ok = load(
        "wide_ok.csv", "\n".join([",".join(header.split(",")[:-1]), ",".join(row.split(",")[:-1])]) + "\n"
    )
    assert ok.tables[0].rows == 1 and len(ok.tables[0].extra_columns) == 1998


def test_a_line_past_the_size_limit_is_refused_with_its_row_and_a_long_note_still_loads(load):
    huge = "x" * (bounds.MAX_LINE_BYTES + 10)
    with pytest.raises(InputError) as err:
        load("big.csv", f"account_id,name,arr\nA1,{huge},10\n")
    assert "row 2" in err.value.message and "4,000,000 bytes" in err.value.message
    note = "y" * 500_000  # longer than Python's csv default field limit (131,072), within ours
    result = load("note.csv", f"account_id,name,arr,note\nA1,Acme,10,{note}\nA2,Beta,20,short\n")
    assert result.tables[0].rows == 2


def test_a_workbook_with_a_stray_cell_far_away_reads_only_its_table_in_bounded_memory(tmp_path, monkeypatch):
    import tracemalloc

    import openpyxl

    monkeypatch.chdir(tmp_path)
    book = openpyxl.Workbook()
    for row in (["account_id", "name", "arr"], ["A1", "Acme", 10], ["A2", "Beta", 20]):
        book.active.append(row)
    book.active["ZZ100000"] = "stray"  # the sheet now spans 702 columns × 100,000 rows, nearly all empty
    book.save(tmp_path / "sparse.xlsx")
    tracemalloc.start()
    try:
        with Workspace(tmp_path / "home") as ws:
            result = ws.load([tmp_path / "sparse.xlsx"])
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert [(t.kind, t.rows) for t in result.tables] == [("accounts", 2)]
    assert peak_mb < 100  # reading every padded row whole took about 600 MB


def test_a_workbook_sheet_wider_than_the_limit_is_refused(load, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["account_id", "name", *[f"c{i}" for i in range(2100)]])
    book.active.append(["A1", "Acme", *[1] * 2100])
    book.save(tmp_path / "wide.xlsx")
    with Workspace(tmp_path / "home") as ws, pytest.raises(InputError, match="more than 2,000 columns"):
        ws.load([tmp_path / "wide.xlsx"])


def test_a_json_lines_file_with_one_bad_line_names_that_line(load):
    lines = [json.dumps({"account_id": f"A{i}", "name": "x", "arr": i}) for i in range(1, 6)]
    lines[3] = '{"account_id": "A4", "name": oops}'
    with pytest.raises(InputError) as err:
        load("accounts.jsonl", "\n".join(lines) + "\n")
    assert "line 4" in err.value.message and err.value.row == 4


def test_a_csv_with_mixed_line_endings_loads_every_row(load):
    result = load("accounts.csv", b"account_id,name,arr\r\nA1,Acme,10\nA2,Beta,20\r\nA3,Gamma,30\n")
    assert result.tables[0].rows == 3
    assert any("line endings mixed" in n for n in result.tables[0].notes)


def test_dates_outside_1900_to_2100_are_reported_as_unparseable(load):
    result = load(
        "accounts.csv",
        "account_id,name,arr,renewal_date\nA1,Acme,10,9999-12-31\nA2,Beta,20,0001-01-01\n"
        "A3,Gamma,30,2026-01-01\nA4,Delta,40,1900-01-01\nA5,Eps,50,2100-12-31\n",
    )
    assert _unparseable(result, "renewal_date") == ["row 2: 9999-12-31", "row 3: 0001-01-01"]


def test_infinite_and_nan_arr_are_reported_as_unparseable(load):
    result = load("accounts.csv", "account_id,name,arr\nA1,Acme,Infinity\nA2,Beta,-inf\nA3,Gamma,30\n")
    assert _unparseable(result, "arr") == ["row 2: Infinity", "row 3: -inf"]


def test_json_nested_20000_deep_in_a_cell_loads_without_reading_it_as_a_group(load):
    deep = "[" * 20_000 + "]" * 20_000
    events = f'user_id,event,timestamp,groups\nu1,login,2026-01-05,"{deep}"\nu2,login,2026-01-06,\n'
    result = load("events.csv", events)
    assert result.tables[0].kind == "events" and result.tables[0].rows == 2


def test_a_funnel_of_more_than_20_steps_is_refused_before_any_query(example):
    with pytest.raises(InputError, match="at most 20 steps \\(got 400\\)"):
        compute_funnel(example, [f"step_{i}" for i in range(400)])


def test_a_workflow_of_more_than_20_steps_in_the_config_is_refused():
    with pytest.raises(InputError, match="at most 20"):
        ProductSemantics.from_yaml_text(
            "workflows:\n  long: [" + ", ".join(f"s{i}" for i in range(21)) + "]\n", "customer-health.yaml"
        )


@pytest.mark.parametrize("cost", [-1.0, 0.0, math.nan, math.inf])
def test_validation_refuses_a_cost_that_is_not_positive_and_finite(example, cost):
    with pytest.raises(InputError, match="fn_cost must be a positive, finite number"):
        validate_health_model(example, fn_cost=cost)


def test_an_error_message_is_capped_and_keeps_its_fix():
    err = InputError(
        "no account named '" + "x" * 1_000_000 + "'.", file="a.csv", fix="Use an id from the list."
    )
    assert len(err.message) <= MAX_MESSAGE_CHARS
    assert "… (truncated)" in err.message and err.message.endswith("Fix: Use an id from the list.")
    many = InputErrors([InputError("y" * 5_000, file=f"f{i}.csv") for i in range(20)])
    assert len(many.message) <= MAX_MESSAGE_CHARS and len(str(err)) <= MAX_MESSAGE_CHARS
    assert InputError("short.", fix="Do this.").message == "short. Fix: Do this."


def test_a_date_outside_1900_to_2100_is_refused_naming_the_range():
    assert bounds.check_date("as_of", date(2026, 6, 30)) == date(2026, 6, 30)
    for day in (date(9999, 12, 31), date(1, 1, 1)):
        with pytest.raises(InputError, match="1900-01-01 to 2100-12-31"):
            bounds.check_date("as_of", day)


def test_a_misspelt_core_feature_is_named_with_the_closest_events():
    cfg = ProductSemantics.from_yaml_text(
        "core_features: [build_reprot, share_report]\nactivation: imprt_data\n", "customer-health.yaml"
    )
    warnings = cfg.unknown_events(["build_report", "share_report", "import_data", "login"])
    assert warnings == [
        "core_features: no event is named 'build_reprot' in the data; did you mean 'build_report'?",
        "activation: no event is named 'imprt_data' in the data; did you mean 'import_data'?",
    ]
    assert cfg.unknown_events(["build_reprot", "share_report", "imprt_data"]) == []
