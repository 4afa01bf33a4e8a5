"""Middleware: functions that wrap a handler and return a handler (web layer).

The contract is starlette's, kept tiny: a *handler* takes a Request and
returns a Response; a *middleware* takes the next handler and returns a new
one. So a middleware can look at the request, answer it itself, or call
the next handler and change its response::

    def timing(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            started = time.perf_counter()
            response = await next_handler(request)
            response.headers.append(("Server-Timing", f"app;dur={...}"))
            return response
        return handler

Middleware runs on the event loop, in the request's own task: it adds no
queue and no task of its own, so streaming responses and contextvars pass
through untouched. The built-ins below are ordinary middleware built this
way: request logging, CORS, Bearer and Basic auth, trusted hosts.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable

from heron.errors import HTTPError
from heron.messages.contracts import Handler
from heron.messages.request import Request
from heron.messages.response import Response

Middleware = Callable[[Handler], Handler]
"""Takes the next handler, returns a handler that wraps it."""

logger = logging.getLogger("heron.request")


def apply(middleware: Iterable[Middleware], handler: Handler) -> Handler:
    """Wrap ``handler`` so that the first middleware listed runs first (outermost)."""
    for wrap in reversed(list(middleware)):
        handler = wrap(handler)
    return handler


# -- request logging -------------------------------------------------------------


def request_logging(header: str = "X-Request-ID", trust_incoming: bool = False) -> Middleware:
    """Log each request with an id and its duration, and return the id in ``header``.

    An incoming id is reused only with ``trust_incoming`` (set it behind a
    proxy that assigns ids); otherwise a client could forge ids in the logs.
    Ids are the process id and a counter: unique per server, cheap, and
    not a secret.
    """
    counter = itertools.count(1)
    prefix = f"{os.getpid():x}-"

    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            incoming = request.headers.get(header) if trust_incoming else None
            request_id = incoming if incoming and _is_safe_id(incoming) else f"{prefix}{next(counter)}"
            started = time.perf_counter()
            try:
                response = await next_handler(request)
            except BaseException:
                logger.info("%s %s %s failed after %.1f ms", request_id, request.method, request.raw_path,
                            (time.perf_counter() - started) * 1000)
                raise
            logger.info("%s %s %s %d %.1f ms", request_id, request.method, request.raw_path, response.status,
                        (time.perf_counter() - started) * 1000)
            response.headers.append((header, request_id))
            return response

        return handler

    return middleware


def _is_safe_id(value: str) -> bool:
    return 0 < len(value) <= 128 and all(c.isalnum() or c in "-_.:" for c in value)


# -- CORS ---------------------------------------------------------------------------


def cors(
    allow_origins: Iterable[str] | Callable[[str], bool] = (),
    *,
    allow_methods: Iterable[str] = ("GET", "HEAD", "POST"),
    allow_headers: Iterable[str] = (),
    expose_headers: Iterable[str] = (),
    allow_credentials: bool = False,
    max_age: int = 600,
) -> Middleware:
    """Cross-Origin Resource Sharing (the Fetch standard's CORS protocol).

    ``allow_origins`` is a list of exact origins (``"https://app.example"``),
    ``["*"]`` for any origin, or a predicate. Preflight requests (OPTIONS
    with ``Access-Control-Request-Method``) are answered here with 204 and
    never reach the app. ``Vary: Origin`` is always added when the answer
    depends on the origin, so caches keep the variants apart. With
    credentials the origin is echoed, never ``*`` (browsers refuse that).
    """
    policy = _CorsPolicy(allow_origins, allow_methods, allow_headers, expose_headers, allow_credentials, max_age)

    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            origin = request.headers.get("origin")
            if origin is None:
                return await next_handler(request)
            if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
                return policy.preflight(request, origin)
            response = await next_handler(request)
            policy.mark(response, origin)
            return response

        return handler

    return middleware


class _CorsPolicy:
    """What ``cors()`` allows, and the fields that say so."""

    def __init__(self, allow_origins: Iterable[str] | Callable[[str], bool], allow_methods: Iterable[str],
                 allow_headers: Iterable[str], expose_headers: Iterable[str], allow_credentials: bool,
                 max_age: int) -> None:
        self.any_origin = False
        if callable(allow_origins):
            self.predicate: Callable[[str], bool] | None = allow_origins
            self.origins: frozenset[str] = frozenset()
        else:
            self.predicate = None
            self.origins = frozenset(allow_origins)
            self.any_origin = "*" in self.origins
            if self.any_origin and allow_credentials:
                raise ValueError("CORS: allow_origins=['*'] cannot be combined with allow_credentials")
        self.methods = [m.upper() for m in allow_methods]
        self.allowed_headers = {h.lower() for h in allow_headers}
        self.exposed = ", ".join(expose_headers)
        self.credentials = allow_credentials
        self.max_age = max_age

    def allows(self, origin: str) -> bool:
        if self.predicate is not None:
            return self.predicate(origin)
        return self.any_origin or origin in self.origins

    def origin_fields(self, origin: str) -> list[tuple[str, str]]:
        fields = [("Access-Control-Allow-Origin", "*" if self.any_origin else origin)]
        if not self.any_origin:
            fields.append(("Vary", "Origin"))
        if self.credentials:
            fields.append(("Access-Control-Allow-Credentials", "true"))
        return fields

    def preflight(self, request: Request, origin: str) -> Response:
        """204 with what the real request may do; 403 without CORS fields (the browser then blocks it)."""
        requested = [h.strip().lower() for h in request.headers.get("access-control-request-headers", "").split(",")]
        requested = [h for h in requested if h]
        method = request.headers.get("access-control-request-method", "")
        if not self.allows(origin) or method.upper() not in self.methods or any(
            h not in self.allowed_headers for h in requested
        ):
            return Response(b"", 403, [("Vary", "Origin")])
        fields = self.origin_fields(origin) + [
            ("Access-Control-Allow-Methods", ", ".join(self.methods)),
            ("Access-Control-Max-Age", str(self.max_age)),
        ]
        if requested:
            fields.append(("Access-Control-Allow-Headers", ", ".join(requested)))
        return Response(b"", 204, fields)

    def mark(self, response: Response, origin: str) -> None:
        """Add the fields an actual (not preflight) response from ``origin`` needs."""
        if self.allows(origin):
            response.headers.extend(field for field in self.origin_fields(origin) if field[0] != "Vary")
            if self.exposed:
                response.headers.append(("Access-Control-Expose-Headers", self.exposed))
        if not self.any_origin:
            response.vary("Origin")


# -- authentication --------------------------------------------------------------


def bearer_auth(tokens: Iterable[str], realm: str = "heron") -> Middleware:
    """Require ``Authorization: Bearer <token>`` with one of ``tokens`` (RFC 6750).

    Tokens are compared in constant time, so response timing does not tell
    an attacker how much of a guess was right. A missing or wrong token
    gets 401 with ``WWW-Authenticate``.
    """
    known = [t.encode() for t in tokens]
    if not known:
        raise ValueError("bearer_auth needs at least one token")
    challenge = [("WWW-Authenticate", f'Bearer realm="{realm}"')]

    def check(request: Request) -> None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        supplied = credentials.strip().encode()
        if scheme.lower() != "bearer" or not _matches_any(supplied, known):
            raise HTTPError(401, "Unauthorized", challenge)

    return _guard(check)


def basic_auth(users: dict[str, str], realm: str = "heron") -> Middleware:
    """Require HTTP Basic credentials (RFC 7617) matching ``users`` (name -> password).

    Meant for small internal tools behind TLS: the password crosses the
    wire with every request. Comparison is constant-time per candidate.
    """
    if not users:
        raise ValueError("basic_auth needs at least one user")
    expected = {name: password.encode() for name, password in users.items()}
    challenge = [("WWW-Authenticate", f'Basic realm="{realm}", charset="UTF-8"')]

    def check(request: Request) -> None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            name, colon, password = decoded.partition(":")
            wanted = expected.get(name)
            # Compare against something even for unknown names, so timing does not reveal them.
            if colon and hmac.compare_digest(password.encode(), wanted or b"\0" * 32) and wanted is not None:
                return
        raise HTTPError(401, "Unauthorized", challenge)

    return _guard(check)


def _matches_any(supplied: bytes, known: list[bytes]) -> bool:
    found = False
    for candidate in known:  # no early exit: every candidate costs the same
        found |= hmac.compare_digest(supplied, candidate)
    return found


def _guard(check: Callable[[Request], None]) -> Middleware:
    """A middleware that runs ``check`` (which raises HTTPError to refuse) before the handler."""

    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            check(request)
            return await next_handler(request)

        return handler

    return middleware


# -- trusted hosts ---------------------------------------------------------------


def trusted_hosts(hosts: Iterable[str]) -> Middleware:
    """Refuse requests whose Host is not listed (400), against Host-header attacks.

    Entries are host names without port; ``"*.example.com"`` allows
    subdomains (not the bare domain). Links and redirects an app builds from
    the Host header are only safe when this is on.
    """
    exact = set()
    suffixes = []
    for host in hosts:
        host = host.lower()
        if host.startswith("*."):
            suffixes.append(host[1:])
        else:
            exact.add(host)

    def check(request: Request) -> None:
        host = _host_without_port(request.host).lower()
        if host not in exact and not any(host.endswith(s) for s in suffixes):
            raise HTTPError(400, "Invalid Host")

    return _guard(check)


def _host_without_port(authority: str) -> str:
    if authority.startswith("["):
        return authority[: authority.find("]") + 1]
    return authority.rsplit(":", 1)[0] if ":" in authority else authority
