"""heron: an HTTP/1.1 server and web framework in pure Python.

The layers, from the bottom (each imports only those below it; the table
is ``heron.layers``):

- ``heron.limits``, ``heron.errors``, ``heron.blocking``: the root, shared by all;
- ``heron.protocol``: sans-IO HTTP/1.1, bytes to events and back;
- ``heron.messages``: the contract: ``Request``, the ``Response`` family, ``Handler``, ``Servable``;
- side by side, never importing each other: ``heron.server`` (sockets, the
  event loop, processes), ``heron.web`` (the framework: ``App``, routing,
  static files) and ``heron.hosting`` (WSGI and ASGI apps as a ``Servable``);
- ``heron.serving``: ``serve()``, which wires them together;
- ``heron.cli`` and ``heron.testing``: the command line and the test helpers.

``docs/tour.md`` follows one request through all of them.
"""

from heron.errors import HTTPError, ProtocolError, ServeError, StartupFailed
from heron.limits import Limits
from heron.server.config import ServerConfig
from heron.serving import serve
from heron.web import (
    App,
    FileResponse,
    FormData,
    HTMLResponse,
    JSONResponse,
    MultiDict,
    RedirectResponse,
    Request,
    Response,
    Session,
    StaticFiles,
    StreamingResponse,
    TextResponse,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)

__version__ = "0.1.0"

__all__ = [
    "App",
    "FileResponse",
    "FormData",
    "HTTPError",
    "HTMLResponse",
    "JSONResponse",
    "Limits",
    "MultiDict",
    "ProtocolError",
    "RedirectResponse",
    "Request",
    "Response",
    "ServeError",
    "ServerConfig",
    "Session",
    "StartupFailed",
    "StaticFiles",
    "StreamingResponse",
    "TextResponse",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "serve",
]
