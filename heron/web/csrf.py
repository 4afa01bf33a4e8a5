"""Cross-site request forgery protection for unsafe methods (web layer).

A browser attaches a site's cookies to a form another site posts to it,
so a session alone does not prove the user meant to send a request. For
every POST, PUT, PATCH and DELETE, ``csrf_protection()`` checks two
things, in this order:

1. **Where the request comes from.** Browsers say so themselves:
   ``Sec-Fetch-Site`` (Fetch Metadata) is ``same-origin`` or ``none`` (the
   user typed it) for requests the site's own pages make; ``cross-site``
   and ``same-site`` (a sibling subdomain) are refused unless their
   ``Origin`` is trusted. Without it (older browsers), ``Origin`` must be
   the request's own origin or a trusted one; ``Origin: null`` (sandboxed
   frames, some redirects) is refused. A request with neither is not from
   a browser that could be tricked, and goes on to the token.
2. **The token** (``require_token``, on by default), for browsers that
   send neither field and as a second lock: the session's
   ``csrf_token()`` must come back in the ``csrf_token`` form field
   (urlencoded or multipart) or the ``X-CSRF-Token`` header (for
   ``fetch``), compared in constant time. It needs the session middleware
   outside this one.

WebSocket handshakes are GETs, but a page on another site can open one
with the user's cookies and read what comes back (cross-site WebSocket
hijacking), so their origin is checked too (step 1; browsers always send
``Origin`` with them).

A refusal is 403 with a short reason. Routes that must take cross-site
requests (a payment provider's webhook) are listed in ``exempt``, as
route patterns (``"/hooks/{provider}"``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from heron.errors import HTTPError
from heron.messages.contracts import Handler
from heron.messages.request import Request
from heron.messages.response import Response
from heron.messages.uploads import UploadFile
from heron.web.middleware import Middleware
from heron.web.routing import Router

__all__ = ["SAFE_METHODS", "csrf_protection"]

logger = logging.getLogger("heron.request")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""RFC 9110 section 9.2.1: methods that must not change anything, and so need no protection."""
_UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def csrf_protection(*, exempt: Iterable[str] = (), trusted_origins: Iterable[str] = (), require_token: bool = True,
                    field_name: str = "csrf_token", header_name: str = "X-CSRF-Token") -> Middleware:
    """Refuse unsafe requests another site may have made (403), except on ``exempt`` routes.

    ``trusted_origins`` are other origins allowed to post here
    (``"https://admin.example.com"``). With ``require_token=False`` only
    the browser's own fields are checked (the policy of Go's
    ``CrossOriginProtection``): enough for browsers from 2023 on, without
    any token in forms.
    """
    trusted = {_normal_origin(origin) for origin in trusted_origins}
    exempt_routes = Router()
    for pattern in exempt:
        exempt_routes.add(pattern, ["GET", *_UNSAFE], _exempt)

    async def check(request: Request) -> None:
        websocket = request.is_websocket
        if request.method in SAFE_METHODS and not websocket:
            return
        if exempt_routes.answers("GET" if websocket else request.method, request.path[len(request.root_path):]):
            return
        _check_origin(request, trusted)
        if websocket:  # a browser's handshake can carry neither a form nor a header of ours: the origin decides
            return
        if require_token and not await _token_matches(request, field_name, header_name):
            raise HTTPError(403, "CSRF token missing or wrong")

    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                await check(request)
            except HTTPError as exc:
                logger.info("%s %s refused: %s", request.method, request.raw_path, exc.detail)
                raise
            return await next_handler(request)

        return handler

    return middleware


def _exempt() -> None:
    """Stands in for a handler in the exemption table: only whether a pattern matches counts."""


def _check_origin(request: Request, trusted: set[str]) -> None:
    """Refuse a request whose ``Sec-Fetch-Site`` or ``Origin`` says another site sent it."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        site = site.strip().lower()
        if site in ("same-origin", "none"):
            return
        if origin is not None and _normal_origin(origin) in trusted:
            return
        raise HTTPError(403, f"{'cross-site' if site != 'same-site' else 'same-site'} request refused")
    if origin is None:
        return
    origin = _normal_origin(origin)
    if origin == "null":
        raise HTTPError(403, "request from an opaque origin refused")
    if origin != _normal_origin(f"{request.scheme}://{request.host}") and origin not in trusted:
        raise HTTPError(403, "cross-origin request refused")


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` lower-cased, without the scheme's default port, as browsers serialise it."""
    origin = origin.strip().lower().rstrip("/")
    scheme, _, _ = origin.partition("://")
    default = _DEFAULT_PORTS.get(scheme)
    return origin[: -len(default)] if default and origin.endswith(default) else origin


async def _token_matches(request: Request, field_name: str, header_name: str) -> bool:
    if not request.has_session:
        raise RuntimeError("csrf_protection() checks the session's token: add the sessions() middleware "
                           "before it (outside), or pass require_token=False")
    supplied = request.headers.get(header_name)
    if supplied is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await request.form()).get(field_name)
        supplied = value if not isinstance(value, UploadFile) else None
    return supplied is not None and request.session.check_csrf_token(supplied)
