"""Drafting through the real `anthropic` client with a fake HTTP transport and recorded API responses: the request
carries the facts and the cached rules block; errors become one clear line. No test touches the network."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from customer_health.server.drafting.claude import DEFAULT_MODEL, DraftError, draft_with_claude

RECORDED = Path(__file__).resolve().parents[2] / "data" / "anthropic"


def replay(status: int, name: str, seen: list):
    body = (RECORDED / name).read_bytes()

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(status, content=body, headers={"content-type": "application/json"})

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_the_request_carries_the_facts_and_a_cached_rules_block_and_the_reply_is_read():
    seen: list = []
    draft = draft_with_claude(
        "RULES: write in the narrative voice.",
        'FACTS: <data>{"seats": 50}</data>',
        api_key="sk-test",
        http_client=replay(200, "message.json", seen),
    )
    assert len(seen) == 1
    request = seen[0]
    assert request.url.path == "/v1/messages" and request.headers["authorization"] == "Bearer sk-test"
    body = json.loads(request.content)
    assert body["model"] == DEFAULT_MODEL and body["max_tokens"] == 4000
    assert body["system"] == [
        {
            "type": "text",
            "text": "RULES: write in the narrative voice.",
            "cache_control": {"type": "ephemeral"},
        }
    ]
    assert body["messages"] == [{"role": "user", "content": 'FACTS: <data>{"seats": 50}</data>'}]
    assert draft.text.startswith("Willow Transport: 21 of 50 seats")
    assert (draft.input_tokens, draft.output_tokens, draft.cache_creation_input_tokens) == (2095, 503, 11408)


def test_the_model_can_be_chosen_by_argument_or_environment(monkeypatch):
    seen: list = []
    monkeypatch.setenv("CUSTOMER_HEALTH_MODEL", "claude-opus-5-5")
    draft_with_claude("r", "p", api_key="k", http_client=replay(200, "message.json", seen))
    draft_with_claude(
        "r", "p", api_key="k", model="claude-haiku-5-5", http_client=replay(200, "message.json", seen)
    )
    assert [json.loads(r.content)["model"] for r in seen] == ["claude-opus-5-5", "claude-haiku-5-5"]


def test_a_rejected_key_is_one_clear_line():
    with pytest.raises(DraftError, match="ANTHROPIC_API_KEY was rejected"):
        draft_with_claude("r", "p", api_key="bad", http_client=replay(401, "error_401.json", []))


def test_an_overloaded_api_is_retried_then_reported():
    seen: list = []
    with pytest.raises(DraftError, match="overloaded"):
        draft_with_claude(
            "r", "p", api_key="k", max_retries=1, http_client=replay(529, "error_529.json", seen)
        )
    assert len(seen) == 2  # the first try and one retry


def test_an_unreachable_network_is_reported_without_a_traceback():
    def refuse(request):
        raise httpx2.ConnectError("connection refused", request=request)

    client = httpx2.Client(transport=httpx2.MockTransport(refuse))
    with pytest.raises(DraftError, match="could not reach the Anthropic API"):
        draft_with_claude("r", "p", api_key="k", max_retries=0, http_client=client)


def test_a_rate_limit_is_one_clear_line():
    seen: list = []
    with pytest.raises(DraftError, match=r"rate limit was hit \(429\): wait a minute"):
        draft_with_claude(
            "r", "p", api_key="k", max_retries=0, http_client=replay(429, "error_429.json", seen)
        )
    assert len(seen) == 1


def test_a_timeout_names_the_limit():
    def slow(request):
        raise httpx2.ReadTimeout("read timed out", request=request)

    client = httpx2.Client(transport=httpx2.MockTransport(slow))
    with pytest.raises(DraftError, match=r"did not answer within 7 s"):
        draft_with_claude("r", "p", api_key="k", timeout=7, max_retries=0, http_client=client)


def test_a_refused_request_passes_on_the_apis_own_reason():
    with pytest.raises(DraftError) as info:
        draft_with_claude("r", "p", api_key="k", http_client=replay(400, "error_400.json", []))
    assert str(info.value) == (
        "the Anthropic API refused the request (400): prompt is too long: 250112 tokens > 200000 maximum"
    )


def test_no_key_at_all_is_a_clear_error_before_any_request(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    seen: list = []
    with pytest.raises(DraftError, match="set ANTHROPIC_API_KEY"):
        draft_with_claude("r", "p", http_client=replay(200, "message.json", seen))
    assert seen == []


def _answers(body: bytes):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx2.Client(transport=httpx2.MockTransport(handler))


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"foo": 1}', b'{"content": "x"}', b'{"content": null, "usage": null}'],
    ids=["not-json", "a-list", "no-content", "content-not-a-list", "nulls"],
)
def test_a_200_that_is_not_a_message_is_one_clear_line(body):
    with pytest.raises(DraftError, match="answered 200 with something that is not a message"):
        draft_with_claude("r", "p", api_key="k", http_client=_answers(body))


@pytest.mark.parametrize("text", [None, "  \n"], ids=["no-block", "blank-text"])
def test_an_answer_with_no_text_is_no_draft(text):
    message = json.loads((RECORDED / "message.json").read_text())
    message["content"] = [] if text is None else [{"type": "text", "text": text}]
    with pytest.raises(DraftError, match="answered with no text"):
        draft_with_claude("r", "p", api_key="k", http_client=_answers(json.dumps(message).encode()))
