"""A request's handler run, and its answer written to the connection (server layer).

``HTTPConnection`` reads requests (``server/connection.py``); for each it
starts a task running ``exchange(conn, request)``: the app's handler,
then the response it returned turned into bytes by a ``ResponseWriter``
(``heron.protocol.writer``) and written, then the access line, then back
to the connection for the next request (``conn.finish_response``).

A body in memory goes out with its head in one write (one gather write
from ``direct.GATHER_MIN``); a stream goes out piece by piece, waiting
while the client is slow to read; a file goes out with ``sendfile`` on
plain TCP and is read in the thread pool where it cannot be (TLS). Every
failure costs at most this connection: an exception before the head
went out becomes a 500, after it an aborted connection.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from heron.errors import HTTPError, ProtocolError
from heron.messages.fileresponse import FileResponse
from heron.messages.request import Request
from heron.messages.response import Response, StreamingResponse, error_response
from heron.protocol.events import RequestHead
from heron.protocol.writer import ResponseWriter
from heron.server.body import BodyTimeout, ClientDisconnected
from heron.server.direct import write_behind

if TYPE_CHECKING:
    from heron.server.connection import HTTPConnection

__all__ = ["exchange", "refuse", "send"]

logger = logging.getLogger("heron.error")


async def exchange(conn: HTTPConnection, request: Request) -> None:
    """Run the handler for ``request`` and send its response; a bug here costs one connection, not the server.

    However it ends, the request's uploaded files are closed (and so removed) here.
    """
    try:
        await _respond(conn, request)
    except Exception:
        logger.exception("internal error on a connection from %s", conn.client[0])
        conn.abort()
    finally:
        request.close()


async def _respond(conn: HTTPConnection, request: Request) -> None:
    head = request.head
    try:
        response = await conn.state.handler(request)
    except HTTPError as exc:
        if isinstance(exc, (ProtocolError, BodyTimeout)):
            conn.last = True  # the body's framing or timing is broken: nothing after it can be read
        response = error_response(exc.status, exc.detail, exc.headers)
    except ClientDisconnected:
        conn.close()  # the request can never complete; a half-closed client must not linger
        return
    except Exception:
        logger.exception("unhandled error in handler for %s %s", head.method, head.path)
        response = error_response(500)
    if conn.websocket is not None:  # the app accepted a WebSocket: its answer was the 101
        await _end_websocket(conn, request, 1011 if response.status >= 500 else 1000)
        return
    if conn.gone:
        return
    if response.https_cookies is not None:  # cookies set with secure=None: Secure only over HTTPS
        response.settle_cookies(request.scheme == "https")
    try:
        status, size = await send(conn, head, response)
    except ClientDisconnected:
        conn.close()
        return
    except Exception:
        logger.exception("error sending the response to %s %s", head.method, head.path)
        if conn.response_started:
            conn.abort()
            return
        status, size = await send(conn, head, error_response(500))
    access_log = conn.state.access_log
    if access_log is not None:
        client = request.client or conn.client  # as --proxy-headers resolved it
        access_log.record(client[0], head, status, size, conn.loop.time() - conn.started)
    conn.finish_response()


async def _end_websocket(conn: HTTPConnection, request: Request, code: int) -> None:
    """The app's WebSocket handler is done: close the WebSocket if it did not (1000, or 1011 when the
    handler failed), wait for the closing handshake, and log the exchange."""
    assert conn.websocket is not None
    await conn.websocket.close(code)
    access_log = conn.state.access_log
    if access_log is not None:
        client = request.client or conn.client
        access_log.record(client[0], request.head, 101, 0, conn.loop.time() - conn.started)
    conn.close()


async def send(conn: HTTPConnection, head: RequestHead, response: Response) -> tuple[int, int]:
    """Write ``response``; (status, body bytes sent) for the access log.

    The byte count is 0 where the writer sends no body (HEAD, 204, 304),
    whatever the app put in the response.
    """
    _check_final_status(response.status)
    writer = ResponseWriter(head.method, head.http_version, conn.keep_alive(head))
    date = conn.state.dates.now()
    if not isinstance(response, StreamingResponse):
        head_bytes, body = writer.complete_parts(response.status, response.headers, response.body, date=date)
        conn.head_written(writer)
        write_behind(conn, head_bytes, body)
        return response.status, len(body)
    try:
        if isinstance(response, FileResponse):
            return await _send_file_response(conn, head, writer, response, date)
        conn.write(writer.head(response.status, response.headers, None, date=date))
        conn.head_written(writer)
        if not writer.sends_body:
            return response.status, 0  # HEAD, 204, 304: produce nothing nobody will receive
        return response.status, await _send_body(conn, writer, response, response.chunks())
    finally:
        await response.discard()  # whatever happened, the body's producer is released now


async def _send_file_response(conn: HTTPConnection, head: RequestHead, writer: ResponseWriter,
                              response: FileResponse, date: str) -> tuple[int, int]:
    """Open the file, then send head and file: ``sendfile`` on plain TCP, else read in the pool.

    The file is opened before a byte goes out, and without waiting
    (``FileResponse.open``): if the path is no longer the regular file
    the response was made for (removed, truncated, replaced, a FIFO put
    in its place), the answer is still a clean 404, logged once.
    """
    head_bytes = writer.head(response.status, response.headers, None, date=date)
    if not writer.sends_body:  # HEAD, 204, 304: no file to open
        conn.head_written(writer)
        conn.write(head_bytes)
        return response.status, 0
    try:
        opened = response.open()
    except OSError as exc:
        logger.warning("%s %s: file response not sent, answered 404: %s", head.method, head.path, exc)
        return await send(conn, head, error_response(404))
    with opened as file:
        conn.head_written(writer)
        direct = conn.sender()
        if direct.plain:
            return response.status, await direct.send_file(head_bytes, response, file)
        conn.write(head_bytes)
        return response.status, await _send_body(conn, writer, response, response.pieces(file))


async def _send_body(conn: HTTPConnection, writer: ResponseWriter, response: StreamingResponse,
                     chunks: AsyncIterator[bytes]) -> int:
    """Stream ``response``'s body, as ``chunks`` yields it, waiting while the client is slow; the bytes sent."""
    size = 0
    async for data in chunks:
        if conn.gone:
            raise ClientDisconnected("client closed the connection")
        size += len(data)
        conn.write(writer.body(data))
        if conn.flow.paused:
            await conn.writable()
    conn.write(writer.end(response.trailers))
    return size


