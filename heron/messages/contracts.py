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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from heron.messages.request import Request
    from heron.messages.response import Response

__all__ = ["BodyStream", "Handler", "Hook", "Servable"]

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
