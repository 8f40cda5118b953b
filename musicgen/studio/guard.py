"""Who may talk to the studio: a pure ASGI middleware in front of the app.

A local web tool is reachable by every page the user's browser opens, so, as Jupyter does:

- **Host**: only the names the server is bound to are served (for a loopback bind:
  ``localhost``, ``127.0.0.1`` and ``[::1]``, with the port).  A foreign page that points
  a name of its own at 127.0.0.1 (DNS rebinding) sends its own name and is refused.
- **Writes** (POST, PUT, PATCH, DELETE) must be ``Content-Type: application/json`` and carry
  no foreign ``Origin``.  A browser sends a cross-origin "simple" POST (text/plain, a form)
  without asking; a JSON one needs a CORS preflight, which the studio never grants.
- **Token**: a server bound beyond loopback requires one (``musicgen studio --token``):
  ``?token=...`` once (it then sets a cookie), or an ``Authorization: token ...`` /
  ``Bearer ...`` or ``X-Musicgen-Token`` header.

Every refusal is a 4xx with a one-line JSON ``{"error": ...}``.  The checks are
module-level functions over the ASGI scope, so each can be tested alone.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

COOKIE = "musicgen_token"
TOKEN_HEADER = "x-musicgen-token"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class Policy:
    """What the guard lets through: `hosts` (``name:port`` as a Host header gives them;
    empty: any host, for a wildcard bind, where the token protects) and `token` (None:
    none needed)."""

    hosts: frozenset[str]
    token: str | None = None


class Refused(Exception):
    """A request the guard will not pass on: `status` (4xx) and a one-line message."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """True for an address that binds every interface (``0.0.0.0``, ``::``)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def policy_for(host: str, port: int, token: str | None = None) -> Policy:
    """The `Policy` of a server bound to `host`:`port`."""
    if is_wildcard(host):
        return Policy(frozenset(), token)
    names = LOOPBACK_NAMES if is_loopback(host) else ()
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    hosts = {f"{name}:{port}" for name in (*names, shown)}
    if port == 80:  # a browser leaves the default port out of Host
        hosts |= {*names, shown}
    return Policy(frozenset(hosts), token)


def new_token() -> str:
    """A fresh random token (48 hex digits), as ``--token auto`` prints it."""
    return secrets.token_hex(24)


def headers_of(scope: dict) -> dict[str, str]:
    """The request's headers, names lower-cased (the last of repeated ones)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def check_host(headers: dict[str, str], policy: Policy) -> None:
    """`Refused` (403) unless the Host header names this server."""
    host = headers.get("host", "")
    if policy.hosts and host.lower() not in policy.hosts:
        raise Refused(f"Host {host[:80]!r} is not this server; open it by its own address", 403)


def check_write(method: str, headers: dict[str, str]) -> None:
    """`Refused` for a write that is not JSON (415) or comes from a foreign Origin (403)."""
    if method not in WRITES:
        return
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        shown = media[:60] or "none"
        raise Refused(f"a {method} must be Content-Type: application/json, not {shown}", 415)
    origin = headers.get("origin")
    if origin is not None:
        scheme, _, netloc = origin.partition("://")
        if scheme not in ("http", "https") or netloc.lower() != headers.get("host", "").lower():
            raise Refused(f"Origin {origin[:80]!r} may not write to this studio", 403)


def given_token(scope: dict, headers: dict[str, str]) -> tuple[str | None, bool]:
    """The token the request carries, and whether it came in the query string."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], True
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("token", "bearer") and value:
        return value.strip(), False
    if headers.get(TOKEN_HEADER):
        return headers[TOKEN_HEADER], False
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is no token, not a 500
        return None, False
    return (cookie[COOKIE].value if COOKIE in cookie else None), False


def check_token(scope: dict, headers: dict[str, str], policy: Policy) -> bool:
    """`Refused` (401) without the right token; True when it came as ``?token=``."""
    if policy.token is None:
        return False
    token, in_query = given_token(scope, headers)
    if token is None:
        raise Refused("this studio needs its token: open the URL it printed (?token=...)", 401)
    if not hmac.compare_digest(token.encode(), policy.token.encode()):
        raise Refused("wrong token: open the URL the studio printed", 401)
    return in_query


def check(scope: dict, policy: Policy) -> bool:
    """Every check on one HTTP request; `Refused` for the first that fails.  Returns True
    when the token came in the query string (the answer then sets the cookie)."""
    headers = headers_of(scope)
    check_host(headers, policy)
    in_query = check_token(scope, headers, policy)
    check_write(scope["method"], headers)
    return in_query


class Guard:
    """ASGI middleware: pass a request on to `app` only if `policy` allows it."""

    def __init__(self, app, policy: Policy):
        self.app, self.policy = app, policy

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":  # the studio has none: never open one
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":  # lifespan
            return await self.app(scope, receive, send)
        try:
            set_cookie = check(scope, self.policy)
        except Refused as refused:
            return await refuse(send, refused)
        if not set_cookie:
            return await self.app(scope, receive, send)

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={self.policy.token}; Path=/; HttpOnly; SameSite=Strict"
                headers = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def refuse(send, refused: Refused) -> None:
    """Answer with `refused`'s status and its one-line JSON error."""
    body = json.dumps({"error": str(refused)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
