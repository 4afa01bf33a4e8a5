"""One HTTP/1.1 connection: bytes in, requests dispatched in order, bytes out (server layer).

``HTTPConnection`` is an ``asyncio.BufferedProtocol``: the event loop reads
into a buffer the connection lends it and calls ``buffer_updated``; the
connection feeds those bytes to its sans-IO parser and acts on the events.
One request is handled at a time; pipelined requests wait in the parser's
buffer until the response before them is finished, which is what keeps
responses in order.

The life of a connection, and the timer that guards each phase:

    waiting for a head  --(head parsed)-->  handler running  --(response sent)--> waiting ...
    header_timeout (from first byte)         body_timeout and min_body_rate (while
    keepalive_timeout (while idle)           the handler waits for body bytes),
                                             write_timeout (while the client does not read)

A body the handler did not read is drained (up to ``max_drain_bytes``) so
its bytes are never taken for the next request; anything more and the
connection is closed instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from typing import IO, cast

from heron.blocking import run_blocking
from heron.errors import HTTPError, ProtocolError
from heron.limits import Limits
from heron.messages.contracts import Handler
from heron.protocol.events import NEED_DATA, Data, RequestHead
from heron.protocol.parser import RequestParser
from heron.protocol.writer import ResponseWriter
from heron.server.accesslog import AccessLog
from heron.server.body import BodyTimeout, ClientDisconnected, RequestBody
from heron.server.clock import http_date_clock
from heron.server.proxy import TrustedProxies, under_root_path
from heron.messages.request import Request
from heron.messages.response import FileResponse, Response, SendableFile, StreamingResponse, error_response

logger = logging.getLogger("heron.error")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_SENDFILE_SEGMENT = 256 * 1024  # bytes per loop.sendfile call; each must leave within write_timeout
_HEADER, _KEEPALIVE, _BODY = "header", "keep-alive", "body"
_CAN_CORK = hasattr(socket, "TCP_CORK")  # Linux
_SOCK_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)  # Linux
_MSG_MORE = getattr(socket, "MSG_MORE", 0)  # Linux: "more follows", hold the bytes for the next send
_GATHER_MIN = 16 * 1024
"""In-memory bodies this long go out behind their head in one gather write (``sendmsg``) instead
of being copied behind it: on loopback the copy costs more than the gather from 16 KiB up
(4.9 against 4.9 us at 16 KiB, 10.9 against 9.4 at 64 KiB, 16.2 against 13.5 at 128 KiB)."""
_TIMER_SLACK = 0.001  # seconds a lazy timer may fire early (the loop runs handles due within its clock resolution)
_READ_BUFFER = 64 * 1024  # bytes one read may take; see ServerState.read_buffer


class ServerState:
    """What every connection of one listening server shares."""

    def __init__(
        self,
        handler: Handler,
        limits: Limits,
        *,
        scheme: str = "http",
        access_log: bool = True,
        access_log_format: str = "combined",
        proxies: TrustedProxies | None = None,
        root_path: str = "",
    ) -> None:
        self.handler = handler
        self.limits = limits
        self.scheme = scheme
        self.dates = http_date_clock()
        self.access_log = AccessLog(access_log_format) if access_log else None
        self.proxies = proxies
        """Whose Forwarded / X-Forwarded-* headers to believe; None: --proxy-headers is off."""
        self.root_path = root_path
        """The prefix a proxy strips (normalized: "" or "/prefix"), put back in front of each path."""
        self.connections: set[HTTPConnection] = set()
        self.shutting_down = False
        self.read_buffer = memoryview(bytearray(_READ_BUFFER))
        """Where every connection's socket reads land, copied out at once (``buffer_updated``).

        One buffer serves all connections because the loop reads one socket
        at a time and hands the bytes over before the next read. Reading
        with ``recv`` instead makes a new 256 KiB bytes object per read and
        shrinks it: glibc serves that size with mmap, so each request paid
        an mmap, a page fault, an mremap and a munmap (about 13% of the CPU
        time of a static file response). 64 KiB keeps the copy made per
        read under glibc's mmap threshold.
        """


class HTTPConnection(asyncio.BufferedProtocol):
    """Drives one client connection through its requests."""

    # Slots, not a __dict__: an idle connection is mostly this object, and with 30 attributes
    # a dict takes 1.6 KiB (16 MiB for 10,000 idle keep-alive connections).
    __slots__ = (
        "state", "limits", "loop", "parser", "transport", "client", "server", "closed",
        "_closing", "_must_close", "_eof", "_head", "_body", "_response_started", "_response_done",
        "_continue_sent", "_drain_from", "_started", "_timer", "_timer_when", "_timer_kind", "_deadline",
        "_write_timer", "_reading_paused", "_writing_paused", "_drain_waiter", "_socket", "_socket_known",
        "_tcp", "_direct", "_corked", "_body_waited", "_wait_started",
    )

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.limits = state.limits
        self.loop = asyncio.get_running_loop()
        self.parser = RequestParser(state.limits)
        self.transport: asyncio.Transport | None = None
        self.client = ("", 0)
        self.server: tuple[str, int] | None = None  # our own socket's address (None on a Unix socket)
        self.closed = False
        self._closing = False  # close once the current response is done
        self._must_close = False  # this connection may not carry another request
        self._eof = False  # the client will send nothing more
        # the request in progress
        self._head: RequestHead | None = None
        self._body: RequestBody | None = None
        self._response_started = False
        self._response_done = False
        self._continue_sent = False
        self._drain_from = 0
        self._body_waited = 0.0  # seconds this request has waited for body bytes, before the current wait
        self._wait_started = 0.0  # loop time the current wait for body bytes began (see _await_body)
        self._started = 0.0  # loop time the current request's head was parsed (for the access log)
        # timers (see _arm)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0  # when that handle fires
        self._timer_kind: str | None = None  # the phase guarded now; None: none
        self._deadline = 0.0  # when the guarded phase times out
        self._write_timer: asyncio.TimerHandle | None = None
        # flow control
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._socket: socket.socket | None = None  # see _plain_socket
        self._socket_known = False
        self._tcp = False  # the socket is TCP (IPv4 or IPv6), not a Unix socket
        self._direct: _BorrowedSocket | None = None  # see _send_now
        self._corked = False  # TCP_CORK is on (see _cork)

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
            self._send_error_and_close(503, "Shutting down", [("Retry-After", "1")])
            return
        if len(connections) > self.limits.max_connections:
            logger.warning("refusing connection from %s: %d connections open (max_connections)",
                           self.client[0], len(connections) - 1)
            self._send_error_and_close(503, "Too many connections", [("Retry-After", "1")])
            return
        self._arm(_HEADER, self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.connections.discard(self)
        self._cancel_timer()
        if self._timer is not None:
            self._timer.cancel()  # it holds this connection: let it go now, not when it fires
            self._timer = None
        if self._write_timer is not None:
            self._write_timer.cancel()
        body = self._body
        if body is not None:
            body.client_gone("client closed the connection")
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ClientDisconnected("client closed the connection"))
        if self._direct is not None:
            self._direct.detach()  # the descriptor is the transport's, closed by it
            self._direct = None

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.state.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.state.read_buffer[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        """Bytes from the client, in order (``buffer_updated`` copies them here)."""
        if self._must_close and self._head is None:
            return
        self.parser.feed(data)
        self._advance()

    def eof_received(self) -> bool | None:
        """The client shut down its sending side; it may still read our answers.

        Requests already received in full are still answered, in order; the
        connection closes once the buffer holds no complete request.
        """
        self._eof = True
        body = self._body
        if body is not None:
            if not body.complete:
                self._must_close = True
            body.client_gone("client closed its side before the body was complete")
        if self._head is None:
            return None  # nothing in progress, and any buffered head is partial: close now
        return True

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._write_timer = self.loop.call_later(self.limits.write_timeout, self._on_write_timeout)

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if self._head is None and not self._gone:
            self.loop.call_soon(self._continue_reading)

    def _continue_reading(self) -> None:
        """Go on with pipelined requests held back while the client was not reading."""
        if self._head is None and not self._gone and not self._writing_paused:
            self._resume_reading()
            self._advance()

    # -- reading requests ---------------------------------------------------

    def _advance(self) -> None:
        """Pull parser events until the parser needs bytes or a handler must finish first."""
        parser = self.parser
        while True:
            body = self._body
            if body is not None and body.complete:
                if self._response_done:
                    self._end_exchange()
                    continue
                if parser.buffered > self.limits.max_pipelined_bytes:
                    self._pause_reading()
                return
            if body is None:
                if self._must_close:
                    return
                if self._writing_paused:
                    # The client is not reading its answers: start no new request
                    # (and read no more) until it does, so responses cannot pile
                    # up in memory; write_timeout ends the wait.
                    self._pause_reading()
                    return
            try:
                event = parser.next_event()
            except ProtocolError as exc:
                self._on_protocol_error(exc)
                return
            if event is NEED_DATA:
                if body is None:
                    if self._eof:
                        self._close()
                    elif parser.buffered:
                        if self._timer_kind != _HEADER:
                            self._arm(_HEADER, self.limits.header_timeout)
                    elif self._timer_kind is None:
                        self._arm(_KEEPALIVE, self.limits.keepalive_timeout)
                return
            if isinstance(event, RequestHead):
                self._start_exchange(event)
            elif isinstance(event, Data):
                assert body is not None
                body.push(event.data)
                self._body_arrived()
                if body.discarding:
                    if body.received - self._drain_from > self.limits.max_drain_bytes:
                        self._close()
                        return
                    self._await_body()
            else:
                assert body is not None
                body.finish()
                self._cancel_timer()

    def _start_exchange(self, head: RequestHead) -> None:
        self._cancel_timer()
        self._head = head
        body = RequestBody(self, self.loop)
        self._body = body
        self._response_started = self._response_done = self._continue_sent = False
        self._body_waited = 0.0
        self._started = self.loop.time()
        state = self.state
        client, scheme = self.client, state.scheme
        if state.proxies is not None:
            client, scheme = state.proxies.resolve(client, scheme, head.headers)
        if state.root_path:
            head = under_root_path(head, state.root_path)
        request = Request(head, body, client=client, server=self.server, scheme=scheme, root_path=state.root_path,
                          loop=self.loop, limits=self.limits)
        self.loop.create_task(self._handle(request))

    def _end_exchange(self) -> None:
        self._head = None
        self._body = None
        self._resume_reading()

    def _on_protocol_error(self, exc: ProtocolError) -> None:
        logger.info("%s %d: %s", self.client[0], exc.status, exc.detail)
        self._must_close = True
        body = self._body
        if body is None:
            self._send_error_and_close(exc.status, exc.detail)
        elif self._response_done:
            self._close()
        else:
            body.fail(exc)
            self._pause_reading()

    # -- BodyOwner: called by RequestBody -------------------------------------

    def body_wanted(self) -> None:
        head = self._head
        if head is not None and head.expect_continue and not self._continue_sent and not self._response_started:
            self._continue_sent = True
            self._write(_CONTINUE)
        self._resume_reading()
        self._await_body()

    def _await_body(self) -> None:
        """Start waiting for body bytes: a handler wants them, or the server drains an unread body.

        The timer fires at the sooner of ``body_timeout`` from now and the
        moment the body would fall under ``min_body_rate``: bytes received
        over seconds spent waiting for them (the time a handler spends on
        anything else is not the client's), once ``body_rate_grace`` of
        waiting has passed. Kestrel measures the same way.
        """
        now = self.loop.time()
        self._wait_started = now
        limits = self.limits
        body = self._body
        received = body.received if body is not None else 0
        allowed = max(limits.body_rate_grace, received / limits.min_body_rate)
        self._arm(_BODY, min(limits.body_timeout, allowed - self._body_waited))

    def _body_arrived(self) -> None:
        """Body bytes came: a wait for them, if one was on, ends, and its time is counted."""
        if self._timer_kind == _BODY:
            self._body_waited += self.loop.time() - self._wait_started
            self._cancel_timer()

    def pause_body(self) -> None:
        self._pause_reading()

    def resume_body(self) -> None:
        self._resume_reading()

    # -- handling and responding --------------------------------------------

    async def _handle(self, request: Request) -> None:
        """Run the handler and send its response; a bug here costs one connection, not the server."""
        try:
            await self._respond(request)
        except Exception:
            logger.exception("internal error on a connection from %s", self.client[0])
            self._abort()

    async def _respond(self, request: Request) -> None:
        head = request.head
        try:
            response = await self.state.handler(request)
        except HTTPError as exc:
            if isinstance(exc, (ProtocolError, BodyTimeout)):
                self._must_close = True
            response = error_response(exc.status, exc.detail, exc.headers)
        except ClientDisconnected:
            self._close()  # the request can never complete; a half-closed client must not linger
            return
        except Exception:
            logger.exception("unhandled error in handler for %s %s", head.method, head.path)
            response = error_response(500)
        if self._gone:
            return
        try:
            status, size = await self._send(head, response)
        except ClientDisconnected:
            self._close()
            return
        except Exception:
            logger.exception("error sending the response to %s %s", head.method, head.path)
            if self._response_started:
                self._abort()
                return
            status, size = await self._send(head, error_response(500))
        access_log = self.state.access_log
        if access_log is not None:
            client = request.client or self.client  # as --proxy-headers resolved it
            access_log.record(client[0], head, status, size, self.loop.time() - self._started)
        self._finish_response()

    def _new_writer(self, head: RequestHead) -> ResponseWriter:
        keep_alive = head.keep_alive and not (self._must_close or self._closing or self.state.shutting_down)
        body = self._body
        if keep_alive and body is not None and not body.complete:
            if head.expect_continue and not self._continue_sent:
                keep_alive = False  # the client may or may not send the body now: close
            elif head.content_length is not None and (
                head.content_length - body.received > self.limits.max_drain_bytes
            ):
                keep_alive = False
        return ResponseWriter(head.method, head.http_version, keep_alive)

    async def _send(self, head: RequestHead, response: Response) -> tuple[int, int]:
        """Write ``response``; (status, body bytes sent) for the access log.

        The byte count is 0 where the writer sends no body (HEAD, 204, 304),
        whatever the app put in the response. A ``FileResponse`` on plain
        TCP goes out with ``sendfile`` (``_send_file``); over TLS, which
        encrypts in user space, it is streamed like any other body. A
        large in-memory body goes out behind its head in one gather write
        where the socket takes it at once (``_GATHER_MIN``).
        """
        _check_final_status(response.status)
        writer = self._new_writer(head)
        date = self.state.dates.now()
        if not isinstance(response, StreamingResponse):
            head_bytes, body = writer.complete_parts(response.status, response.headers, response.body, date=date)
            self._response_started = True
            taken = self._send_now([head_bytes, body]) if len(body) >= _GATHER_MIN else None
            if taken is None:
                self._write(head_bytes + body)
            else:
                self._write_unsent([head_bytes, body], taken)
            self._must_close = self._must_close or not writer.keep_alive
            return response.status, len(body)
        try:
            if isinstance(response, FileResponse):
                return await self._send_file_response(head, writer, response, date)
            self._write(self._head_bytes(writer, response, date))
            if not writer.sends_body:
                return response.status, 0  # HEAD, 204, 304: produce nothing nobody will receive
            return response.status, await self._send_body(writer, response, response.chunks())
        finally:
            await response.discard()  # whatever happened, the body's producer is released now

    def _head_bytes(self, writer: ResponseWriter, response: StreamingResponse, date: str) -> bytes:
        """The head of a response whose body follows, for the caller to write at once."""
        data = writer.head(response.status, response.headers, None, date=date)
        self._head_written(writer)
        return data

    def _head_written(self, writer: ResponseWriter) -> None:
        """The head from ``writer`` is going out now: the response can no longer be taken back."""
        self._response_started = True
        self._must_close = self._must_close or not writer.keep_alive

    async def _send_file_response(self, head: RequestHead, writer: ResponseWriter, response: FileResponse,
                                  date: str) -> tuple[int, int]:
        """Open the file, then send head and file: ``sendfile`` on plain TCP, else read in the pool.

        The file is opened before a byte goes out, and without waiting
        (``FileResponse.open``): if the path is no longer the regular file
        the response was made for (removed, truncated, replaced, a FIFO
        put in its place), the answer is still a clean 404, logged once.
        """
        head_bytes = writer.head(response.status, response.headers, None, date=date)
        if not writer.sends_body:  # HEAD, 204, 304: no file to open
            self._head_written(writer)
            self._write(head_bytes)
            return response.status, 0
        try:
            opened = response.open()
        except OSError as exc:
            logger.warning("%s %s: file response not sent, answered 404: %s", head.method, head.path, exc)
            return await self._send(head, error_response(404))
        with opened as file:
            self._head_written(writer)
            if self._plain_socket():
                return response.status, await self._send_file(head_bytes, response, file)
            self._write(head_bytes)
            return response.status, await self._send_body(writer, response, response.pieces(file))

    async def _send_body(self, writer: ResponseWriter, response: StreamingResponse,
                         chunks: AsyncIterator[bytes]) -> int:
        """Stream ``response``'s body, as ``chunks`` yields it; the bytes sent."""
        size = 0
        async for data in chunks:
            if self._gone:
                raise ClientDisconnected("client closed the connection")
            size += len(data)
            self._write(writer.body(data))
            if self._writing_paused:
                await self._writable()
        self._write(writer.end(response.trailers))
        return size

    async def _send_file(self, head: bytes, response: FileResponse, file: SendableFile) -> int:
        """Send a file response on plain TCP: ``head``, then the region of the open ``file`` with
        ``sendfile(2)`` (zero-copy); the body bytes sent.

        The head is sent with MSG_MORE where the socket takes it at once,
        so the kernel holds it for the file's first bytes: one packet, not
        a small one ahead of the file. While the transport holds no bytes
        of its own, the file goes straight to the socket with
        ``os.sendfile``, which takes a small file whole without a turn of
        the loop. Once the socket is full, the connection is corked and a
        segment waits for it through ``loop.sendfile``; sendfile bypasses
        the transport's buffer, so ``pause_writing`` never fires, and
        instead each segment must leave within ``write_timeout`` or the
        client is too slow and is dropped. asyncio's own fallback is not
        used because it swaps the protocol out for the transfer, bypassing
        heron's backpressure.
        """
        transport = self.transport
        sock = self._socket
        assert transport is not None and sock is not None
        # An empty file sends nothing after the head to release it: no MSG_MORE then.
        taken = self._send_now([head], _MSG_MORE) if self._tcp and _MSG_MORE and response.length else None
        if taken is None or taken < len(head):
            self._cork(True)  # the head must not go out alone: held until the file follows
            self._write_unsent([head], taken)
        try:
            fd = sock.fileno()
            sent = 0
            while sent < response.length:
                if self._gone:
                    raise ClientDisconnected("client closed the connection")
                offset, count = response.offset + sent, response.length - sent
                n = 0
                if not transport.get_write_buffer_size():
                    n = _sendfile_now(fd, file, offset, count)
                if not n:
                    self._cork(True)
                    n = await self._sendfile_when_writable(file, offset, min(_SENDFILE_SEGMENT, count))
                if n == 0:
                    raise OSError(f"{response.path}: file shorter than the {response.length} bytes promised")
                sent += n
            return sent
        finally:
            self._cork(False)

    async def _sendfile_when_writable(self, file: SendableFile, offset: int, count: int) -> int:
        """Up to ``count`` bytes of ``file`` once the socket takes them, within ``write_timeout``.

        Loops without ``loop.sendfile`` (uvloop) read the piece in the
        thread pool and write it through the transport instead.
        """
        transport = self.transport
        assert transport is not None
        try:
            # loop.sendfile asks for a file object; its native path uses only the descriptor.
            sending = self.loop.sendfile(transport, cast(IO[bytes], file), offset, count, fallback=False)
            return await asyncio.wait_for(sending, self.limits.write_timeout)
        except (NotImplementedError, RuntimeError):  # incl. asyncio.SendfileNotAvailableError
            pass
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            self._on_write_timeout()
            raise ClientDisconnected("client did not read the file within write_timeout") from None
        except ConnectionError as exc:
            raise ClientDisconnected("client closed the connection") from exc
        data = await run_blocking(os.pread, file.fileno(), count, offset)
        self._write(data)
        if self._writing_paused:
            await self._writable()
        return len(data)

    def _cork(self, on: bool) -> None:
        """Turn TCP_CORK on or off, so a file response goes out in full packets.

        Corked while the socket is full: with TCP_NODELAY (asyncio's
        default) each bit of room the client's ACKs open would otherwise
        be filled with a small packet, more packets and ACKs for both
        kernels. Not corked while the socket takes the file at once: the
        head went with MSG_MORE, and sendfile pushes the last piece
        itself (asyncio and uvloop set TCP_NODELAY on every TCP
        connection), so the two setsockopt calls would buy nothing. Worse: on
        loopback the uncork then sent the whole file from heron's own
        system call, where without it the kernel goes on sending as the
        client reads (1 MiB files: 2.7k against 4.5k req/s, 345 against
        205 us of heron's CPU per response). Only on TCP (``_plain_socket`` says).
        """
        sock = self._socket
        if on == self._corked or not _CAN_CORK or not self._tcp or sock is None:
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, on)
        except OSError:  # the connection is already gone
            return
        self._corked = on

    def _plain_socket(self) -> socket.socket | None:
        """The socket, if bytes can go to it straight from the kernel (not TLS); else None.

        Looked up on the first response that can use it and kept:
        ``get_extra_info`` costs a dict lookup on asyncio, but on uvloop a
        new socket object and two system calls per call. A socket object
        of the connection's own is made on the same descriptor for
        ``_send_now`` (``_BorrowedSocket``).
        """
        if not self._socket_known:
            transport = self.transport
            assert transport is not None
            sock = transport.get_extra_info("socket")
            if transport.get_extra_info("sslcontext") is not None:
                sock = None  # TLS encrypts in user space: nothing to hand the kernel
            self._socket, self._socket_known = sock, True
            if sock is not None and not self.closed:
                self._tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
                self._direct = _borrow_socket(sock)
        return self._socket

    def _send_now(self, parts: list[bytes], flags: int = 0) -> int | None:
        """Send ``parts`` with one gather ``sendmsg`` on the socket itself: the bytes it took.

        None where that cannot be done: TLS, no socket of our own, or bytes
        already waiting in the transport, which must go first. 0 when the
        socket is full or the send failed; the caller writes what was not
        taken through the transport (``_write_unsent``), which then waits
        for room, or finds the error, as it does for any write.
        """
        if self._plain_socket() is None:
            return None
        direct, transport = self._direct, self.transport
        if direct is None or transport is None or transport.get_write_buffer_size() or self._gone:
            return None
        try:
            return direct.sendmsg(parts, (), flags)
        except OSError:  # BlockingIOError, or the client is gone: the transport's write will tell
            return 0

    def _write_unsent(self, parts: list[bytes], taken: int | None) -> None:
        """Write through the transport what ``_send_now`` did not take of ``parts`` (all for None)."""
        skip = taken or 0
        for part in parts:
            if skip >= len(part):
                skip -= len(part)
                continue
            self._write(part[skip:] if skip else part)
            skip = 0

    async def _writable(self) -> None:
        waiter = self._drain_waiter = self.loop.create_future()
        await waiter

    def _finish_response(self) -> None:
        self._response_done = True
        if self._must_close or self._closing:
            self._close()
            return
        body = self._body
        if body is not None and not body.complete:
            body.discard()
            self._drain_from = body.received
            self._resume_reading()
            self._await_body()
        self._advance()

    # -- output, timers, closing ----------------------------------------------

    @property
    def _gone(self) -> bool:
        """No byte can go out any more: the client left, or the transport is closing.

        A failed write (the client reset the connection) closes the transport
        at once but reports ``connection_lost`` only on a later turn of the
        loop; a streaming body that never yields to the loop would otherwise
        go on writing into a dead socket, and asyncio logs every such write.
        """
        transport = self.transport
        return self.closed or transport is None or transport.is_closing()

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if data and transport is not None and not self._gone:
            transport.write(data)

    def _send_error_and_close(self, status: int, detail: str, headers: list[tuple[str, str]] | None = None) -> None:
        """Answer before any request head was read (malformed, too slow, refused), log it, and close."""
        writer = ResponseWriter("GET", "1.1", False)
        response = error_response(status, detail, headers)
        self._write(writer.complete(response.status, response.headers, response.body, date=self.state.dates.now()))
        access_log = self.state.access_log
        if access_log is not None:
            access_log.record(self.client[0], None, status, len(response.body), None)
        self._close()

    def shutdown(self) -> None:
        """Graceful stop: close now if idle, else after the current response."""
        self._closing = True
        if self._head is None:
            self._close()

    def _close(self) -> None:
        self._must_close = True
        self._cancel_timer()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _abort(self) -> None:
        self._must_close = True
        self._cancel_timer()
        if self.transport is not None:
            self.transport.abort()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def _arm(self, kind: str, seconds: float) -> None:
        """Start guarding a phase: ``_on_timeout`` acts on ``kind`` once ``seconds`` pass.

        Timers are lazy, because every request would otherwise schedule and
        cancel one (keep-alive, then header): re-arming only moves the
        deadline, and the one scheduled handle, on waking before the
        deadline, sleeps again until it. A handle is rescheduled only when
        the new deadline comes sooner than the pending one.
        """
        deadline = self.loop.time() + seconds
        self._timer_kind = kind
        self._deadline = deadline
        if self._timer is None or self._timer_when > deadline:
            self._schedule_timer(deadline)

    def _schedule_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_when = when
        self._timer = self.loop.call_at(when, self._on_timer)

    def _cancel_timer(self) -> None:
        """Stop guarding the current phase (the scheduled handle, if any, will find nothing to do)."""
        self._timer_kind = None

    def _on_timer(self) -> None:
        self._timer = None
        kind = self._timer_kind
        if kind is None:
            return
        if self.loop.time() < self._deadline - _TIMER_SLACK:
            self._schedule_timer(self._deadline)  # re-armed since this handle was scheduled
            return
        self._timer_kind = None
        self._on_timeout(kind)

    def _on_timeout(self, kind: str) -> None:
        if kind == _KEEPALIVE:
            self._close()
        elif kind == _HEADER:
            if self.parser.buffered:
                logger.info("%s 408: request head not received within header_timeout", self.client[0])
                self._send_error_and_close(408, "Request Timeout")
            else:
                self._close()
        elif kind == _BODY:
            if self.loop.time() - self._wait_started < self.limits.body_timeout - _TIMER_SLACK:
                logger.info("%s 408: request body arrived slower than min_body_rate", self.client[0])
            else:
                logger.info("%s 408: request body stalled longer than body_timeout", self.client[0])
            self._must_close = True
            body = self._body
            if body is None or self._response_done:
                self._close()
            else:
                body.fail(BodyTimeout())

    def _on_write_timeout(self) -> None:
        logger.info("%s: client did not read the response within write_timeout", self.client[0])
        self._abort()


