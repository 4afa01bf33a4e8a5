"""Response compression as middleware (web layer).

``app.add_middleware(compression())`` compresses what handlers answer
when the client accepts it: gzip always (``zlib``, standard library),
brotli and zstd when their modules are installed (the ``brotli`` and
``zstd`` extras; Python 3.14's ``compression.zstd`` counts). The coding
is chosen from ``Accept-Encoding``'s q-values (``heron.web.negotiation``:
parsed, never substring-matched; ``*`` and ``identity;q=0`` honoured),
ties broken by the server's order of preference.

What is left alone, and why (the bugs other servers' middleware had):

- 1xx, 204, 206 and 304 responses, and any with a ``Content-Range``:
  no body to compress, or a byte range of the uncompressed one;
- responses that already have a ``Content-Encoding``, or say
  ``Cache-Control: no-transform`` (RFC 9111 section 5.2.2.6);
- types that do not shrink (images, video, archives): only the types in
  ``COMPRESSIBLE`` (and ``text/*``, ``+json``, ``+xml``) are compressed,
  and in-memory bodies only from ``minimum_size`` bytes;
- files (``FileResponse``): they go out with ``sendfile``; static files
  have precompressed siblings instead (docs/static.md).

Whenever the answer depended on ``Accept-Encoding`` the response says
``Vary: Accept-Encoding``, and so do the 206s of a compressible type
and every 304, which stand for such a 200 and must repeat its ``Vary``
(RFC 9110 sections 15.3.7 and 15.4.5; a 304 does not say its type, and
a ``Vary`` too many costs a cache less than one too few). A HEAD gets the
fields its GET would (section 9.3.2): a body in memory is compressed for
its length, a stream only announced; a compressed variant's strong ``ETag`` becomes
weak (RFC 9110 section 8.8.1: the bytes differ, the meaning does not);
``Content-Length`` is the server's to compute from the new body. A
stream is compressed as it goes, flushed after every piece, so a client
(an ``EventSource`` too) gets each piece as soon as it is made. Bodies
from ``THREAD_BYTES`` on are compressed in the thread pool, so one large
response does not stall the event loop for every other connection.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Final, Protocol

from heron.blocking import run_blocking
from heron.messages.contracts import Handler
from heron.messages.fileresponse import FileResponse
from heron.messages.request import Request
from heron.messages.response import Response, StreamingResponse
from heron.protocol.headers import parse_media_type
from heron.web.caching import directive_name
from heron.web.middleware import Middleware
from heron.web.negotiation import accepted_encodings, coding_quality

__all__ = ["COMPRESSIBLE", "THREAD_BYTES", "available_codings", "compression"]

COMPRESSIBLE: Final = frozenset({
    "application/json", "application/javascript", "application/xml", "application/xhtml+xml",
    "application/manifest+json", "application/wasm", "application/x-ndjson", "application/graphql-response+json",
    "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "font/ttf", "font/otf",
})
"""Compressible media types besides ``text/*`` and the ``+json``/``+xml`` suffixes."""
THREAD_BYTES: Final = 64 * 1024
"""In-memory bodies this large or larger are compressed in the thread pool (bench/LOG.md: the cost per size)."""
_PREFERENCE: Final = ("zstd", "br", "gzip")
_SKIPPED_STATUS: Final = frozenset({204, 206, 304})


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...
    def finish(self) -> bytes: ...


class _Zlib:
    """gzip through zlib (the ``gzip`` module's own writer is slower and needs a file)."""

    def __init__(self, level: int) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: a gzip header and trailer

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self) -> bytes:
        return self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class _Brotli:
    def __init__(self, module: Any, quality: int) -> None:
        self._b = module.Compressor(quality=quality)

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._b.process(data)
        return out

    def flush(self) -> bytes:
        out: bytes = self._b.flush()
        return out

    def finish(self) -> bytes:
        out: bytes = self._b.finish()
        return out


class _Zstd:
    def __init__(self, module: Any, level: int) -> None:
        if hasattr(module, "ZstdCompressor") and hasattr(module.ZstdCompressor, "compressobj"):  # zstandard
            self._z = module.ZstdCompressor(level=level).compressobj()
            self._flush_block, self._end = module.COMPRESSOBJ_FLUSH_BLOCK, module.COMPRESSOBJ_FLUSH_FINISH
        else:  # compression.zstd (Python 3.14)
            self._z = module.ZstdCompressor(level=level)
            self._flush_block, self._end = module.ZstdCompressor.FLUSH_BLOCK, module.ZstdCompressor.FLUSH_FRAME

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._z.compress(data)
        return out

    def flush(self) -> bytes:
        out: bytes = self._z.flush(self._flush_block)
        return out

    def finish(self) -> bytes:
        out: bytes = self._z.flush(self._end)
        return out


def available_codings() -> dict[str, Callable[[], Compressor]]:
    """Coding name -> a maker of compressors, for the codings this Python can produce."""
    codings: dict[str, Callable[[], Compressor]] = {"gzip": lambda: _Zlib(6)}
    try:
        import brotli  # type: ignore[import-untyped]  # no stubs; an optional extra
    except ImportError:
        pass
    else:
        codings["br"] = lambda: _Brotli(brotli, 4)
    zstd = _zstd_module()
    if zstd is not None:
        codings["zstd"] = lambda: _Zstd(zstd, 3)
    return codings


def _zstd_module() -> Any:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
        return zstd
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


def compression(*, minimum_size: int = 500, codings: Iterable[str] | None = None) -> Middleware:
    """Middleware compressing responses the client accepts compressed (see the module's docstring).

    ``codings`` narrows and orders the codings offered (default: zstd, br,
    gzip, those available); ``minimum_size`` is the smallest in-memory body
    compressed (a few hundred bytes gain nothing once headers are counted).
    """
    makers = available_codings()
    order = [name for name in (codings or _PREFERENCE) if name in makers]
    if not order:
        raise ValueError(f"none of {list(codings or _PREFERENCE)} can be produced here (have {list(makers)})")

    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            response = await next_handler(request)
            if not _candidate(response, minimum_size):
                if response.status == 304 or (response.status == 206 and _compressible(response)):
                    response.vary("Accept-Encoding")
                return response
            response.vary("Accept-Encoding")
            accepted = accepted_encodings(request.headers.get_all("accept-encoding"))
            chosen = max(order, key=lambda name: (coding_quality(accepted, name), -order.index(name)))
            if coding_quality(accepted, chosen) <= 0:
                return response
            await _encode(response, chosen, makers[chosen], head=request.method == "HEAD")
            return response

        return handler

    return middleware


def _candidate(response: Response, minimum_size: int) -> bool:
    """Whether ``response`` may be compressed at all (before asking what the client accepts)."""
    if response.status < 200 or response.status in _SKIPPED_STATUS:
        return False
    if isinstance(response, FileResponse):
        return False
    if not isinstance(response, StreamingResponse) and len(response.body) < minimum_size:
        return False
    if not _compressible(response):
        return False
    if response.header("content-encoding") is not None or response.header("content-range") is not None:
        return False
    return "no-transform" not in (directive_name(item) for item in response.list_header("cache-control"))


def _compressible(response: Response) -> bool:
    """Whether the response's media type shrinks when compressed."""
    content_type = response.header("content-type")
    if content_type is None:
        return False
    media_type = parse_media_type(content_type)[0]
    return media_type.startswith("text/") or media_type in COMPRESSIBLE or media_type.endswith(("+json", "+xml"))


async def _encode(response: Response, coding: str, make: Callable[[], Compressor], *, head: bool) -> None:
    response.headers.append(("Content-Encoding", coding))
    response.headers = [(name, _weak(value) if name.lower() == "etag" else value)
                        for name, value in response.headers if name.lower() != "content-length"]
    if isinstance(response, StreamingResponse):
        if head:
            return  # no body will be sent: the server closes the stream unread
        source = StreamingResponse(response.content)  # reads the app's pieces as bytes, whatever they are
        response.content = _stream(source.chunks(), make())
    elif len(response.body) >= THREAD_BYTES:
        response.body = await run_blocking(_whole, make(), response.body)
    else:
        response.body = _whole(make(), response.body)


def _whole(compressor: Compressor, body: bytes) -> bytes:
    return compressor.compress(body) + compressor.finish()


async def _stream(chunks: AsyncIterator[bytes], compressor: Compressor) -> AsyncIterator[bytes]:
    """Each piece compressed and flushed at once, so that it leaves now rather than when a buffer fills."""
    async for chunk in chunks:
        out = compressor.compress(chunk) + compressor.flush()
        if out:
            yield out
    yield compressor.finish()


def _weak(etag: str) -> str:
    return etag if etag.startswith("W/") else "W/" + etag
