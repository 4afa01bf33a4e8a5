"""heron: an HTTP/1.1 server and web framework in pure Python.

The layers, from the bottom: ``heron.protocol`` (sans-IO HTTP/1.1),
``heron.web`` (the framework), ``heron.server`` (sockets, the event loop,
processes). ``docs/tour.md`` follows one request through all of them.
"""

from heron.cli import serve
from heron.config import ServerConfig
from heron.errors import HTTPError, ProtocolError
from heron.limits import Limits
from heron.web import App, JSONResponse, Request, Response, StreamingResponse

__version__ = "0.1.0"

__all__ = [
    "App",
    "HTTPError",
    "JSONResponse",
    "Limits",
    "ProtocolError",
    "Request",
    "Response",
    "ServerConfig",
    "StreamingResponse",
    "serve",
]
