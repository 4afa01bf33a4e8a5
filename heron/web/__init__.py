"""heron.web: the framework a heron user writes against (App, Request, Response)."""

from heron.web.app import App
from heron.web.request import Request
from heron.web.response import JSONResponse, Response, StreamingResponse

__all__ = ["App", "JSONResponse", "Request", "Response", "StreamingResponse"]
