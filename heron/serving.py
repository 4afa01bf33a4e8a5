"""``serve()``: an app in, a server running until it is told to stop (serving layer).

The one place the layers are wired together: ``heron.hosting`` makes
whatever the app is into a ``Servable``, and ``heron.server`` loads the
TLS files, binds the listening socket and runs the event loop, in this
process or in ``config.workers`` forked ones. Everything here raises and
nothing exits the process: ``ServeError`` when serving cannot start (no
app, TLS files that do not load, an address that cannot be listened on),
``StartupFailed`` when the app's own startup fails. The command line
(``heron.cli``) turns those into one line and an exit status; the test
helpers (``heron.testing``) run the same server in a thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from heron.errors import ServeError
from heron.hosting import adapt
from heron.messages.contracts import Servable
from heron.messages.request import Request
from heron.messages.response import Response
from heron.server.config import ServerConfig
from heron.server.lifecycle import Server, run_in_process
from heron.server.listener import describe_address, listening, where
from heron.server.loops import loop_factory
from heron.server.tls import make_server_context
from heron.server.workers import run_workers
from heron.web.compression import compression

__all__ = ["serve", "serve_app", "serving_in_thread", "servable"]


def serve(app: Any, config: ServerConfig | None = None, *, label: str = "app", **settings: Any) -> None:
    """Serve ``app`` (a heron App or handler, a WSGI or an ASGI app) until SIGINT or SIGTERM.

    ``settings`` override fields of ``config`` (``ServerConfig()`` by
    default): ``serve(app, port=8000, workers=4)``. One line on stderr
    says where it listens, naming the app as ``label``. Raises
    ``ServeError`` or ``StartupFailed`` (see the module docstring), and
    ValueError for settings that make no sense here (``reload``).
    """
    config = dataclasses.replace(config or ServerConfig(), **settings)
    if config.reload:
        raise ValueError("reload needs the command line (heron module:app --reload): the app is imported anew"
                         " on each change")
    serve_app(servable(app, config), config, label)


def servable(app: Any, config: ServerConfig) -> Servable:
    """``app`` as the server runs it: a heron App as is, a WSGI or ASGI app behind its adapter;
    with ``--compress``, its responses compressed (``heron.web.compression``)."""
    try:
        adapted = adapt(app, config.interface, lifespan=config.lifespan, workers=config.workers)
    except TypeError as exc:
        raise ServeError(f"{exc} (docs/cli.md, --interface)") from None
    return Compressed(adapted) if config.compress else adapted


class Compressed:
    """A servable whose responses go through the compression middleware: ``--compress``."""

    def __init__(self, inner: Servable) -> None:
        self.inner = inner
        self._handle = compression()(inner.handle)

    async def handle(self, request: Request) -> Response:
        return await self._handle(request)

    async def startup(self) -> None:
        await self.inner.startup()

    async def shutdown(self) -> None:
        await self.inner.shutdown()


def serve_app(app: Servable, config: ServerConfig, label: str) -> None:
    """Load TLS, listen, announce, then serve ``app`` in this process or supervise ``config.workers``."""
    ssl_context = tls_context(config)
    with ExitStack() as stack:
        sock = listen(config, stack)
        print(f"heron: serving {label} on {describe_address(sock, config.scheme)}"
              f" ({config.workers} worker{'s' if config.workers > 1 else ''})", file=sys.stderr, flush=True)
        if config.workers > 1:
            run_workers(config.workers, lambda: run_in_process(app, config, sock, ssl_context))
        else:
            run_in_process(app, config, sock, ssl_context)


def tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The TLS context ``config`` asks for (None: plain TCP); ``ServeError`` if its files do not load."""
    try:
        return make_server_context(config.certfile, config.keyfile) if config.certfile else None
    except OSError as exc:  # ssl.SSLError is an OSError too
        raise ServeError(f"cannot load the TLS certificate or key: {exc}") from exc


def listen(config: ServerConfig, stack: ExitStack) -> socket.socket:
    """The listening socket ``config`` asks for, closed with ``stack``; ``ServeError`` if it cannot be had."""
    try:
        return stack.enter_context(listening(config))
    except OSError as exc:
        raise ServeError(f"cannot listen on {where(config)}: {exc.strerror or exc}") from exc


@contextmanager
def serving_in_thread(app: Any, config: ServerConfig) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port from a thread of this process; yields the base URL.

    The same server as ``serve`` (parser, writer, timeouts, limits, the
    app's startup and shutdown, ``config.loop``), without the process-wide
    parts: no signals, no workers, its own event loop. Stopped gracefully
    when the block ends. ``RuntimeError`` (from the app's failure) if it
    does not start.
    """
    config = dataclasses.replace(config, host="127.0.0.1", port=0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(config.backlog)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    server = Server(servable(app, config), config)
    loop = loop_factory(config.loop)()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sock, ready=ready.set))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=run, name="heron-live-server", daemon=True)
    thread.start()
    ready.wait(10)
    if failure:
        sock.close()
        raise RuntimeError("the live server failed to start") from failure[0]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if not loop.is_closed():
            loop.call_soon_threadsafe(server.stop)
        thread.join(config.limits.shutdown_timeout + 5)
        sock.close()
