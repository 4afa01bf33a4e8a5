"""WebSocket routes: the ``WebSocket`` a handler talks through (web layer).

::

    @app.websocket("/chat/{room}")
    async def chat(ws, room):
        await ws.accept()
        async for message in ws:
            await ws.send_text(f"{room}: {message}")

The handshake is an HTTP request, so middleware and before hooks see it
and may answer it (an auth middleware's 401 is the answer the client
gets). A handler that returns before ``accept()`` refuses the WebSocket:
with the ``Response`` it returns, or ``403 Forbidden``. After
``accept()`` messages are whole (text as ``str``, binary as ``bytes``);
when the client closes, ``receive`` raises ``WebSocketDisconnect`` with
its code and ``async for`` ends. The server answers pings, pings quiet
clients and runs the closing handshake (``heron.server.websocket``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from heron.errors import ClientDisconnected
from heron.messages.contracts import WebSocketChannel
from heron.messages.request import Request
from heron.protocol.wshandshake import read_upgrade

__all__ = ["WebSocket", "WebSocketDisconnect"]


class WebSocketDisconnect(ClientDisconnected):
    """The client closed the WebSocket (or the connection went): ``code`` and ``reason`` say how.

    1005 means a close frame without a code, 1006 a connection lost without
    any close frame. A ``ClientDisconnected``, so a handler that does not
    catch it ends quietly, as for a client gone during an HTTP request.
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class WebSocket:
    """One WebSocket, from the handshake request to the close.

    The request is ``ws.request`` (headers, query, cookies, ``path_params``,
    the client's address); ``ws.subprotocols`` is what the client offers.
    """

    def __init__(self, request: Request) -> None:
        self.request = request
        self._channel: WebSocketChannel | None = None

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """The subprotocols the client offers, in its order of preference (``HTTPError`` 400 for a bad handshake)."""
        return read_upgrade(self.request.head).subprotocols

    @property
    def accepted(self) -> bool:
        return self._channel is not None

    @property
    def subprotocol(self) -> str | None:
        """The one accepted (None before ``accept()``, or if none was)."""
        return self._channel.subprotocol if self._channel is not None else None

    @property
    def close_code(self) -> int | None:
        """How the client closed (None while open): its code, 1005 with none, 1006 with no close frame."""
        return self._channel.close_code if self._channel is not None else None

    @property
    def close_reason(self) -> str:
        return self._channel.close_reason if self._channel is not None else ""

    async def accept(self, subprotocol: str | None = None, headers: dict[str, str] | list[tuple[str, str]] | None = None
                     ) -> None:
        """Answer the handshake with ``101 Switching Protocols``, with ``headers`` if given.

        ``subprotocol`` must be one the client offers (``ValueError``
        otherwise); a request that is no valid handshake raises ``HTTPError``
        (400, or 426 for another protocol version), which becomes the answer.
        """
        if self._channel is not None:
            raise RuntimeError("the WebSocket was already accepted")
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        self._channel = await self.request.accept_websocket(subprotocol, pairs)

    def _open(self) -> WebSocketChannel:
        if self._channel is None:
            raise RuntimeError("accept() the WebSocket first")
        return self._channel

    async def receive(self) -> str | bytes:
        """The next message; ``WebSocketDisconnect`` once the client has closed."""
        channel = self._open()
        message = await channel.receive()
        if message is None:
            raise WebSocketDisconnect(channel.close_code or 1006, channel.close_reason)
        return message

    async def receive_text(self) -> str:
        """The next message, which must be text: a binary one closes the WebSocket with 1003 (unsupported data)."""
        message = await self.receive()
        if not isinstance(message, str):
            await self._refuse("expected a text message")
        assert isinstance(message, str)
        return message

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary: a text one closes the WebSocket with 1003."""
        message = await self.receive()
        if not isinstance(message, bytes):
            await self._refuse("expected a binary message")
        assert isinstance(message, bytes)
        return message

    async def _refuse(self, reason: str) -> None:
        """Close with 1003 (a message of a type the handler does not take) and raise ``WebSocketDisconnect``."""
        await self.close(1003, reason)
        raise WebSocketDisconnect(1003, reason)

    async def receive_json(self) -> Any:
        """The next message (text or binary) parsed as JSON; one that is not JSON closes with 1007."""
        message = await self.receive()
        try:
            return json.loads(message)
        except ValueError:  # JSONDecodeError, and bytes that are not UTF-8
            await self.close(1007, "message is not valid JSON")
            raise WebSocketDisconnect(1007, "message is not valid JSON") from None

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        """Every message until the client closes (then the iteration just ends)."""
        while True:
            try:
                message = await self.receive()
            except WebSocketDisconnect:
                return
            yield message

    async def send(self, message: str | bytes) -> None:
        """One message: text for ``str``, binary for ``bytes``."""
        await self._open().send(message)

    async def send_text(self, text: str) -> None:
        await self._open().send(text)

    async def send_bytes(self, data: bytes) -> None:
        await self._open().send(bytes(data))

    async def send_json(self, data: Any) -> None:
        """``data`` as a compact JSON text message."""
        await self._open().send(json.dumps(data, separators=(",", ":"), ensure_ascii=False))

    async def ping(self, payload: bytes = b"") -> None:
        await self._open().ping(payload)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket and wait for the client's answer (``websocket_close_timeout`` at most).

        Before ``accept()`` there is no WebSocket yet: returning from the
        handler refuses the handshake (403) instead.
        """
        if self._channel is not None:
            await self._channel.close(code, reason)
