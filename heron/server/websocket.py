"""A connection after ``101 Switching Protocols``: WebSocket frames both ways (server layer).

``WebSocketUpgrade`` is made for a request that asks for a WebSocket
(``Upgrade: websocket``); it is the request's ``Upgrader``. If the app
accepts, it checks the handshake (``heron.protocol.wshandshake``),
agrees on permessage-deflate, writes the 101 and hands the connection to
a ``WebSocketSession``, which the app talks through (``WebSocketChannel``).
An app that neither accepts nor answers within
``websocket_handshake_timeout`` loses the connection.

The session turns the client's bytes into messages with a
``FrameReader`` and the app's messages into frames. It answers pings,
pings a quiet client every ``websocket_ping_interval`` (and drops it if
nothing comes back within ``websocket_ping_timeout``), runs the closing
handshake (``websocket_close_timeout``), and keeps memory bounded both
ways: reading stops while ``max_websocket_queue`` messages wait for the
app, and the app's ``send`` waits while the client is slow to read
(``write_timeout`` then ends it).

A frame that breaks the protocol closes the connection with the code that
says why (1002, 1007, 1009), logged once. Nothing after it is read; the
messages that arrived whole before it are still the app's to take (and
answer), and the close goes out once it has taken them, or after
``websocket_close_timeout`` if it does not.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from heron.errors import ClientDisconnected
from heron.protocol.events import NEED_DATA, RequestHead
from heron.protocol.websocket import (
    Close,
    FrameReader,
    Message,
    Ping,
    WebSocketError,
    encode_close,
    encode_frame,
    message_frame,
    OP_PING,
    OP_PONG,
)
from heron.protocol.writer import ResponseWriter, validate_headers
from heron.protocol.wsdeflate import Deflate, negotiate
from heron.protocol.wshandshake import accept_headers, read_upgrade
from heron.server.direct import GATHER_MIN, write_behind
from heron.server.phases import PhaseTimer

if TYPE_CHECKING:
    from heron.server.connection import HTTPConnection

__all__ = ["WebSocketSession", "WebSocketUpgrade"]

logger = logging.getLogger("heron.error")


class WebSocketUpgrade:
    """The ``Upgrader`` of one request that asks for a WebSocket."""

    __slots__ = ("_conn", "_head", "_deadline")

    def __init__(self, conn: HTTPConnection, head: RequestHead) -> None:
        self._conn = conn
        self._head = head
        self._deadline: asyncio.TimerHandle | None = conn.loop.call_later(
            conn.limits.websocket_handshake_timeout, self._too_slow)

    def _too_slow(self) -> None:
        logger.info("%s: WebSocket handshake not answered within websocket_handshake_timeout", self._conn.client[0])
        self._conn.abort()

    def answered(self) -> None:
        """The app accepted, or answered with an HTTP response: no more deadline."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    async def accept_websocket(self, subprotocol: str | None = None,
                               headers: list[tuple[str, str]] | None = None) -> WebSocketSession:
        conn = self._conn
        if not conn.answering(self._head):
            raise RuntimeError("the WebSocket handshake was already answered")
        upgrade = read_upgrade(self._head)
        agreed = negotiate(list(upgrade.extensions))
        fields = accept_headers(upgrade, subprotocol, agreed[1] if agreed else None)
        if headers:
            validate_headers(headers)
            fields += headers
        head = ResponseWriter("GET", "1.1", False).head(101, fields, date=conn.state.dates.now())
        self.answered()
        session = WebSocketSession(conn, subprotocol, Deflate(agreed[0]) if agreed else None)
        conn.write(head)
        conn.switch_to_websocket(session)
        return session


