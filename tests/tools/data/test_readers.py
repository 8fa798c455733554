"""Export files of every common shape open as raw tables, and bad files fail with a message that says how to fix them.

Fixtures live in tests/data/formats (one per dialect/encoding), tests/data/bad (one per failure) and
tests/data/vendors; workbooks and Parquet files are written into tmp_path so no binary export is committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.ingest import ingest_source
from customer_health.tools.data.readers import _SNIFF_BYTES as SNIFF_BYTES
from customer_health.tools.data.readers import detect_format, open_file, sniff_dialect
from customer_health.tools.data.recognize import explain_unrecognised, recognize

DATA = Path(__file__).resolve().parents[2] / "data"
ACME_BETA = [("A1", "Acme", 1200.0), ("A2", "Beta", 900.0)]


def ingest(con, raw, table="t"):
    """Recognise and ingest one raw source; its rows as dicts in file order."""
    rec = recognize(raw.label, raw.columns, sheet=raw.sheet)
    assert rec is not None, f"{raw.label} not recognised from {raw.columns}"
    ingest_source(con, raw, rec, table)
    cur = con.execute(f'SELECT * FROM "{table}" ORDER BY _row')
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def load_one(con, path):
    [raw] = open_file(con, path)
    return raw, ingest(con, raw)


def workbook(path, sheets):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


# --- text dialects and encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "note"),
    [
        ("comma.csv", None),
        ("semicolon.csv", "delimiter ';'"),
        ("tab.tsv", "delimiter TAB"),
        ("pipe.txt", "delimiter '|'"),
        ("utf8_bom.csv", None),
    ],
)
def test_delimited_text_in_any_common_dialect_loads_the_same_rows(con, name, note):
    raw, rows = load_one(con, DATA / "formats" / name)
    assert [(r["account_id"], r["name"], r["arr"]) for r in rows] == ACME_BETA
    assert [r["_row"] for r in rows] == [2, 3]  # the header is row 1
    assert raw.notes == ([note] if note else [])


def test_the_sniffer_prefers_the_delimiter_that_splits_rows_consistently():
    assert sniff_dialect("\ufeffa;b;c\n1;2,5;3\n4;5,0;6\n") == (";", ["a", "b", "c"])
    assert sniff_dialect("a,b\n") == (",", ["a", "b"])
    assert sniff_dialect('id\tnote\n1\t"x, y"\n') == ("\t", ["id", "note"])


def test_a_latin1_file_is_decoded_as_latin1(con):
    raw, rows = load_one(con, DATA / "formats" / "latin1.csv")
    assert rows[0]["name"] == "Café Müller"
    assert "encoding latin-1" in raw.notes


def test_excel_unicode_text_utf16_tab_delimited_loads(con):
    raw, rows = load_one(con, DATA / "formats" / "utf16_excel_unicode.txt")
    assert [(r["account_id"], r["name"], r["arr"]) for r in rows] == [
        ("A1", "Café Müller", 1200.0),
        ("A2", "Beta", 900.0),
    ]
    assert raw.notes == ["delimiter TAB", "encoding utf-16"]


def test_a_quoted_field_may_hold_the_delimiter_and_a_newline(con):
    _, rows = load_one(con, DATA / "formats" / "quoted_delimiter_newline.csv")
    assert [r["name"] for r in rows] == ["Acme, Inc.\nEMEA", "Beta"]
    assert [r["_row"] for r in rows] == [2, 3]  # rows count records, not physical lines


# --- JSON, Parquet, Excel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["records_array.json", "records_lines.jsonl"])
def test_json_arrays_and_json_lines_of_records_load_with_their_types(con, name):
    raw, rows = load_one(con, DATA / "formats" / name)
    assert raw.fmt == "json" and raw.types == ["VARCHAR", "VARCHAR", "BIGINT"]
    assert [(r["account_id"], r["name"], r["arr"]) for r in rows] == ACME_BETA
    assert [r["_row"] for r in rows] == [1, 2]  # JSON has no header: record 1 is row 1


def test_a_json_array_of_one_column_records_is_a_table(con):
    raw, rows = load_one(con, DATA / "formats" / "records_one_column.json")
    assert raw.columns == ["account_id"]
    assert [r["account_id"] for r in rows] == ["A1", "A2"]


def test_mixpanel_nested_properties_are_flattened_into_columns(con):
    raw, rows = load_one(con, DATA / "formats" / "mixpanel_events.jsonl")
    assert raw.columns == ["event", "time", "distinct_id", "$insert_id", "plan"]
    assert [(r["timestamp"], r["user_id"], r["event"]) for r in rows] == [
        (dt.datetime(2024, 3, 1, 0, 0), "u1", "login"),  # 1709251200
        (dt.datetime(2024, 3, 1, 1, 0), "u2", "export_report"),  # + 3 600 s
        (dt.datetime(2024, 3, 2, 1, 0), "u1", "login"),  # + 90 000 s
    ]
    assert [r["plan"] for r in rows] == ["pro", "pro", None]


def test_a_list_of_objects_inside_each_record_is_kept_as_json_text(con):
    raw, rows = load_one(con, DATA / "formats" / "records_with_item_lists.jsonl")
    assert raw.columns == ["event", "time", "distinct_id", "items"]
    assert [(r["timestamp"], r["user_id"]) for r in rows] == [
        (dt.datetime(2024, 3, 1, 0, 0), "u1"),  # 1709251200
        (dt.datetime(2024, 3, 1, 1, 0), "u2"),  # + 3 600 s
    ]
    assert [json.loads(r["items"]) for r in rows] == [
        [{"sku": "a", "qty": 1}],
        [{"sku": "b", "qty": 2}, {"sku": "c", "qty": 1}],
    ]


def test_one_json_record_with_a_list_inside_is_a_one_row_table_not_a_wrapper(con, tmp_path):
    path = tmp_path / "account.json"
    path.write_text('{"account_id": "A1", "name": "Acme", "contacts": [{"email": "ana@acme.test"}]}')
    raw, rows = load_one(con, path)
    assert [(r["account_id"], r["name"], json.loads(r["contacts"])) for r in rows] == [
        ("A1", "Acme", [{"email": "ana@acme.test"}])
    ]


def test_parquet_keeps_its_types_timezones_become_utc_and_nan_is_missing(con, tmp_path):
    path = tmp_path / "events.parquet"
    con.execute(
        "COPY (SELECT * FROM (VALUES (TIMESTAMPTZ '2024-03-01 12:00:00+02', 'u1', 'login', 1001.0::DOUBLE), "
        "(TIMESTAMPTZ '2024-03-02 00:30:00-05', 'u2', 'export', 1002.0::DOUBLE), "
        "(TIMESTAMPTZ '2024-03-03 00:00:00+00', 'u3', 'login', 'NaN'::DOUBLE)) t(ts, user_id, event, account_id)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    raw, rows = load_one(con, path)
    assert (raw.fmt, raw.first_row) == ("parquet", 1)
    assert raw.types == ["TIMESTAMP WITH TIME ZONE", "VARCHAR", "VARCHAR", "DOUBLE"]
    assert [(r["timestamp"], r["user_id"], r["account_id"]) for r in rows] == [
        (dt.datetime(2024, 3, 1, 10, 0), "u1", "1001"),
        (dt.datetime(2024, 3, 2, 5, 30), "u2", "1002"),
        (dt.datetime(2024, 3, 3, 0, 0), "u3", None),  # a NaN id (as polars writes it) is missing, not 'nan'
    ]


def test_a_csv_whose_first_cell_starts_with_a_bracket_is_read_as_csv(con):
    raw, rows = load_one(con, DATA / "formats" / "bracket_first_cell.csv")
    assert raw.fmt == "csv"
    assert [(r["account_id"], r["name"], r["arr"]) for r in rows] == ACME_BETA
    assert [r["[Internal] Owner"] for r in rows] == ["[Internal] Dana", "[Internal] Lee"]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'[{"account_id": "A1"}, {"account_id": "A2"}]', "json"),
        (b'\xef\xbb\xbf {"account_id": "A1"}\n{"account_id": "A2"}\n', "json"),  # JSON Lines with a BOM
        (b"[Internal] Acme,A1\n[Internal] Beta,A2\n", "csv"),
        (b"{id},name\n1,Acme\n", "csv"),
        (b"[1,2],x\n3,4\n", "csv"),  # one JSON value, then more text: not JSON
    ],
)
def test_text_is_json_only_if_it_parses_as_json_whatever_its_extension(head, expected):
    assert detect_format(Path("export.csv"), head) == expected


def test_a_json_sample_cut_mid_record_is_still_json():
    record = b'{"timestamp": "2024-03-01T09:00:00Z", "user_id": "u1", "event": "login"}'
    head = (b"[" + b", ".join([record] * 5000))[:SNIFF_BYTES]  # minified, one line, cut mid-record
    assert len(head) == SNIFF_BYTES and detect_format(Path("events.txt"), head) == "json"


def test_a_parquet_file_with_a_csv_extension_is_read_as_parquet():
    assert detect_format(Path("export.csv"), b"PAR1\x15\x04") == "parquet"


def test_every_sheet_of_a_workbook_is_a_source_and_a_title_row_is_skipped(con, tmp_path):
    path = workbook(
        tmp_path / "book.xlsx",
        {
            "Accounts": [
                ["Health export, March 2024"],
                [],
                ["Account ID", "Account Name", "Seats"],
                [1001.0, "Acme", 50],
                [1002, "Beta", 10.0],
            ],
            "Events": [["timestamp", "user_id", "event"], ["2024-03-01T09:00:00Z", "u1", "login"]],
        },
    )
    accounts, events = open_file(con, path)
    assert [s.label for s in (accounts, events)] == ["book.xlsx[Accounts]", "book.xlsx[Events]"]
    assert accounts.columns == ["Account ID", "Account Name", "Seats"]
    assert (accounts.first_row, events.first_row) == (4, 2)
    rows = ingest(con, accounts)
    assert [(r["_row"], r["account_id"], r["seats_purchased"]) for r in rows] == [
        (4, "1001", 50.0),
        (5, "1002", 10.0),
    ]
    assert [r["event"] for r in ingest(con, events, "e")] == ["login"]


def test_a_one_cell_title_above_a_two_column_sheet_is_not_its_header(con, tmp_path):
    path = workbook(tmp_path / "users.xlsx", {"Users": [["Users"], ["user_id", "account_id"], ["u1", "A1"]]})
    [raw] = open_file(con, path)
    assert (raw.columns, raw.first_row) == (["user_id", "account_id"], 3)


def test_real_datetime_date_and_time_cells_are_read_exactly(con, tmp_path):
    path = workbook(
        tmp_path / "events.xlsx",
        {
            "Sheet1": [
                ["timestamp", "user_id", "event", "day", "local_time"],
                [dt.datetime(2024, 3, 1, 9, 30, 15), "u1", "login", dt.date(2024, 3, 1), dt.time(9, 30)],
                [
                    dt.datetime(2024, 3, 2, 23, 59, 59, 500000),
                    "u2",
                    "export",
                    dt.date(2024, 3, 2),
                    dt.time(23, 59),
                ],
            ]
        },
    )
    [raw] = open_file(con, path)
    rows = ingest(con, raw)
    assert [r["timestamp"] for r in rows] == [
        dt.datetime(2024, 3, 1, 9, 30, 15),
        dt.datetime(2024, 3, 2, 23, 59, 59, 500000),
    ]
    assert [r["local_time"] for r in rows] == ["09:30:00", "23:59:00"]


# --- the vendor set -------------------------------------------------------------------------------------------


def test_the_salesforce_workbook_loads_as_accounts(con, salesforce_accounts_xlsx):
    [raw] = open_file(con, salesforce_accounts_xlsx)
    rows = ingest(con, raw)
    assert [
        (r["account_id"], r["name"], r["arr"], r["seats_purchased"], r["renewal_date"], r["csm_owner"])
        for r in rows
    ] == [
        ("0015g00000AcmeCoAA", "Acme Corp", 120000.0, 50.0, dt.date(2024, 9, 30), "Dana Whitfield"),
        ("0015g00000BetaIncA", "Beta Inc", 9600.0, 10.0, dt.date(2024, 4, 15), "Lee Park"),
        ("0015g00000GammaLtd", "Gamma Ltd", 45000.0, 25.0, dt.date(2025, 1, 31), "Dana Whitfield"),
    ]
    assert rows[0]["_row"] == 4 and rows[0]["customer_status"] == "Customer"


def test_the_vendor_exports_agree_on_users_accounts_and_organisations(con, salesforce_accounts_xlsx):
    vendors = DATA / "vendors"
    accounts = ingest(con, open_file(con, salesforce_accounts_xlsx)[0], "accounts")
    _, users = load_one(con, vendors / "users.csv")
    events_raw, events = load_one(con, vendors / "amplitude_events.csv")
    _, tickets = load_one(con, vendors / "zendesk_tickets.csv")
    assert recognize(events_raw.label, events_raw.columns).kind == "events"
    assert len(events) == 10 and events[0]["timestamp"] == dt.datetime(2024, 3, 1, 9, 15, 2, 123000)
    assert {e["user_id"] for e in events} == {u["user_id"] for u in users}
    assert {u["account_id"] for u in users} == {a["account_id"] for a in accounts}
    assert {t["account_id"] for t in tickets} == {a["name"] for a in accounts}


def test_zendesk_tickets_load_and_satisfaction_words_become_csat_scores(con):
    _, tickets = load_one(con, DATA / "vendors" / "zendesk_tickets.csv")
    assert [(t["ticket_id"], t["account_id"], t["resolved_at"]) for t in tickets[:3]] == [
        ("1041", "Acme Corp", dt.datetime(2024, 3, 5, 16, 40)),
        ("1042", "Acme Corp", dt.datetime(2024, 3, 8, 11, 30)),
        ("1043", "Beta Inc", None),
    ]
    assert tickets[3]["subject"] == "Cannot invite users, error 500"
    # Good / Offered / Unoffered / Unoffered / Bad / Good: Good is the top score, Bad the bottom, and an offered
    # survey nobody answered is no score at all (not an unreadable one)
    assert [t["csat"] for t in tickets] == [100.0, None, None, None, 0.0, 100.0]
    assert [t["__bad__csat"] for t in tickets] == [None] * 6


# --- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem", "fix"),
    [
        ("empty.csv", "is empty", "Export the data again"),
        ("binary_garbage.csv", "is binary data", "CSV (UTF-8)"),
        ("utf32_no_bom.csv", "encoding we can't read, such as UTF-32", "CSV (UTF-8)"),
        ("utf32_with_bom.csv", "UTF-32 or big-endian UTF-16", "CSV UTF-8"),
        ("utf16_big_endian.txt", "UTF-32 or big-endian UTF-16", "CSV UTF-8"),
        ("csv_renamed.xlsx", "has an Excel extension but is CSV text", "Rename it to .csv"),
        (
            "csv_renamed.parquet",
            "has a Parquet extension but is not a Parquet file",
            "extension that matches",
        ),
        ("json_scalar.json", "is JSON but not a list of records", "array of objects"),
        ("json_numbers.json", "is JSON but not a list of records", "array of objects"),
        (
            "json_wrapped_records.json",
            "is one JSON object that holds the records under 'data', not a list of records",
            "jq '.data' json_wrapped_records.json",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_named_with_the_problem_and_a_fix(con, name, problem, fix):
    with pytest.raises(InputError) as caught:
        open_file(con, DATA / "bad" / name)
    err = caught.value
    assert err.file == name and err.message.startswith(f"{name}: ")
    assert problem in err.problem and fix in err.fix


def test_a_zip_that_is_not_named_xlsx_says_to_unzip_it():
    with pytest.raises(InputError, match="zip archive") as caught:
        detect_format(Path("export.csv"), b"PK\x03\x04rest")
    assert "Unzip" in caught.value.fix


def test_a_damaged_workbook_says_to_save_it_again(con, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(InputError, match="broken.xlsx: is not a readable Excel workbook") as caught:
        open_file(con, path)
    assert "save it again" in caught.value.fix


def test_a_header_without_data_rows_fails_at_ingest(con):
    with pytest.raises(InputError, match="header_only.csv: has a header but no data rows") as caught:
        load_one(con, DATA / "bad" / "header_only.csv")
    assert caught.value.fix


def test_a_ragged_row_is_reported_with_its_row_number(con):
    with pytest.raises(InputError) as caught:
        load_one(con, DATA / "bad" / "ragged_rows.csv")
    err = caught.value
    assert (err.file, err.row) == ("ragged_rows.csv", 4)
    assert err.message.startswith("ragged_rows.csv, row 4: has 3 fields where the header has 2")
    assert "Quote fields that contain the delimiter" in err.fix


def test_unrecognisable_columns_list_the_closest_table_kinds(con):
    [raw] = open_file(con, DATA / "bad" / "unrecognised_columns.csv")
    assert recognize(raw.label, raw.columns) is None
    err = explain_unrecognised(raw.label, raw.columns)
    assert err.file == "unrecognised_columns.csv"
    assert "'colour', 'weight_kg', 'shipping_zone'" in err.problem
    assert "Closest: accounts needs account_id; tickets needs account_id, created_at;" in err.problem
    assert "--map" in err.fix


# --- what vendors write around the table ------------------------------------------------------------------------

ACCOUNTS_CSV = '"account_id","name","arr"\n"A1","Acme","1200"\n"A2","Beta","900"\n'
SALESFORCE_FOOTER = (
    '""\n""\n"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n'
    '"Confidential Information - Do Not Distribute"\n"Generated By:  Dana Whitfield  3/31/2026 9:14 AM"\n'
    '"Acme Inc."\n'
)


def test_a_report_footer_after_a_blank_line_is_left_out_and_said(con, tmp_path):
    path = tmp_path / "report.csv"
    path.write_text(ACCOUNTS_CSV + SALESFORCE_FOOTER)
    raw, rows = load_one(con, path)
    assert [(r["_row"], r["account_id"], r["name"], r["arr"]) for r in rows] == [
        (2, "A1", "Acme", 1200.0),
        (3, "A2", "Beta", 900.0),
    ]
    assert raw.notes == ["4 footer lines after the data were left out"]


def test_a_one_line_footer_is_counted_in_the_singular(con, tmp_path):
    path = tmp_path / "report.csv"
    path.write_text(ACCOUNTS_CSV + '\n"Generated By: Lee Park"\n\n')
    raw, rows = load_one(con, path)
    assert (len(rows), raw.notes) == (2, ["1 footer line after the data was left out"])


def test_a_one_column_file_keeps_every_row_after_a_blank_line(con, tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("account_id\nA1\nA2\n\nA3\nA4\n")
    [raw] = open_file(con, path)
    # a blank line in a one-column file is a row with no value (then left out as missing its id), not a footer's start
    assert con.execute(f"SELECT account_id FROM {raw.from_sql}").fetchall() == [
        ("A1",),
        ("A2",),
        (None,),
        ("A3",),
        ("A4",),
    ]
    assert raw.notes == []


def test_full_rows_after_a_blank_line_are_data_and_a_stray_last_field_is_still_a_ragged_row(con, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS_CSV + '\n"A3","Gamma","300"\n"Generated By: Lee Park"\n')
    with pytest.raises(InputError) as caught:
        load_one(con, path)
    # the stray line is the file's sixth line; A3 after the blank line loads (on its own, the file would load)
    assert (caught.value.row, "has 1 fields where the header has 3" in caught.value.message) == (6, True)
    path.write_text(ACCOUNTS_CSV + '\n"A3","Gamma","300"\n')
    assert [r["account_id"] for r in load_one(con, path)[1]] == ["A1", "A2", "A3"]


def test_a_blank_line_inside_a_quoted_field_at_the_end_is_not_a_footer(con, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text('account_id,name\nA1,"Acme\n\nCorp"\n')
    raw, rows = load_one(con, path)
    assert ([r["name"] for r in rows], raw.notes) == (["Acme\n\nCorp"], [])


def test_the_trimmed_copy_of_a_file_with_a_footer_goes_when_its_source_does(con, tmp_path):
    import gc

    path = tmp_path / "report.csv"
    path.write_text(ACCOUNTS_CSV + SALESFORCE_FOOTER)
    [raw] = open_file(con, path)
    copy = Path(raw.keep.path)
    assert copy.read_text() == ACCOUNTS_CSV
    del raw
    gc.collect()
    assert not copy.exists()


QUALTRICS_HEADER = (
    "StartDate,RecordedDate,ResponseId,RecipientEmail,Q1_NPS,AccountID\n"
    'Start Date,Recorded Date,Response ID,Recipient Email,"How likely are you to recommend us?\n(0-10)",AccountID\n'
    '"{""ImportId"":""startDate"",""timeZone"":""America/Denver""}","{""ImportId"":""recordedDate""}",'
    '"{""ImportId"":""_recordId""}","{""ImportId"":""RecipientEmail""}","{""ImportId"":""QID1""}",'
    '"{""ImportId"":""AccountID""}"\n'
)


def test_qualtrics_question_text_and_import_id_rows_are_skipped_and_responses_keep_their_row_numbers(
    con, tmp_path
):
    path = tmp_path / "survey.csv"
    path.write_text(
        QUALTRICS_HEADER + "2026-03-02 09:10,2026-03-02 09:11,R_1,ana@acme.example,9,A1\n"
        "2026-03-05 14:02,2026-03-05 14:04,R_2,li@beta.example,4,A2\n"
    )
    raw, rows = load_one(con, path)
    # the question text spans two lines inside its quotes: rows count records, so the first response is row 4
    assert [(r["_row"], r["account_id"], r["score"]) for r in rows] == [(4, "A1", 9.0), (5, "A2", 4.0)]
    assert raw.notes == [
        "2 more header rows under the column ids (Qualtrics question texts and ImportIds) skipped"
    ]


def test_a_third_row_that_is_not_all_import_ids_is_a_response(con, tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(
        "ResponseId,Q1_NPS,AccountID,Notes\n"
        "R_1,9,A1,\n"
        'R_2,4,A2,"{""ImportId"":""x""}"\n'
        'R_3,7,A3,"{""ImportId"":""y""} and more"\n'
    )
    raw, rows = load_one(con, path)
    assert ([r["account_id"] for r in rows], raw.notes) == (["A1", "A2", "A3"], [])


def test_qualtrics_tsv_export_in_utf16_skips_its_header_rows_too(con, tmp_path):
    rows = list(
        csv.reader(io.StringIO(QUALTRICS_HEADER + "2026-03-02 09:10,2026-03-02 09:11,R_1,a@x.example,9,A1\n"))
    )
    text = io.StringIO()
    csv.writer(text, delimiter="\t", lineterminator="\r\n").writerows(rows)
    path = tmp_path / "survey.tsv"
    path.write_bytes(b"\xff\xfe" + text.getvalue().encode("utf-16-le"))  # Qualtrics' "TSV" download
    raw, loaded = load_one(con, path)
    assert [(r["_row"], r["account_id"], r["score"]) for r in loaded] == [(4, "A1", 9.0)]
    assert raw.notes[-1].startswith("2 more header rows under the column ids")
