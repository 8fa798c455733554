"""Streamable HTTP made safe for a team: a bearer token (required off loopback, compared in constant time, never
logged), DNS-rebinding protection with an explicit list of allowed hosts, each request tied to its MCP session (so
every client keeps its own dataset, see server/mcp/session.py), and every log line on stderr.

The SDK's own auth support (`TokenVerifier` with `AuthSettings`) is built for OAuth: it needs an authorization server
and advertises its metadata. A team server with one shared secret needs none of that, so a small ASGI middleware
checks the token instead.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from customer_health.server.mcp.session import MAX_SESSIONS_ENV, Sessions, current_key
from customer_health.tools.base.errors import InputError
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

log = logging.getLogger("customer_health.mcp")
TOKEN_ENV = "CUSTOMER_HEALTH_TOKEN"
MIN_TOKEN_CHARS = 16
_WILDCARD = ("0.0.0.0", "::", "")  # listen everywhere: no Host header names these
_LOCAL = ("127.0.0.1", "localhost", "[::1]")
_HOW_TO_SET = (
    f"Set {TOKEN_ENV} to a long random secret (for example the output of "
    '`python -c "import secrets; print(secrets.token_urlsafe(32))"`), or put it in a file readable only by you '
    "and pass --token-file FILE; clients then send the header `Authorization: Bearer <token>`."
)

# uvicorn's own configuration sends its access log to stdout; here every logger writes to stderr
LOG_CONFIG: dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "default": {"formatter": "default", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def team_tokens(
    host: str, token_file: str | None = None, env: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The bearer tokens clients may send, by the name of who holds each: from `token_file` if given (one token a
    line, `name:token` to name its holder; blank lines and # comments skipped), else CUSTOMER_HEALTH_TOKEN (held by
    "team"). Required unless the server listens on loopback only. Errors never quote a token or the file."""
    if token_file:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is not readable text"
            raise InputError(
                f"the token file cannot be read ({reason}).", file=str(token_file), fix=_HOW_TO_SET
            ) from None
        entries = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
        entries = [(n, line) for n, line in entries if not line.startswith("#")]
        if not entries:
            raise InputError("the token file holds no token.", file=str(token_file), fix=_HOW_TO_SET)
        tokens = {}
        for n, line in entries:
            name, _, token = line.rpartition(":")
            _check(token.strip(), file=str(token_file), row=n)
            tokens[name.strip() or ("team" if len(entries) == 1 else f"token{n}")] = token.strip()
        return tokens
    token = (env.get(TOKEN_ENV) or "").strip()
    if token:
        _check(token, file=TOKEN_ENV)
        return {"team": token}
    if is_loopback(host):
        return {}
    raise InputError(
        f"serving on {host}, which other machines can reach, needs a bearer token and none is set.",
        fix=_HOW_TO_SET,
    )


def _check(token: str, *, file: str, row: int | None = None) -> None:
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise InputError(
            f"a token is too easy to guess or malformed: it needs at least {MIN_TOKEN_CHARS} characters and no "
            "spaces.",
            file=file,
            row=row,
            fix=_HOW_TO_SET,
        )


def _host_forms(entry: str) -> tuple[str, bool]:
    """`entry` as a Host header value, and whether it names a port (IPv6 addresses in brackets)."""
    entry = entry.strip()
    if entry.startswith("["):
        return entry, "]:" in entry
    if entry.count(":") > 1:  # a bare IPv6 address
        return f"[{entry}]", False
    return entry, ":" in entry


def transport_security(host: str, allowed_hosts: Sequence[str] = ()) -> TransportSecuritySettings:
    """DNS-rebinding protection, always on: the Host header must be one of `allowed_hosts` (a name, or name:port),
    the bind host or a localhost form; an Origin header, if sent, must be http(s) on one of them."""
    hosts, origins = [], []
    bind = [] if host in _WILDCARD else [host]
    for entry in [*allowed_hosts, *bind, *_LOCAL]:
        name, has_port = _host_forms(entry)
        forms = [name] if has_port else [name, f"{name}:*"]
        hosts += forms
        origins += [f"{scheme}://{form}" for scheme in ("http", "https") for form in forms]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()  # equal lengths: the comparison leaks nothing


