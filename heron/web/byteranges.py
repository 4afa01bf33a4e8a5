"""Several byte ranges of a file in one response: ``multipart/byteranges`` (web layer).

RFC 9110 section 14.6: each range becomes a part with its own
Content-Type and Content-Range, between boundaries that cannot occur in
the file (random, and checked by nobody: a client reads the parts by the
lengths in their Content-Range). A small answer is built whole; a large
one streams, the file read in the thread pool as the parts go out.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence

from heron.errors import HTTPError
from heron.messages.fileresponse import FileResponse, read_file_region
from heron.messages.response import Response, StreamingResponse
from heron.web.conditional import content_range
from heron.web.staticcache import SMALL_FILE

__all__ = ["byteranges_response"]


def byteranges_response(path: str, ranges: Sequence[tuple[int, int]], size: int,
                        fields: list[tuple[str, str]], content_type: str, data: bytes | None = None,
                        expect: tuple[int, int, int, int] | None = None) -> Response:
    """206 with one part per range, each with its own Content-Type and Content-Range.

    The parts are cut from ``data`` (the whole file) when it is given, else read from ``path``
    (which must still be ``expect``'s file), now or as the body streams: call it in the thread pool.
    """
    boundary = secrets.token_hex(16)
    heads = [(f"--{boundary}\r\nContent-Type: {content_type}\r\n"
              f"Content-Range: {content_range(first, last, size)}\r\n\r\n").encode("latin-1")
             for first, last in ranges]
    closing = f"--{boundary}--\r\n".encode("ascii")
    length = sum(len(h) + (last - first + 1) + 2 for h, (first, last) in zip(heads, ranges)) + len(closing)
    multipart = f"multipart/byteranges; boundary={boundary}"
    pieces = _byteranges_body(path, ranges, heads, closing, data, expect)
    if length < SMALL_FILE:
        try:
            return Response(b"".join(pieces), 206, fields, multipart)
        except OSError:
            raise HTTPError(404) from None
    return StreamingResponse(pieces, 206, fields + [("Content-Length", str(length))], multipart)


def _byteranges_body(path: str, ranges: Sequence[tuple[int, int]], heads: list[bytes], closing: bytes,
                     data: bytes | None, expect: tuple[int, int, int, int] | None) -> Iterator[bytes]:
    for head, (first, last) in zip(heads, ranges):
        yield head
        if data is not None:
            yield data[first:last + 1]
        else:
            yield from read_file_region(path, first, last - first + 1, FileResponse.CHUNK_SIZE, expect)
        yield b"\r\n"
    yield closing