class WebSocketSession:
    """One accepted WebSocket: the ``WebSocketChannel`` the app talks through."""

    __slots__ = ("_conn", "_limits", "_timer", "_reader", "_deflate", "_inbox", "_waiter", "_closed_event",
                 "_close_sent", "_pinged", "_failure", "_unsent", "_unsent_bytes", "subprotocol", "close_code",
                 "close_reason")

    def __init__(self, conn: HTTPConnection, subprotocol: str | None, deflate: Deflate | None) -> None:
        self._conn = conn
        self._limits = conn.limits
        self._timer: PhaseTimer = conn.timer
        self._reader = FrameReader(conn.limits.max_websocket_message, deflate)
        self._deflate = deflate
        self._inbox: deque[str | bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None  # the app waits in receive()
        self._closed_event = asyncio.Event()
        self._close_sent = False
        self._pinged = False  # a keepalive ping is out, its answer due
        self._failure: WebSocketError | None = None  # a broken frame, behind messages the app has yet to take
        self._unsent: list[bytes] = []  # small frames the app sent in this turn of the loop (_flush)
        self._unsent_bytes = 0
        self.subprotocol = subprotocol
        self.close_code: int | None = None
        self.close_reason = ""

    # -- the connection's side ----------------------------------------------------------

    def data_received(self, data: bytes | memoryview) -> None:
        """Client bytes (a view of the connection's read buffer: not kept): frames into events; any
        byte also shows the client is alive."""
        if (self.close_code is not None and self._close_sent) or self._failure is not None:
            return
        self._reader.feed(data)
        if not self._close_sent:
            self._pinged = False
            self._timer.arm(self._limits.websocket_ping_interval)
        try:
            while (event := self._reader.next_event()) is not NEED_DATA:
                self._on_event(event)
                if self.close_code is not None:
                    return
        except WebSocketError as exc:
            if not self._inbox:
                self._fail(exc)
                return
            self._failure = exc
            self._conn.pause_reading()
            self._timer.arm(self._limits.websocket_close_timeout)

    def _fail(self, exc: WebSocketError) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): the close frame that says why, then close."""
        logger.info("%s WebSocket %d: %s", self._conn.client[0], exc.code, exc.reason)
        self._write(encode_close(exc.code, exc.reason))
        self._close_sent = True
        self._closed(exc.code, exc.reason)
        self._conn.close()

    def _on_event(self, event: object) -> None:
        if isinstance(event, Message):
            self._inbox.append(event.data)
            if len(self._inbox) >= self._limits.max_websocket_queue:
                self._conn.pause_reading()
            _wake(self._waiter)
        elif isinstance(event, Ping):
            if not self._close_sent:
                self._write(encode_frame(OP_PONG, event.payload))
        elif isinstance(event, Close):
            if not self._close_sent:  # the client starts the closing handshake: answer it, then close
                self._write(encode_close(None if event.code == 1005 else event.code))
                self._close_sent = True
            self._closed(event.code, event.reason)
            self._conn.close()  # RFC 6455 section 7.1.1: the server closes the TCP connection first
        # a Pong: the bytes it came in have already shown the client is alive

    def on_timeout(self) -> None:
        """The connection's timer ran out: a quiet client gets a ping, an unanswered one is dropped."""
        if self._failure is not None and not self._close_sent:
            self._fail(self._failure)  # the app did not take the messages before the broken frame in time
        elif self._close_sent:
            logger.info("%s: WebSocket close not answered within websocket_close_timeout", self._conn.client[0])
            self._closed(1006, "")
            self._conn.abort()
        elif self._pinged:
            logger.info("%s: WebSocket ping not answered within websocket_ping_timeout", self._conn.client[0])
            self._write(encode_close(1011, "keepalive ping timeout"))
            self._close_sent = True
            self._closed(1006, "")
            self._conn.close()
        else:
            self._write(encode_frame(OP_PING, b""))
            self._pinged = True
            self._timer.arm(self._limits.websocket_ping_timeout)

    def connection_lost(self) -> None:
        self._closed(1006, "")

    def shutdown(self) -> None:
        """The server is stopping: close with 1001 (going away); the drain waits for the handshake."""
        if not self._close_sent and self.close_code is None:
            self._send_close(1001, "server shutting down")

    def _closed(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._closed_event.set()
        _wake(self._waiter)

    def _send_close(self, code: int, reason: str) -> None:
        self._write(encode_close(code, reason))
        self._close_sent = True
        self._timer.arm(self._limits.websocket_close_timeout)

    # -- the app's side (WebSocketChannel) -----------------------------------------------

    async def receive(self) -> str | bytes | None:
        while not self._inbox:
            if self._failure is not None and not self._close_sent:
                self._fail(self._failure)
            if self.close_code is not None:
                return None
            self._waiter = self._conn.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._inbox.popleft()
        if len(self._inbox) <= self._limits.max_websocket_queue // 4 and self._failure is None:
            self._conn.resume_reading()
        return data

    async def send(self, data: str | bytes) -> None:
        if self._close_sent or self.close_code is not None or self._conn.gone:
            raise ClientDisconnected("the WebSocket is closed")
        if not isinstance(data, (str, bytes)):
            raise TypeError(f"a WebSocket message is str or bytes, not {type(data).__name__}")
        header, payload = message_frame(data, self._deflate)
        if len(payload) >= GATHER_MIN:
            self._flush()
            write_behind(self._conn, header, payload)
        else:
            # Small frames sent in one turn of the loop (an echo of every message one read brought)
            # leave in one write at its end, not a system call each; GATHER_MIN bounds what waits.
            unsent = self._unsent
            if not unsent:
                self._conn.loop.call_soon(self._flush)
            unsent.append(header + payload)
            self._unsent_bytes += len(header) + len(payload)
            if self._unsent_bytes >= GATHER_MIN:
                self._flush()
        await self._conn.writable()

    def _flush(self) -> None:
        """Write the small frames waiting in ``_unsent``, as one piece."""
        if self._unsent:
            data = b"".join(self._unsent)
            self._unsent.clear()
            self._unsent_bytes = 0
            self._conn.write(data)

    def _write(self, frame: bytes) -> None:
        """A control frame, after the messages sent before it."""
        self._flush()
        self._conn.write(frame)

    async def ping(self, payload: bytes = b"") -> None:
        if self._close_sent or self.close_code is not None:
            raise ClientDisconnected("the WebSocket is closed")
        if len(payload) > 125:
            raise ValueError("a ping's payload is at most 125 bytes")
        self._write(encode_frame(OP_PING, payload))
        await self._conn.writable()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self._close_sent and self.close_code is None:
            self._send_close(code, reason)
        await self._closed_event.wait()


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
