"""Issue 11: the same workspace, date and profile give the same answer on every face (CLI, MCP, facts packs, drafts).

One test per divergence the issue lists; each failed on the main of its filing. The bundled example is loaded once
per face (module fixtures); the score-history and ambiguous-name cases use small datasets written here.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import anyio
import pytest
from customer_health.server.cli import main
from customer_health.server.mcp.server import build_server
from customer_health.tools.data.workspace import example_dir
from customer_health.tools.narrative.facts import build_facts
from mcp import Client

STEPS = ["import_data", "build_report", "share_report"]
ACCOUNT, NAME = "ACC-0073", "Willow Transport"  # a red Enterprise account whose self_serve score differs
MID_MONTH = "2026-08-15"  # the example's data runs to 2026-08-31: mid-August leaves a partial last month
TWINS = {"SF-0003", "SF-0009"}  # two CRM records under the same name "Acme Corp" (see twins_data)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout, stderr of one `customer-health` run (argparse's own rejections included)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: an unknown flag exits 2 before the command runs
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_json(capsys, *argv: str) -> dict:
    code, out, err = cli(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def mcp_calls(home: Path, calls: dict[str, tuple[str, dict]], qbr_of: str | None = None) -> dict:
    """Named tool calls (and prompts, as 'prompt:<name>'), in order, through the SDK client in memory; with `qbr_of`,
    also that account's QBR facts pack from the same loaded dataset."""

    async def go():
        server = build_server(home=home)
        out = {}
        async with Client(server) as c:
            for key, (name, args) in calls.items():
                if name.startswith("prompt:"):
                    out[key] = await c.get_prompt(name[7:], args)
                else:
                    out[key] = await c.call_tool(name, args)
            if qbr_of:
                out["qbr_facts"] = build_facts(server.session_state.dataset, "qbr", qbr_of)
        server.session_state.close()
        return out

    return anyio.run(go)


def text_of(result) -> str:
    return result.content[0].text if result.content else ""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("divergences")
    shutil.copytree(example_dir(), root / "sample")
    twins_data(root / "twins")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("CUSTOMER_HEALTH_HOME", str(root / "ws-cli"))
        mp.delenv("ANTHROPIC_API_KEY", raising=False)
        yield root


def twins_data(folder: Path) -> None:
    """12 accounts, two of them recorded as "Acme Corp" (a subsidiary under its parent's name), with events."""
    folder.mkdir(parents=True)
    names = {f"SF-{i:04d}": f"Company {chr(64 + i)}" for i in range(1, 13)}
    names.update(dict.fromkeys(TWINS, "Acme Corp"))
    (folder / "accounts.csv").write_text(
        "account_id,name,segment,seats_purchased\n" + "".join(f"{a},{n},SMB,5\n" for a, n in names.items())
    )
    events = [
        f"2026-03-{day:02d}T10:{k:02d}:00,u-{a}-{u},{event},{a}\n"
        for a in names
        for u in range(2)
        for day in (3, 10, 17, 24)
        for k, event in enumerate(STEPS)
    ]
    (folder / "events.csv").write_text("timestamp,user_id,event,account_id\n" + "".join(events))


@pytest.fixture(scope="module")
def mcp(sample):
    by_name = {"account_id": NAME}
    return mcp_calls(
        sample / "ws-mcp",
        {
            "load": ("load_data", {"paths": ["sample"]}),
            "card_by_name": ("get_account_card", by_name),
            "trends_by_name": ("usage_trends", by_name),
            "funnel_by_id": ("analyze_funnel", {"steps": STEPS, "account_id": ACCOUNT}),
            "funnel_by_name": ("analyze_funnel", {"steps": STEPS, **by_name}),
            "funnel_90d": ("analyze_funnel", {"steps": STEPS, "account_id": ACCOUNT, "lookback_days": 90}),
            "cohorts_mid_month": ("cohort_retention", {"as_of": MID_MONTH}),
            "cohorts_60": ("cohort_retention", {"months": 60}),
            "portfolio": ("portfolio_summary", {}),
            "summary_prompt": ("prompt:account_summary", {"account_id": ACCOUNT}),
        },
        qbr_of=ACCOUNT,
    )


