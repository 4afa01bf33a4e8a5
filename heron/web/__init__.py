"""heron.web: the framework a heron user writes against (App, Request, Response)."""

from heron.messages.fileresponse import FileResponse
from heron.messages.forms import FormData
from heron.messages.query import MultiDict
from heron.messages.request import Request
from heron.messages.response import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
    TextResponse,
)
from heron.messages.session import Session
from heron.messages.uploads import UploadFile
from heron.web.app import App
from heron.web.static import StaticFiles
from heron.web.websocket import WebSocket, WebSocketDisconnect

__all__ = [
    "App",
    "FileResponse",
    "FormData",
    "HTMLResponse",
    "JSONResponse",
    "MultiDict",
    "RedirectResponse",
    "Request",
    "Response",
    "Session",
    "StaticFiles",
    "StreamingResponse",
    "TextResponse",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
]
