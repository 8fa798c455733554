"""Every way a prompt can be asked wrongly reaches the client as a message saying what to do, never as
`Internal server error`: before a load, an unknown or ambiguous account, an empty subject, a bad period, as_of or
profile. A prompt has no error result, so these are invalid-params protocol errors carrying the tools' own message.
"""

from __future__ import annotations

import anyio
import pandas as pd
import pytest
from customer_health.server.mcp.server import build_server
from customer_health.tools.data.workspace import example_dir
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS

ACCOUNT_PROMPTS = ["qbr_narrative", "risk_document", "account_summary", "adoption_diagnosis"]
PROMPTS = [*ACCOUNT_PROMPTS, "board_summary"]
SUBJECT = {name: "account_id" for name in ACCOUNT_PROMPTS} | {"board_summary": "period"}


def ask(server, requests: list[tuple[str, dict]], **client) -> list:
    """Each request's prompt text, or the MCPError the client received."""

    async def go():
        out = []
        async with Client(server, **client) as c:
            for name, args in requests:
                try:
                    out.append((await c.get_prompt(name, args)).messages[0].content.text)
                except MCPError as exc:
                    out.append(exc)
        return out

    return anyio.run(go)


def tool_error(server, tool: str, args: dict) -> str:
    """The message a tool gives for the same mistake, without the SDK's 'Error executing tool' prefix."""

    async def go():
        async with Client(server) as c:
            return (await c.call_tool(tool, args)).content[0].text

    return anyio.run(go).split(": ", 1)[1]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    server = build_server(home=tmp_path_factory.mktemp("ws-prompts"), preload=[str(example_dir())])
    yield server
    server.session_state.close()


@pytest.fixture(scope="module")
def willows():
    """The example's accounts whose name starts with Willow, read from the export itself."""
    accounts = pd.read_csv(example_dir() / "accounts.csv")
    chosen = accounts[accounts["name"].str.startswith("Willow")]
    return [f"{a} ({n})" for a, n in zip(chosen["account_id"], chosen["name"], strict=True)]


def readable(result) -> str:
    assert isinstance(result, MCPError), result
    assert result.code == INVALID_PARAMS and result.message != "Internal server error"
    return result.message


@pytest.mark.parametrize("mode", [None, "legacy"])
def test_before_a_load_every_prompt_says_how_to_load_including_the_example(tmp_path, mode):
    server = build_server(home=tmp_path / "empty-ws")
    args = {name: {SUBJECT[name]: "ACC-0073"} if name in ACCOUNT_PROMPTS else {} for name in PROMPTS}
    results = ask(server, [(name, args[name]) for name in PROMPTS], **({"mode": mode} if mode else {}))
    server.session_state.close()
    for result in results:
        message = readable(result)
        assert message.startswith("no dataset is loaded yet.")
        assert "Call load_data" in message and str(example_dir()) in message


@pytest.mark.parametrize("name", ACCOUNT_PROMPTS)
def test_an_ambiguous_name_lists_every_matching_account_as_the_tools_do(loaded, willows, name):
    (result,) = ask(loaded, [(name, {"account_id": "Willow"})])
    message = readable(result)
    assert len(willows) == 4  # the README's first plugin example: four accounts start with Willow
    assert f"'Willow' matches {len(willows)} accounts." in message
    assert all(w in message for w in willows)
    assert "Use the account id, or more of the name" in message
    assert message == tool_error(loaded, "get_account_card", {"account_id": "Willow"})


@pytest.mark.parametrize("name", ACCOUNT_PROMPTS)
def test_an_unknown_account_offers_the_nearest_ids_first_as_the_tools_do(loaded, name):
    (result,) = ask(loaded, [(name, {"account_id": "ACC-073"})])
    message = readable(result)
    assert "no account has the id or name 'ACC-073'." in message
    assert message.split("Valid options: ")[1].startswith("ACC-0073 (Willow Transport)")
    assert message == tool_error(loaded, "get_account_card", {"account_id": "ACC-073"})


@pytest.mark.parametrize("name", ["qbr_narrative", "risk_document", "account_summary"])
def test_an_empty_account_says_the_prompt_needs_one(loaded, name):
    (result,) = ask(loaded, [(name, {"account_id": ""})])
    message = readable(result)
    assert f"the {name} prompt needs its account_id." in message and "Account id or name" in message


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2026-Q9", "'2026-Q9' is not a period. Fix: Use YYYY-QN (e.g. 2026-Q3)"),
        ("2030-Q1", "the data ends on 2026-08-31, before 2030-Q1 begins. Fix: Pick a period up to 2026-08"),
    ],
)
def test_a_bad_board_period_says_which_periods_work(loaded, period, expected):
    (result,) = ask(loaded, [("board_summary", {"period": period})])
    assert expected in readable(result)


@pytest.mark.parametrize("name", PROMPTS)
def test_a_bad_as_of_or_profile_names_the_argument_and_the_fix(loaded, name):
    subject = {SUBJECT[name]: "ACC-0073"} if name in ACCOUNT_PROMPTS else {}
    bad_date, bad_profile, good = ask(
        loaded,
        [
            (name, {**subject, "as_of": "31/12/2026"}),
            (name, {**subject, "profile": "nope"}),
            (name, subject),  # the server keeps serving after each mistake
        ],
    )
    date_message, profile_message = readable(bad_date), readable(bad_profile)
    assert "column 'as_of': '31/12/2026' is not a date. Fix: Use YYYY-MM-DD" in date_message
    assert "unknown health profile 'nope'. Valid options: self_serve, enterprise" in profile_message
    assert isinstance(good, str) and good.startswith("#")