# --- 1. previous score --------------------------------------------------------------------------------------------
def test_mcp_score_accounts_shows_the_previous_score_the_cli_shows(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "ws"))
    july = (Path(example_dir()).parent / "snapshot" / "accounts_snapshot.csv").read_text()
    august = july.replace("ACME-Corp,12000,45,8,1,9,2", "ACME-Corp,12000,12,3,5,2,16")  # ACME slips
    assert august != july
    for month, text in (("july", july), ("august", august)):
        (tmp_path / month).mkdir()
        (tmp_path / month / "accounts.csv").write_text(text)
    cli_json(capsys, "score", "july", "--as-of", "2026-07-31")  # the earlier upload: the workspace keeps it
    later = cli_json(capsys, "score", "august", "--as-of", "2026-08-31")["accounts"]
    cli = {a["account_id"]: a for a in later}
    assert cli["ACME-Corp"]["previous_score"] is not None and cli["ACME-Corp"]["trend"] == "down"
    r = mcp_calls(
        tmp_path / "ws",
        {
            "load": ("load_data", {"paths": ["august"]}),
            "score": ("score_accounts", {"as_of": "2026-08-31"}),
        },
    )["score"]
    assert not r.is_error, text_of(r)
    for a in r.structured_content["accounts"]:
        want = cli[a["account_id"]]
        assert (a["previous_score"], a["trend"]) == (want["previous_score"], want["trend"]), a["account_id"]