class _BorrowedSocket(socket.socket):
    """A socket object on the transport's own descriptor, for the sends its socket does not
    offer (``sendmsg`` with flags): it never closes that descriptor.

    Released (detached) when the connection is lost, and by garbage
    collection if it ever were not: closing it would close a descriptor
    number the transport owns, which may by then be another connection's.
    """

    __slots__ = ()

    def __del__(self) -> None:
        self.detach()


def _borrow_socket(sock: socket.socket) -> _BorrowedSocket | None:
    """A non-blocking ``_BorrowedSocket`` on ``sock``'s descriptor; None if it cannot be made.

    Non-blocking by its type flag where there is one, which costs no
    system call (the descriptor is non-blocking already); a process-wide
    default timeout (``socket.setdefaulttimeout``) would otherwise make
    its sends wait.
    """
    try:
        borrowed = _BorrowedSocket(sock.family, sock.type | _SOCK_NONBLOCK, sock.proto, fileno=sock.fileno())
    except (OSError, ValueError):  # ValueError: a descriptor already closed reads as -1
        return None
    if not _SOCK_NONBLOCK:
        borrowed.settimeout(0)
    return borrowed


def _sendfile_now(fd: int, file: SendableFile, offset: int, count: int) -> int:
    """``os.sendfile`` on a non-blocking socket: the bytes it took now.

    0 when the socket is full, and also when the file ended early: the
    caller then takes the waiting way, whose 0 means the file has ended.
    """
    try:
        return os.sendfile(fd, file.fileno(), offset, count)
    except BlockingIOError:
        return 0
    except ConnectionError as exc:  # BrokenPipeError and ConnectionResetError included
        raise ClientDisconnected("client closed the connection") from exc


def _check_final_status(status: int) -> None:
    """Refuse a handler's 1xx: it would be sent as an interim response.

    RFC 9110 section 15.2: a 1xx is never the final answer, so the client
    would go on waiting, and take the response to its next pipelined
    request for the answer to this one. Raising here turns it into a 500.
    """
    if status < 200:
        raise ValueError(f"a handler returned status {status}: a final response needs 200-599")
