"""Responses handlers return (web layer).

A response is plain data: status, header pairs and a body. The server
decides framing (Content-Length or chunked) from the body's type, and the
protocol writer validates every header before it is sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable
from typing import Any

from heron.errors import HTTPError

TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
JSON = "application/json"


class Response:
    """A response whose body is already in memory."""

    __slots__ = ("status", "headers", "body")

    def __init__(
        self,
        body: bytes | str = b"",
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.headers: list[tuple[str, str]] = list(headers) if headers else []
        if isinstance(body, str):
            body = body.encode("utf-8")
            if content_type is None:
                content_type = TEXT
        self.body: bytes = body
        if content_type is not None:
            self.headers.append(("Content-Type", content_type))

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, case-insensitively."""
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status}>"


class JSONResponse(Response):
    """``data`` serialised as compact UTF-8 JSON."""

    __slots__ = ()

    def __init__(self, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> None:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        super().__init__(body, status, headers, JSON)


class StreamingResponse(Response):
    """A body produced piece by piece, sent chunked (or until close on HTTP/1.0).

    ``content`` may be a sync or async iterable of ``bytes`` or ``str``;
    sync iterables are advanced in the thread pool, so a blocking generator
    does not stall the event loop.
    """

    __slots__ = ("content",)

    def __init__(
        self,
        content: Iterable[bytes | str] | AsyncIterable[bytes | str],
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
        content_type: str | None = TEXT,
    ) -> None:
        super().__init__(b"", status, headers, content_type)
        self.content = content


def error_response(status: int, detail: str | None = None, headers: list[tuple[str, str]] | None = None) -> Response:
    """The canned reply for an error: a short text body that never echoes the request."""
    text = HTTPError(status, detail).detail
    return Response(text + "\n", status, headers, TEXT)
