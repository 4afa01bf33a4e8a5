"""heron: an HTTP/1.1 server and web framework in pure Python.

The layers, from the bottom: ``heron.protocol`` (sans-IO HTTP/1.1),
``heron.web`` (the framework), ``heron.server`` (sockets, the event loop,
processes). ``docs/tour.md`` follows one request through all of them.
"""

from heron.cli import serve
from heron.config import ServerConfig
from heron.errors import HTTPError, ProtocolError
from heron.limits import Limits
from heron.web import (
    App,
    FileResponse,
    HTMLResponse,
    JSONResponse,
    MultiDict,
    RedirectResponse,
    Request,
    Response,
    StaticFiles,
    StreamingResponse,
    TextResponse,
)

__version__ = "0.1.0"

__all__ = [
    "App",
    "FileResponse",
    "HTTPError",
    "HTMLResponse",
    "JSONResponse",
    "Limits",
    "MultiDict",
    "ProtocolError",
    "RedirectResponse",
    "Request",
    "Response",
    "ServerConfig",
    "StaticFiles",
    "StreamingResponse",
    "TextResponse",
    "serve",
]
