"""heron.web: the framework a heron user writes against (App, Request, Response)."""

from heron.web.app import App
from heron.web.query import MultiDict
from heron.web.request import Request
from heron.web.response import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
    TextResponse,
)
from heron.web.static import StaticFiles

__all__ = [
    "App",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "MultiDict",
    "RedirectResponse",
    "Request",
    "Response",
    "StaticFiles",
    "StreamingResponse",
    "TextResponse",
]
