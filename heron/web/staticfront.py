"""Static file mounts in front of an app: what ``--static /PREFIX=DIR`` serves (web layer).

Like nginx's ``try_files $uri @app``: a GET or HEAD under a mount is
answered from its files, and a path there that names no file goes on to
the app (or is a 404 without one); every other request goes straight to
the app. ``StaticFront`` is a ``Servable``, so the server runs it as it
runs any app, with the app's startup and shutdown.
"""

from __future__ import annotations

from collections.abc import Sequence

from heron.errors import HTTPError
from heron.messages.contracts import Handler, Servable
from heron.messages.request import Request
from heron.messages.response import Response, error_response
from heron.web.static import StaticFiles

__all__ = ["StaticFront", "with_static"]


def with_static(mounts: Sequence[StaticFiles], fallback: Handler | None = None) -> Handler:
    """A handler answering from ``mounts`` (longest prefix first), else from ``fallback``.

    ``fallback`` is another handler (an App's ``handle``) or None. A path
    under a mount that names no file goes on to the fallback, so
    ``--static /=public`` can sit in front of an app like nginx's
    ``try_files $uri @app``; non-GET/HEAD requests go straight to it.
    """
    ordered = sorted(mounts, key=lambda m: -len(m.prefix_segments))

    async def handler(request: Request) -> Response:
        for files in ordered:
            if not files.covers(request.raw_path):
                continue
            if fallback is not None and request.method not in ("GET", "HEAD"):
                break
            try:
                return await files(request)
            except HTTPError as exc:
                if exc.status != 404 or fallback is None:
                    return error_response(exc.status, exc.detail, exc.headers)
                break
        if fallback is None:
            return error_response(404)
        return await fallback(request)

    return handler


class StaticFront:
    """An app (or nothing) behind static file mounts, as a ``Servable``: what ``--static`` serves.

    Requests go to ``with_static(mounts, app.handle)``; ``startup`` and
    ``shutdown`` are the app's.
    """

    def __init__(self, mounts: Sequence[StaticFiles], app: Servable | None = None) -> None:
        self.app = app
        self._handle = with_static(mounts, app.handle if app is not None else None)

    async def handle(self, request: Request) -> Response:
        return await self._handle(request)

    async def startup(self) -> None:
        if self.app is not None:
            await self.app.startup()

    async def shutdown(self) -> None:
        if self.app is not None:
            await self.app.shutdown()