# --- 2. account references ----------------------------------------------------------------------------------------
def test_cli_account_resolves_a_case_insensitive_name_as_mcp_get_account_card_does(sample, mcp, capsys):
    card = mcp["card_by_name"]
    assert not card.is_error and card.structured_content["account_id"] == ACCOUNT
    code, out, err = cli(capsys, "account", "sample", "--id", NAME.lower(), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["account_id"] == ACCOUNT


def test_trends_and_funnel_accept_the_account_name_the_card_accepts_on_both_faces(sample, mcp, capsys):
    for key in ("trends_by_name", "funnel_by_name"):
        assert not mcp[key].is_error, text_of(mcp[key])
    assert [a["account_id"] for a in mcp["trends_by_name"].structured_content["accounts"]] == [ACCOUNT]
    started = mcp["funnel_by_id"].structured_content["users_started"]
    assert mcp["funnel_by_name"].structured_content["users_started"] == started
    code, out, err = cli(capsys, "trends", "sample", "--account", NAME, "--format", "json")
    assert code == 0, err
    assert [a["account_id"] for a in json.loads(out)["accounts"]] == [ACCOUNT]
    funnel = cli_json(capsys, "funnel", "sample", "--steps", ",".join(STEPS), "--account", NAME)
    assert funnel["users_started"] == started


def test_an_ambiguous_account_name_is_an_error_listing_exactly_its_candidates_on_cli_and_mcp(sample, capsys):
    def candidates(message: str) -> set[str]:
        return set(re.findall(r"SF-\d{4}", message))

    messages = {}
    for command in (["account", "twins", "--id"], ["trends", "twins", "--account"]):
        code, out, err = cli(capsys, *command, "Acme Corp")
        assert code == 2 and out == "", (command, out)
        messages[f"cli {command[0]}"] = err
    calls = {
        "card": ("get_account_card", {"account_id": "Acme Corp"}),
        "trends": ("usage_trends", {"account_id": "Acme Corp"}),
        "funnel": ("analyze_funnel", {"steps": STEPS, "account_id": "Acme Corp"}),
    }
    results = mcp_calls(sample / "ws-twins", {"load": ("load_data", {"paths": ["twins"]}), **calls})
    for key in calls:
        assert results[key].is_error, key
        messages[f"mcp {key}"] = text_of(results[key])
    assert {face: candidates(m) for face, m in messages.items()} == dict.fromkeys(messages, TWINS), messages


# --- 3. the profile in facts packs and drafts ---------------------------------------------------------------------
def test_a_qbr_draft_with_a_profile_states_the_score_cli_score_gives_with_that_profile(sample, capsys):
    def score_of(*profile: str) -> float:
        accounts = cli_json(capsys, "score", "sample", *profile)["accounts"]
        return next(a["health_score"] for a in accounts if a["account_id"] == ACCOUNT)

    self_serve, enterprise = score_of("--profile", "self_serve"), score_of()
    assert self_serve != enterprise  # 43.5 vs 48.8 on the example
    code, out, err = cli(capsys, "draft", "qbr", "sample", "--account", ACCOUNT, "--profile", "self_serve",
                         "--citations", "none", "--format", "json")  # fmt: skip
    assert code == 0, err
    draft = json.loads(out)["draft"]
    assert f"{self_serve:g} out of 100" in draft and f"{enterprise:g} out of 100" not in draft


# --- 4. the funnel's period ---------------------------------------------------------------------------------------
def test_mcp_analyze_funnel_with_the_qbr_lookback_gives_the_qbr_facts_numbers(mcp):
    funnel = mcp["qbr_facts"].funnel
    assert funnel.steps_in_order == STEPS and funnel.lookback_days == 90
    r = mcp["funnel_90d"]
    assert not r.is_error, text_of(r)
    data = r.structured_content
    assert data.get("lookback_days") == 90, "analyze_funnel does not state the lookback it was given"
    assert data["users_started"] == funnel.users_started  # 130 in the QBR; 268 (all history) from MCP
    assert data["steps"][-1]["users"] == funnel.users_completed
    assert data["steps"][-1]["conversion_from_start"] == pytest.approx(funnel.completion.ratio, abs=1e-3)


def test_mcp_analyze_funnel_states_the_period_its_default_answer_covers(mcp):
    data = mcp["funnel_by_id"].structured_content
    assert "lookback_days" in data, f"no lookback_days field in {sorted(data)}"
    period = data["lookback_days"]
    assert (f"last {period} days" if period else "all history") in data["summary"], data["summary"]


# --- 5. cohorts ---------------------------------------------------------------------------------------------------
def test_mcp_cohort_retention_keeps_the_partial_last_month_flag_the_cli_json_has(sample, mcp, capsys):
    cli_out = cli_json(capsys, "cohorts", "sample", "--as-of", MID_MONTH)
    flags = {
        (t["metric"], r["cohort"]): r["partial_last_month"]
        for t in (cli_out[m] for m in ("logo", "revenue", "active_users"))
        if t
        for r in t["rows"]
    }
    assert any(flags.values())  # mid-month: every cohort's last month is still running
    data = mcp["cohorts_mid_month"].structured_content
    mcp_flags = {
        (t["metric"], r["cohort"]): r.get("partial_last_month")
        for t in (data.get(m) for m in ("logo", "revenue", "active_users"))
        if t
        for r in t["rows"]
    }
    assert mcp_flags and any(mcp_flags.values())
    assert mcp_flags == {k: flags[k] for k in mcp_flags}


# --- 6. bounds and money ------------------------------------------------------------------------------------------
def test_cohort_months_have_the_same_bound_of_60_on_the_cli_and_in_mcp(sample, mcp, capsys):
    code, out, err = cli(capsys, "cohorts", "sample", "--months", "61")
    assert code == 2 and "60" in err, err
    r = mcp["cohorts_60"]
    assert not r.is_error, text_of(r)


def test_an_accounts_arr_is_written_the_same_way_by_the_cli_mcp_and_the_facts_packs(sample, mcp, capsys):
    # "… Largest red account: Willow Transport ($534K ARR, health 48.8; …)"
    summary = mcp["portfolio"].structured_content["summary"]
    assert NAME in summary
    mcp_money = re.search(rf"{NAME} \((\$[^ ]+) ARR", summary).group(1)
    code, out, err = cli(capsys, "portfolio", "sample")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(ACCOUNT))
    cli_money = re.search(r"\$[\d.,]+[kKM]?", row).group(0)  # the ARR column
    facts_money = mcp["qbr_facts"].account.arr.display
    faces = {"cli portfolio": cli_money, "mcp portfolio_summary": mcp_money, "qbr facts": facts_money}
    assert faces == dict.fromkeys(faces, facts_money)  # today: $533.7k, $534K, $533,700


# --- 7. the rules text the Claude path sends ----------------------------------------------------------------------
class _FakeClaude(BaseHTTPRequestHandler):
    """The Messages API, answering every request with one grounded sentence and keeping the request bodies."""

    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server name
        self.seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        body = json.dumps({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": f"{NAME} needs attention."}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5},
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_claude_draft_and_the_mcp_prompt_send_the_same_rules_text_without_front_matter(
    sample, mcp, monkeypatch, capsys
):
    def blocks(text: str) -> dict[str, str]:
        found = re.findall(r'<rules name="([^"]+)"[^>]*>\n(.*?)\n</rules>', text, re.S)
        return {name: body.strip() for name, body in found}

    server = HTTPServer(("127.0.0.1", 0), _FakeClaude)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    _FakeClaude.seen.clear()
    try:
        code, out, err = cli(capsys, "draft", "summary", "sample", "--account", ACCOUNT)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, err
    claude = blocks(_FakeClaude.seen[0]["system"][0]["text"])
    prompt = blocks(mcp["summary_prompt"].messages[0].content.text)
    assert set(claude) == set(prompt) == {"narrative-voice", "adoption-analytics", "health-score-design"}
    assert [n for n, body in claude.items() if body.startswith("---")] == []
    assert claude == prompt
