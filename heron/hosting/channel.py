"""The channel a hosted app's response body flows through to the connection (hosting layer).

A WSGI app streams from a pool thread (``write()``, or an iterable that
yields slowly); an ASGI app streams from its own task (``send``). Either
way the producer must wait while the client is slow to read, and must be
stopped when the client is gone. ``BodyChannel`` is that meeting point:
the producer awaits ``send`` (from a thread, through
``asyncio.run_coroutine_threadsafe``), the connection iterates it as the
body of a ``StreamingResponse``, and ``aclose`` (called by the connection
when it stops sending, for whatever reason) makes the next ``send`` raise.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from heron.errors import ClientDisconnected

__all__ = ["HIGH_WATER", "BodyChannel", "ThreadBodyChannel"]

HIGH_WATER = 65536
"""Bytes the producer may get ahead of the connection before ``send`` waits."""


class BodyChannel:
    """Response body pieces from one producer to one consumer, on the event loop."""

    __slots__ = ("_chunks", "_buffered", "_done", "_closed", "_error", "_consumer", "_producer")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._done = False  # the producer sent its last piece
        self._closed = False  # the consumer stopped reading
        self._error: BaseException | None = None
        self._consumer: asyncio.Future[None] | None = None  # the connection waits for a piece
        self._producer: asyncio.Future[None] | None = None  # the app waits for room

    # -- producer side ----------------------------------------------------------

    async def send(self, data: bytes) -> None:
        """Queue ``data``; wait while the consumer is more than ``HIGH_WATER`` behind.

        Raises ``ClientDisconnected`` once the consumer has stopped: the app
        should stop producing, as a WSGI server's ``write()`` raising tells it.
        """
        if self._closed:
            raise ClientDisconnected("the client is gone")
        self._push(data)
        while self._buffered > HIGH_WATER and not self._closed:
            self._producer = asyncio.get_running_loop().create_future()
            await self._producer
        if self._closed:
            raise ClientDisconnected("the client is gone")

    def _push(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self._buffered += len(data)
            _wake(self._consumer)

    def finish(self, error: BaseException | None = None) -> None:
        """No more pieces; with ``error``, the body is broken and the consumer raises it."""
        self._done = True
        if not self._closed:  # nobody would raise it; kept, its traceback would hold the app's frames alive
            self._error = error
        _wake(self._consumer)

    @property
    def closed(self) -> bool:
        """The consumer stopped reading: nothing sent now reaches the client."""
        return self._closed

    # -- consumer side ------------------------------------------------------------

    def __aiter__(self) -> BodyChannel:
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._done:
                error, self._error = self._error, None  # raised once, and no cycle through its traceback
                if error is not None:
                    raise error
                raise StopAsyncIteration
            self._consumer = asyncio.get_running_loop().create_future()
            await self._consumer
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._buffered <= HIGH_WATER // 2:
            _wake(self._producer)
        return data

    async def aclose(self) -> None:
        """The consumer is done (body sent, client gone, or a HEAD response): release the producer."""
        self._closed = True
        self._chunks.clear()
        self._buffered = 0
        self._error = None
        _wake(self._producer)


class ThreadBodyChannel(BodyChannel):
    """A ``BodyChannel`` fed from a pool thread (a WSGI app's iterable or ``write()``).

    A round trip to the loop per piece (``run_coroutine_threadsafe(send())``)
    would cost more than most pieces are worth: a generator yielding small
    pieces would be limited to a few thousand a second. Instead the thread
    queues pieces and returns at once; the loop takes everything queued in
    one callback, scheduled only when none is pending. The thread waits only
    while it is more than ``HIGH_WATER`` bytes ahead of the connection.
    """

    __slots__ = ("_loop", "_room", "_incoming", "_ahead", "_flush_pending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._room = threading.Condition()  # guards the three below; notified when the connection takes a piece
        self._incoming: list[bytes] = []
        self._ahead = 0  # bytes queued by the thread that the connection has not taken yet
        self._flush_pending = False

    # -- in the producing thread ---------------------------------------------------------

    def send_from_thread(self, data: bytes) -> None:
        """Queue ``data``; block while too far ahead; ``ClientDisconnected`` once the client is gone."""
        if not data:
            return
        with self._room:
            while self._ahead > HIGH_WATER and not self._closed:
                self._room.wait()
            if self._closed:
                raise ClientDisconnected("the client is gone")
            self._incoming.append(data)
            self._ahead += len(data)
            if self._flush_pending:
                return
            self._flush_pending = True
        self._loop.call_soon_threadsafe(self._flush)

    def finish_from_thread(self, error: BaseException | None = None) -> None:
        """The last piece was sent; callbacks run in order, so this lands after every pending flush."""
        self._loop.call_soon_threadsafe(self.finish, error)

    # -- on the event loop ----------------------------------------------------------------

    def _flush(self) -> None:
        with self._room:
            pieces, self._incoming = self._incoming, []
            self._flush_pending = False
        for data in pieces:
            self._push(data)

    async def __anext__(self) -> bytes:
        data = await super().__anext__()
        with self._room:
            self._ahead -= len(data)
            self._room.notify()
        return data

    async def aclose(self) -> None:
        await super().aclose()
        with self._room:
            self._room.notify_all()


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
