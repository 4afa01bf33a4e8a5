"""The write side's back-pressure of one connection (server layer).

asyncio calls ``pause_writing`` when the transport holds more than its
high-water mark of unsent bytes and ``resume_writing`` once it has drained
below the low one. Whatever produces a response (a stream, a WebSocket's
``send``, a file read in the pool) waits in ``writable`` meanwhile, so
memory stays bounded however slowly the client reads; and a client that
stops reading altogether is dropped after ``write_timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from heron.errors import ClientDisconnected

__all__ = ["WriteFlow"]


class WriteFlow:
    """Paused or not, the one waiter, and the timer that gives up on a client that does not read."""

    __slots__ = ("_loop", "_timeout", "paused", "_timer", "_waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self._timeout = timeout
        self.paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[None] | None = None

    def pause(self, on_timeout: Callable[[], None]) -> None:
        """The transport is full: call ``on_timeout`` unless it has room again within the timeout.
        (Given here, not held: a held callback of the connection's would make a reference cycle.)"""
        self.paused = True
        self._timer = self._loop.call_later(self._timeout, on_timeout)

    def resume(self) -> None:
        self.paused = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return once writes are taken again (at once if they are)."""
        if self.paused:
            waiter = self._waiter = self._loop.create_future()
            await waiter

    def lost(self) -> None:
        """The connection is gone: a waiting writer learns it (``ClientDisconnected``)."""
        if self._timer is not None:
            self._timer.cancel()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ClientDisconnected("client closed the connection"))
