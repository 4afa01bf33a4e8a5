"""Hosting other people's apps: WSGI (PEP 3333) and ASGI 3 (hosting layer).

heron's connection driver runs one interface, ``heron.messages.contracts.Servable``:
``async def handle(request) -> Response``, plus ``startup``/``shutdown``
coroutines run once per process. A heron ``App`` is already that. A WSGI
or ASGI app is wrapped by a thin adapter that translates a ``Request``
into an environ or a scope and the app's answer back into a ``Response``;
parsing, limits, timeouts, keep-alive and the access log stay the
server's, the same for every app. A bare ``async def handler(request)``
becomes a ``HandlerApp``.
"""

from __future__ import annotations

import inspect
from typing import Any

from heron.messages.contracts import Handler, Hook, Servable
from heron.messages.request import Request
from heron.messages.response import Response

__all__ = ["INTERFACES", "HandlerApp", "adapt", "detect_interface"]

INTERFACES = ("heron", "wsgi", "asgi")


def detect_interface(app: Any) -> str:
    """Which of ``INTERFACES`` ``app`` speaks, from its shape; ``TypeError`` if none.

    - heron: an ``App`` (anything with an ``async def handle(request)`` of one argument), or an
      ``async def handler(request)`` taking one argument;
    - asgi: a coroutine function (or object whose ``__call__`` is one) taking
      ``(scope, receive, send)``;
    - wsgi: any other callable taking ``(environ, start_response)``.
    """
    handle = getattr(app, "handle", None)
    if handle is not None and inspect.iscoroutinefunction(handle) and _positional_arity(handle) == 1:
        return "heron"  # (Django's ASGIHandler has a handle(scope, receive, send) of its own)
    if not callable(app):
        raise TypeError(f"{app!r} is not an app: not callable and no handle() method")
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", app)
    arity = _positional_arity(call)
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(app):
        return "asgi" if arity is None or arity >= 3 else "heron"
    if arity is None or arity == 2:
        return "wsgi"
    raise TypeError(f"{app!r} is neither a heron handler, a WSGI app (environ, start_response)"
                    f" nor an ASGI app (scope, receive, send): it takes {arity} arguments")


def _positional_arity(func: Any) -> int | None:
    """How many positional arguments ``func`` takes; None if that cannot be told (or *args)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class HandlerApp:
    """A handler served as an app: ``startup`` and ``shutdown`` run the given hooks, if any."""

    def __init__(self, handle: Handler, startup: Hook | None = None, shutdown: Hook | None = None) -> None:
        self._handle = handle
        self._startup = startup
        self._shutdown = shutdown

    async def handle(self, request: Request) -> Response:
        return await self._handle(request)

    async def startup(self) -> None:
        if self._startup is not None:
            await self._startup()

    async def shutdown(self) -> None:
        if self._shutdown is not None:
            await self._shutdown()


def _as_servable(app: Any) -> Servable:
    """A heron app as the server runs it: itself if it has ``handle``, ``startup`` and ``shutdown``
    (an ``App`` has); else its ``handle``, or itself as the handler, with whichever hooks it has."""
    handle = getattr(app, "handle", None)
    startup, shutdown = getattr(app, "startup", None), getattr(app, "shutdown", None)
    if callable(handle) and callable(startup) and callable(shutdown):
        return app  # type: ignore[no-any-return]
    if not callable(handle) and not callable(app):
        raise TypeError(f"{app!r} is not an app")
    return HandlerApp(handle if callable(handle) else app, startup if callable(startup) else None,
                      shutdown if callable(shutdown) else None)


def adapt(app: Any, interface: str = "auto", *, lifespan: str = "auto", workers: int = 1) -> Servable:
    """``app`` as the server runs it (a ``Servable``): a heron app as is, a WSGI or ASGI app behind its adapter.

    ``interface`` forces one of ``INTERFACES`` ("auto" detects it, and
    raises TypeError for what is no app); ``lifespan`` ("auto", "on",
    "off") says whether an ASGI app's lifespan events are sent, and
    whether their absence is an error; ``workers`` is the number of
    processes, which a WSGI app sees as ``wsgi.multiprocess``.
    """
    kind = detect_interface(app) if interface == "auto" else interface
    if kind == "heron":
        return _as_servable(app)
    if kind == "wsgi":
        from heron.hosting.wsgi import WSGIAdapter

        return WSGIAdapter(app, multiprocess=workers > 1)
    if kind == "asgi":
        from heron.hosting.asgi import ASGIAdapter

        return ASGIAdapter(app, lifespan=lifespan)
    raise ValueError(f"unknown interface {interface!r}: expected auto or one of {', '.join(INTERFACES)}")
