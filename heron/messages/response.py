"""Responses handlers return (messages layer).

A response is plain data: status, header pairs and a body. The server
decides framing (Content-Length or chunked) from the body's type. Headers
are checked twice with the same function (``validate_headers`` from the
protocol writer): when they are given to a ``Response`` (its constructor,
``add_header``, ``set_header``, ``set_cookie``), so a bad value raises
``ValueError`` in the handler that produced it, and again by the writer
just before sending, which also catches anything appended to
``response.headers`` directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from heron.blocking import run_blocking
from heron.errors import reason_phrase
from heron.messages.cookies import delete_cookie_header, needs_secure, set_cookie_header
from heron.protocol.headers import split_comma_list
from heron.protocol.writer import HeaderError, validate_headers

TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
JSON = "application/json"
_KNOWN_TYPES: Final = frozenset({TEXT, HTML, JSON})

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]
"""Headers as a handler may give them: a dict, or ``(name, value)`` pairs (which may repeat)."""


def header_list(headers: HeadersLike | None) -> list[tuple[str, str]]:
    """``headers`` as a new list of pairs, validated: ``ValueError`` (a ``HeaderError``)
    for a name that is not a token or a value holding a control character (HTAB aside)."""
    if not headers:
        return []
    if isinstance(headers, list):  # the usual case, tested first: isinstance against Mapping, an ABC, costs more
        pairs = headers.copy()
    else:
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    validate_headers(pairs)
    return pairs


class Response:
    """A response whose body is already in memory.

    A ``str`` body is sent as UTF-8 (``text/plain; charset=utf-8`` unless
    ``content_type`` says otherwise); ``bytes`` are sent as they are, with
    no Content-Type unless one is given. ``headers`` is a dict or a list of
    pairs; it is validated here, so a control character in a value (CR,
    LF, NUL or another; HTAB is allowed) raises ``ValueError`` now rather
    than a 500 at send time. Content-Length and Transfer-Encoding are the
    server's to set.
    """

    __slots__ = ("status", "headers", "body", "https_cookies")

    def __init__(
        self,
        body: bytes | str = b"",
        status: int = 200,
        headers: HeadersLike | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.headers: list[tuple[str, str]] = header_list(headers)
        self.https_cookies: list[str] | None = None
        """``Set-Cookie`` values that get ``Secure`` if the response goes out over HTTPS (``set_cookie``'s
        ``secure=None``); the server settles them (``settle_cookies``) once it knows the scheme."""
        if isinstance(body, str):
            body = body.encode("utf-8")
            if content_type is None:
                content_type = TEXT
        self.body: bytes = body
        if content_type is not None:
            if content_type not in _KNOWN_TYPES:
                validate_headers([("Content-Type", content_type)])
            self.headers.append(("Content-Type", content_type))

    def add_header(self, name: str, value: str) -> None:
        """Append a header, keeping any of the same name; ``ValueError`` if invalid."""
        validate_headers([(name, value)])
        self.headers.append((name, value))

    def set_header(self, name: str, value: str) -> None:
        """Replace every header called ``name`` (case-insensitively) with one; ``ValueError`` if invalid."""
        validate_headers([(name, value)])
        lname = name.lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != lname]
        self.headers.append((name, value))

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        expires: datetime | float | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool | None = None,
        httponly: bool = True,
        samesite: str | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header (one per cookie, RFC 6265 section 3).

        The defaults are the safe ones: ``HttpOnly`` (no script can read
        it), ``SameSite=Lax`` (not sent on cross-site subresource requests
        and form posts), ``Path=/``, and ``secure=None``, which means
        ``Secure`` when the request came over HTTPS (directly, or through a
        trusted proxy that says so) and not over plain HTTP, where a
        browser would drop a Secure cookie. ``True`` or ``False`` decide
        for every scheme; a ``__Secure-`` or ``__Host-`` name,
        ``samesite="none"`` and ``partitioned`` always mean ``Secure``.
        The value is sent as given, never quoted or encoded: it must be
        RFC 6265 cookie-octets, else ``ValueError`` (see
        ``heron.messages.cookies`` for every rule enforced).
        """
        self._add_cookie(set_cookie_header, name, secure, samesite, partitioned, value=value, max_age=max_age,
                         expires=expires, path=path, domain=domain, httponly=httponly)

    def delete_cookie(
        self,
        name: str,
        path: str | None = "/",
        domain: str | None = None,
        *,
        secure: bool | None = None,
        httponly: bool = True,
        samesite: str | None = "lax",
    ) -> None:
        """Tell the browser to drop cookie ``name``: an empty value that expired in 1970.

        ``path`` and ``domain`` must be those the cookie was set with, or
        the browser keeps it; ``secure`` works as in ``set_cookie``.
        """
        self._add_cookie(delete_cookie_header, name, secure, samesite, False, path=path, domain=domain,
                         httponly=httponly)

    def _add_cookie(self, render: Callable[..., str], name: str, secure: bool | None, samesite: str | None,
                    partitioned: bool, **attributes: Any) -> None:
        if secure is None and needs_secure(name, samesite, partitioned):
            secure = True
        extra = {"partitioned": partitioned} if partitioned else {}
        value = render(name, secure=bool(secure), samesite=samesite, **attributes, **extra)
        self.headers.append(("Set-Cookie", value))
        if secure is None:
            if self.https_cookies is None:
                self.https_cookies = []
            self.https_cookies.append(value)

    def settle_cookies(self, https: bool) -> None:
        """Give the cookies set with ``secure=None`` their ``Secure`` attribute if ``https``.

        The server calls it just before sending, when it knows the scheme the
        request came over; a response that is never sent keeps them as set.
        """
        waiting, self.https_cookies = self.https_cookies, None
        if https and waiting:
            self.headers = [("Set-Cookie", f"{value}; Secure") if name == "Set-Cookie" and value in waiting
                            else (name, value) for name, value in self.headers]

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, case-insensitively."""
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None

    def list_header(self, name: str) -> list[str]:
        """The members of every field called ``name`` (a ``#rule`` list, RFC 9110 section 5.6.1), in order:
        ``Vary: a, b`` and ``Vary: c`` give ``["a", "b", "c"]``."""
        lname = name.lower()
        return [item for field, value in self.headers if field.lower() == lname for item in split_comma_list(value)]

    def vary(self, name: str) -> None:
        """Say the response depends on request field ``name``: added to ``Vary`` unless already listed
        there (or ``*`` is), never replacing what others put in it (RFC 9110 section 12.5.5)."""
        if not any(item.lower() in (name.lower(), "*") for item in self.list_header("vary")):
            self.headers.append(("Vary", name))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status}>"


class TextResponse(Response):
    """Plain text, sent as UTF-8 with ``Content-Type: text/plain; charset=utf-8``."""

    __slots__ = ()

    def __init__(self, content: str, status: int = 200, headers: HeadersLike | None = None) -> None:
        super().__init__(content.encode("utf-8"), status, headers, TEXT)


class HTMLResponse(Response):
    """An HTML page, sent as UTF-8 with ``Content-Type: text/html; charset=utf-8``.

    The content is sent as given: escaping what came from users is the
    template's or the handler's job (``html.escape``).
    """

    __slots__ = ()

    def __init__(self, content: str | bytes, status: int = 200, headers: HeadersLike | None = None) -> None:
        body = content.encode("utf-8") if isinstance(content, str) else content
        super().__init__(body, status, headers, HTML)


# Made once: json.dumps with any option builds a new JSONEncoder per call, a third of its cost
# for a small object (bench/LOG.md). encode() keeps no state between calls: every thread may share it.
_JSON_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# The C encoder behind it, made once without the circular-reference check: encode() builds a
# new one per call, with a fresh dict of the containers it is inside (most of what is left).
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_ENCODE_CHUNKS: Final = None if _C_MAKE_ENCODER is None else _C_MAKE_ENCODER(
    None, _JSON_ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)


def _compact_json(data: Any) -> str:
    """``data`` as compact JSON text, non-ASCII as is: what ``json.dumps(data, separators=(",", ":"),
    ensure_ascii=False)`` returns, and the same errors.

    Without the circular-reference check a cycle recurses until Python's
    limit; that ``RecursionError`` is answered by encoding again with the
    check, which raises ``ValueError`` as ``json.dumps`` does (and, for a
    structure merely nested too deep, ``RecursionError`` again).
    """
    if _ENCODE_CHUNKS is None:  # no C accelerator (not CPython)
        return _JSON_ENCODER.encode(data)
    try:
        return "".join(_ENCODE_CHUNKS(data, 0))
    except RecursionError:
        return _JSON_ENCODER.encode(data)


class JSONResponse(Response):
    """``data`` serialised as compact UTF-8 JSON."""

    __slots__ = ()

    def __init__(self, data: Any, status: int = 200, headers: HeadersLike | None = None) -> None:
        super().__init__(_compact_json(data).encode("utf-8"), status, headers, JSON)


REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_SPLITTING: Final = re.compile(r"[\r\n\x00]")
# Printable ASCII but space stays as it is (so "%XX" escapes and reserved
# characters survive); space, other controls and non-ASCII are escaped.
_URL_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F))


class RedirectResponse(Response):
    """Send the client to ``url`` (RFC 9110 section 15.4).

    ``status`` is 307 by default, which keeps the method and body (308 is
    its permanent form); 303 turns the next request into a GET (after a
    form POST), and 301/302 are there for old clients, which may turn a POST
    into a GET. Any other status raises ``ValueError``.

    ``url`` may be a path (``/login``), relative, or absolute
    (``https://other.example/``): absolute URLs are allowed, so never pass
    a URL taken from the request (``?next=...``) without checking it is
    one of yours, or the app becomes an open redirector; note that
    ``//evil.example`` is absolute too. A CR, LF or NUL in ``url`` raises
    ``ValueError``; spaces, other control characters and non-ASCII
    characters are percent-encoded (as UTF-8) so the header is valid.
    """

    __slots__ = ()

    def __init__(self, url: str, status: int = 307, headers: HeadersLike | None = None) -> None:
        if status not in REDIRECT_STATUSES:
            raise ValueError(f"redirect status must be one of {sorted(REDIRECT_STATUSES)}, got {status!r}")
        if not isinstance(url, str) or not url:
            raise ValueError("redirect url must be a non-empty str")
        if _SPLITTING.search(url):  # an attempt to add fields or cut the head: refused, not encoded
            raise HeaderError("redirect url has CR, LF or NUL in it")
        super().__init__(b"", status, headers)
        self.headers.append(("Location", quote(url, safe=_URL_SAFE)))


class StreamingResponse(Response):
    """A body produced piece by piece, sent chunked (or until close on HTTP/1.0).

    ``content`` may be a sync or async iterable of ``bytes`` or ``str``;
    sync iterables are advanced in the thread pool, so a blocking generator
    does not stall the event loop.
    """

    __slots__ = ("content", "trailers")

    def __init__(
        self,
        content: Iterable[bytes | str] | AsyncIterable[bytes | str],
        status: int = 200,
        headers: HeadersLike | None = None,
        content_type: str | None = TEXT,
    ) -> None:
        super().__init__(b"", status, headers, content_type)
        self.content = content
        self.trailers: list[tuple[str, str]] | None = None
        """Fields sent after a chunked body (RFC 9112 section 7.1.2); may be set while the body streams,
        and are dropped where the body is not chunked (HTTP/1.0, a Content-Length given)."""

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body piece by piece, as bytes (``str`` pieces encoded as UTF-8).

        One place for the server and the test client to read a stream the
        same way: an async iterable on the event loop, a sync one advanced
        in the loop's default executor (the server's bounded thread pool),
        and a sync iterator closed when iteration stops early.
        """
        content = self.content
        if isinstance(content, AsyncIterable):
            try:
                async for chunk in content:
                    yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk
            finally:
                aclose = getattr(content, "aclose", None)
                if aclose is not None:
                    await aclose()
            return
        iterator: Iterator[Any] = iter(content)
        done = object()
        try:
            while (item := await run_blocking(_next_or, iterator, done)) is not done:
                yield item.encode("utf-8") if isinstance(item, str) else item
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    async def discard(self) -> None:
        """Release a body that will not be sent (HEAD, 204, 304): a generator's ``finally`` runs now."""
        aclose = getattr(self.content, "aclose", None)
        if aclose is not None:
            await aclose()
            return
        close = getattr(self.content, "close", None)
        if close is not None:
            close()


def _next_or(iterator: Iterator[Any], default: object) -> Any:
    """``next(iterator, default)`` with one signature, for ``run_blocking``."""
    return next(iterator, default)


def error_response(status: int, detail: str | None = None, headers: list[tuple[str, str]] | None = None) -> Response:
    """The canned reply for an error: a short text body that never echoes the request."""
    text = detail if detail is not None else reason_phrase(status)
    return Response(text + "\n", status, headers, TEXT)
