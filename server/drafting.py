"""Drafting through Claude with the official `anthropic` SDK: the rules in a system block marked for prompt caching
(the same for every account, so repeated drafts reuse it), the task and the facts in the user message.

Every failure a user can act on becomes a `DraftError` with one line that says what to do; nothing here retries
beyond the SDK's own backoff (`max_retries`).
"""

from __future__ import annotations

import os

from pydantic import BaseModel

DEFAULT_MODEL = "claude-sonnet-5-5"


class Draft(BaseModel):
    text: str
    model: str
    stop_reason: str | None
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


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
) -> Draft:
    """One Messages API call; `http_client` (an httpx2.Client) lets tests replay recorded responses."""
    import anthropic

    model = model or default_model()
    client = anthropic.Anthropic(
        api_key=api_key or os.environ.get("ANTHROPIC_API_KEY"),
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
    )
    try:
        message = client.messages.create(
            model=model,
            max_tokens=max_tokens,
            system=[{"type": "text", "text": system_rules, "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": prompt}],
        )
    except anthropic.AuthenticationError:
        raise DraftError(
            "ANTHROPIC_API_KEY was rejected (401): check the key, or unset it for a template draft."
        ) from None
    except anthropic.PermissionDeniedError:
        raise DraftError(
            f"this API key may not use {model} (403): choose another model with --model."
        ) from None
    except anthropic.NotFoundError:
        raise DraftError(f"the model '{model}' was not found (404): choose another with --model.") from None
    except anthropic.RateLimitError:
        raise DraftError("the Anthropic API rate limit was hit (429): wait a minute and try again.") from None
    except anthropic.APITimeoutError:
        raise DraftError(f"the Anthropic API did not answer within {timeout:g} s: try again later.") from None
    except anthropic.APIConnectionError:
        raise DraftError("could not reach the Anthropic API: check your network or proxy settings.") from None
    except anthropic.APIStatusError as exc:
        if exc.status_code == 529 or exc.status_code >= 500:
            raise DraftError(
                f"the Anthropic API is overloaded or failing ({exc.status_code}) after {max_retries} retries: "
                "try again later, or unset ANTHROPIC_API_KEY for a template draft."
            ) from None
        raise DraftError(
            f"the Anthropic API refused the request ({exc.status_code}): {exc.message}"
        ) from None
    text = "".join(block.text for block in message.content if getattr(block, "type", None) == "text")
    usage = message.usage
    return Draft(
        text=text,
        model=message.model,
        stop_reason=message.stop_reason,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", None),
        cache_read_input_tokens=getattr(usage, "cache_read_input_tokens", None),
    )
