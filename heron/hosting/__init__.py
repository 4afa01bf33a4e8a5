"""Hosting other people's apps: WSGI (PEP 3333) and ASGI 3 (hosting layer).

heron's connection driver speaks one interface: ``async def handle(request)
-> Response``, plus optional ``startup``/``shutdown`` coroutines run once
per process. A heron ``App`` is already that. A WSGI or ASGI app is wrapped
by a thin adapter that translates a ``Request`` into an environ or a scope
and the app's answer back into a ``Response``; parsing, limits, timeouts,
keep-alive and the access log stay the server's, the same for every app.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["INTERFACES", "adapt", "detect_interface"]

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


def adapt(app: Any, interface: str = "auto", *, lifespan: str = "auto", workers: int = 1) -> Any:
    """An object the server can run: ``handle`` (and ``startup``/``shutdown`` where the app has them).

    ``interface`` forces one of ``INTERFACES`` ("auto" detects it);
    ``lifespan`` ("auto", "on", "off") says whether an ASGI app's lifespan
    events are sent, and whether their absence is an error; ``workers``
    is the number of processes, which a WSGI app sees as ``wsgi.multiprocess``.
    """
    kind = detect_interface(app) if interface == "auto" else interface
    if kind == "heron":
        return app
    if kind == "wsgi":
        from heron.hosting.wsgi import WSGIAdapter

        return WSGIAdapter(app, multiprocess=workers > 1)
    if kind == "asgi":
        from heron.hosting.asgi import ASGIAdapter

        return ASGIAdapter(app, lifespan=lifespan)
    raise ValueError(f"unknown interface {interface!r}: expected auto or one of {', '.join(INTERFACES)}")
