"""The three contracts between the layers: a handler, the app a server runs, a request's body (messages layer).

Each is a ``typing.Protocol`` (or a callable type) that names every
method the other side calls, so that mypy checks both sides and no layer
reaches into another with ``getattr``:

- ``Handler``: ``await handler(request)`` answers a request. Middleware
  wraps one handler in another (``heron.web.middleware``).
- ``Servable``: what ``heron.server`` runs: ``handle``, plus ``startup``
  and ``shutdown`` awaited once per process around serving. A heron
  ``App`` is one; ``heron.hosting`` makes one of a WSGI app, an ASGI app
  or a bare handler.
- ``BodyStream``: where a ``Request`` reads its body from: the
  connection (``heron.server.body.RequestBody``) or the test client.
- ``Upgrader`` and ``WebSocketChannel``: a request that asks for a
  WebSocket is accepted through the first and talked to through the
  second (``heron.server.websocket``); the framework's ``WebSocket`` and
  the ASGI adapter's ``websocket`` scope are both built on them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from heron.messages.request import Request
    from heron.messages.response import Response

__all__ = ["BodyStream", "Handler", "Hook", "Servable", "Upgrader", "WebSocketChannel"]

Handler = Callable[["Request"], Awaitable["Response"]]
"""``await handler(request)`` gives the response."""

Hook = Callable[[], Awaitable[None]]
"""A coroutine function run once per process: an app's ``startup`` or ``shutdown``."""


class Servable(Protocol):
    """An app as the server runs it.

    ``startup`` is awaited before the first connection is accepted (if it
    raises, the server does not start); ``shutdown`` once the connections
    have drained, if startup succeeded. Both run once per worker process.
    """

    async def handle(self, request: Request) -> Response: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


class BodyStream(Protocol):
    """A request body as its reader sees it: pieces in order, and whether the client is still there."""

    async def read_chunk(self) -> bytes:
        """The next piece of the body (everything that has arrived); b"" once it is complete."""
        ...

    def take_if_complete(self) -> bytes | None:
        """The whole body if it has all arrived, without waiting; None if some is still to come."""
        ...

    @property
    def gone(self) -> bool:
        """The client has closed the connection, or its sending side."""
        ...

    async def wait_disconnected(self) -> None:
        """Return once the client has closed the connection, or its sending side."""
        ...


class WebSocketChannel(Protocol):
    """An accepted WebSocket, from the application's side.

    Messages are whole (text as ``str``, binary as ``bytes``); the server
    answers pings, keeps the connection alive and runs the closing
    handshake. Once the client has closed (or gone), ``receive`` returns
    None and ``close_code`` says how: the client's code, 1005 for a close
    frame without one, 1006 for a connection lost without a close frame.
    """

    subprotocol: str | None
    """The subprotocol accepted, if any."""
    close_code: int | None
    """None while open."""
    close_reason: str

    async def receive(self) -> str | bytes | None:
        """The next message; None once the connection is closed."""
        ...

    async def send(self, data: str | bytes) -> None:
        """Send one message; ``ClientDisconnected`` once the connection is closed."""
        ...

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping (the server also pings by itself, every ``websocket_ping_interval``)."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (a no-op once closed) and return once the connection is closed."""
        ...


class Upgrader(Protocol):
    """What a request that may become a WebSocket is accepted through: the connection it came on."""

    async def accept_websocket(self, subprotocol: str | None = None,
                               headers: list[tuple[str, str]] | None = None) -> WebSocketChannel:
        """Answer the handshake with ``101 Switching Protocols`` (``headers`` added) and switch the
        connection to WebSocket frames. ``HTTPError`` (400, 426) if the request is no valid handshake;
        ``ValueError`` for a subprotocol the client did not offer."""
        ...
