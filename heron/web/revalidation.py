"""Conditional requests on dynamic responses: 304 Not Modified and 412 (web layer).

Static files answer ``If-None-Match`` and friends themselves; a handler's
responses get the same treatment, from the same code
(``heron.web.conditional.evaluate_preconditions``, RFC 9110 section 13.2.2),
in two ways:

- ``app.add_middleware(revalidation())``: every 200 to GET or HEAD whose
  body is in memory gets a strong ``ETag`` made from its bytes (unless the
  handler gave one), and ``Last-Modified`` is used when the handler set
  it. A request whose validators still match gets a 304: the body was
  computed, but it is not sent. Streams have no body to hash; one whose
  handler set an ETag or Last-Modified is revalidated all the same.
- ``check_preconditions(request, tag=..., last_modified=...)`` in a
  handler, before the work: a handler that knows its resource's version
  cheaply (a row's revision, a file's time) returns the 304 without
  building the page, and an unsafe method's ``If-Match`` fails with 412
  before anything is changed (a lost update, RFC 9110 section 13.1.1).

Add ``revalidation()`` before ``compression()`` (so it runs outside it):
the tag is then made from the bytes each client gets, and the 304 keeps
the ``Vary: Accept-Encoding`` of the 200 it stands for.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

from heron.errors import HTTPError
from heron.messages.contracts import Handler
from heron.messages.fileresponse import FileResponse
from heron.messages.request import Request
from heron.messages.response import Response, StreamingResponse, error_response
from heron.web.caching import CacheControl, directive_name, entity_tag, epoch_seconds
from heron.web.conditional import evaluate_preconditions, http_date, parse_http_date
from heron.web.middleware import Middleware

__all__ = ["body_etag", "check_preconditions", "not_modified", "revalidation"]

_CONDITIONAL: Final = frozenset({"if-match", "if-none-match", "if-modified-since", "if-unmodified-since"})
_FRESHNESS: Final = frozenset({"max-age", "s-maxage", "no-cache", "no-store"})
_REPRESENTATION: Final = frozenset({"content-type", "content-length", "content-encoding", "content-language",
                                    "content-range", "content-disposition", "transfer-encoding"})
"""Fields that describe the body a 304 does not have (RFC 9110 section 15.4.5); every other field stays:
ETag, Last-Modified, Cache-Control, Expires, Vary, Content-Location, and Set-Cookie (a session renewed)."""


def revalidation(*, etags: bool = True, cache_control: str | CacheControl | None = "no-cache") -> Middleware:
    """Middleware answering GET and HEAD with 304 (or 412) when the response's validators allow it.

    ``etags=False`` makes no tags: only the handlers' own ``ETag`` and
    ``Last-Modified`` fields are compared. ``cache_control`` joins the
    Cache-Control of the 200s that have a validator but say nothing of
    their freshness (no max-age, s-maxage, no-cache, no-store or Expires;
    a session's ``private`` alone says nothing of it): ``no-cache`` (store,
    but ask before each use) unless told, so no cache guesses a lifetime
    for a dynamic page (RFC 9111 section 4.2.2).
    """
    default = None if cache_control is None else str(cache_control)

    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            response = await next_handler(request)
            if request.method not in ("GET", "HEAD") or response.status != 200 or isinstance(response, FileResponse):
                return response
            etag = response.header("etag")
            if etag is None and etags and not isinstance(response, StreamingResponse):
                etag = body_etag(response.body)
                response.headers.append(("ETag", etag))
            modified = response.header("last-modified")
            if default is not None and (etag or modified) and not _says_freshness(response):
                response.headers.append(("Cache-Control", default))  # joins any Cache-Control already there
            if not request.headers.has_any(_CONDITIONAL):
                return response
            verdict = evaluate_preconditions(request.method, request.headers, etag,
                                             None if modified is None else parse_http_date(modified))
            if verdict is None:
                return response
            if isinstance(response, StreamingResponse):
                await response.discard()
            return not_modified(response) if verdict == 304 else error_response(412)

        return handler

    return middleware


def _says_freshness(response: Response) -> bool:
    """Whether the response says how long it may be reused (or that it may not be), so no default is due."""
    if response.header("expires") is not None:
        return True
    directives = {directive_name(item) for item in response.list_header("cache-control")}
    return not directives.isdisjoint(_FRESHNESS)


def body_etag(body: bytes) -> str:
    """A strong entity-tag for exactly these bytes (a hash: equal bodies, equal tags, across processes)."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def not_modified(response: Response) -> Response:
    """The 304 standing for ``response``: its fields but those describing the body (RFC 9110 section 15.4.5)."""
    return Response(b"", 304, [(name, value) for name, value in response.headers
                               if name.lower() not in _REPRESENTATION])


def check_preconditions(request: Request, *, tag: str | None = None, weak: bool = False,
                        last_modified: float | datetime | None = None) -> Response | None:
    """Evaluate the request's conditions against the resource's current validators, before the work.

    Returns a 304 to send back (GET and HEAD, carrying the validators;
    add the Cache-Control your 200 would have), or None to go on; raises
    ``HTTPError`` 412 when a precondition fails. ``tag`` is the opaque
    part of the entity-tag, as for ``set_etag``.
    """
    etag = None if tag is None else entity_tag(tag, weak=weak)
    seconds = None if last_modified is None else int(epoch_seconds(last_modified))
    verdict = evaluate_preconditions(request.method, request.headers, etag, seconds)
    if verdict == 412:
        raise HTTPError(412)
    if verdict is None:
        return None
    fields = [] if etag is None else [("ETag", etag)]
    if seconds is not None:
        fields.append(("Last-Modified", http_date(seconds)))
    return Response(b"", 304, fields)
