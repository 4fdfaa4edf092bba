"""The checks every HTTP request passes before the API sees it (an ASGI middleware).

- `Host` must name this daemon: a loopback name, the address it listens on, or an
  `--allow-host` name (else 421). A web page that rebinds its own DNS name to 127.0.0.1
  (DNS rebinding) still sends its own name here, so it is refused before any token check.
- `Origin`, when a browser sends one, must be this very origin: the scheme of the request and
  the host and port of `Host` (else 403). Cross-site and other-local-port pages cannot post to the API.
- A token in the query string (`?token=`) is refused (400): URLs end up in logs and history.
- Bodies above the limit are refused (413), whether announced by Content-Length or streamed.
- One access-log line per request (logger `guiagent.daemon.access`, INFO): method, path and
  status, with any token-like query value blanked. uvicorn's own access log stays off.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from guiagent.schema.errors import ConfigError

log = logging.getLogger("guiagent.daemon.access")

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
URL_TOKEN_KEYS = frozenset({"token", "access_token"})
DEFAULT_PORTS = {"http": 80, "https": 443}
DRAIN_FACTOR = 4  # an oversize body up to this many times the limit is read (and dropped) for a clean 413

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def host_name(value: str) -> str:
    """A `--allow-host` value or listening address as it is compared: lower case, no brackets,
    no trailing dot. A scheme, path or port is refused."""
    name = value.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not name or "/" in name or any(c.isspace() for c in name):
        raise ConfigError(f"--allow-host takes a host name or address, not {value!r}")
    if ":" in name:
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            raise ConfigError(f"--allow-host takes a host name without a port, not {value!r}") from None
    return name


def is_wildcard(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header as (name, port or None); None when it is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
    elif value.count(":") > 1:
        return None  # a bare IPv6 address is not a valid Host
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return None
    name = name.rstrip(".")
    return (name, int(rest[1:]) if rest else None) if name else None


class Gate:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], *, allowed_hosts: frozenset[str],
                 max_body: int) -> None:
        self.app, self.allowed_hosts, self.max_body = app, allowed_hosts, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = [0]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is None:
                replay, refusal = await self._read_body(scope, receive)
            if refusal is not None:
                await _reply(send_logged, *refusal)
            else:
                await self.app(scope, replay, send_logged)
        finally:
            log.info('%s "%s %s" %s %.0f ms', _client(scope), scope.get("method", ""), _logged_path(scope),
                     status[0] or "-", (time.monotonic() - started) * 1000)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        hosts = _headers(scope, b"host")
        if len(hosts) != 1 or (host := split_host(hosts[0])) is None:
            return 400, "the request needs exactly one valid Host header"
        if host[0] not in self.allowed_hosts:
            return 421, (f"this daemon does not answer to the host name {host[0]!r} (a page rebinding its own "
                         "name to this address looks like this); start it with --allow-host NAME to serve "
                         "a name other than loopback and its listening address")
        origins = _headers(scope, b"origin")
        if origins:
            origin = _split_origin(origins[0])
            scheme = str(scope.get("scheme", "http"))  # https behind a TLS proxy that says so
            same = origin == (host[0], host[1] or DEFAULT_PORTS.get(scheme, 80), scheme)
            if len(origins) > 1 or not same:
                return 403, (f"cross-origin request refused: Origin {origins[0]!r} is not this daemon "
                             f"({hosts[0]}); the API serves no other site")
        query = scope.get("query_string", b"").decode("latin-1")
        if any(k.lower() in URL_TOKEN_KEYS for k, _ in parse_qsl(query, keep_blank_values=True)):
            return 400, ("a token in the URL is refused: URLs end up in logs, history and proxies (if it was "
                         "the real token, treat it as leaked and replace it). Send the header "
                         "`Authorization: Bearer TOKEN`, or log a browser in with POST /login")
        length = _headers(scope, b"content-length")
        if length and (not length[0].strip().isdigit() or int(length[0]) > self.max_body):
            return 413, f"the request body is larger than this daemon's limit of {self.max_body} bytes"
        return None

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[Receive, tuple[int, str] | None]:
        """Read the whole body (it is small) so that a streamed one is held to the limit too;
        the app then receives it again as one message."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return receive, (400, "the client disconnected")
            size += len(message.get("body", b""))
            if size <= self.max_body:
                chunks.append(message.get("body", b""))
            elif size > DRAIN_FACTOR * self.max_body:
                break
            if not message.get("more_body", False):
                break
        if size > self.max_body:
            return receive, (413, f"the request body is larger than this daemon's limit of {self.max_body} bytes")
        body = b"".join(chunks)
        pending = [True]

        async def replay() -> Message:
            if pending[0]:
                pending[0] = False
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, None


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name]


def _split_origin(value: str) -> tuple[str, int, str] | None:
    """(host, port, scheme) of an Origin header; None for `null` or anything but http(s)."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.hostname.rstrip("."), port or DEFAULT_PORTS[parts.scheme], parts.scheme


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status in (400, 413):
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


def _logged_path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    query = scope.get("query_string", b"").decode("latin-1")
    if not query:
        return path
    pairs = [(k, "REDACTED" if k.lower() in URL_TOKEN_KEYS else v) for k, v in parse_qsl(query, keep_blank_values=True)]
    return f"{path}?{urlencode(pairs)}"
