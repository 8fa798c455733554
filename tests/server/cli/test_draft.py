"""`customer-health draft`: a template draft without a key, Claude's draft with one (through a fake transport), and
the grounding check deciding the exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx2
import pytest
from customer_health.server.cli import draft as draft_cli
from customer_health.server.cli.main import main
from customer_health.tools.data.workspace import example_dir


@pytest.fixture
def sample(tmp_path, monkeypatch):
    shutil.copytree(example_dir(), tmp_path / "sample")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return tmp_path


def test_without_a_key_a_labelled_template_draft_passes_the_check_and_the_prompt_pack_is_written(
    sample, capsys
):
    assert main(["draft", "qbr", "sample", "--account", "ACC-0073", "--out", "qbr.md"]) == 0
    err = capsys.readouterr().err
    text = (sample / "qbr.md").read_text()
    assert "Template draft" in text and "Willow Transport" in text
    assert "nothing unsupported" in err
    pack = next((sample / "ws" / "outputs" / "drafts").glob("qbr_narrative-ACC-0073.prompt.md"))
    assert "<data>" in pack.read_text()


@pytest.mark.parametrize("kind", ["risk", "board", "summary", "diagnosis"])
def test_every_kind_drafts_and_reports_its_grounding_as_json(sample, capsys, kind):
    args = ["draft", kind, "sample", "--format", "json"] + (
        ["--account", "ACC-0221"] if kind != "board" else []
    )
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "template" and out["grounding"]["passed"] and out["draft"]


def _claude_says(text: str, seen: list, stop: str = "end_turn"):
    def handler(request):
        seen.append(json.loads(request.content))
        body = {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }  # fmt: skip
        return httpx2.Response(200, json=body)

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_with_a_key_claude_drafts_with_the_rules_cached_and_an_invented_figure_exits_3(
    sample, capsys, monkeypatch
):
    seen: list = []
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(
        draft_cli, "HTTP_CLIENT", _claude_says("Willow Transport grew 37% this quarter.", seen)
    )
    assert main(["draft", "summary", "sample", "--account", "ACC-0073"]) == draft_cli.EXIT_UNGROUNDED
    captured = capsys.readouterr()
    assert "grew 37%" in captured.out and "unsupported percent '37%'" in captured.err
    request = seen[0]
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert '<rules name="narrative-voice" title="Narrative voice">' in request["system"][0]["text"]
    document, task = request["messages"][0]["content"]
    user = task["text"]
    assert (
        "<data>" in user and "ACC-0073" in user and "<rules name=" not in user
    )  # rules only in the system block
    assert "[f:<id>]" in user and "Fact list" not in user  # the fact list travels as the document
    assert document["type"] == "document" and document["citations"] == {"enabled": True}
    blocks = [b["text"] for b in document["source"]["content"]]
    assert "health.score: 48.8 score (Willow Transport)" in blocks


def test_with_a_key_a_faithful_draft_exits_0(sample, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(draft_cli, "HTTP_CLIENT", _claude_says("Willow Transport needs attention.", []))
    assert main(["draft", "summary", "sample", "--account", "ACC-0073"]) == 0


def test_a_rejected_key_is_exit_2_with_the_fix(sample, capsys, monkeypatch):
    def reject(request):
        return httpx2.Response(
            401, json={"type": "error", "error": {"type": "authentication_error", "message": "x"}}
        )

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-bad")
    monkeypatch.setattr(draft_cli, "HTTP_CLIENT", httpx2.Client(transport=httpx2.MockTransport(reject)))
    assert main(["draft", "qbr", "sample", "--account", "ACC-0073"]) == 2
    assert "ANTHROPIC_API_KEY was rejected" in capsys.readouterr().err


def test_an_empty_answer_from_the_api_is_exit_2_not_an_empty_draft_that_passes(sample, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(draft_cli, "HTTP_CLIENT", _claude_says("", []))
    assert main(["draft", "summary", "sample", "--account", "ACC-0073"]) == 2
    captured = capsys.readouterr()
    assert "answered with no text" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


def test_a_missing_or_unknown_account_is_exit_2(sample, capsys):
    assert main(["draft", "qbr", "sample"]) == 2
    assert main(["draft", "qbr", "sample", "--account", "ACC-073"]) == 2
    assert "ACC-0073" in capsys.readouterr().err


def test_a_draft_cut_off_at_max_tokens_is_flagged(sample, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(
        draft_cli, "HTTP_CLIENT", _claude_says("Willow Transport needs", [], stop="max_tokens")
    )
    assert main(["draft", "summary", "sample", "--account", "ACC-0073"]) == 0
    assert "cut off" in capsys.readouterr().err


def _scores(ws_home, account: str, *profiles: str | None) -> list[float]:
    """The account's score with each profile, from the analysis pipeline on the bundled example."""
    from customer_health.tools.data.workspace import AllowedRoots, Workspace
    from customer_health.tools.reports.pipeline import analyze

    with Workspace(ws_home) as ws:
        ds = ws.dataset(ws.load([example_dir()], roots=AllowedRoots([example_dir().parent])))
        return [
            next(a.health_score for a in analyze(ds, profile=p).scores.accounts if a.account_id == account)
            for p in profiles
        ]


