"""The application object users write against (web layer).

This is the minimal framework the server needs for its first routes: route
decorators per method, ``{name}`` and ``{id:int}`` path parameters, handler
return values turned into responses, and errors turned into canned
replies. ``async def`` handlers run on the event loop; plain ``def``
handlers run in the server's bounded thread pool (the loop's default
executor), so a blocking call cannot stall other connections.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from heron.blocking import run_blocking
from heron.errors import ClientDisconnected, HTTPError, StartupFailed
from heron.messages.contracts import Handler
from heron.messages.request import Request
from heron.messages.response import HTMLResponse, Response, StreamingResponse, error_response
from heron.web.converters import Converter, make_converter
from heron.web.middleware import Middleware, apply
from heron.web.routing import (Mount, Router, caller_location, describe_handler, slash_alternative,
                               slash_redirect_location)
from heron.web.requestcoding import check_content_coding
from heron.web.rendering import TemplateRenderer, debug_response, render_page, stream_page, to_response
from heron.web.templates import Templates
from heron.web.websocket import WebSocket

if TYPE_CHECKING:
    from heron.web.static import StaticFiles

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

    def __init__(self, *, debug: bool = False, redirect_slashes: bool = True,
                 templates: str | os.PathLike[str] | TemplateRenderer | None = None,
                 decompress_requests: bool = False) -> None:
        self.router = Router()
        self.websockets = Router()
        """WebSocket routes (``websocket``), apart from HTTP ones: a handshake looks here first."""
        self.debug = debug
        """Show tracebacks to clients on 500s: for local development only."""
        self.redirect_slashes = redirect_slashes
        """Answer 308 to the other form when only ``/x`` or ``/x/`` has a route (docs/routing.md)."""
        self.decompress_requests = decompress_requests
        """Decode request bodies sent with ``Content-Encoding: gzip`` or ``deflate`` (within
        ``max_decoded_body_bytes``) instead of answering 415 (docs/compression.md)."""
        self._on_startup: list[Callable[[], Any]] = []
        self._on_shutdown: list[Callable[[], Any]] = []
        self._middleware: list[Middleware] = []
        self._before: list[Callable[..., Any]] = []
        self._after: list[Callable[..., Any]] = []
        self._error_handlers: dict[int | type[BaseException], Callable[..., Any]] = {}
        self._chain: Handler | None = None
        if isinstance(templates, (str, os.PathLike)):
            templates = Templates(templates, debug=debug)
        self.templates = templates
        """What ``render`` uses: a directory given as ``templates=`` becomes ``Templates(directory)``
        (recompiling changed files when ``debug``); its ``globals`` and filters are yours to add to."""

    def route(self, path: str, methods: list[str] | None = None, *, name: str | None = None) -> Callable[[F], F]:
        """Register the decorated function for ``path`` and ``methods`` (default GET).

        ``methods=["*"]`` answers every method, including ones no RFC defines.
        ``name`` is what ``url_for`` knows the route by (default: the
        function's ``__name__``). A bad or clashing route raises ValueError
        here, at import time, naming both handlers (docs/routing.md).
        """

        def register(handler: F) -> F:
            self.router.add(path, methods or ["GET"], handler, name)
            return handler

        return register

    def get(self, path: str, *, name: str | None = None) -> Callable[[F], F]:
        return self.route(path, ["GET"], name=name)

    def post(self, path: str, *, name: str | None = None) -> Callable[[F], F]:
        return self.route(path, ["POST"], name=name)

    def put(self, path: str, *, name: str | None = None) -> Callable[[F], F]:
        return self.route(path, ["PUT"], name=name)

    def patch(self, path: str, *, name: str | None = None) -> Callable[[F], F]:
        return self.route(path, ["PATCH"], name=name)

    def delete(self, path: str, *, name: str | None = None) -> Callable[[F], F]:
        return self.route(path, ["DELETE"], name=name)

    def static(self, prefix: str, directory: str | os.PathLike[str], **options: Any) -> StaticFiles:
        """Serve the files under ``directory`` at ``prefix`` for GET and HEAD (docs/static.md).

        ``options`` go to ``StaticFiles`` (``index``, ``cache_control``,
        ``follow_symlinks``, ``listing``). Registers ``prefix``, ``prefix/`` and
        ``prefix/{path:path}`` under the route name ``static:<prefix>``;
        more specific routes still win.
        """
        from heron.web.static import StaticFiles

        files = StaticFiles(directory, prefix, **options)
        base = prefix.rstrip("/")
        for pattern in dict.fromkeys([base or "/", base + "/", base + "/{path:path}"]):
            self.router.add(pattern, ["GET", "HEAD"], files.__call__, f"static:{prefix}")
        return files

    def websocket(self, path: str, *, name: str | None = None) -> Callable[[F], F]:
        """Register the decorated ``async def handler(ws, **params)`` for WebSocket handshakes on ``path``.

        ``path`` takes the same patterns and converters as HTTP routes, and
        the same path may also have HTTP routes: a request asking for a
        WebSocket is routed here first, any other to those. The handler
        gets a ``heron.web.websocket.WebSocket`` (docs/websocket.md).
        """

        def register(handler: F) -> F:
            if not inspect.iscoroutinefunction(handler):
                raise TypeError(f"app.websocket({path!r}): {describe_handler(handler)} must be an async def")
            self.websockets.add(path, ["GET"], handler, name)
            return handler

        return register

    def add_converter(self, name: str, converter: Converter | type[Converter] | str,
                      to_python: Callable[[str], Any] | None = None,
                      to_url: Callable[[Any], str] | None = None) -> None:
        """Make ``{param:name}`` available to routes registered after this call.

        ``converter`` is a Converter (class or instance) or a regex for one
        path segment, with ``to_python`` (text to value; ValueError means "no
        match") and ``to_url`` (value to percent-encoded text).
        """
        converter = make_converter(converter, to_python, to_url)
        self.router.add_converter(name, converter)
        self.websockets.add_converter(name, converter)

    def url_for(self, name: str, /, _query: Any = None, **params: Any) -> str:
        """The path of the route called ``name``, its parameters filled from ``params``.

        Values are encoded by the route's converters; the query string comes
        from ``_query`` (a dict or pairs), never from extra keyword
        arguments, which are an error like missing ones. A mounted app's
        routes are ``"<mount name>.<route name>"``. Raises LookupError for an
        unknown name, ValueError for wrong parameters.
        """
        try:
            return self.router.url_for(name, params, _query)
        except LookupError:
            return self.websockets.url_for(name, params, _query)

    def render(self, name: str, /, **context: Any) -> HTMLResponse:
        """Template ``name`` rendered with ``context`` as an HTML response (docs/templates.md). Every key
        is the template's (``name`` too); pass ``request=request`` and the page also gets ``session``,
        ``csrf_token()`` and ``csrf_field()``. Another status: ``return app.render(...), 404``."""
        return render_page(self._templates(), self.url_for, name, context)

    def render_stream(self, name: str, /, **context: Any) -> StreamingResponse:
        """``render``, sent as the page is made (chunked), for long pages."""
        return stream_page(self._templates(), self.url_for, name, context)

    def _templates(self) -> TemplateRenderer:
        if self.templates is None:
            raise RuntimeError("this app has no templates: App(templates='templates') names their directory")
        return self.templates

    def mount(self, prefix: str, app: App, *, name: str | None = None) -> None:
        """Send every request under ``prefix`` (``/api``, ``/api/...``) to ``app``.

        ``app`` routes the path without the prefix, answers with its own
        middleware, hooks, 404 and 405; ``request.root_path`` holds the
        prefix. ``name`` (default: the prefix without slashes, ``api``)
        prefixes its route names in ``url_for``. Its startup and shutdown
        hooks run with this app's.
        """
        mount_name = name if name is not None else prefix.strip("/").replace("/", ".")
        self.router.add_mount(prefix, app, mount_name, caller_location())

    # -- startup and shutdown --------------------------------------------------

    def on_startup(self, hook: H) -> H:
        """Run ``hook()`` (sync or async) once per process, before the server accepts connections.

        If it raises, the server does not start: it prints one line naming
        the hook and exits non-zero.
        """
        self._on_startup.append(hook)
        return hook

    def on_shutdown(self, hook: H) -> H:
        """Run ``hook()`` (sync or async) once per process, after the last request has drained."""
        self._on_shutdown.append(hook)
        return hook

    async def startup(self) -> None:
        """Run the startup hooks in the order added, then the mounted apps'; StartupFailed on the first error."""
        for hook in self._on_startup:
            try:
                await _call(hook)
            except Exception as exc:
                raise StartupFailed(
                    f"startup hook {describe_handler(hook)} raised {type(exc).__name__}: {exc}") from exc
        for mount in self.router.mounts:
            await mount.app.startup()

    async def shutdown(self) -> None:
        """Run the mounted apps' shutdown hooks, then this app's; a failing hook is logged and the rest still run."""
        for mount in self.router.mounts:
            await mount.app.shutdown()
        for hook in self._on_shutdown:
            try:
                await _call(hook)
            except Exception:
                logger.exception("shutdown hook %s failed", describe_handler(hook))

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

        The order: a body's Content-Encoding settled (415, or decoded as it
        is read: ``decompress_requests``), middleware (first added outermost), then before hooks,
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
            head = request.head
            if head.content_length or head.chunked:  # a body, maybe encoded: settled before anything reads it
                check_content_coding(request, self.decompress_requests)
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
            return Response(b"", 204, [("Allow", ", ".join(self.methods()))])
        path = request.path[len(request.root_path):]  # inside a mount, the part after its prefix
        mounted = self.router.find_mount(path)
        if mounted is not None:
            return await self._dispatch_to_mount(request, *mounted)
        if request.is_websocket and self.websockets.answers("GET", path):
            handler, params = self.websockets.match("GET", path)
            request.path_params = params
            return await serve_websocket(handler, WebSocket(request), params)
        try:
            handler, params = self.router.match(request.method, path)
        except HTTPError as exc:
            if exc.status == 405 and request.method == "OPTIONS":
                return Response(b"", 204, exc.headers)
            if exc.status == 404 and self.redirect_slashes:
                redirect = self._slash_redirect(request, path)
                if redirect is not None:
                    return redirect
            raise
        request.path_params = params
        if _is_async(handler):
            result = await handler(request, **params)
        else:
            result = await run_blocking(functools.partial(handler, request, **params))
        return to_response(result)

    async def _dispatch_to_mount(self, request: Request, mount: Mount, rest: str) -> Response:
        """Let a mounted app answer, with ``request.root_path`` extended by its prefix while it does."""
        outer = request.root_path
        request.root_path = outer + mount.prefix
        try:
            response: Response = await mount.app.handle(request)
        finally:
            request.root_path = outer
        return response

    def _slash_redirect(self, request: Request, path: str) -> Response | None:
        """308 to ``path`` with its trailing slash toggled, if a route answers that (never for ``//`` paths).

        308, not 301: a client must repeat a POST as a POST, with its body
        (RFC 9110 section 15.4.9). The Location is built from the path as
        sent plus the query, never from the Host header.
        """
        other = slash_alternative(path)
        if other is None or path.endswith("/") != request.raw_path.endswith("/"):
            return None
        if not self.router.answers(request.method, other):
            return None
        location = slash_redirect_location(request.raw_path, request.query_string)
        if location is None:
            return None
        return Response(b"", 308, [("Location", location)])

    def methods(self) -> list[str]:
        """Every method this app and its mounted apps answer (for ``OPTIONS *``)."""
        methods = set(self.router.methods())
        for mount in self.router.mounts:
            methods.update(mount.app.methods())
        return sorted(methods)

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
                logger.exception("error handler %r failed for %s %s", handler, request.method, request.raw_path)
                return error_response(500)
        if isinstance(exc, HTTPError):
            return error_response(exc.status, exc.detail, exc.headers)
        logger.exception("unhandled error in handler for %s %s", request.method, request.raw_path, exc_info=exc)
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


async def serve_websocket(handler: Callable[..., Any], ws: WebSocket, params: dict[str, Any]) -> Response:
    """Run a WebSocket route's handler. Before ``accept()`` its return value is the HTTP answer (403
    if it is no Response); after, the server has answered with 101 and closes what the handler left open."""
    result = await handler(ws, **params)
    if ws.accepted:
        return Response(b"")  # not sent: the 101 was the answer
    return result if isinstance(result, Response) else error_response(403)


@functools.lru_cache(maxsize=None)
def _is_async(handler: Callable[..., Any]) -> bool:
    """Whether ``handler`` runs on the event loop; asked per request, so remembered per handler."""
    return inspect.iscoroutinefunction(handler)


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Call a hook or error handler, awaiting it if it is a coroutine function."""
    result = function(*args)
    if inspect.isawaitable(result):
        result = await result
    return result
