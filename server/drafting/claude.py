"""Drafting through Claude with the official `anthropic` SDK: the rules in a system block marked for prompt caching
(the same for every account, so repeated drafts reuse it), the task and the facts in the user message.

Every failure a user can act on becomes a `DraftError` with one line that says what to do; nothing here retries
beyond the SDK's own backoff (`max_retries`).
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

DEFAULT_MODEL = "claude-sonnet-5-5"


class Draft(BaseModel):
    text: str
    model: str
    stop_reason: str | None
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    blocks: list[tuple[str, list[tuple[int, int, int]]]] = Field(
        default_factory=list,
        description="Each text block with its document citations as (document_index, start_block_index, "
        "end_block_index), content-block locations only.",
    )


class DraftError(Exception):
    """The API call failed in a way the user can fix or retry; the message says which."""


def default_model() -> str:
    return os.environ.get("CUSTOMER_HEALTH_MODEL") or DEFAULT_MODEL


def draft_with_claude(
    system_rules: str,
    prompt: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    http_client=None,
    timeout: float = 60.0,
    max_retries: int = 2,
    max_tokens: int = 4000,
    documents: list[dict] | None = None,
) -> Draft:
    """One Messages API call; `documents` (document blocks, e.g. the facts with citations enabled) go before the
    prompt in the user message; `http_client` (an httpx2.Client) lets tests replay recorded responses."""
    import anthropic

    model = model or default_model()
    key = api_key or os.environ.get("ANTHROPIC_API_KEY")
    if not key and not os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        raise DraftError("no Anthropic API key: set ANTHROPIC_API_KEY to draft with Claude.")
    client = anthropic.Anthropic(
        api_key=key, timeout=timeout, max_retries=max_retries, http_client=http_client
    )
    try:
        message = client.messages.create(
            model=model,
            max_tokens=max_tokens,
            system=[{"type": "text", "text": system_rules, "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": _content(prompt, documents)}],
        )
    except anthropic.APIResponseValidationError:
        raise DraftError(_MALFORMED) from None
    except anthropic.APIError as exc:
        raise DraftError(_explain(exc, anthropic, model, timeout, max_retries)) from None
    except ValueError:  # a 200 whose body is not JSON
        raise DraftError(_MALFORMED) from None
    try:
        texts = [block for block in message.content if getattr(block, "type", None) == "text"]
        text = "".join(block.text for block in texts)
        usage = message.usage
        draft = Draft(
            text=text,
            model=message.model,
            stop_reason=message.stop_reason,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", None),
            cache_read_input_tokens=getattr(usage, "cache_read_input_tokens", None),
            blocks=[(block.text, _locations(block)) for block in texts],
        )
    except (AttributeError, TypeError, ValueError):  # a JSON body that is not a message
        raise DraftError(_MALFORMED) from None
    if not text.strip():
        raise DraftError(
            f"the model answered with no text (stop reason: {message.stop_reason or 'none given'}), so there is "
            "no draft to check: try again, or unset ANTHROPIC_API_KEY for a template draft."
        )
    return draft


_MALFORMED = (
    "the Anthropic API answered 200 with something that is not a message, so there is no draft: try again later, "
    "or unset ANTHROPIC_API_KEY for a template draft."
)


def _content(prompt: str, documents: list[dict] | None):
    if not documents:
        return prompt
    return [*documents, {"type": "text", "text": prompt}]


def _locations(block) -> list[tuple[int, int, int]]:
    return [
        (c.document_index, c.start_block_index, c.end_block_index)
        for c in getattr(block, "citations", None) or []
        if getattr(c, "type", None) == "content_block_location"
    ]


def _explain(exc, anthropic, model: str, timeout: float, max_retries: int) -> str:
    """One line that says what went wrong and what to do about it."""
    if isinstance(exc, anthropic.AuthenticationError):
        return "ANTHROPIC_API_KEY was rejected (401): check the key, or unset it for a template draft."
    if isinstance(exc, anthropic.PermissionDeniedError):
        return f"this API key may not use {model} (403): choose another model with --model."
    if isinstance(exc, anthropic.NotFoundError):
        return (
            f"the model '{model}' was not found (404): choose another with --model or CUSTOMER_HEALTH_MODEL."
        )
    if isinstance(exc, anthropic.RateLimitError):
        return "the Anthropic API rate limit was hit (429): wait a minute and try again."
    if isinstance(exc, anthropic.APITimeoutError):
        return f"the Anthropic API did not answer within {timeout:g} s: try again later."
    if isinstance(exc, anthropic.APIConnectionError):
        return "could not reach the Anthropic API: check your network or proxy settings."
    status = getattr(exc, "status_code", None)
    if status is not None and status >= 500:
        return (
            f"the Anthropic API is overloaded or failing ({status}) after {max_retries} retries: "
            "try again later, or unset ANTHROPIC_API_KEY for a template draft."
        )
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    detail = error.get("message") if isinstance(error, dict) and error.get("message") else exc.message
    return f"the Anthropic API refused the request ({status}): {detail}"
