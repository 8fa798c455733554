"""The MCP server through the SDK's own client, in memory (both handshakes): tools, resources, prompts, errors.

The numbers are the computations' (tested in tests/tools); here: the contract a model relies on — every result has
a summary and stays under 20,000 characters, mistakes come back as readable error results naming the fix, and the
server keeps serving after each of them.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import anyio
import pandas as pd
import pytest
from customer_health.server.mcp.server import build_server
from customer_health.server.mcp.session import MAX_CHARS
from customer_health.tools.data.workspace import example_dir
from mcp import Client

STEPS = ["import_data", "build_report", "share_report"]
CALLS = {
    "describe_dataset": {},
    "score_accounts": {},
    "risk_signals": {},
    "portfolio_summary": {},
    "get_account_card": {"account_id": "ACC-0073"},
    "seat_utilization": {},
    "feature_adoption": {},
    "usage_trends": {},
    "analyze_funnel": {"steps": STEPS, "by": "role"},
    "workflow_completion": {},
    "cohort_retention": {},
    "validate_health_model": {},
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mcp")
    shutil.copytree(example_dir(), root / "sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        yield root


def call_all(folder: Path, mode: str | None = None) -> dict:
    async def go():
        # homes of one length: how many rows fit the size budget depends on the length of the full table's path
        server = build_server(home=folder / f"ws-{mode or 'modern'}")
        kwargs = {"mode": mode} if mode else {}
        out = {}
        async with Client(server, **kwargs) as c:
            out["tools"] = (await c.list_tools()).tools
            out["before_load"] = await c.call_tool("score_accounts", {})
            out["load"] = await c.call_tool("load_data", {"paths": ["sample"]})
            for name, args in CALLS.items():
                out[name] = await c.call_tool(name, args)
        server.session_state.close()
        return out

    return anyio.run(go)


@pytest.fixture(scope="module")
def results(folder):
    return call_all(folder)


def test_verb_named_tools_each_with_a_description_read_only_but_the_two_that_write_their_own_files(results):
    tools = {t.name: t for t in results["tools"]}
    writers = {"render_dashboard", "fit_health_profile"}  # each writes under the session's outputs folder
    assert set(tools) == {"load_data", "check_draft", *writers, *CALLS}
    for name, t in tools.items():
        assert t.description and len(t.description) < 2000
        assert t.annotations.read_only_hint is (name not in writers) and t.annotations.idempotent_hint
        assert t.annotations.destructive_hint is not True and t.annotations.open_world_hint is False


def test_before_a_load_a_tool_says_how_to_load_including_the_example(results):
    r = results["before_load"]
    assert r.is_error
    text = r.content[0].text
    assert "load_data" in text and str(example_dir()) in text


@pytest.mark.parametrize("name", ["load", *CALLS])
def test_every_result_has_a_summary_and_fits_in_20000_characters(results, name):
    r = results[name]
    assert not r.is_error, r.content[0].text if r.content else r
    data = r.structured_content
    assert data["summary"]
    assert len(json.dumps(data)) <= MAX_CHARS


def test_row_results_say_how_many_rows_there_are_and_where_the_full_table_is(results, folder):
    data = results["seat_utilization"].structured_content
    # as many rows as fit the budget, not a fixed count
    # the example's 206 customers on its as-of date (34 of its 240 accounts were lost by then)
    assert data["total_rows"] == 206 and data["truncated"] is True and 25 < len(data["accounts"]) < 206
    full = Path(data["full_table"])
    assert full.is_file() and len(full.read_text().splitlines()) == 207
    assert data["full_table_uri"] == "table://seats"


def test_the_score_tool_gives_the_same_numbers_as_the_cli_worst_first(results, folder, capsys):
    from customer_health.server.cli.main import main

    accounts = results["score_accounts"].structured_content["accounts"]
    assert [a["health_score"] for a in accounts] == sorted(a["health_score"] for a in accounts)
    assert main(["score", "sample", "--format", "json"]) == 0
    cli = {a["account_id"]: a["health_score"] for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert all(cli[a["account_id"]] == a["health_score"] for a in accounts)
    assert all({"drivers", "signals", "next_action", "tier"} <= set(a) for a in accounts)


def test_the_legacy_handshake_claude_code_uses_gets_the_same_answers(results, folder):
    legacy = call_all(folder, mode="legacy")

    # each run has its own workspace and load: only the table's folder and the load's time differ
    def same(data: dict) -> dict:
        return {k: v for k, v in data.items() if k not in ("full_table", "loaded_at")}

    for name in CALLS:
        assert same(legacy[name].structured_content) == same(results[name].structured_content), name


def session_calls(folder: Path, calls: list[tuple[str, dict]], **server_kwargs) -> list:
    async def go():
        server = build_server(home=folder / "ws-errors", **server_kwargs)
        out = []
        async with Client(server) as c:
            for name, args in calls:
                out.append(await c.call_tool(name, args))
        server.session_state.close()
        return out

    return anyio.run(go)


def test_mistakes_come_back_as_readable_errors_and_the_server_keeps_serving(folder, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "accounts.csv").write_text("account_id,name\nA1,Acme\n")
    calls = [
        ("load_data", {"paths": [str(outside / "accounts.csv")]}),  # outside the allowed folders
        ("load_data", {"paths": ["sample"]}),
        ("get_account_card", {"account_id": "ACC-073"}),  # near miss → nearest ids
        ("analyze_funnel", {"steps": ["import_data", "purchase"]}),  # no such event: the valid ones
        ("analyze_funnel", {"steps": ["import_data"]}),  # malformed: fewer than two steps
        ("seat_utilization", {"window_days": 0}),  # out of range
        ("load_data", {"csv_text": "x" * 2_000_001}),  # a huge paste
        ("score_accounts", {"limit": 5}),  # still serving
    ]
    r = session_calls(folder, calls)
    assert [x.is_error for x in r] == [True, False, True, True, True, True, True, False]
    assert "outside the folders" in r[0].content[0].text
    assert "ACC-0073" in r[2].content[0].text
    assert "no event is named" in r[3].content[0].text and "build_report" in r[3].content[0].text
    assert "2,000,000" in r[6].content[0].text
    assert len(r[7].structured_content["accounts"]) == 5


def test_pasted_csv_is_loaded_like_a_file_and_the_seed_snapshot_scores(folder):
    text = (Path(example_dir()).parent / "snapshot" / "accounts_snapshot.csv").read_text()
    calls = [
        ("load_data", {"csv_text": text, "name": "snapshot"}),
        ("score_accounts", {}),  # a snapshot has no dates: scored as of the day it was loaded, said so
        ("score_accounts", {"as_of": "2026-03-31"}),
    ]
    r = session_calls(folder, calls)
    assert not r[0].is_error and r[0].structured_content["tables"][0]["kind"] == "accounts"
    today = date.today().isoformat()
    assert not r[1].is_error and r[1].structured_content["as_of"] == today
    assert (
        f"The data has no dates, so it is read as of the day it was loaded ({today})."
        in (r[1].structured_content["caveats"])
    )
    colours = {a["account_id"]: a["tier"] for a in r[2].structured_content["accounts"]}
    # the seed's example: ACME green, Gamma yellow, Beta and Delta red (see tests/tools/test_health.py)
    assert colours["ACME-Corp"] == "thriving" and colours["Gamma-Ltd"] in ("healthy", "neutral")
    assert {colours["Beta-Inc"], colours["Delta-Co"]} <= {"at_risk", "critical"}


def test_resources_serve_every_rules_file_the_dataset_and_full_tables(folder):
    async def go():
        server = build_server(home=folder / "ws-res", preload=["sample"])
        async with Client(server) as c:
            templates = {t.uri_template for t in (await c.list_resource_templates()).resource_templates}
            rules = sorted(p.stem for p in (Path(example_dir()).parents[1] / "rules").glob("*.md"))
            texts = {n: (await c.read_resource(f"rules://{n}")).contents[0].text for n in rules}
            await c.call_tool("seat_utilization", {})
            table = (await c.read_resource("table://seats")).contents[0].text
            summary = (await c.read_resource("dataset://current")).contents[0].text
        server.session_state.close()
        return templates, texts, table, summary

    templates, texts, table, summary = anyio.run(go)
    assert {"rules://{name}", "table://{name}"} <= templates
    assert len(texts) >= 10 and all(t.strip() for t in texts.values())
    assert table.startswith("account_id,") and len(table.splitlines()) == 207  # 206 customers and a header
    assert json.loads(summary)["tables"]


def test_prompts_take_one_argument_and_fence_the_facts_as_data(folder):
    async def go():
        server = build_server(home=folder / "ws-prompts", preload=["sample"])
        async with Client(server) as c:
            prompts = {p.name: p for p in (await c.list_prompts()).prompts}
            qbr = await c.get_prompt("qbr_narrative", {"account_id": "ACC-0073"})
            board = await c.get_prompt("board_summary", {})
        server.session_state.close()
        return prompts, qbr, board

    prompts, qbr, board = anyio.run(go)
    assert set(prompts) == {
        "qbr_narrative",
        "risk_document",
        "board_summary",
        "account_summary",
        "adoption_diagnosis",
    }
    # the subject first, then the optional profile and as-of: each a single token, as Claude Code splits on spaces
    assert all([a.name for a in p.arguments][-2:] == ["profile", "as_of"] for p in prompts.values())
    text = qbr.messages[0].content.text
    assert "Willow Transport" in text and "ACC-0073" in text
    assert board.messages[0].content.text


@pytest.mark.slow
def test_no_result_exceeds_20000_characters_at_10000_accounts(big_portfolio):
    root = big_portfolio.parent
    calls = [("load_data", {"paths": [str(big_portfolio)]})] + [
        (name, {**args, "account_id": "ACC-00073"} if name == "get_account_card" else args)
        for name, args in CALLS.items()
    ]
    results = session_calls(root, calls, allow=[str(root)])
    for (name, _), r in zip(calls, results, strict=True):
        assert not r.is_error, (name, r.content[0].text if r.content else r)
        assert len(json.dumps(r.structured_content)) <= MAX_CHARS, name
    scores = results[2].structured_content
    # the customers on the as-of date: 10,000 accounts less those already lost (churn_date on or before it)
    accounts = pd.read_csv(big_portfolio / "accounts.csv", usecols=["churn_date"])
    lost = int((pd.to_datetime(accounts["churn_date"]) <= pd.Timestamp(scores["as_of"])).sum())
    assert scores["total_rows"] == 10_000 - lost and scores["truncated"] is True


def test_check_draft_passes_a_template_draft_and_names_an_invented_figure(folder):
    from customer_health.server.drafting.prompts import render_prompt, render_template_draft

    async def go():
        server = build_server(home=folder / "ws-check", preload=["sample"])
        async with Client(server) as c:
            await c.call_tool("describe_dataset", {})
            facts = render_prompt(server.session_state.dataset, "account_summary", "ACC-0073").facts
            draft = render_template_draft("summary", facts)
            good = await c.call_tool(
                "check_draft", {"text": draft, "kind": "summary", "account_id": "ACC-0073"}
            )
            bad = await c.call_tool(
                "check_draft",
                {
                    "text": draft + "\nAdoption rose 83.7% in May.",
                    "kind": "summary",
                    "account_id": "ACC-0073",
                },
            )
        server.session_state.close()
        return good.structured_content, bad.structured_content

    good, bad = anyio.run(go)
    assert good["passed"] is True and good["summary"]
    assert bad["passed"] is False and [c["text"] for c in bad["unsupported"]] == ["83.7%"]
    assert bad["unsupported"][0]["sentence"] == "Adoption rose 83.7% in May."


def test_render_dashboard_hands_back_png_charts_and_the_html_path(folder):
    import base64

    async def go():
        server = build_server(home=folder / "ws-dash", preload=["sample"])
        async with Client(server) as c:
            default = await c.call_tool("render_dashboard", {})
            chosen = await c.call_tool("render_dashboard", {"charts": ["seats", "cohorts", "adoption"]})
        server.session_state.close()
        return default, chosen

    default, chosen = anyio.run(go)
    assert not default.is_error and default.content[0].type == "text"
    html = default.content[0].text.split("HTML): ")[1].split()[0]
    assert Path(html).is_file() and Path(html).read_text().startswith("<!DOCTYPE html>")
    images = [b for b in default.content if b.type == "image"]
    assert len(images) == 2 and all(b.mime_type == "image/png" for b in images)
    assert all(base64.b64decode(b.data).startswith(b"\x89PNG") for b in images)
    assert len([b for b in chosen.content if b.type == "image"]) == 3


def test_score_and_signal_tools_take_owner_segment_and_priority_filters(folder):
    calls = [
        ("load_data", {"paths": ["sample"]}),
        ("risk_signals", {"priority": "urgent", "owner": "Maya Chen"}),
        ("score_accounts", {"segment": "Enterprise", "priority": "urgent"}),
        ("risk_signals", {"priority": "someday"}),
    ]
    r = session_calls(folder, calls)
    assert [x.is_error for x in r] == [False, False, False, True]
    signals = r[1].structured_content["accounts"]
    assert signals and all(a["priority"] == "urgent" and a["csm_owner"] == "Maya Chen" for a in signals)
    assert {"renewal_date", "days_to_renewal", "segment", "status"} <= set(signals[0])
    scores = r[2].structured_content["accounts"]
    assert scores and all(a["segment"] == "Enterprise" for a in scores)
    assert "Filtered by segment 'Enterprise', priority urgent" in r[2].structured_content["summary"]
