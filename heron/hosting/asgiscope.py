"""What an ASGI app is told about a connection: its ``http`` and ``websocket`` scopes (hosting layer).

Both scopes carry the same description of the request (ASGI spec 2.4):
``path`` is the percent-decoded path (UTF-8) and ``raw_path`` the bytes as
sent, both starting with ``root_path`` (what Starlette's router expects;
the server puts ``--root-path`` back in front of the path a proxy stripped
it from); header names are lower-cased bytes, in the order received;
``state`` is a shallow copy of what the lifespan set up, so one request
cannot add keys the next one sees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from heron.messages.request import Request

__all__ = ["ASGIApp", "Message", "Receive", "Send", "build_scope", "build_websocket_scope", "header_text"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

ASGI_VERSION: Final = {"version": "3.0", "spec_version": "2.4"}
_HTTP_EXTENSIONS: Final[dict[str, dict[str, Any]]] = {"http.response.trailers": {}}
_WEBSOCKET_EXTENSIONS: Final[dict[str, dict[str, Any]]] = {"websocket.http.response": {}}


def build_scope(request: Request, state: dict[str, Any]) -> dict[str, Any]:
    """The ``http`` scope for ``request``."""
    scope = _request_scope(request, state)
    scope.update(type="http", method=request.head.method, scheme=request.scheme, extensions=_HTTP_EXTENSIONS)
    return scope


def build_websocket_scope(request: Request, state: dict[str, Any], subprotocols: tuple[str, ...]) -> dict[str, Any]:
    """The ``websocket`` scope for the handshake ``request``: ``ws``/``wss``, and the subprotocols offered."""
    scope = _request_scope(request, state)
    scope.update(type="websocket", scheme="wss" if request.scheme == "https" else "ws",
                 subprotocols=list(subprotocols), extensions=_WEBSOCKET_EXTENSIONS)
    return scope


def _request_scope(request: Request, state: dict[str, Any]) -> dict[str, Any]:
    head = request.head
    return {
        "asgi": ASGI_VERSION,
        "http_version": head.http_version,
        "path": request.path,
        "raw_path": head.path.encode("latin-1"),
        "query_string": head.query.encode("latin-1"),
        "root_path": request.root_path,
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in head.headers],
        "client": request.client,
        "server": request.server,
        "state": state.copy(),
    }


def header_text(value: Any) -> str:
    """A header name or value from an app's message as heron takes it: ASGI sends bytes (latin-1)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    raise TypeError(f"ASGI header names and values must be bytes, got {type(value).__name__}")
