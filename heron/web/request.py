"""The request object handlers receive (web layer).

A ``Request`` wraps the parsed head and a body stream supplied by whichever
server drives it; it holds no global or thread-local state, so a handler
can pass it on explicitly and tests can build one without a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from heron.protocol.events import RequestHead
from heron.protocol.headers import Headers


class BodyStream(Protocol):
    """Where a request's body comes from: the connection, or a test client."""

    async def read_chunk(self) -> bytes:
        """The next piece of the body; b"" once it is complete."""
        ...


class Request:
    """One HTTP request as a handler sees it.

    ``path`` is percent-decoded (``raw_path`` keeps the bytes as sent);
    ``path_params`` holds what the router matched. The body is read at most
    once: ``await request.body()`` (or ``request.read()`` from a thread-pool
    handler) returns it whole, ``request.stream()`` yields it piece by piece.
    Reading the body is what makes the server send ``100 Continue``.
    """

    __slots__ = (
        "head", "headers", "client", "scheme", "path_params", "_body_stream", "_body", "_loop", "_path",
    )

    def __init__(
        self,
        head: RequestHead,
        body_stream: BodyStream,
        *,
        client: tuple[str, int] | None = None,
        scheme: str = "http",
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.head = head
        self.headers = Headers(head.headers)
        self.client = client
        self.scheme = scheme
        self.path_params: dict[str, Any] = {}
        self._body_stream = body_stream
        self._body: bytes | None = None
        self._loop = loop
        self._path: str | None = None

    @property
    def method(self) -> str:
        return self.head.method

    @property
    def raw_path(self) -> str:
        """The path as sent, still percent-encoded."""
        return self.head.path

    @property
    def path(self) -> str:
        """The percent-decoded path (UTF-8, invalid sequences replaced)."""
        if self._path is None:
            raw = self.head.path
            self._path = unquote(raw, errors="replace") if "%" in raw else raw
        return self._path

    @property
    def query_string(self) -> str:
        return self.head.query

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string as a multi-valued mapping."""
        return parse_qs(self.head.query, keep_blank_values=True)

    @property
    def host(self) -> str:
        return self.head.authority

    @property
    def http_version(self) -> str:
        return self.head.http_version

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives, without holding it all in memory."""
        if self._body is not None:
            if self._body:
                yield self._body
            return
        while chunk := await self._body_stream.read_chunk():
            yield chunk
        self._body = b""

    async def body(self) -> bytes:
        """The whole body (bounded by the server's ``max_body_bytes``)."""
        if self._body is None:
            first = await self._body_stream.read_chunk()
            if first:
                chunks = [first]
                while chunk := await self._body_stream.read_chunk():
                    chunks.append(chunk)
                self._body = b"".join(chunks) if len(chunks) > 1 else first
            else:
                self._body = b""
        return self._body

    def read(self) -> bytes:
        """The whole body, for plain ``def`` handlers running in the thread pool.

        Blocks the calling thread while the event loop reads the socket;
        calling it on the event loop itself would deadlock, so that raises.
        """
        if self._body is not None:
            return self._body
        loop = self._loop
        if loop is None:
            raise RuntimeError("this request has no event loop to read its body from")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("Request.read() blocks: use 'await request.body()' in async handlers")
        return asyncio.run_coroutine_threadsafe(self.body(), loop).result()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.head.target}>"