def refuse(conn: HTTPConnection, status: int, detail: str, headers: list[tuple[str, str]] | None = None) -> None:
    """Answer before any request head was read (malformed, too slow, refused), log it, and close.

    Closing at once would lose answers: RFC 9112 section 9.6 warns that a
    close while the client's bytes still arrive makes the kernel answer
    them with a reset, which can destroy the response in the client's
    receive buffer before it is read (and fails its next send). So the
    connection lingers (``HTTPConnection.close``): it stops sending,
    throws away what still comes, and closes when the client does or after
    ``linger_timeout``.
    """
    writer = ResponseWriter("GET", "1.1", False)
    response = error_response(status, detail, headers)
    conn.write(writer.complete(response.status, response.headers, response.body, date=conn.state.dates.now()))
    access_log = conn.state.access_log
    if access_log is not None:
        access_log.record(conn.client[0], None, status, len(response.body), None)
    conn.close(linger=True)


def _check_final_status(status: int) -> None:
    """Refuse a handler's 1xx: it would be sent as an interim response.

    RFC 9110 section 15.2: a 1xx is never the final answer, so the client
    would go on waiting, and take the response to its next pipelined
    request for the answer to this one. Raising here turns it into a 500.
    """
    if status < 200:
        raise ValueError(f"a handler returned status {status}: a final response needs 200-599")
