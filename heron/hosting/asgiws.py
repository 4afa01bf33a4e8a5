"""ASGI's ``websocket`` scope, spoken through heron's own WebSocket (hosting layer).

A request that asks for a WebSocket reaches an ASGI app as a
``websocket`` scope (ASGI WebSocket spec 2.4). ``receive`` gives
``websocket.connect`` first, then ``websocket.receive`` with ``text`` or
``bytes`` per message, then ``websocket.disconnect`` with the client's
code and reason. ``send`` takes ``websocket.accept`` (with a subprotocol
and headers), ``websocket.send``, ``websocket.close``, and the WebSocket
Denial Response extension (``websocket.http.response.start`` and
``.body``): before an accept, a close is a 403, a denial response the
HTTP answer the app builds. Frames, pings, the closing handshake and the
limits are the server's (``heron.server.websocket``), the same as for a
heron app.

A request that is not a valid handshake never reaches the app: it is
answered 400 or 426, as ``heron.protocol.wshandshake`` says.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from heron.errors import ClientDisconnected, HTTPError
from heron.hosting.asgiscope import ASGIApp, Message, build_websocket_scope, header_text
from heron.messages.contracts import WebSocketChannel
from heron.messages.request import Request
from heron.messages.response import Response, error_response
from heron.protocol.wshandshake import read_upgrade

__all__ = ["serve_websocket"]

logger = logging.getLogger("heron.error")



async def serve_websocket(app: ASGIApp, request: Request, state: dict[str, Any]) -> Response:
    """Run ``app`` for the WebSocket ``request`` asks for; the HTTP answer if it refused, else once it is done."""
    try:
        upgrade = read_upgrade(request.head)
    except HTTPError as exc:
        return error_response(exc.status, exc.detail, exc.headers)
    exchange = _WebSocketExchange(request)
    scope = build_websocket_scope(request, state, upgrade.subprotocols)
    task = asyncio.ensure_future(app(scope, exchange.receive, exchange.send))
    task.add_done_callback(exchange.app_done)
    refusal = await exchange.answer
    if refusal is not None:
        return refusal
    try:
        await task  # the app runs the whole session
    except ClientDisconnected:
        pass
    except Exception:
        logger.exception("ASGI app failed in a WebSocket session on %s", request.head.path)
        return error_response(500)  # not sent: the server closes the WebSocket with 1011
    return Response(b"")  # not sent: the 101 was the answer


class _WebSocketExchange:
    """One WebSocket's ``receive`` and ``send``; ``answer`` is None once accepted, else the HTTP refusal."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.answer: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()
        self.channel: WebSocketChannel | None = None
        self._connect_sent = False
        self._denial: tuple[int, list[tuple[str, str]], list[bytes]] | None = None

    # -- receive --------------------------------------------------------------------------

    async def receive(self) -> Message:
        if not self._connect_sent:
            self._connect_sent = True
            return {"type": "websocket.connect"}
        if self.channel is None:
            await asyncio.shield(self.answer)  # the app receives before it answered: wait for its answer
            if self.channel is None:
                return {"type": "websocket.disconnect", "code": 1006, "reason": ""}
        channel = self.channel
        message = await channel.receive()
        if message is None:
            return {"type": "websocket.disconnect", "code": channel.close_code or 1006, "reason": channel.close_reason}
        if isinstance(message, str):
            return {"type": "websocket.receive", "text": message}
        return {"type": "websocket.receive", "bytes": message}

    # -- send -----------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            await self._accept(message)
        elif kind == "websocket.send":
            await self._open().send(_payload(message))
        elif kind == "websocket.close":
            if self.channel is None:
                self._refuse(error_response(403))
            else:
                await self.channel.close(int(message.get("code") or 1000), str(message.get("reason") or ""))
        elif kind == "websocket.http.response.start":
            self._start_denial(message)
        elif kind == "websocket.http.response.body":
            self._denial_body(message)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on a websocket scope")

    async def _accept(self, message: Message) -> None:
        if self.channel is not None or self.answer.done():
            raise RuntimeError("websocket.accept after the handshake was answered")
        headers = [(header_text(name), header_text(value)) for name, value in message.get("headers", ())]
        self.channel = await self.request.accept_websocket(message.get("subprotocol"), headers)
        self.answer.set_result(None)

    def _open(self) -> WebSocketChannel:
        if self.channel is None:
            raise RuntimeError("websocket.send before websocket.accept")
        return self.channel

    def _start_denial(self, message: Message) -> None:
        if self.channel is not None or self.answer.done() or self._denial is not None:
            raise RuntimeError("websocket.http.response.start after the handshake was answered")
        status = message["status"]
        if not isinstance(status, int):
            raise TypeError(f"ASGI status must be an int, got {status!r}")
        self._denial = (status, [(header_text(n), header_text(v)) for n, v in message.get("headers", ())], [])

    def _denial_body(self, message: Message) -> None:
        if self._denial is None:
            raise RuntimeError("websocket.http.response.body before websocket.http.response.start")
        status, headers, body = self._denial
        body.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            self._refuse(Response(b"".join(body), status, headers))

    def _refuse(self, response: Response) -> None:
        if not self.answer.done():
            self.answer.set_result(response)

    def app_done(self, task: asyncio.Future[None]) -> None:
        """The app returned or raised: a handshake it never answered is refused (403, or 500 if it raised)."""
        error = None if task.cancelled() else task.exception()
        if not self.answer.done():
            if error is not None and not isinstance(error, ClientDisconnected):
                logger.error("ASGI app failed before answering a WebSocket handshake", exc_info=error)
            self.answer.set_result(error_response(500 if error is not None else 403))


def _payload(message: Message) -> str | bytes:
    """A ``websocket.send``'s text or bytes (exactly one of them, ASGI spec)."""
    text, data = message.get("text"), message.get("bytes")
    if text is not None and data is None:
        return str(text)
    if data is not None and text is None:
        return bytes(data)
    raise TypeError("websocket.send needs exactly one of text and bytes")
