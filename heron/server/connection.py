"""One HTTP/1.1 connection: bytes in, requests dispatched in order, bytes out (server layer).

``HTTPConnection`` is an ``asyncio.BufferedProtocol``: the event loop reads
into a buffer every connection shares and calls ``buffer_updated``; the
connection feeds those bytes to its sans-IO parser and acts on the events.
One request is handled at a time; pipelined requests wait in the parser's
buffer until the response before them is finished, which is what keeps
responses in order.

What the connection waits for, and the timer that guards the wait, is
its phase (``heron.server.phases``); every change of phase goes through
``_enter``. Each request is handed to a task running
``server/respond.py:exchange``, which calls the handler and writes its
answer back through this connection (``write``, ``sender`` for the sends
around the transport in ``server/direct.py``). Whether the connection may
carry another request is decided in one place, ``keep_alive``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from heron.errors import ProtocolError
from heron.messages.request import Request
from heron.protocol.events import NEED_DATA, Data, RequestHead
from heron.protocol.parser import RequestParser
from heron.protocol.writer import ResponseWriter
from heron.server.body import BodyTimeout, RequestBody
from heron.server.direct import DirectSender
from heron.server.phases import CLOSING, DRAINING, HANDLING, HEAD, IDLE, MOVES, WEBSOCKET, Phase, PhaseTimer
from heron.server.proxy import under_root_path
from heron.server.flow import WriteFlow
from heron.server.respond import exchange, refuse
from heron.server.state import ServerState
from heron.server.websocket import WebSocketSession, WebSocketUpgrade

logger = logging.getLogger("heron.error")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class HTTPConnection(asyncio.BufferedProtocol):
    """Drives one client connection through its requests."""

    # Slots: an idle connection is mostly this object; a dict of 24 attributes takes about 1 KiB.
    __slots__ = (
        "state", "limits", "loop", "parser", "transport", "client", "server", "closed", "phase", "timer",
        "last", "_eof", "_head", "_body", "response_started", "_continue_sent", "_drain_from", "started",
        "flow", "_reading_paused", "_direct", "websocket", "_upgrade", "_refusal",
    )

    def __init__(self, state: ServerState, loop: asyncio.AbstractEventLoop) -> None:
        self.state = state
        self.limits = state.limits
        self.loop = loop  # given: get_running_loop() costs a getpid system call per connection
        self.parser = RequestParser(state.limits)
        self.transport: asyncio.Transport | None = None
        self.client = ("", 0)
        self.server: tuple[str, int] | None = None  # our own socket's address (None on a Unix socket)
        self.closed = False  # connection_lost has been called
        self.phase: Phase = HEAD
        self.timer = PhaseTimer(self.loop, self._on_timeout)
        self.last = False  # the current (or next) request is the last this connection carries
        self._eof = False  # the client will send nothing more
        # the request in progress
        self._head: RequestHead | None = None
        self._body: RequestBody | None = None
        self.response_started = False
        self._continue_sent = False
        self._drain_from = 0  # body bytes received when draining began
        self.started = 0.0  # loop time the current request's head was parsed (for the access log)
        # flow control
        self.flow = WriteFlow(self.loop, state.limits.write_timeout)
        self._reading_paused = False
        self._direct: DirectSender | None = None  # made for the first response that can use it
        self._upgrade: WebSocketUpgrade | None = None  # the current request asks for a WebSocket
        self.websocket: WebSocketSession | None = None  # after 101 Switching Protocols
        self._refusal: str | None = None  # over max_connections or shutting down: the 503's reason

    # -- asyncio.BufferedProtocol ---------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.client = (str(peer[0]), int(peer[1]))
        sockname = transport.get_extra_info("sockname")
        if isinstance(sockname, tuple):
            self.server = (str(sockname[0]), int(sockname[1]))
        connections = self.state.connections
        connections.add(self)
        if self.state.shutting_down:
            self._refusal = "Shutting down"
        elif len(connections) > self.limits.max_connections:
            logger.warning("refusing connection from %s: %d connections open (max_connections)",
                           self.client[0], len(connections) - 1)
            self._refusal = "Too many connections"
        if self._refusal is not None:  # 503 once the request comes: a client answered before it
            self._enter(CLOSING)  # has sent may fail to send it (data_received, respond.refuse)
            self.timer.arm(self.limits.linger_timeout)
        else:
            self.timer.arm(self.limits.header_timeout)  # HEAD: the first head is due from the accept

    def connection_lost(self, exc: Exception | None) -> None:
        """Gone: what refers back to the connection lets go of it (timer, body, sender), so it is freed
        at once, not left in a cycle for the garbage collector, whose passes would grow with it."""
        self.closed = True
        self.phase = CLOSING
        self.last = True  # a response still being written ends in close(), never in another request
        if self._upgrade is not None:
            self._upgrade.answered()
        if self.websocket is not None:
            self.websocket.connection_lost()
        self.state.connections.discard(self)
        self.timer.cancel()
        self.flow.lost()
        body = self._body
        if body is not None:
            body.client_gone("client closed the connection")
            self._body = None
        if self._direct is not None:
            self._direct.close()
            self._direct = None

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.state.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self.websocket is not None:  # frames are copied once, into the frame reader's buffer
            self.websocket.data_received(self.state.read_buffer[:nbytes])
        else:
            self.data_received(self.state.read_buffer[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        """Bytes from the client, in order (``buffer_updated`` copies them here)."""
        if self.phase is CLOSING:
            if self._refusal is not None:
                refuse(self, 503, self._refusal, [("Retry-After", "1")])
                self._refusal = None
            return
        self.parser.feed(data)
        self._advance()

    def eof_received(self) -> bool | None:
        """The client shut down its sending side but may still read: requests received in full
        are answered, in order; then (or now, if there are none) the connection closes."""
        self._eof = True
        if self.websocket is not None:
            return None  # gone without a close frame (1006): close
        body = self._body
        if body is not None:
            if not body.complete:
                self.last = True
            body.client_gone("client closed its side before the body was complete")
        if self._head is None:
            return None  # nothing in progress, and any buffered head is partial: close now
        return True

    def pause_writing(self) -> None:
        self.flow.pause(self.on_write_timeout)

    def resume_writing(self) -> None:
        self.flow.resume()
        if self._head is None and not self.gone:
            self.loop.call_soon(self._continue_reading)

    def _continue_reading(self) -> None:
        """Go on with pipelined requests held back while the client was not reading."""
        if self._head is None and not self.gone and not self.flow.paused:
            self.resume_reading()
            self._advance()

    # -- reading requests ---------------------------------------------------

    def _enter(self, phase: Phase) -> None:
        """Move to ``phase`` (one of ``MOVES``) and start its timer, if it runs from the start (``GUARDS``)."""
        assert phase in MOVES[self.phase], f"no move from {self.phase} to {phase}"
        self.phase = phase
        seconds = self.state.timeouts[phase]
        if seconds is not None:
            self.timer.arm(seconds)
        elif self.timer.armed:
            self.timer.disarm()

    def _advance(self) -> None:
        """Pull parser events until the parser needs bytes or a handler must finish first."""
        parser = self.parser
        while True:
            body = self._body
            if body is not None and body.complete:
                if self.phase is DRAINING:
                    self._end_exchange()
                    continue
                if parser.buffered > self.limits.max_pipelined_bytes:
                    self.pause_reading()
                return
            if body is None:
                if self.last:
                    return
                if self.flow.paused:
                    # The client is not reading its answers: start no new request (and read no more)
                    # until it does, so responses cannot pile up in memory; write_timeout ends the wait.
                    self.pause_reading()
                    return
            try:
                event = parser.next_event()
            except ProtocolError as exc:
                self._on_protocol_error(exc)
                return
            if event is NEED_DATA:
                if body is None:
                    if self._eof:
                        self.close()
                    elif parser.buffered and self.phase is IDLE:
                        self._enter(HEAD)  # the first byte of a head: header_timeout runs from here
                return
            if isinstance(event, RequestHead):
                self._start_exchange(event)
            elif isinstance(event, Data):
                assert body is not None
                body.push(event.data)
                self._body_arrived()
                if body.discarding:
                    if body.received - self._drain_from > self.limits.max_drain_bytes:
                        self.close()
                        return
                    self._await_body()
            else:
                assert body is not None
                body.finish()
                if self.timer.armed:  # a wait for the body's bytes ends
                    self.timer.disarm()

    def _start_exchange(self, head: RequestHead) -> None:
        self._enter(HANDLING)
        self._head = head
        body = RequestBody(self, self.loop)
        self._body = body
        self.response_started = self._continue_sent = False
        self.started = self.loop.time()
        state = self.state
        client, scheme = self.client, state.scheme
        if state.proxies is not None:
            client, scheme = state.proxies.resolve(client, scheme, head.headers)
        if state.root_path:
            head = under_root_path(head, state.root_path)
        self._upgrade = upgrade = WebSocketUpgrade(self, self._head) if head.upgrade else None
        request = Request(head, body, client=client, server=self.server, scheme=scheme, root_path=state.root_path,
                          loop=self.loop, limits=self.limits, upgrader=upgrade)
        self.loop.create_task(exchange(self, request))

    def _end_exchange(self) -> None:
        self._head = None
        self._body = None
        self._enter(IDLE)
        self.resume_reading()

    def _on_protocol_error(self, exc: ProtocolError) -> None:
        logger.info("%s %d: %s", self.client[0], exc.status, exc.detail)
        self.last = True
        body = self._body
        if body is None:
            refuse(self, exc.status, exc.detail)
        elif self.phase is DRAINING:
            self.close()
        else:
            body.fail(exc)
            self.pause_reading()

    # -- BodyOwner: called by RequestBody -------------------------------------

    def body_wanted(self) -> None:
        head = self._head
        if head is not None and head.expect_continue and not self._continue_sent and not self.response_started:
            self._continue_sent = True
            self.write(_CONTINUE)
        self.resume_reading()
        self._await_body()

    def _await_body(self) -> None:
        """Start waiting for body bytes, for as long as ``RequestBody.wait_begins`` allows
        (``body_timeout``, ``min_body_rate``): a handler wants them, or the body is being drained."""
        body = self._body
        assert body is not None
        self.timer.arm(body.wait_begins(self.loop.time(), self.limits))

    def _body_arrived(self) -> None:
        """Body bytes came: a wait for them, if one was on, ends, and its time is counted."""
        if self.timer.armed:
            body = self._body
            assert body is not None
            body.wait_ends(self.loop.time())
            self.timer.disarm()

    # -- responding (server/respond.py sends the answer) ------------------------

    def keep_alive(self, head: RequestHead) -> bool:
        """May the connection carry another request after this one? The one place that decides.

        No if the client said so (``Connection: close``, HTTP/1.0 without keep-alive), if it is
        already the last (a framing error, a body timeout, a half-closed client, a graceful
        shutdown, a lost connection), or if the rest of an unread body cannot be drained: a
        ``100-continue`` client that was never told to send it (it may or may not send it now),
        or more left than ``max_drain_bytes``. The writer may still say no (a body of unknown
        length to an HTTP/1.0 client ends with the connection).
        """
        if not head.keep_alive or self.last:
            return False
        body = self._body
        if body is not None and not body.complete:
            if head.expect_continue and not self._continue_sent:
                return False
            if head.content_length is not None and head.content_length - body.received > self.limits.max_drain_bytes:
                return False
        return True

    def head_written(self, writer: ResponseWriter) -> None:
        """A response head from ``writer`` is going out now: it can no longer be taken back."""
        self.response_started = True
        if not writer.keep_alive:
            self.last = True

    def answering(self, head: RequestHead) -> bool:
        """Is ``head`` the request in progress, with no answer begun?"""
        return self.phase is HANDLING and self._head is head and not self.response_started

    def switch_to_websocket(self, session: WebSocketSession) -> None:
        """The 101 is written: from now on the bytes are WebSocket frames, the session's."""
        self.websocket = session
        self.response_started = self.last = True
        self._enter(WEBSOCKET)
        leftover = self.parser.take_buffer()
        self.resume_reading()
        if leftover:
            session.data_received(leftover)

    def finish_response(self) -> None:
        """The response is sent: close, drain the rest of an unread body, or go on to the next request."""
        if self._upgrade is not None:
            self._upgrade.answered()
            self._upgrade = None
        if self.last:
            self.close()
            return
        body = self._body
        if body is not None and not body.complete:
            body.discard()
            self._drain_from = body.received
            self.resume_reading()
            self._enter(DRAINING)
            self._await_body()  # DRAINING's timer is a body wait's: body_timeout and min_body_rate
        else:
            self._end_exchange()
        self._advance()

    def sender(self) -> DirectSender:
        """The connection's sends around its transport (``server/direct.py``), made on first use:
        on uvloop finding the socket costs a new socket object and two system calls."""
        direct = self._direct
        if direct is None:
            direct = self._direct = DirectSender(self, self.loop, self.limits.write_timeout)
        return direct

    # -- output (direct.Writer), timers, closing --------------------------------

    @property
    def gone(self) -> bool:
        """No byte can go out any more: the client left, or the transport is closing (a failed
        write closes it at once but reports ``connection_lost`` a turn later; a streaming body
        that never yields would otherwise go on writing into a dead socket, logged each time)."""
        transport = self.transport
        return self.closed or transport is None or transport.is_closing()

    def write(self, data: bytes) -> None:
        transport = self.transport
        if data and transport is not None and not self.gone:
            transport.write(data)

    async def writable(self) -> None:
        """Return once the transport takes writes again (at once if it does)."""
        await self.flow.wait()

    def on_write_timeout(self) -> None:
        logger.info("%s: client did not read the response within write_timeout", self.client[0])
        self.abort()

    def shutdown(self) -> None:
        """Graceful stop: close now if no request is in progress, else after its response; a
        WebSocket is sent close 1001 (the drain waits for its closing handshake)."""
        if self.websocket is not None:
            self.websocket.shutdown()
            return
        self.last = True
        if self._head is None:
            self.close()

    def close(self, linger: bool = False) -> None:
        """Close once what is written has gone out. ``linger``, after an answer sent before the
        request was read: stop sending, discard what still comes (CLOSING reads nothing), and
        close when the client does or after ``linger_timeout`` (``respond.refuse`` says why)."""
        self._enter(CLOSING)
        self.last = True
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if linger and not self._eof:
            if transport.can_write_eof():  # TLS cannot half-close
                transport.write_eof()
            self.resume_reading()
            self.timer.arm(self.limits.linger_timeout)
        else:
            transport.close()

    def abort(self) -> None:
        self._enter(CLOSING)
        self.last = True
        if self.transport is not None:
            self.transport.abort()

    def pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def _on_timeout(self) -> None:
        """The current phase ran out of time (``phases.GUARDS`` says what happens)."""
        phase = self.phase
        if phase is WEBSOCKET and self.websocket is not None:
            self.websocket.on_timeout()
        elif phase is HEAD and self.parser.buffered:
            logger.info("%s 408: request head not received within header_timeout", self.client[0])
            refuse(self, 408, "Request Timeout")
        elif (phase is HANDLING or phase is DRAINING) and self._body is not None:
            body = self._body
            logger.info("%s 408: %s", self.client[0], body.why_timed_out(self.loop.time(), self.limits))
            self.last = True
            if phase is DRAINING:
                self.close()
            else:
                body.fail(BodyTimeout())
        else:
            self.close()
