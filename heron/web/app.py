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
import html
import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from heron.errors import ClientDisconnected, HTTPError
from heron.web.request import Request
from heron.web.middleware import Handler, Middleware, apply
from heron.web.response import JSONResponse, Response, error_response
from heron.web.routing import Router

logger = logging.getLogger("heron.error")

F = TypeVar("F", bound=Callable[..., Any])
H = TypeVar("H", bound=Callable[..., Any])


class App:
    """A collection of routes and the code that answers them.

    >>> app = App()
    >>> @app.get("/user/{name}")
    ... async def user(request, name):
    ...     return f"Hello, {name}!"
    """

    def __init__(self, *, debug: bool = False) -> None:
        self.router = Router()
        self.debug = debug
        """Show tracebacks to clients on 500s: for local development only."""
        self._middleware: list[Middleware] = []
        self._before: list[Callable[..., Any]] = []
        self._after: list[Callable[..., Any]] = []
        self._error_handlers: dict[int | type[BaseException], Callable[..., Any]] = {}
        self._chain: Handler | None = None

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

    # -- middleware, hooks, error handlers ---------------------------------

    def add_middleware(self, middleware: Middleware) -> None:
        """Wrap the app in ``middleware``; the first one added runs first (outermost)."""
        self._middleware.append(middleware)
        self._chain = None

    def before_request(self, hook: H) -> H:
        """Run ``hook(request)`` before the route's handler; a non-None return is the response.

        Hooks run in the order added, inside all middleware. Plain ``def``
        hooks run on the event loop: they must be quick and must not block.
        """
        self._before.append(hook)
        return hook

    def after_request(self, hook: H) -> H:
        """Run ``hook(request, response)`` after the handler; it returns the response to send.

        Runs in the order added, also for error responses and for responses
        a before hook returned.
        """
        self._after.append(hook)
        return hook

    def errorhandler(self, key: int | type[BaseException]) -> Callable[[H], H]:
        """Answer errors with ``handler(request, error)``: by status (404) or exception type."""

        def register(handler: H) -> H:
            self._error_handlers[key] = handler
            return handler

        return register

    # -- answering -------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Answer one request; never raises for an error in a handler or middleware.

        The order: middleware (first added outermost), then before hooks,
        the route's handler, after hooks. Errors raised inside become
        responses there, so middleware sees error responses like any other;
        errors raised by middleware itself become responses here. The one
        exception that passes through is ``ClientDisconnected``: nobody is
        left to answer.
        """
        chain = self._chain
        if chain is None:
            chain = self._chain = apply(self._middleware, self._answer)
        try:
            return await chain(request)
        except Exception as exc:
            return await self._error_response(request, exc)

    async def _answer(self, request: Request) -> Response:
        """Before hooks, the handler and after hooks, with errors turned into responses."""
        try:
            response = None
            for hook in self._before:
                result = await _call(hook, request)
                if result is not None:
                    response = to_response(result)
                    break
            if response is None:
                response = await self._dispatch(request)
        except Exception as exc:
            response = await self._error_response(request, exc)
        for hook in self._after:
            response = await _call(hook, request, response)
        return response

    async def _dispatch(self, request: Request) -> Response:
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

    async def _error_response(self, request: Request, exc: Exception) -> Response:
        """The response for an error: a registered error handler's, or a canned one.

        Unexpected exceptions are logged once, with the traceback; the client
        sees it only in debug mode.
        """
        if isinstance(exc, ClientDisconnected):
            raise exc  # the client is gone: the server closes, and it is not the handler's error
        handler = self._find_error_handler(exc)
        if handler is not None:
            try:
                return to_response(await _call(handler, request, exc))
            except Exception:
                logger.exception("error handler %r failed for %s %s", handler, request.method, request.path)
                return error_response(500)
        if isinstance(exc, HTTPError):
            return error_response(exc.status, exc.detail, exc.headers)
        logger.exception("unhandled error in handler for %s %s", request.method, request.path, exc_info=exc)
        if self.debug:
            return debug_response(exc)
        return error_response(500)

    def _find_error_handler(self, exc: Exception) -> Callable[..., Any] | None:
        if not self._error_handlers:
            return None
        if isinstance(exc, HTTPError) and exc.status in self._error_handlers:
            return self._error_handlers[exc.status]
        for cls in type(exc).__mro__:
            if cls in self._error_handlers:
                return self._error_handlers[cls]
        if not isinstance(exc, HTTPError):
            return self._error_handlers.get(500)
        return None


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Call a hook or error handler, awaiting it if it is a coroutine function."""
    result = function(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def debug_response(exc: BaseException) -> Response:
    """A 500 page with the traceback, for ``App(debug=True)`` only: it shows code and paths."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    page = (f"<!doctype html><title>500 {html.escape(type(exc).__name__)}</title>"
            f"<h1>500 Internal Server Error</h1><p>debug mode is on: never use it in production</p>"
            f"<pre>{html.escape(trace)}</pre>")
    return Response(page, 500, content_type="text/html; charset=utf-8")


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
