"""Fixtures shared by tests/tools and tests/server: a UTC DuckDB connection and the Salesforce accounts workbook.

The workbook belongs to the vendor set in tests/data/vendors/ (see its README) but is written here, not committed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

# fmt: off
SALESFORCE_HEADER = ["Account ID", "Account Name", "Industry", "Annual Recurring Revenue", "Seats__c",
                     "Renewal_Date__c", "Account Owner", "Type"]
SALESFORCE_ROWS = [
    ["0015g00000AcmeCoAA", "Acme Corp", "Manufacturing", 120000, 50, dt.datetime(2024, 9, 30), "Dana Whitfield",
     "Customer"],
    ["0015g00000BetaIncA", "Beta Inc", "Software", 9600.0, 10, dt.datetime(2024, 4, 15), "Lee Park", "Customer"],
    ["0015g00000GammaLtd", "Gamma Ltd", "Retail", 45000, 25, dt.datetime(2025, 1, 31), "Dana Whitfield",
     "Customer - Channel"],
]
# fmt: on


def write_salesforce_accounts_xlsx(path: Path) -> Path:
    """A Salesforce 'Accounts' report as Excel saves it: a title row, a blank row, then the header and rows."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Accounts"
    sheet.append(["Customer accounts — exported 2024-03-31"])
    sheet.append([])
    sheet.append(SALESFORCE_HEADER)
    for row in SALESFORCE_ROWS:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


@pytest.fixture
def salesforce_accounts_xlsx(tmp_path: Path) -> Path:
    """tmp_path/salesforce_accounts.xlsx, whose accounts own the users in tests/data/vendors/users.csv."""
    return write_salesforce_accounts_xlsx(tmp_path / "salesforce_accounts.xlsx")


@pytest.fixture
def con():
    """An in-memory DuckDB connection in UTC, as the workspace opens it."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone='UTC'")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def big_portfolio(tmp_path_factory) -> Path:
    """A generated portfolio of 10,000 accounts and 100,000 events (about 10 s to write), shared by the tests that
    check results stay bounded at that size."""
    from customer_health.examples.generate import generate

    folder = tmp_path_factory.mktemp("big") / "big"
    generate(folder, n_accounts=10_000, target_events=100_000)
    return folder