class Guard:
    """ASGI middleware in front of the MCP app: refuses a request without a known bearer token (401), and marks the
    rest with who sent them and their MCP session, so the tools reach that session's data (a 2026-07-28 request
    carries no session: its holder's own data, when each person has a token of their own)."""

    def __init__(
        self,
        app,
        tokens: Mapping[str, str],
        ended: Callable[[str], None] = lambda key: None,
        *,
        full: str = "this server has as many open sessions as it allows.",
    ) -> None:
        self.app = app
        self._ended = ended  # told the key of a session its client closed (DELETE)
        self._expected = [(name, _digest(token)) for name, token in tokens.items()]
        self._full = full  # what a client refused a new session (the cap is reached) is told

    def _holder(self, authorization: str) -> str | None:
        scheme, _, given = authorization.partition(" ")
        offered = _digest(given.strip())
        holder = None
        for name, expected in self._expected:  # every token is compared, so timing tells nothing
            if hmac.compare_digest(offered, expected) and scheme.lower() == "bearer":
                holder = name
        return holder

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        holder = ""
        if self._expected:
            holder = self._holder(headers.get("authorization", ""))
            if holder is None:
                await _unauthorized(send, wrong="authorization" in headers)
                return
        session = headers.get("mcp-session-id")
        key = f"{holder}/{session}" if session else holder or None
        marked = current_key.set(key)
        try:
            await self.app(scope, receive, send if session else self._explain_refusal(send))
        finally:
            current_key.reset(marked)
        if session and scope.get("method") == "DELETE":
            self._ended(key)

    def _explain_refusal(self, send):
        """`send`, except that the SDK's bare 503 refusing a new session at the cap becomes a JSON-RPC error that
        says why and what to do."""
        refused = False

        async def explained(message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message.get("status") == 503:
                refused = True
            elif not refused:
                await send(message)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": self._full}}
                await _respond(send, 503, json.dumps(body).encode(), [(b"retry-after", b"60")])

        return explained


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _unauthorized(send, *, wrong: bool) -> None:
    problem = "the bearer token is not the one this server expects" if wrong else "a bearer token is required"
    body = json.dumps(
        {"error": "invalid_token" if wrong else "unauthorized", "error_description": f"{problem}."}
    ).encode()
    challenge = 'Bearer realm="customer-health"' + (', error="invalid_token"' if wrong else "")
    await _respond(send, 401, body, [(b"www-authenticate", challenge.encode())])


def app(
    server: MCPServer,
    sessions: Sessions,
    *,
    host: str,
    tokens: Mapping[str, str],
    security: TransportSecuritySettings,
):
    """The ASGI app: the SDK's streamable-HTTP app (sessions expire as `sessions` forgets them) behind the guard."""
    inner = server.streamable_http_app(
        transport_security=security,
        host=host,
        session_idle_timeout=sessions.idle_seconds,
        max_sessions=sessions.cap,
    )
    full = (
        f"this server already has {sessions.cap} open sessions, as many as it allows. Close a client you no longer "
        f"use (its session ends with it), or wait: a session idle for {sessions.idle_seconds / 60:g} minutes ends "
        f"on its own. Whoever runs the server can allow more with {MAX_SESSIONS_ENV}."
    )
    if len(tokens) > 1:
        sessions.keep_holders_apart()
    return Guard(inner, tokens, sessions.forget, full=full)


def run_http(
    server: MCPServer,
    sessions: Sessions,
    *,
    host: str,
    port: int,
    tokens: Mapping[str, str],
    allowed_hosts: Sequence[str] = (),
) -> None:
    import uvicorn

    security = transport_security(host, allowed_hosts)
    log.warning(
        "customer-health MCP server on http://%s:%d/mcp (%s; Host headers allowed: %s)",
        f"[{host}]" if ":" in host else host,
        port,
        f"bearer token required, {len(tokens)} holder(s)" if tokens else "no token: loopback only",
        ", ".join(h for h in security.allowed_hosts if not h.endswith(":*")),
    )
    asgi = app(server, sessions, host=host, tokens=tokens, security=security)
    # uvicorn stops gracefully on SIGTERM, then raises the signal again for the handler it found: with the default
    # one the process would die there, before the caller's clean-up (every session's scratch folder) runs
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.Server(uvicorn.Config(asgi, host=host, port=port, log_config=LOG_CONFIG)).run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped(signum, frame) -> None:
    raise SystemExit(0)  # asked to stop (SIGTERM): a clean exit, through every `finally`
