"""Responses handlers return (web layer).

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
import os
import re
import stat
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Final, Protocol
from urllib.parse import quote

from heron.blocking import run_blocking
from heron.errors import reason_phrase
from heron.protocol.writer import HeaderError, validate_headers
from heron.messages.cookies import delete_cookie_header, set_cookie_header
from heron.messages.mediatypes import media_type
from heron.messages.files import NotTheFile, OpenFile, open_regular

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

    __slots__ = ("status", "headers", "body")

    def __init__(
        self,
        body: bytes | str = b"",
        status: int = 200,
        headers: HeadersLike | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.headers: list[tuple[str, str]] = header_list(headers)
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
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header (one per cookie, RFC 6265 section 3).

        The value is sent as given, never quoted or encoded: it must be
        RFC 6265 cookie-octets, else ``ValueError`` (see
        ``heron.messages.cookies`` for every rule enforced, such as
        ``samesite="none"`` requiring ``secure=True``).
        """
        self.headers.append(("Set-Cookie", set_cookie_header(
            name, value, max_age=max_age, expires=expires, path=path, domain=domain, secure=secure,
            httponly=httponly, samesite=samesite, partitioned=partitioned)))

    def delete_cookie(
        self,
        name: str,
        path: str | None = "/",
        domain: str | None = None,
        *,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
    ) -> None:
        """Tell the browser to drop cookie ``name``: an empty value that expired in 1970.

        ``path`` and ``domain`` must be those the cookie was set with, or
        the browser keeps it.
        """
        self.headers.append(("Set-Cookie", delete_cookie_header(
            name, path=path, domain=domain, secure=secure, httponly=httponly, samesite=samesite)))

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, case-insensitively."""
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None

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


# Made once: json.dumps with any option builds a new JSONEncoder per call (0.7 of its 2.1 us for
# a small object). encode() keeps no state between calls, so every thread may share it.
_JSON_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# The C encoder behind it, made once without the circular-reference check: encode() builds a
# new one per call, with a fresh dict of the containers it is inside (0.8 of its 1.3 us).
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


class SendableFile(Protocol):
    """What the server sends a file from: a descriptor (``sendfile`` and ``pread`` say the offset)."""

    def fileno(self) -> int: ...


class FileResponse(StreamingResponse):
    """``length`` bytes of the file at ``path`` from ``offset`` (default: the rest of it).

    Framed by Content-Length. The server sends it with ``sendfile``
    (zero-copy, straight from the page cache) on plain TCP, and reads it
    in pieces in the thread pool where it cannot (TLS, the test client).
    The file is opened when the body is about to be sent, not here, and
    must then still be a regular file holding the region (and, with
    ``expect``, the very file a lookup found): otherwise the server
    answers 404 before sending a byte. With ``length`` None the size
    comes from one ``os.stat`` here, which blocks briefly: call it from a
    ``def`` handler (thread pool) for files on slow disks. ``content_type``
    defaults to the one ``heron.messages.mediatypes`` gives the file name.
    ``file`` is a descriptor of ``path`` kept open between responses
    (``heron.web.openfiles``), sent from instead of opening the path.
    """

    __slots__ = ("path", "offset", "length", "file", "expect")

    CHUNK_SIZE: Final = 256 * 1024
    """Bytes read at a time when the file is streamed instead of sendfile'd."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        status: int = 200,
        headers: HeadersLike | None = None,
        content_type: str | None = None,
        *,
        offset: int = 0,
        length: int | None = None,
        file: OpenFile | None = None,
        expect: tuple[int, int, int, int] | None = None,
    ) -> None:
        path = os.fspath(path)
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("offset and length must not be negative")
        if length is None:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                raise NotTheFile(f"{path}: not a regular file")
            length = max(0, info.st_size - offset)
        super().__init__((), status, headers, content_type if content_type is not None else media_type(path))
        self.path = path
        self.offset = offset
        self.length = length
        self.file = file
        self.expect = expect
        """``openfiles.identity`` of the file as it was looked up (None: any regular file will do)."""
        self.headers.append(("Content-Length", str(length)))

    def open(self) -> AbstractContextManager[SendableFile]:
        """The file to send from (``offset`` and ``length`` say which part), for a ``with`` block.

        The shared descriptor if there is one and it is still open, else
        the path opened with ``openfiles.open_regular``, which never waits
        and raises OSError unless the path is still a regular file long
        enough for the region (and ``expect``'s file, when given).
        """
        shared = self.file.use() if self.file is not None else None
        if shared is not None:
            return shared
        return _OwnedFile(open_regular(self.path, self.expect, self.offset + self.length))

    async def chunks(self) -> AsyncIterator[bytes]:
        with self.open() as file:
            async for data in self.pieces(file):
                yield data

    async def pieces(self, file: SendableFile) -> AsyncIterator[bytes]:
        """The region read from ``file`` in the thread pool, ``CHUNK_SIZE`` at a time (where sendfile cannot go)."""
        fd, offset, left = file.fileno(), self.offset, self.length
        while left > 0:
            data = await run_blocking(os.pread, fd, min(self.CHUNK_SIZE, left), offset)
            if not data:
                raise OSError(f"{self.path}: file shorter than the {self.length} bytes promised")
            offset += len(data)
            left -= len(data)
            yield data


class _OwnedFile:
    """A descriptor one response opened for itself: closed when its ``with`` block ends."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def __enter__(self) -> _OwnedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)


def read_file_region(path: str, offset: int, length: int, chunk_size: int,
                     expect: tuple[int, int, int, int] | None = None) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``path`` from ``offset`` (blocking: for the thread pool).

    Opened as ``FileResponse.open`` opens, so a FIFO put in the file's
    place cannot stop the thread; OSError if the path is no longer a
    regular file long enough (or ``expect``'s file), or shrinks while read.
    """
    if length <= 0:
        return
    fd = open_regular(path, expect, offset + length)
    try:
        left = length
        while left > 0:
            data = os.pread(fd, min(chunk_size, left), offset)
            if not data:
                raise OSError(f"{path}: file shorter than the {length} bytes promised")
            offset += len(data)
            left -= len(data)
            yield data
    finally:
        os.close(fd)
