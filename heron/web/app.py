"""The application object users write against (web layer).

This is the minimal framework the server needs for its first routes: route
decorators per method, ``{name}`` and ``{id:int}`` path parameters, handler
return values turned into responses, and errors turned into canned
replies. ``async def`` handlers run on the event loop; plain ``def``
handlers run in the server's bounded thread pool (the loop's default
executor), so a blocking call cannot stall other connections.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from heron.errors import ClientDisconnected, HTTPError
from heron.web.request import Request
from heron.web.response import JSONResponse, Response, error_response
from heron.web.routing import Router

logger = logging.getLogger("heron.error")

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """A collection of routes and the code that answers them.

    >>> app = App()
    >>> @app.get("/user/{name}")
    ... async def user(request, name):
    ...     return f"Hello, {name}!"
    """

    def __init__(self) -> None:
        self.router = Router()

    def route(self, path: str, methods: list[str] | None = None) -> Callable[[F], F]:
        """Register the decorated function for ``path`` and ``methods`` (default GET).

        ``methods=["*"]`` answers every method, including ones no RFC defines.
        """

        def register(handler: F) -> F:
            self.router.add(path, methods or ["GET"], handler)
            return handler

        return register

    def get(self, path: str) -> Callable[[F], F]:
        return self.route(path, ["GET"])

    def post(self, path: str) -> Callable[[F], F]:
        return self.route(path, ["POST"])

    def put(self, path: str) -> Callable[[F], F]:
        return self.route(path, ["PUT"])

    def patch(self, path: str) -> Callable[[F], F]:
        return self.route(path, ["PATCH"])

    def delete(self, path: str) -> Callable[[F], F]:
        return self.route(path, ["DELETE"])

    async def handle(self, request: Request) -> Response:
        """Answer one request; never raises for an error in a handler.

        The one exception that passes through is ``ClientDisconnected``
        (the request body can no longer arrive): there is nobody to answer.
        """
        try:
            if request.raw_path == "*":  # OPTIONS * (RFC 9110 section 9.3.7): the server as a whole
                return Response(b"", 204, [("Allow", ", ".join(self.router.methods()))])
            try:
                handler, params = self.router.match(request.method, request.path)
            except HTTPError as exc:
                if exc.status == 405 and request.method == "OPTIONS":
                    return Response(b"", 204, exc.headers)
                raise
            request.path_params = params
            if inspect.iscoroutinefunction(handler):
                result = await handler(request, **params)
            else:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(None, functools.partial(handler, request, **params))
            return to_response(result)
        except HTTPError as exc:
            return error_response(exc.status, exc.detail, exc.headers)
        except ClientDisconnected:
            raise  # the client is gone: the server closes, and it is not the handler's error
        except Exception:
            logger.exception("unhandled error in handler for %s %s", request.method, request.path)
            return error_response(500)


def to_response(result: Any) -> Response:
    """Turn what a handler returned into a Response.

    ``str`` is text, ``bytes`` is octet-stream, ``dict``/``list`` is JSON, and
    a tuple is ``(body, status)`` or ``(body, status, headers)``.
    """
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        body, status, *rest = result
        response = to_response(body)
        response.status = status
        if rest:
            response.headers.extend(rest[0])
        return response
    if isinstance(result, str):
        return Response(result)
    if isinstance(result, (bytes, bytearray, memoryview)):
        return Response(bytes(result), content_type="application/octet-stream")
    if isinstance(result, (dict, list)):
        return JSONResponse(result)
    if result is None:
        return Response(b"", 204)
    raise TypeError(f"handler returned {type(result).__name__}, not a response")