def test_a_template_draft_with_a_profile_states_that_profiles_score(sample, capsys):
    mine, enterprise = _scores(sample / "ws-check", "ACC-0073", "self_serve", None)
    assert mine != enterprise
    args = ["draft", "qbr", "sample", "--account", "ACC-0073", "--format", "json", "--citations", "none"]
    assert main([*args, "--profile", "self_serve"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "template" and out["grounding"]["passed"]
    assert f"{mine:g} out of 100" in out["draft"] and f"{enterprise:g} out of 100" not in out["draft"]
    pack = (sample / "ws" / "outputs" / "drafts" / "qbr_narrative-ACC-0073.prompt.md").read_text()
    assert '"profile": "self_serve"' in pack


def test_an_unknown_profile_is_exit_2_naming_the_presets(sample, capsys):
    assert main(["draft", "qbr", "sample", "--account", "ACC-0073", "--profile", "selfserve"]) == 2
    assert "self_serve" in capsys.readouterr().err


def test_claudes_system_block_holds_the_prompts_own_rules_without_front_matter(sample, capsys, monkeypatch):
    import re

    from customer_health.server.drafting.prompts import render_prompt
    from customer_health.tools.data.workspace import AllowedRoots, Workspace

    def blocks(text: str) -> dict[str, str]:
        return dict(re.findall(r'<rules name="([^"]+)" title="[^"]*">\n(.*?)\n</rules>', text, re.S))

    seen: list = []
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(draft_cli, "HTTP_CLIENT", _claude_says("Willow Transport needs attention.", seen))
    assert main(["draft", "risk", "sample", "--account", "ACC-0073", "--profile", "self_serve"]) == 0
    system = seen[0]["system"][0]["text"]
    with Workspace(sample / "ws-check") as ws:
        ds = ws.dataset(ws.load([sample / "sample"], roots=AllowedRoots([sample])))
        prompt = render_prompt(ds, "risk_document", "ACC-0073", profile="self_serve")
    claude, mcp = blocks(system), blocks(prompt.text)
    assert (
        list(claude) == list(mcp) == prompt.rules
    )  # risk-signals and playbooks among them, cut the same way
    assert claude == mcp
    assert "\n---\n" not in system and "severity:" not in system and "condition:" not in system
    assert "<rules name=" not in seen[0]["messages"][0]["content"][1]["text"]


RECORDED = Path(__file__).resolve().parents[2] / "data" / "anthropic"


def _replay(name: str, seen: list):
    body = (RECORDED / name).read_bytes()

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_claudes_document_citations_become_footnotes_and_a_faithful_recorded_draft_passes_strict(
    sample, capsys, monkeypatch
):
    seen: list = []
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(draft_cli, "HTTP_CLIENT", _replay("citations_summary.json", seen))
    assert main(["draft", "summary", "sample", "--account", "ACC-0073", "--out", "summary.md"]) == 0
    err = capsys.readouterr().err
    assert "12 supported by the facts; nothing unsupported" in err
    text = (sample / "summary.md").read_text()
    assert "216[^1] of its 427[^1] purchased seats" in text and "only 31[^2] of them" in text
    assert "[^2]: `seats.adopted_users` — 31 people (Willow Transport)" in text
    # the recorded citations point at blocks 36, 5 and 34: the document's blocks are the facts in that order
    blocks = [b["text"] for b in seen[0]["messages"][0]["content"][0]["source"]["content"]]
    assert [blocks[i].split(":")[0] for i in (36, 5, 34)] == [
        "seats.present_users",
        "account.seats_purchased",
        "seats.window_days",
    ]
    check = ["check", "summary.md", "--kind", "summary", "--account", "ACC-0073", "sample", "--strict"]
    assert main(check) == 0  # the footnotes read back as citations: strict passes on the saved file


def test_a_wrong_figure_in_a_cited_block_of_a_recorded_draft_is_caught_with_the_right_value(
    sample, capsys, monkeypatch
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(draft_cli, "HTTP_CLIENT", _replay("citations_wrong_figure.json", []))
    args = [
        "draft",
        "summary",
        "sample",
        "--account",
        "ACC-0073",
        "--format",
        "json",
        "--citations",
        "inline",
    ]
    assert main(args) == draft_cli.EXIT_UNGROUNDED
    out = json.loads(capsys.readouterr().out)
    assert "only 13 [f:seats.adopted_users] of them" in out["draft"]
    failing = out["grounding"]["unsupported"]
    assert [(c["text"], c["verdict"], c["expected"]) for c in failing] == [("13", "wrong_value", "31")]


def test_draft_is_strict_by_default_and_no_strict_fails_only_wrong_claims(sample, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    says = "Willow Transport renews on 2026-12-11, 102 days away."  # true, but cites nothing
    monkeypatch.setattr(draft_cli, "HTTP_CLIENT", _claude_says(says, []))
    args = ["draft", "summary", "sample", "--account", "ACC-0073"]
    assert main(args) == draft_cli.EXIT_UNGROUNDED
    assert "uncited" in capsys.readouterr().err
    assert main([*args, "--no-strict"]) == 0
    assert "2 without a citation" in capsys.readouterr().err
