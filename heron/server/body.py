"""The channel that carries one request body from the socket to a handler (server layer).

The connection pushes body pieces in as the parser produces them; the
handler pulls them out with ``read_chunk``, which hands over everything
waiting at once. The channel is where flow control lives: reading from
the socket is paused while more than ``HIGH_WATER`` bytes wait unread,
each piece counted with what holding it costs beyond its data, and the
connection is told when the handler first wants the body (to send
``100 Continue``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from heron.errors import ClientDisconnected, HTTPError
from heron.limits import Limits
from heron.server.phases import PhaseTimer

__all__ = ["HIGH_WATER", "BodyOwner", "BodyTimeout", "ClientDisconnected", "RequestBody"]

HIGH_WATER = 131072
"""Unread body bytes buffered before the socket stops being read: two full reads (64 KiB each, see
``ServerState.read_buffer``), so that a handler keeping up with the body (an upload read as it arrives)
never has the socket paused and resumed, two system calls, for every read."""
PIECE_COST = 64
"""What one buffered piece costs beyond its data (the bytes object's header, its slot in the deque),
counted against ``HIGH_WATER``: a client sending its body a byte per packet fills the buffer with
pieces, not with bytes, and must meet back-pressure just as soon."""


class BodyOwner(Protocol):
    """What the channel needs from its connection."""

    def body_wanted(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...


class RequestBody:
    """Body bytes of one request, in order, with backpressure."""

    __slots__ = ("_owner", "_loop", "_chunks", "_buffered", "complete", "received", "_waiter", "_error", "wanted",
                 "discarding", "_lost", "_lost_waiter", "_waited", "_wait_started")

    def __init__(self, owner: BodyOwner, loop: asyncio.AbstractEventLoop) -> None:
        self._owner = owner
        self._loop = loop
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self.complete = False
        self.received = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self.wanted = False
        self.discarding = False
        self._lost = False
        self._lost_waiter: asyncio.Future[None] | None = None
        self._waited = 0.0  # seconds the connection waited for bytes of this body, before the current wait
        self._wait_started = 0.0  # loop time the current wait began

    # -- connection side --------------------------------------------------

    def push(self, data: bytes) -> None:
        self.received += len(data)
        if self.discarding:
            return
        self._chunks.append(data)
        self._buffered += len(data) + PIECE_COST
        if self._buffered > HIGH_WATER:
            self._owner.pause_reading()
        self._wake()

    def finish(self) -> None:
        self.complete = True
        self._wake()

    def wait_begins(self, now: float, limits: Limits) -> float:
        """The connection waits for bytes from ``now`` (a handler wants them, or it drains the body):
        the seconds it may wait.

        The sooner of ``body_timeout`` and the moment the body would fall
        under ``min_body_rate``: bytes received over seconds spent waiting
        for them (the time a handler spends on anything else is not the
        client's), once ``body_rate_grace`` of waiting has passed. Kestrel
        measures the same way.
        """
        self._wait_started = now
        allowed = max(limits.body_rate_grace, self.received / limits.min_body_rate)
        return min(limits.body_timeout, allowed - self._waited)

    def wait_ends(self, now: float) -> None:
        """Bytes came at ``now``: the wait's time is counted against ``min_body_rate``."""
        self._waited += now - self._wait_started

    def why_timed_out(self, now: float, limits: Limits) -> str:
        """The wait that began at ``wait_begins`` was timed out at ``now``: which limit ended it."""
        if now - self._wait_started < limits.body_timeout - PhaseTimer.SLACK:
            return "request body arrived slower than min_body_rate"
        return "request body stalled longer than body_timeout"

    def fail(self, error: BaseException) -> None:
        """The body will never complete (client gone, timeout, bad framing)."""
        if not self.complete:
            self._error = error
            self._wake()

    def client_gone(self, reason: str) -> None:
        """The client closed the connection or its sending side: an unfinished body fails
        with ``reason``, and ``wait_disconnected`` returns."""
        self.fail(ClientDisconnected(reason))
        self._lost = True
        waiter = self._lost_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def discard(self) -> None:
        """The handler is done: drop what is buffered and what still arrives."""
        self.discarding = True
        self._chunks.clear()
        self._buffered = 0

    @property
    def waiting(self) -> bool:
        """A handler is blocked waiting for the next piece."""
        return self._waiter is not None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- handler side -----------------------------------------------------

    def take_if_complete(self) -> bytes | None:
        """The whole body if it has all arrived, without waiting; None if some is still to come.

        A small body usually arrives with its head, before the handler runs:
        a blocking reader in another thread (``wsgi.input``) can then have it
        without a round trip through the event loop per read.
        """
        if not self.complete or self._error is not None:
            return None
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0  # no resume_reading(): reading may be paused for the response's sake, not the body's
        return data

    @property
    def gone(self) -> bool:
        """The client has closed the connection, or its sending side."""
        return self._lost

    async def wait_disconnected(self) -> None:
        """Return once the client has closed the connection, or its sending side.

        A client that half-closes after its request may still read the
        answer (and heron still sends it), but a client going away looks
        the same until a write fails: long polls and streams are better
        off taking it as gone, as Go's server cancels a request's context.
        """
        if not self._lost:
            if self._lost_waiter is None:
                self._lost_waiter = self._loop.create_future()
            await asyncio.shield(self._lost_waiter)

    async def read_chunk(self) -> bytes:
        """Everything that has arrived and not been read, as one piece (waiting for some if none has);
        b"" once the body is complete. Taking it all at once makes the cost of a read (a
        handler's turn, a WSGI thread's round trip to the loop) per batch, not per piece."""
        while True:
            chunks = self._chunks
            if chunks:
                chunk = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._buffered = 0
                self._owner.resume_reading()
                return chunk
            if self._error is not None:
                raise self._error
            if self.complete:
                return b""
            self.wanted = True
            self._owner.body_wanted()
            self._waiter = self._loop.create_future()
            await self._waiter


class BodyTimeout(HTTPError):
    """The client stopped sending a body the handler is waiting for."""

    def __init__(self) -> None:
        super().__init__(408, "Request body timed out")
