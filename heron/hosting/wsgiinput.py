"""``wsgi.input``: a request body read by a WSGI app's thread from the event loop (hosting layer).

PEP 3333's input stream is a blocking file; heron's body arrives on the
event loop. Each read that needs more bytes asks the loop for the next
piece (``run_coroutine_threadsafe``) and blocks the pool thread, never
the loop, until it comes; a small body already here when the app starts
costs no round trip at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from heron.errors import ClientDisconnected, HTTPError
from heron.messages.request import Request

__all__ = ["InputStream"]


class InputStream:
    """``wsgi.input``: the request body, read from the event loop a piece at a time.

    Reads block the pool thread (never the loop) until the connection has
    the bytes. A failure (body too large, too slow, broken framing, client
    gone) is raised to the app and remembered: ``raise_failure`` raises it
    again once the app is done, so the server answers it even if the app
    caught it.

    What has arrived and not been read waits in one buffer from a read
    position, and ``readline`` remembers how far it has looked for a line
    end: every read pattern (all at once, ``read(n)`` of any size, line by
    line, a line of megabytes) costs time in proportion to the body, never
    a copy of the whole buffer per piece that arrives.
    """

    def __init__(self, request: Request, loop: asyncio.AbstractEventLoop) -> None:
        self._stream: AsyncIterator[bytes] | None = None
        self._request = request
        self._loop = loop
        received = request.received_body()  # a small body is usually here already: no round trips then
        self._buffer = bytearray(received or b"")
        self._pos = 0  # where unread bytes start in _buffer
        self._scanned = 0  # readline: no b"\n" in _buffer[_pos:_scanned]
        self._left = request.head.content_length  # None for a chunked body
        self._eof = self._left == 0 or received is not None
        self.failure: BaseException | None = None

    def _fill(self) -> bool:
        """One more piece into the buffer; False at the end of the body."""
        if self._eof:
            return False
        if self.failure is not None:
            raise self.failure
        if self._stream is None:
            self._stream = self._request.stream()
        future = asyncio.run_coroutine_threadsafe(_next_piece(self._stream), self._loop)
        try:
            data = future.result()
        except (HTTPError, ClientDisconnected) as exc:  # ProtocolError (413, bad chunk), BodyTimeout
            self.failure = exc
            raise
        if not data:
            self._eof = True
            return False
        if self._pos and self._pos * 2 >= len(self._buffer):  # mostly read: drop that part before growing
            del self._buffer[:self._pos]
            self._scanned -= self._pos
            self._pos = 0
        self._buffer += data
        if self._left is not None:
            self._left -= len(data)
            self._eof = self._left <= 0  # all of it: no round trip to learn the body ended
        return True

    def _available(self) -> int:
        return len(self._buffer) - self._pos

    def _take(self, size: int) -> bytes:
        """Up to ``size`` unread bytes, consumed."""
        start = self._pos
        end = min(start + size, len(self._buffer))
        data = bytes(self._buffer[start:end])
        self._pos = end
        if end == len(self._buffer):
            self._buffer.clear()
            self._pos = self._scanned = 0
        return data

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(self._available())
        while self._available() < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        limit = size if size is not None and size >= 0 else None
        while True:
            end = self._buffer.find(b"\n", max(self._scanned, self._pos))
            if end >= 0:
                length = end + 1 - self._pos
                return self._take(length if limit is None else min(length, limit))
            self._scanned = len(self._buffer)
            if limit is not None and self._available() >= limit:
                return self._take(limit)
            if not self._fill():
                return self._take(self._available())

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


async def _next_piece(stream: AsyncIterator[bytes]) -> bytes:
    return await anext(stream, b"")
